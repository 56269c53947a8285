/**
 * A kernel replacement for the wasm backend. tfjs clones every tensor it saves for backprop through
 * the Identity kernel; wasm's Identity copies the data, the cpu backend's shares it. Tensors are
 * immutable (a Variable's assign swaps its data id, it never writes in place), so sharing is safe,
 * and it removes a copy of every saved activation from each training step.
 *
 * @example
 * installWasmKernels(); // after the wasm backend is registered; initBackend() does it.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

let installed = false;

export function installWasmKernels(): void {
  if (installed || tf.getKernel(tf.Identity, 'wasm') === undefined) return;
  installed = true;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      (backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
