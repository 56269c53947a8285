/**
 * The PyTorch peer of the reference step (`peftscale bench reference --compare-pytorch`): runs
 * scripts/reference_step.py, the same model, batch, optimiser and method written in idiomatic PyTorch, on
 * one thread, with a Python that has torch (PEFTSCALE_PYTHON, `--python`, else python3). Nothing is
 * installed: a missing Python or torch is an error that says how to get one, raised before any timing.
 *
 * @example
 * const python = checkPytorch(undefined); // throws with advice when torch is missing
 * const peer = runPytorchReference(python, { method: 'full', warmup: 5, steps: 20, ... });
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../../src/model/config.js';

/** What the Python script reports. */
export interface PytorchReference {
  engine: 'pytorch';
  torch: string;
  blas: string;
  python: string;
  threads: number;
  method: string;
  trainable: number;
  medianMs: number;
  /** Median process CPU time per step (time.process_time: all threads). */
  cpuMedianMs: number;
  lastLoss: number;
  samplesMs: number[];
}

/** The reference step's method, shape and schedule, the same for both engines. */
export interface ReferenceStepShape {
  /** A method whose card says the reference step implements it (scripts/reference_step.py too). */
  method: string;
  config: ModelConfig;
  batchSize: number;
  sequenceLength: number;
  warmup: number;
  steps: number;
}

export interface PytorchReferenceOptions extends ReferenceStepShape {
  /** Prompt tuning's virtual tokens and LoRA's rank and alpha: the bench's method options. */
  promptLength: number;
  rank: number;
  alpha: number;
}

export const PYTHON_ENV_VAR = 'PEFTSCALE_PYTHON';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'reference_step.py');

/** The Python to use, after checking that it runs and imports torch; the error says what to do otherwise. */
export function checkPytorch(flag: string | undefined): string {
  const python = flag ?? (process.env[PYTHON_ENV_VAR] || 'python3');
  const source = flag !== undefined ? '--python' : process.env[PYTHON_ENV_VAR] ? PYTHON_ENV_VAR : 'the default python3';
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    const why = probe.error?.message ?? (probe.stderr.trim().split('\n').pop() || `exit ${probe.status}`);
    throw new Error(
      `--compare-pytorch: ${python} (${source}) cannot import torch: ${why}. Point ${PYTHON_ENV_VAR} or --python at a Python with torch, ` +
        'for example a virtualenv: python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch',
    );
  }
  return python;
}

/** Runs the PyTorch step once (warm-up, then `steps` timed steps) and returns its report. */
export function runPytorchReference(python: string, options: PytorchReferenceOptions): PytorchReference {
  const c = options.config;
  const args = [
    SCRIPT,
    ...['--method', options.method, '--d-model', c.dModel, '--layers', c.nLayers, '--heads', c.nHeads, '--d-ff', c.dFF],
    ...['--vocab', c.vocabSize, '--context', c.contextLength, '--batch', options.batchSize, '--tokens', options.sequenceLength],
    ...['--prompt-length', options.promptLength, '--rank', options.rank, '--alpha', options.alpha],
    ...['--warmup', options.warmup, '--steps', options.steps, '--threads', 1],
  ].map(String);
  // One thread for every pool MKL or OpenMP might start, as for the TensorFlow.js side.
  const env = { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const run = spawnSync(python, args, { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`--compare-pytorch: ${path.basename(SCRIPT)} failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr.trim().split('\n').slice(-8).join('\n')}`);
  }
  const line = run.stdout.trim().split('\n').pop() ?? '';
  const report = JSON.parse(line) as PytorchReference;
  if (report.engine !== 'pytorch' || !Number.isFinite(report.medianMs) || !Number.isFinite(report.cpuMedianMs) || report.samplesMs.length !== options.steps) {
    throw new Error(`--compare-pytorch: unexpected output from ${path.basename(SCRIPT)}: ${line.slice(0, 200)}`);
  }
  return report;
}
