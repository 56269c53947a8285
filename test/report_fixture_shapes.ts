/**
 * What the synthetic report fixtures share (report_fixtures.ts for the experiment's results,
 * report_fixture_bench.ts for bench.json): the presets, tasks, seeds and methods, the environment, the
 * options the runner would resolve and the methods' real parameter formulas on the real preset shapes.
 */
import { findPreset } from '../src/model/config.js';
import { countParameters, isBiasParameter, modelParameterSpecs } from '../src/model/params.js';
import type { OptionValue } from '../src/adapt/peft.js';
import type { TrialEnvironment } from '../src/results/results.js';

export const FIXTURE_PRESETS = ['ps-nano', 'ps-micro', 'ps-mini'] as const;
export const FIXTURE_TASKS = ['colour', 'town'] as const;
export const FIXTURE_SEEDS = [0, 1] as const;
export const FIXTURE_METHODS = ['full', 'prompt-tuning', 'prefix-tuning', 'p-tuning', 'lora', 'bitfit', 'prompt-design'] as const;
export const FIXTURE_LENGTHS = [1, 5, 20, 50, 100] as const;
export const FIXTURE_INITS = ['random-uniform', 'sampled-vocab', 'class-label'] as const;
/** The one diverged trial: p-tuning on ps-micro, task town, seed 1. */
export const FIXTURE_DIVERGED = { preset: 'ps-micro', method: 'p-tuning', task: 'town', seed: 1 } as const;

export const ENVIRONMENT: TrialEnvironment = {
  backend: 'wasm',
  versions: { peftscale: '0.1.0', tfjs: '4.22.0', node: 'v20.20.2' },
  gitHash: 'f1x7ure',
  gitDirty: false,
  machine: { cpu: 'fixture CPU (synthetic results)', cores: 2, memoryBytes: 8 * 2 ** 30, platform: 'linux', node: 'v20.20.2' },
};

/** Method options as the runner resolves them (every option filled in). */
export function methodOptions(method: string, length = 20, init = 'class-label'): Record<string, OptionValue> {
  switch (method) {
    case 'prompt-tuning':
      return { length, init, 'init-range': 0.5, 'init-text': '' };
    case 'prefix-tuning':
      return { length, projection: 0 };
    case 'p-tuning':
      return { length, encoder: 'mlp', hidden: 0 };
    case 'lora':
      return { rank: 8, alpha: 8, dropout: 0, targets: ['c_attn'] };
    case 'bitfit':
      return { biases: ['all'] };
    case 'prompt-design':
      return { template: 'Answer the question.', shots: 0, 'prompt-tokens': ['65', '110', '115'] };
    default:
      return {};
  }
}

/** Trainable values (Hugging Face PEFT conventions) and saved adapter values of a method on a preset. */
export function parameterCounts(method: string, preset: string, options: Record<string, OptionValue>): { trainable: number; saved: number; base: number } {
  const config = findPreset(preset).config;
  const specs = modelParameterSpecs(config);
  const base = countParameters(specs);
  const d = config.dModel;
  const k = typeof options.length === 'number' ? options.length : 0;
  switch (method) {
    case 'prompt-tuning':
      return { trainable: k * d, saved: k * d, base };
    case 'prefix-tuning':
      return { trainable: k * config.nLayers * 2 * d, saved: k * config.nLayers * 2 * d, base };
    case 'p-tuning': {
      const h = d;
      return { trainable: k * d + (d * h + h) + (h * h + h) + (h * d + d), saved: k * d, base };
    }
    case 'lora':
      return { trainable: config.nLayers * 8 * (d + 3 * d), saved: config.nLayers * 8 * (d + 3 * d), base };
    case 'bitfit': {
      const biases = countParameters(specs.filter((s) => isBiasParameter(s.name)));
      return { trainable: biases, saved: biases, base };
    }
    case 'full':
      return { trainable: base, saved: base, base };
    default:
      return { trainable: 0, saved: 0, base };
  }
}
