/**
 * The experiment file schema (a JSON Schema, draft 2020-12 subset) and a validator for that subset that
 * reports every problem with its path, the value found and what is allowed, with "did you mean" for
 * misspelt field names. `peftscale experiment --schema` prints the schema (editors can use it for
 * completion: experiments/configs/schema.json is the same text, checked by a test).
 */
import { unknownNameMessage } from '../../src/model/config.js';
import { FIGURE_KINDS } from '../../src/results/results.js';
import { OPTIMIZER_NAMES } from '../../src/training/train.js';
import { PROFILE_NAMES } from '../pretrain/pretrain_profiles.js';
import { TASK_NAMES } from '../../datasets/tasks.js';
import { RECIPES } from '../../datasets/recipes/index.js';
import { AXES, EFFECTS, HYPOTHESIS_KINDS, HYPOTHESIS_STATISTICS, KIND_DOCS, SIZE_SELECTORS } from '../../src/results/hypotheses.js';

/** The subset of JSON Schema this validator understands. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  /** false: no other fields; a schema: every other field's value. */
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  minItems?: number;
  enum?: readonly (string | null)[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  /** A regular expression a string must match (whole string), with `patternHelp` saying it in words. */
  pattern?: string;
  patternHelp?: string;
  /** Alternatives (the first that matches wins); used for "a value or a list of values". */
  anyOf?: Schema[];
}

/**
 * Upper bounds: far above any real run on the machines this suite targets, low enough that a typo
 * (batch 1e9) is refused before work starts instead of failing deep inside a worker.
 */
export const LIMITS = { steps: 1_000_000, batchSize: 4096, examples: 1_000_000, pretrainSteps: 10_000_000, seed: 2 ** 31 - 1 } as const;

const METHOD_REF: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['method'],
  properties: {
    method: { type: 'string', description: 'a registered method' },
    options: { type: 'object', description: 'options that pick its trials (every one named must match; the plan must leave exactly one option set)', additionalProperties: true },
  },
};

const SIZE_HELP = `a preset of the plan, or ${SIZE_SELECTORS.map((s) => `"${s}"`).join(', ')} (among the presets with this comparison's trials, by size)`;

const HYPOTHESIS: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'statement', 'kind', 'statistic', 'method'],
  description:
    'a finding stated before the run. Verdict, for every kind: holds when the 95% interval of its statistic lies above 0; does not hold when its high end is at or below 0; inconclusive otherwise (or when it cannot be measured, with the reason)',
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$', patternHelp: '1 to 32 letters, digits, ".", "_" or "-"', description: 'a short id (H1)' },
    statement: { type: 'string', description: 'the hypothesis in one line' },
    kind: { type: 'string', enum: [...HYPOTHESIS_KINDS], description: `what is compared: ${HYPOTHESIS_KINDS.map((k) => `${k}: ${KIND_DOCS[k]}`).join('; ')}` },
    statistic: {
      type: 'string',
      enum: [...HYPOTHESIS_STATISTICS],
      description: 't: Student-t 95% interval of the mean over seeds (paired by seed where two sides are compared); bootstrap: percentile 95% interval, 10,000 seeded resamples (of seeds; of groups for rank-correlation, which allows only bootstrap)',
    },
    method: { ...METHOD_REF, description: 'the method whose trials are compared' },
    baseline: { ...METHOD_REF, description: 'gap-shrinks, rank-correlation: the method measured against (full model tuning); effect-shrinks: optional, for the "smallest-where-baseline-clears-chance" selector' },
    task: { type: 'string', description: 'the task (above-chance, gap-shrinks, effect-shrinks)' },
    tasks: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'rank-correlation: the tasks whose (preset, task) groups are correlated' },
    at: { type: 'string', description: `above-chance, above-control: the size, ${SIZE_HELP}` },
    from: { type: 'string', description: `gap-shrinks, effect-shrinks: the size where the quantity is expected larger, ${SIZE_HELP}` },
    to: { type: 'string', description: `gap-shrinks, effect-shrinks: the size where it is expected smaller, ${SIZE_HELP}` },
    axis: {
      type: 'string',
      enum: [...AXES],
      description: 'gap-shrinks, effect-shrinks: what from and to name: "size" (default): presets; "train": training-set sizes ("32", or a selector among the planned sizes) of the preset `at`, from a sweep with trainExamples',
    },
    train: { type: 'integer', minimum: 1, description: 'only the trials trained on this many examples; required when the plan trains the compared methods on several sizes and axis is not "train"' },
    option: { type: 'string', description: "effect-shrinks: the method's option whose effect is measured (length, init)" },
    values: { type: 'array', minItems: 2, description: 'effect-shrinks: the option values compared (difference: exactly two, values[0] minus values[1])' },
    effect: { type: 'string', enum: [...EFFECTS], description: 'effect-shrinks: spread (largest minus smallest accuracy over the values, per seed) or difference (values[0] minus values[1], per seed)' },
    figure: { type: 'string', description: 'the report figure that shows it (a figure id: scaling, gap, prompt-length, init, margin, ...), linked from the Findings section' },
  },
};

/** What an experiment name may be: it becomes a folder name (results/<name>/). */
export const EXPERIMENT_NAME: Schema = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$',
  patternHelp: "1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit (it names the results folder)",
  description: 'the experiment name (results go to results/<name>/)',
};

const positiveInteger: Schema = { type: 'integer', minimum: 1 };
const exampleCount: Schema = { type: 'integer', minimum: 1, maximum: LIMITS.examples };
const seedValue: Schema = { type: 'integer', minimum: 0, maximum: LIMITS.seed };
const names = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, minItems: 1, description });

const TRAINING: Schema = {
  type: 'object',
  description: 'how trials train; a method entry or sweep may override any field',
  additionalProperties: false,
  properties: {
    steps: { type: 'integer', minimum: 0, maximum: LIMITS.steps, description: 'optimisation steps per trial' },
    batchSize: { ...positiveInteger, maximum: LIMITS.batchSize, description: 'training examples per step' },
    evalEvery: { ...positiveInteger, maximum: LIMITS.steps, description: 'evaluate on dev every this many steps (the best dev score picks the checkpoint)' },
    optimizer: { type: 'string', enum: [...OPTIMIZER_NAMES], description: 'optimiser (default: per method, from its paper)' },
    learningRate: { type: 'number', exclusiveMinimum: 0, description: 'learning rate (default: per method)' },
    weightDecay: { type: 'number', minimum: 0, description: 'decoupled weight decay (default: per method)' },
  },
};

const METHOD_ENTRY: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['method'],
  properties: {
    method: { type: 'string', description: 'a registered method (peftscale info lists them; methods/index.ts is the one list)' },
    options: { type: 'object', description: "the method's options (peftscale params --method NAME --help lists them)", additionalProperties: true },
    sweep: {
      type: 'object',
      description: 'options to sweep: each field a list of values; trials take every combination',
      additionalProperties: { type: 'array', minItems: 1 },
    },
    training: TRAINING,
  },
};

const SWEEP: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', description: 'the sweep name; a sweep of the same name in a later file or profile is merged into it' },
    figure: { enum: [...FIGURE_KINDS, null], description: 'the report figure this sweep feeds (null: tables only)' },
    description: { type: 'string' },
    presets: names('frozen model presets (ps-*), overriding the experiment'),
    tasks: names('tasks, overriding the experiment'),
    seeds: { type: 'array', items: seedValue, minItems: 1, description: 'trial seeds, overriding the experiment' },
    methods: { type: 'array', items: METHOD_ENTRY, minItems: 1, description: 'the methods of the sweep' },
    training: TRAINING,
    trainExamples: {
      type: 'array',
      items: exampleCount,
      minItems: 1,
      description:
        'training-set sizes: every trial of the sweep runs once per size (the data each method needs), instead of data.train; dev and test stay those of `data`, and a smaller training set is a subset of a larger one. Synthetic tasks only',
    },
    control: { type: 'boolean', description: 'tune the never-trained control of each preset (same init weights, no pretraining) instead of the pretrained model: the pretraining-dependence control' },
  },
};

const splitCap: Schema = { anyOf: [positiveInteger, { enum: ['all'] }], description: 'most examples of the split (the first by SHA-256 of the example id), or "all"' };
const splitPaths: Schema = {
  type: 'object',
  additionalProperties: false,
  description: 'file per split (at least one); relative paths are resolved against this experiment file\'s folder, ${VAR} and ${VAR:-default} against the environment; missing splits are derived (see docs/experiments.md)',
  properties: { train: { type: 'string' }, dev: { type: 'string' }, test: { type: 'string' } },
};

const DATASET: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['recipe', 'files'],
  properties: {
    recipe: { type: 'string', description: `how the files become a task (checked when the experiment is planned, with "did you mean"): ${RECIPES.map((r) => `${r.name} (${r.description})`).join('; ')}` },
    files: splitPaths,
    format: { type: 'string', enum: ['jsonl', 'csv', 'tsv', 'parquet'], description: 'file format: required by the generic recipe; with another recipe, stating it makes a file of another format an error, and leaving it out reads each file by its content (Parquet, JSON lines, TSV or CSV), the recipe format where the content is ambiguous' },
    textFields: { type: 'array', items: { type: 'string' }, minItems: 1, description: 'fields that make the input, in template order' },
    labelField: { type: 'string', description: 'the field holding the label' },
    labelWords: { type: 'object', additionalProperties: { type: 'string' }, description: 'verbaliser: raw label value → label word with one leading space (" yes")' },
    template: { type: 'string', description: 'the input with {field} placeholders, ending right before the label word' },
    idField: { type: 'string', description: 'field holding a row id (default: the line number)' },
    truncateField: { type: 'string', description: 'text field shortened first when an input does not fit the context (default: the recipe\'s, else the longest)' },
    sizes: { type: 'object', additionalProperties: false, description: 'caps per split (default: the experiment\'s data, else all)', properties: { train: splitCap, dev: splitCap, test: splitCap } },
    heldOut: {
      type: 'object',
      additionalProperties: false,
      description: 'fractions of the pool carved out when no file gives dev or test (default dev 0.1, test 0.2)',
      properties: { dev: { type: 'number', exclusiveMinimum: 0, maximum: 0.9 }, test: { type: 'number', exclusiveMinimum: 0, maximum: 0.9 } },
    },
    maxOverlap: { type: 'number', minimum: 0, maximum: 1, description: 'most share of a split\'s rows whose input text is also in another split (train in dev, train or dev in test) before the task is refused (default 0.01); the counts go to run.json and the report either way' },
  },
};

const CHECKPOINT: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', description: 'the folder (config.json, model.safetensors or an index of shards, the tokenizer files); relative to this file, ${VAR} expanded' },
    shape: { type: 'string', description: 'a preset whose shape the folder must have (default: the entry name when it is one, e.g. gpt2-xl); lets --dry-run plan without the folder' },
    description: { type: 'string' },
  },
};

const BODY_PROPERTIES: Record<string, Schema> = {
  description: { type: 'string' },
  presets: names('frozen models, smallest first: ps-* presets (pretrained here) or names under "checkpoints"'),
  tasks: names(`tasks: of the generated suite (${TASK_NAMES.join(', ')}) or names under "datasets"`),
  datasets: { type: 'object', description: 'tasks from files, by name', additionalProperties: DATASET },
  checkpoints: { type: 'object', description: 'frozen models from checkpoint folders, by name', additionalProperties: CHECKPOINT },
  seeds: { type: 'array', items: seedValue, minItems: 1, description: 'trial seeds (method initialisation and batch order)' },
  pretrainSeed: { ...seedValue, description: 'seed of the world, the corpus and the pretrained models' },
  pretrainSteps: { type: 'integer', minimum: 1, maximum: LIMITS.pretrainSteps, description: "override the profile's pretraining steps (smoke tests; a different budget is a different model)" },
  data: {
    type: 'object',
    additionalProperties: false,
    description: 'examples per split and task',
    properties: { train: exampleCount, dev: exampleCount, test: exampleCount },
  },
  training: TRAINING,
  ensemble: {
    type: 'boolean',
    description: 'after the sweep, ensemble the prompt-tuning prompts of each configuration across seeds by majority vote (Lester et al. Table 3)',
  },
  requires: {
    type: 'string',
    enum: ['gpu'],
    description: 'what the machine must have, checked before planning (also by --dry-run): "gpu" needs @tensorflow/tfjs-node-gpu, an NVIDIA GPU the driver lists, and --backend tensorflow or auto; --ignore-requires with --dry-run plans it anyway. Not part of any trial key',
  },
  packRows: {
    type: 'integer',
    minimum: 0,
    maximum: LIMITS.batchSize,
    description: 'most rows per packed training step: trials of one frozen model, task and schedule whose methods declare packing train together, each on its own rows (default 64; 0 or 1: every trial alone; --pack-rows overrides)',
  },
  methodTraining: {
    type: 'object',
    description: 'training overrides per method name (e.g. a learning rate for lora)',
    additionalProperties: TRAINING,
  },
  sweeps: { type: 'array', items: SWEEP, description: 'the sweeps; each expands into trials' },
  hypotheses: { type: 'array', items: HYPOTHESIS, description: 'findings stated before the run, evaluated by the report (recorded with their hash in the results folder when the plan is made)' },
};

/** The schema of one experiment file. Every field is optional in an included file; the resolved experiment needs `name` and `sweeps`. */
export const EXPERIMENT_SCHEMA: Schema & { $schema: string; title: string } = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'peftscale experiment',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'for editors; ignored' },
    name: EXPERIMENT_NAME,
    include: { type: 'array', items: { type: 'string' }, description: 'files merged first, in order (paths relative to this file); this file overrides them' },
    profile: { type: 'string', enum: [...PROFILE_NAMES], description: 'the pretraining profile when the command line gives no --profile (default quick)' },
    ...BODY_PROPERTIES,
    profiles: {
      type: 'object',
      description: 'overrides applied when the profile is chosen with --profile',
      additionalProperties: false,
      // One entry per pretraining profile (experiments/pretrain/pretrain_profiles.ts PROFILE_NAMES).
      properties: Object.fromEntries(PROFILE_NAMES.map((name) => [name, { type: 'object', additionalProperties: false, properties: BODY_PROPERTIES }])),
    },
  },
};

/** Every place a value breaks the schema, as "path: value: what is allowed". */
export function validate(value: unknown, schema: Schema, path = ''): string[] {
  const at = path === '' ? '(top level)' : path;
  const shown = (v: unknown): string => {
    const text = JSON.stringify(v) ?? String(v);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  if (schema.anyOf !== undefined) {
    const attempts = schema.anyOf.map((alternative) => validate(value, alternative, path));
    return attempts.some((problems) => problems.length === 0) ? [] : attempts[0];
  }
  if (schema.enum !== undefined) {
    if (!schema.enum.includes(value as string | null)) {
      const allowed = schema.enum.map((v) => JSON.stringify(v)).join(', ');
      return [`${at} = ${shown(value)}: allowed: ${allowed}`];
    }
    return [];
  }
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at} = ${shown(value)}: allowed: an object`];
      const record = value as Record<string, unknown>;
      const problems: string[] = [];
      // Own fields only: inherited names ("constructor", "__proto__") are not fields of any schema.
      for (const name of schema.required ?? []) if (!Object.hasOwn(record, name)) problems.push(`${at}: the field "${name}" is required`);
      const known = Object.keys(schema.properties ?? {});
      for (const [name, fieldValue] of Object.entries(record)) {
        const fieldPath = path === '' ? name : `${path}.${name}`;
        const fieldSchema = schema.properties !== undefined && Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
        if (fieldSchema !== undefined) problems.push(...validate(fieldValue, fieldSchema, fieldPath));
        else if (schema.additionalProperties === false) problems.push(`${fieldPath}: ${unknownNameMessage('field', name, known)}`);
        else if (typeof schema.additionalProperties === 'object') problems.push(...validate(fieldValue, schema.additionalProperties, fieldPath));
      }
      return problems;
    }
    case 'array': {
      if (!Array.isArray(value)) return [`${at} = ${shown(value)}: allowed: a list${schema.items?.type !== undefined ? ` of ${schema.items.type}s` : ''}`];
      if (schema.minItems !== undefined && value.length < schema.minItems) return [`${at} = ${shown(value)}: allowed: a list of at least ${schema.minItems} item(s)`];
      return schema.items === undefined ? [] : value.flatMap((item, i) => validate(item, schema.items as Schema, `${path}[${i}]`));
    }
    case 'string':
      if (typeof value !== 'string') return [`${at} = ${shown(value)}: allowed: a string`];
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return [`${at} = ${shown(value)}: allowed: ${schema.patternHelp ?? `a string matching ${schema.pattern}`}`];
      return [];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at} = ${shown(value)}: allowed: true or false`];
    case 'integer':
    case 'number': {
      const isNumber = typeof value === 'number' && Number.isFinite(value) && (schema.type === 'number' || Number.isInteger(value));
      const bounds = [
        schema.minimum !== undefined ? `≥ ${schema.minimum}` : '',
        schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : '',
        schema.maximum !== undefined ? `≤ ${schema.maximum}` : '',
      ].filter((b) => b !== '');
      const allowed = `allowed: ${schema.type === 'integer' ? 'an integer' : 'a number'}${bounds.length > 0 ? ` ${bounds.join(' and ')}` : ''}`;
      if (!isNumber) return [`${at} = ${shown(value)}: ${allowed}`];
      const n = value as number;
      const inRange =
        (schema.minimum === undefined || n >= schema.minimum) &&
        (schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum) &&
        (schema.maximum === undefined || n <= schema.maximum);
      return inRange ? [] : [`${at} = ${shown(value)}: ${allowed}`];
    }
    default:
      return [];
  }
}
