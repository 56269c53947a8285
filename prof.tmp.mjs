import * as tf from '@tensorflow/tfjs-core';
import './dist/methods/index.js';
import { getMethod, resolveOptions } from './dist/src/adapt/peft.js';
import { GPT2 } from './dist/src/model/model.js';
import { buildTaskSuite, findTask } from './dist/datasets/tasks.js';
import { ByteTokenizer } from './dist/src/io/tokenizer.js';
import { runTrial } from './dist/experiments/run/trial.js';
import { initBackend } from './dist/src/model/backend.js';
await initBackend(process.argv[2]);
const DATA = { worldSize: 40, townCount: 4, train: 16, dev: 8, test: 12 };
const CONFIG = { vocabSize: 260, contextLength: 96, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };
const task = findTask(buildTaskSuite({ seed: 0, worldSize: 40, townCount: 4, sizes: { train: 16, dev: 8, test: 12 }, tasks: ['verify'] }), 'verify');
const base = GPT2.initialize(CONFIG, 1);
const res = { base, task, tokenizer: new ByteTokenizer(), frequentTokens: [...Array(200).keys()], environment: {} };
for (const [m, o] of [['prompt-tuning', {length: 4, init: 'class-label'}], ['p-tuning', {length: 4, encoder: 'mlp', hidden: 8}], ['prefix-tuning', {length: 3}], ['lora', {rank: 2, dropout: 0.1}], ['bitfit', {}]]) {
  const config = { preset: 'tiny', profile: 'quick', pretrainSeed: 0, modelId: 'x', method: m, options: resolveOptions(getMethod(m), o, CONFIG), task: 'verify', data: DATA, seed: 0, training: { optimizer: 'adam', learningRate: 3e-2, steps: 4, batchSize: 3, evalEvery: 2, weightDecay: 0 } };
  const t = performance.now();
  const r = runTrial(config, 'k', [], res);
  console.log(m, ((performance.now() - t)/1000).toFixed(2), 's; train', r.timing.trainSeconds.toFixed(2), 'eval', r.timing.evalSeconds.toFixed(2), 'rowLength', r.timing.tokensPerRow);
}
