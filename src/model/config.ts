/**
 * The model's shape: a small typed config, named presets, and validation with errors that name the
 * field, the value and what is allowed.
 */

export interface ModelConfig {
  /** Token vocabulary size (rows of wte). */
  vocabSize: number;
  /** Longest sequence the model accepts (rows of wpe), virtual tokens included. */
  contextLength: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Number of transformer blocks. */
  nLayers: number;
  /** Attention heads per block; dModel must divide evenly. */
  nHeads: number;
  /** Hidden width of the MLP (GPT-2 uses 4 * dModel). */
  dFF: number;
  /** LayerNorm epsilon (GPT-2: 1e-5). */
  layerNormEps: number;
}

/** Vocabulary of the byte-level tokenizer: 256 bytes plus the special tokens (see tokenizer.ts). */
export const BYTE_VOCAB_SIZE = 260;

export interface Preset {
  name: string;
  config: ModelConfig;
  /** 'pretrain': small enough to pretrain here; 'shape': a published shape, counted but never allocated here. */
  kind: 'pretrain' | 'shape';
  description: string;
}

function small(dModel: number, nLayers: number, nHeads: number): ModelConfig {
  return { vocabSize: BYTE_VOCAB_SIZE, contextLength: 256, dModel, nLayers, nHeads, dFF: 4 * dModel, layerNormEps: 1e-5 };
}

function gpt2Shape(dModel: number, nLayers: number, nHeads: number): ModelConfig {
  return { vocabSize: 50257, contextLength: 1024, dModel, nLayers, nHeads, dFF: 4 * dModel, layerNormEps: 1e-5 };
}

/** Named presets: a family meant to be pretrained here (about 42K to 6.4M parameters), plus GPT-2's shapes. */
export const PRESETS: readonly Preset[] = [
  { name: 'ps-nano', kind: 'pretrain', config: small(32, 2, 2), description: 'smallest pretrainable preset' },
  { name: 'ps-micro', kind: 'pretrain', config: small(64, 2, 2), description: '' },
  { name: 'ps-milli', kind: 'pretrain', config: small(80, 3, 4), description: 'between ps-micro and ps-mini (the replication experiment)' },
  { name: 'ps-mini', kind: 'pretrain', config: small(96, 3, 3), description: '' },
  { name: 'ps-midi', kind: 'pretrain', config: small(104, 4, 4), description: 'between ps-mini and ps-small (the replication experiment)' },
  { name: 'ps-small', kind: 'pretrain', config: small(128, 4, 4), description: 'the reference-step width' },
  { name: 'ps-base', kind: 'pretrain', config: small(192, 6, 6), description: '' },
  { name: 'ps-large', kind: 'pretrain', config: small(256, 8, 8), description: 'largest pretrainable preset' },
  { name: 'gpt2', kind: 'shape', config: gpt2Shape(768, 12, 12), description: 'GPT-2 small (124M)' },
  { name: 'gpt2-medium', kind: 'shape', config: gpt2Shape(1024, 24, 16), description: 'GPT-2 medium (355M)' },
  { name: 'gpt2-large', kind: 'shape', config: gpt2Shape(1280, 36, 20), description: 'GPT-2 large (774M)' },
  { name: 'gpt2-xl', kind: 'shape', config: gpt2Shape(1600, 48, 25), description: 'GPT-2 XL (1.5B)' },
];

/**
 * The shape of the reference training step that speed is measured on (the core issue): d 128, 4 layers,
 * 4 heads, d_ff 512, vocab 256, 64 tokens, batch 16. The context holds 128 positions so that methods
 * that add virtual tokens (prompt length 20) fit; position rows beyond the sequence cost no compute.
 */
export const REFERENCE_STEP = {
  config: { vocabSize: 256, contextLength: 128, dModel: 128, nLayers: 4, nHeads: 4, dFF: 512, layerNormEps: 1e-5 },
  sequenceLength: 64,
  batchSize: 16,
} as const satisfies { config: ModelConfig; sequenceLength: number; batchSize: number };

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0];
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j];
      previous[j] = Math.min(previous[j] + 1, previous[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length];
}

/** The candidate nearest to `name`, if it is near enough to be a plausible typo. */
export function nearestName(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : null;
}

/** Error text for an unknown name: what was given, a suggestion, and everything allowed. */
export function unknownNameMessage(what: string, name: string, candidates: readonly string[]): string {
  const suggestion = nearestName(name, candidates);
  return (
    `unknown ${what} "${name}"` +
    (suggestion === null ? '.' : `; did you mean "${suggestion}"?`) +
    ` Allowed: ${candidates.join(', ')}`
  );
}

export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (preset === undefined) throw new Error(unknownNameMessage('model preset', name, PRESETS.map((p) => p.name)));
  return preset;
}

/** Checks every field; throws one error listing every problem, each naming field, value and what is allowed. */
export function validateModelConfig(config: ModelConfig, source = 'model config'): ModelConfig {
  const problems: string[] = [];
  const positiveInteger = (field: keyof ModelConfig, flag: string): void => {
    const value = config[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      problems.push(`${field} (${flag}) = ${JSON.stringify(value)}: must be a positive integer`);
    }
  };
  positiveInteger('vocabSize', '--vocab');
  positiveInteger('contextLength', '--context');
  positiveInteger('dModel', '--d-model');
  positiveInteger('nLayers', '--layers');
  positiveInteger('nHeads', '--heads');
  positiveInteger('dFF', '--d-ff');
  if (Number.isInteger(config.dModel) && Number.isInteger(config.nHeads) && config.nHeads > 0 && config.dModel % config.nHeads !== 0) {
    problems.push(`dModel (--d-model) = ${config.dModel} is not divisible by nHeads (--heads) = ${config.nHeads}: allowed are head counts that divide the width`);
  }
  if (typeof config.layerNormEps !== 'number' || !(config.layerNormEps > 0)) {
    problems.push(`layerNormEps = ${JSON.stringify(config.layerNormEps)}: must be a positive number`);
  }
  // Bounds before anything is built from the shape: a million layers would take a minute to list, and a
  // count past 2^53 is not exact (counted in BigInt, in closed form, so nothing is allocated here).
  if (Number.isInteger(config.nLayers) && config.nLayers > MAX_LAYERS) problems.push(`nLayers (--layers) = ${config.nLayers}: allowed: at most ${MAX_LAYERS.toLocaleString('en-US')}`);
  if (problems.length === 0) {
    const count = exactParameterCount(config);
    if (count > BigInt(Number.MAX_SAFE_INTEGER)) {
      problems.push(`the shape has ${count.toLocaleString('en-US')} parameters: allowed: at most ${Number.MAX_SAFE_INTEGER.toLocaleString('en-US')} (2^53 - 1, past which counts are not exact)`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid ${source}:\n  ${problems.join('\n  ')}`);
  return config;
}

/** Most layers a shape may have (GPT-3 has 96). */
export const MAX_LAYERS = 10_000;

/** The GPT-2 parameter count in BigInt (the closed form of params.ts): exact for any integer shape. */
export function exactParameterCount(config: Pick<ModelConfig, 'vocabSize' | 'contextLength' | 'dModel' | 'nLayers' | 'dFF'>): bigint {
  const [v, c, d, l, f] = [config.vocabSize, config.contextLength, config.dModel, config.nLayers, config.dFF].map((n) => BigInt(n));
  const perLayer = 4n * d + (3n * d * d + 3n * d) + (d * d + d) + (d * f + f) + (f * d + d);
  return v * d + c * d + l * perLayer + 2n * d;
}

/** Options that override or define a shape, as given by the --d-model/--layers/... flags. */
export interface ShapeOverrides {
  dModel?: number;
  nLayers?: number;
  nHeads?: number;
  dFF?: number;
  vocabSize?: number;
  contextLength?: number;
}

/**
 * Resolves a model shape: a preset name, optionally overridden field by field, or a custom shape
 * when no preset is named (then d-model, layers and heads are required; d-ff defaults to 4 * d-model).
 */
export function resolveModelConfig(presetName: string | undefined, overrides: ShapeOverrides): ModelConfig {
  if (presetName !== undefined) {
    const base = findPreset(presetName).config;
    return validateModelConfig({ ...base, ...(definedOnly(overrides) as Partial<ModelConfig>) }, `model "${presetName}" with overrides`);
  }
  const missing = (['dModel', 'nLayers', 'nHeads'] as const).filter((field) => overrides[field] === undefined);
  if (missing.length > 0) {
    const flags = { dModel: '--d-model', nLayers: '--layers', nHeads: '--heads' };
    throw new Error(
      `a custom model shape needs ${missing.map((field) => flags[field]).join(', ')} (or --model with one of: ${PRESETS.map((p) => p.name).join(', ')})`,
    );
  }
  const dModel = overrides.dModel as number;
  return validateModelConfig(
    {
      vocabSize: overrides.vocabSize ?? BYTE_VOCAB_SIZE,
      contextLength: overrides.contextLength ?? 256,
      dModel,
      nLayers: overrides.nLayers as number,
      nHeads: overrides.nHeads as number,
      dFF: overrides.dFF ?? 4 * dModel,
      layerNormEps: 1e-5,
    },
    'custom model shape',
  );
}

/** The fields of an options object that are set (so spreading it over defaults keeps the defaults). */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
