export { installFastGradients } from './fast_gradients.js';
export { gelu } from './gelu.js';
export { layerNorm } from './layer_norm.js';
export { linear } from './linear.js';
export { crossEntropy } from './cross_entropy.js';
