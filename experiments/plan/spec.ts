/**
 * Experiment files: loading (with `include`), profiles, validation and expansion into trials.
 *
 * A file is JSON (schema: experiments/configs/schema.json). `include` lists files merged first, in order; the
 * including file overrides them. Merging is deep for objects, replaces lists and scalars, and merges
 * `sweeps` by name and `hypotheses` by id (one of the same name or id is merged into the earlier one; a new
 * one is appended).
 * Then `profiles.<profile>` is merged over the result the same way. Every problem is reported before
 * any work starts, with the file, the field path, the value and what is allowed.
 *
 * A trial is one (sweep entry, option combination, preset, task, seed); trials asked for by several
 * sweeps (the default experiment covers scaling, prompt length and initialisation, which share prompt
 * tuning at length 20 with class-label init) run once and carry every sweep's name. A trial's key
 * hashes its resolved config with the dataset and code versions.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { unknownNameMessage, type ModelConfig } from '../../src/model/config.js';
import { canonicalJson } from '../../src/util/canonical_json.js';

export { canonicalJson };
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { getMethod, registeredMethods, resolveOptions, type OptionValue, type PeftMethod } from '../../src/adapt/peft.js';
import { methodCard, trainingDefaults } from '../../src/adapt/method_card.js';
import { frozenModelName, optionsLabel, type SweepInfo, type TrainingConfig, type TrialConfig } from '../../src/results/results.js';
import { OPTIMIZER_NAMES, WEIGHT_DECAY_OPTIMIZERS } from '../../src/training/train.js';
import { buildTaskSuite, TASK_NAMES } from '../../datasets/tasks.js';
import type { ResolvedDataset } from '../../datasets/file_tasks.js';
import type { CheckpointInfo } from './checkpoints.js';
import { ExperimentSources } from './sources.js';
import { missingDataFiles } from './data_files.js';
import { DATASET_VERSION } from '../../datasets/world.js';
import { pretrainedModelDir } from '../pretrain/pretrain_family.js';
import { PRETRAIN_PROFILES, PROFILE_NAMES, resolveProfile, type PretrainProfile, type PretrainProfileName } from '../pretrain/pretrain_profiles.js';
import { loadExperimentDocument, mergeDocuments } from './document.js';

export { defaultProfile, loadExperimentDocument, mergeDocuments, MAX_EXPERIMENT_FILE_BYTES, MAX_INCLUDE_DEPTH } from './document.js';
import { hypothesisProblems } from './hypothesis_check.js';
import type { Hypothesis } from '../../src/results/hypotheses.js';
import '../../methods/index.js'; // registers every method: experiment files name them

/**
 * Bump when a change to training or evaluation code makes cached trials stale: it is part of every key.
 * (Keys also hash the dataset version; the pretrained models are keyed separately by their own version.)
 */
export const TRIAL_CODE_VERSION = 4; // 4: prefix tuning puts real tokens at positions k..k+T-1 (PEFT's convention); 3: seeded inits, LoRA dropout per seed, final-step scores and gainOverInit in records

/** The folder of the shipped experiment files. */
export { EXPERIMENTS_DIR_NAME as EXPERIMENTS_DIR } from './document.js';
import { EXPERIMENTS_DIR_NAME as EXPERIMENTS_DIR } from './document.js';

/** Training fields every trial ends up with when nothing overrides them. */
const TRAINING_FALLBACK = { steps: 200, batchSize: 16, evalEvery: 50 };

export type { DatasetInfo, ExperimentDocument, JsonObject, MethodEntry, SweepSpec } from './experiment_document.js';
import type { DatasetInfo, ExperimentDocument, JsonObject, MethodEntry } from './experiment_document.js';

/** One planned trial: its key, its resolved config and the sweeps that ask for it. */
export interface PlannedTrial {
  key: string;
  config: TrialConfig;
  sweeps: string[];
  /** A task from files: how to load it (the key holds only its fingerprint). */
  dataset?: ResolvedDataset;
  /** A frozen model from a checkpoint folder: the folder (the key holds only its fingerprint). */
  checkpointDir?: string;
  /** The frozen model's shape (a preset's, or read from the checkpoint's config.json): what shard costs are estimated from. */
  modelConfig: ModelConfig;
}

/** Options of {@link resolveExperiment}. */
export interface ResolveOptions {
  /** Plan checkpoints whose folder is missing from their declared `shape` (a dry run); the problems go to `missingCheckpoints`. */
  allowMissingCheckpoints?: boolean;
}

/** An experiment ready to run. */
export interface ResolvedExperiment {
  name: string;
  description: string;
  /** The file it came from. */
  file: string;
  profile: PretrainProfileName;
  /** The profile itself, resolved once here: pass this down, not the name. */
  pretrainProfile: PretrainProfile;
  pretrainSeed: number;
  /** Pretraining steps when the file overrides the profile's. */
  pretrainSteps: number | undefined;
  /** Whether prompt-tuning prompts are ensembled across seeds after the sweep. */
  ensemble: boolean;
  /** Most rows per packed training step, when the file sets it (experiments/run/trial_packs.ts). */
  packRows: number | undefined;
  presets: string[];
  sweeps: SweepInfo[];
  /** The merged document (includes and profile applied), as run.json records it. */
  document: ExperimentDocument;
  trials: PlannedTrial[];
  /** Frozen models from checkpoint folders that the trials use. */
  checkpoints: CheckpointInfo[];
  /** With allowMissingCheckpoints: why each missing checkpoint would stop a real run. */
  missingCheckpoints: string[];
  /** Tasks from files that the trials use. */
  datasets: DatasetInfo[];
  /** Findings stated in the file, checked against the plan (evaluated by the report). */
  hypotheses: Hypothesis[];
}

/** An experiment file by name (a shipped one: "scaling") or by path; unknown names suggest shipped ones. */
export function experimentPath(nameOrPath: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(path.sep)) return path.resolve(nameOrPath);
  const shipped = shippedExperiments();
  if (!shipped.includes(nameOrPath)) throw new Error(unknownNameMessage('experiment', nameOrPath, shipped));
  return path.join(EXPERIMENTS_DIR, `${nameOrPath}.json`);
}

/** Names of the experiment files shipped in experiments/ (files starting with "_" are include-only). */
export function shippedExperiments(): string[] {
  return readdirSync(EXPERIMENTS_DIR)
    .filter((file) => file.endsWith('.json') && !file.startsWith('_') && file !== 'schema.json')
    .map((file) => file.slice(0, -'.json'.length))
    .sort();
}


/**
 * The file's `requires` under a profile, read without resolving anything (no data file or checkpoint is
 * read), so a machine that lacks it is named before planning. Another value is left to the schema check.
 */
export function experimentRequires(file: string, profileName: string): 'gpu' | undefined {
  const loaded = loadExperimentDocument(file);
  const profile = (loaded.profiles as Record<string, JsonObject> | undefined)?.[profileName];
  const requires = profile?.requires ?? loaded.requires;
  return requires === 'gpu' ? requires : undefined;
}

/** Loads, merges and checks an experiment, and expands it into trials. Throws one error listing every problem. */
export function resolveExperiment(file: string, profileName: string, options: ResolveOptions = {}): ResolvedExperiment {
  if (!(PROFILE_NAMES as readonly string[]).includes(profileName)) throw new Error(`--profile ${unknownNameMessage('profile', profileName, PROFILE_NAMES)}`);
  const profile = profileName as PretrainProfileName;
  const loaded = loadExperimentDocument(file);
  const profiles = (loaded.profiles as Record<string, JsonObject> | undefined) ?? {};
  const withoutProfiles = { ...loaded };
  delete withoutProfiles.profiles;
  const document = mergeDocuments(withoutProfiles, profiles[profile] ?? {}) as ExperimentDocument;
  const where = path.resolve(file);
  // Named first, dry runs included (without its files a dataset has no fingerprint, so no key), each with
  // where it comes from; such datasets are not loaded, and every other problem is still listed.
  const missing = missingDataFiles(document);
  const problems: string[] = missing.map((m) => m.line);
  if (document.name === undefined) problems.push('name: the field is required (in the file or one it includes)');
  if (document.sweeps === undefined || document.sweeps.length === 0) problems.push('sweeps: at least one sweep is required');

  const pretrainProfile = resolveProfile(profile);
  const pretrainSeed = document.pretrainSeed ?? 0;
  const corpus = pretrainProfile.corpus;
  const data = { worldSize: corpus.worldSize, townCount: corpus.townCount, train: document.data?.train ?? 64, dev: document.data?.dev ?? 32, test: document.data?.test ?? 64 };

  // Split sizes must fit the world each task is built from: checked here, not in a worker mid-sweep.
  const taskChecked = new Set<string>();
  const checkTaskData = (task: string, at: string, train: number): void => {
    if (taskChecked.has(`${task}:${train}`) || !TASK_NAMES.includes(task)) return;
    taskChecked.add(`${task}:${train}`);
    try {
      buildTaskSuite({ seed: pretrainSeed, worldSize: data.worldSize, townCount: data.townCount, sizes: { train, dev: data.dev, test: data.test }, tasks: [task] });
    } catch (error) {
      problems.push(`${at} with data ${JSON.stringify({ train, dev: data.dev, test: data.test })} (world of ${data.worldSize} characters in profile ${profile}): ${(error as Error).message}`);
    }
  };
  const sources = new ExperimentSources(document, problems, options.allowMissingCheckpoints === true, new Set(missing.map((m) => m.dataset)));
  // Tasks from files are capped by `data` when it is given, and otherwise keep every example.
  const fileSizes = { train: document.data?.train ?? 'all', dev: document.data?.dev ?? 'all', test: document.data?.test ?? 'all' } as const;
  const methodNames = registeredMethods().map((m) => m.name);
  for (const name of Object.keys(document.methodTraining ?? {})) {
    if (!methodNames.includes(name)) problems.push(`methodTraining: ${unknownNameMessage('method', name, methodNames)}`);
  }
  const byKey = new Map<string, PlannedTrial>();
  // The summary groups trials by preset, method, options, task, training-set size and seed: two different trials there
  // (another training budget or optimiser for the same options) would silently replace one another.
  const bySummaryCell = new Map<string, { key: string; at: string }>();
  const collidingEntries = new Set<string>();
  const sweeps: SweepInfo[] = [];
  const presetsUsed = new Set<string>();
  for (const [sweepIndex, sweep] of (document.sweeps ?? []).entries()) {
    const at = `sweeps[${sweepIndex}] ("${sweep.name}")`;
    sweeps.push({ name: sweep.name, figure: sweep.figure ?? null, description: sweep.description ?? '' });
    const presets = sweep.presets ?? document.presets ?? [...pretrainProfile.presets];
    const tasks = sweep.tasks ?? document.tasks ?? [...TASK_NAMES];
    const seeds = sweep.seeds ?? document.seeds ?? [0];
    for (const preset of presets) sources.model(preset, `${at}.presets`);
    // The training-set size axis (the data each method needs); one size, data.train, when the sweep has none.
    const trainSizes = sweep.trainExamples ?? [data.train];
    // Only the data-size figure reads several sizes; every other figure and table draws one point per
    // frozen model and method, which a second size would split or overwrite.
    if (sweep.trainExamples !== undefined && (sweep.figure !== 'data-size' || sweep.control === true)) {
      problems.push(`${at}.trainExamples: allowed only on a sweep with "figure": "data-size" and no "control" (this one: figure ${JSON.stringify(sweep.figure ?? null)}${sweep.control === true ? ', control' : ''})`);
    }
    if (sweep.figure === 'data-size' && sweep.trainExamples === undefined) problems.push(`${at}.figure = "data-size": the sweep needs "trainExamples" (the training-set sizes it compares)`);
    for (const task of tasks) {
      const dataset = sources.task(task, `${at}.tasks`, fileSizes)?.dataset;
      if (dataset === null) for (const train of trainSizes) checkTaskData(task, `${at}.tasks: "${task}"`, train);
      else if (dataset !== undefined && sweep.trainExamples !== undefined) problems.push(`${at}.trainExamples: task "${task}" is read from files, whose training set is set by data.train; allowed: trainExamples on synthetic tasks (${TASK_NAMES.join(', ')})`);
    }
    if (sweep.methods === undefined || sweep.methods.length === 0) problems.push(`${at}.methods: at least one method is required`);
    for (const [entryIndex, entry] of (sweep.methods ?? []).entries()) {
      const entryAt = `${at}.methods[${entryIndex}]`;
      if (!registeredMethods().some((m) => m.name === entry.method)) {
        problems.push(`${entryAt}.method: ${unknownNameMessage('method', entry.method, registeredMethods().map((m) => m.name))}`);
        continue;
      }
      const training = resolveTraining(getMethod(entry.method), profile, [document.training, document.methodTraining?.[entry.method], sweep.training, entry.training], `${entryAt}.training`, problems);
      // One line per distinct problem, naming the presets it occurs on.
      const optionProblems = new Map<string, string[]>();
      for (const options of optionCombinations(entry)) {
        for (const preset of presets) {
          const model = sources.model(preset, `${at}.presets`);
          if (model === null) continue;
          let resolved: Record<string, OptionValue>;
          try {
            resolved = resolveOptions(getMethod(entry.method), options, model.config);
          } catch (error) {
            // The method speaks in command-line flags (--rank); in a file the field is options.rank.
            const message = (error as Error).message.replace(/:\n\s*/, ': ').replace(/\n\s*/g, '; ').replace(/--([a-z][\w-]*)/g, 'options.$1');
            optionProblems.set(message, [...(optionProblems.get(message) ?? []), preset]);
            continue;
          }
          presetsUsed.add(preset);
          const checkpoint = model.checkpoint?.info ?? null;
          for (const task of tasks) {
            const taskSource = sources.task(task, `${at}.tasks`, fileSizes);
            if (taskSource === null) continue;
            const dataset = taskSource.dataset;
            for (const train of dataset === null ? trainSizes : [dataset.info.sizes.train]) for (const seed of seeds) {
              const control = sweep.control === true;
              if (control && model.checkpoint !== null) {
                problems.push(`${at}.control: preset "${preset}" is a checkpoint folder, which has no never-trained control; allowed: control sweeps on ps-* presets`);
                continue;
              }
              // A checkpoint folder missing in a dry run has no fingerprint yet: its keys say so.
              const modelId =
                model.checkpoint === null ? path.basename(pretrainedModelDir({ preset, profile: pretrainProfile, seed: pretrainSeed, steps: document.pretrainSteps, control })) : `checkpoint-${checkpoint?.fingerprint ?? 'missing'}`;
              const config: TrialConfig = {
                preset,
                profile,
                pretrainSeed,
                modelId,
                method: entry.method,
                options: resolved,
                task,
                data: dataset === null ? { ...data, train } : { worldSize: 0, townCount: 0, ...dataset.info.sizes },
                seed,
                training,
                ...(control ? { control: true as const } : {}),
                ...(dataset === null ? {} : { dataset: { recipe: dataset.resolved.recipe, fingerprint: dataset.info.fingerprint } }),
                ...(model.checkpoint === null ? {} : { checkpoint: { fingerprint: checkpoint?.fingerprint ?? 'missing' } }),
              };
              const key = trialKey(config);
              const cell = canonicalJson([frozenModelName(config), entry.method, resolved, task, config.data.train, seed]);
              const other = bySummaryCell.get(cell);
              if (other === undefined) bySummaryCell.set(cell, { key, at: entryAt });
              else if (other.key !== key && !collidingEntries.has(entryAt)) {
                collidingEntries.add(entryAt);
                problems.push(
                  `${entryAt}: the same method and options as ${other.at} (${entry.method} ${optionsLabel(resolved)} on ${preset}, ${task}, ${config.data.train} training examples, seed ${seed}) but another training or data setting: results are summarised per method and options, so one would hide the other; put them in separate experiments`,
                );
              }
              const planned = byKey.get(key);
              if (planned === undefined) {
                byKey.set(key, { key, config, sweeps: [sweep.name], modelConfig: model.config, ...(dataset === null ? {} : { dataset: dataset.resolved }), ...(checkpoint === null ? {} : { checkpointDir: checkpoint.dir }) });
              }
              else if (!planned.sweeps.includes(sweep.name)) planned.sweeps.push(sweep.name);
            }
          }
        }
      }
      for (const [message, onPresets] of optionProblems) problems.push(`${entryAt} on ${[...new Set(onPresets)].join(', ')}: ${message}`);
    }
  }
  const hypotheses = document.hypotheses ?? [];
  if (problems.length === 0) problems.push(...hypothesisProblems(hypotheses, [...byKey.values()], [...presetsUsed]));
  if (problems.length > 0) throw new Error(`${where} (profile ${profile}): ${problems.length} problem(s):\n  ${[...new Set(problems)].join('\n  ')}`);
  const size = (preset: string): number => countParameters(modelParameterSpecs((sources.model(preset, '') as { config: ModelConfig }).config));
  const presets = [...presetsUsed].sort((a, b) => size(a) - size(b));
  return {
    name: document.name as string,
    description: document.description ?? '',
    file: where,
    profile,
    pretrainProfile,
    pretrainSeed,
    pretrainSteps: document.pretrainSteps,
    ensemble: document.ensemble ?? false,
    packRows: document.packRows,
    presets,
    sweeps,
    document,
    trials: [...byKey.values()],
    checkpoints: sources.checkpoints(),
    missingCheckpoints: sources.missingCheckpoints,
    datasets: sources.datasets(),
    hypotheses,
  };
}

/** The option sets of a method entry: its fixed options with every combination of its swept ones. */
export function optionCombinations(entry: MethodEntry): JsonObject[] {
  let combinations: JsonObject[] = [{ ...(entry.options ?? {}) }];
  for (const [name, values] of Object.entries(entry.sweep ?? {})) {
    combinations = combinations.flatMap((combination) => values.map((value) => ({ ...combination, [name]: value })));
  }
  return combinations;
}

/** The method's defaults under the profile (its card), then each override layer in order; unknown optimisers and bad values are problems. */
function resolveTraining(method: PeftMethod, profile: string, layers: (Partial<TrainingConfig> | undefined)[], at: string, problems: string[]): TrainingConfig {
  const defaults = trainingDefaults(methodCard(method.name), profile); // the method's card: every method has one
  const merged: TrainingConfig = { ...TRAINING_FALLBACK, optimizer: defaults.optimizer, learningRate: defaults.learningRate, weightDecay: defaults.weightDecay };
  for (const layer of layers) {
    if (layer === undefined) continue;
    // The method's default weight decay belongs to its default optimiser: choosing another one drops it.
    if (layer.optimizer !== undefined && layer.optimizer !== defaults.optimizer && layer.weightDecay === undefined) merged.weightDecay = 0;
    Object.assign(merged, layer);
  }
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(merged.optimizer)) problems.push(`${at}.optimizer: ${unknownNameMessage('optimizer', merged.optimizer, OPTIMIZER_NAMES)}`);
  if (merged.weightDecay > 0 && !WEIGHT_DECAY_OPTIMIZERS.includes(merged.optimizer)) problems.push(`${at}.weightDecay = ${merged.weightDecay}: optimizer "${merged.optimizer}" applies no weight decay; allowed: 0, or optimizer ${WEIGHT_DECAY_OPTIMIZERS.map((o) => `"${o}"`).join(' or ')}`);
  if (merged.evalEvery > Math.max(1, merged.steps)) problems.push(`${at}.evalEvery = ${merged.evalEvery}: allowed: at most steps (${merged.steps})`);
  return merged;
}


/** The trial key: a hash of the resolved config, the dataset version and the trial code version (16 hex digits). */
export function trialKey(config: TrialConfig): string {
  const text = `${DATASET_VERSION}|trial-v${TRIAL_CODE_VERSION}|${canonicalJson(config)}`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The pretraining profiles by name, for help texts. */
export const PROFILE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(PRETRAIN_PROFILES).map(([name, profile]) => [name, profile.description]),
);
