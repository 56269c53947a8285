/**
 * `peftscale export FILE --out DIR`: the trained adapters of an experiment's cached trials, one folder
 * each, with the trial's record beside the adapter (`trial.json`): what trained it, on what, and how it
 * scored. Adapters of methods PEFT has are PEFT folders (`PeftModel.from_pretrained(model, folder)`);
 * the others (BitFit, full tuning) are peftscale's own format, which the export says. With
 * `--full-model`, a trial whose adapter holds every base parameter (full model tuning) is also written
 * as a model folder that transformers' `GPT2LMHeadModel.from_pretrained` loads (`model/`).
 *
 * Trials are chosen by the experiment's plan (the same keys `experiment` and `collect` use) and the
 * filters; a chosen trial without a kept adapter (not run yet, trained nothing, over the cache's size
 * limit, or cached before adapters were kept) is listed with the reason and exits 2.
 */
import { cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { booleanFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { getMethod } from '../../src/adapt/peft.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, notPeftNote, PEFT_CONFIG_FILE } from '../../src/io/adapter_io.js';
import { HF_PREFIX, loadWeights, readJsonFile, saveCheckpoint, saveTensors, isObject } from '../../src/io/checkpoint.js';
import { hfConfigFor } from '../../src/io/hf_config.js';
import { GPT2 } from '../../src/model/model.js';
import { validateModelConfig, type ModelConfig } from '../../src/model/config.js';
import { initBackend } from '../../src/model/backend.js';
import { optionsLabel, type TrialRecord } from '../../src/results/results.js';
import { temporaryPathFor, writeFileAtomic } from '../../src/io/atomic_file.js';
import { planRun } from '../run/runner.js';
import { DEFAULT_TRIAL_CACHE_DIR, trialAdapterPath } from '../run/trial_cache.js';
import { defaultProfile, experimentPath, resolveExperiment, shippedExperiments, type ResolvedExperiment } from '../plan/spec.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { EXPERIMENT_PROFILE_FLAG, TRIAL_CACHE_FLAG } from './flags.js';
import '../../methods/index.js';

export const EXPORT_FLAGS: readonly FlagSpec[] = [
  { name: 'out', type: 'string', description: 'folder to write the adapters into (created; one subfolder per trial)' },
  EXPERIMENT_PROFILE_FLAG,
  TRIAL_CACHE_FLAG,
  { name: 'method', type: 'string', description: 'only these methods (comma-separated)' },
  { name: 'task', type: 'string', description: 'only these tasks (comma-separated)' },
  { name: 'preset', type: 'string', description: 'only these frozen models (comma-separated)' },
  { name: 'seed', type: 'string', description: 'only these seeds (comma-separated)' },
  { name: 'key', type: 'string', description: 'only these trial keys (comma-separated)' },
  { name: 'full-model', type: 'boolean', description: 'also write full model tuning as a transformers model folder (model/ in its folder)' },
  jsonFlag('one JSON object on stdout: what was written and what was not'),
];

export const command: Command<ExportResult | null> = {
  name: 'export',
  summary: "the trained adapters of an experiment's cached trials, each with its record (PEFT folders where PEFT has the method)",
  get synopsis() {
    return exportSynopsis();
  },
  flags: EXPORT_FLAGS,
  run: exportCommand,
};

/** `peftscale export ARGV` (tests call it directly). */
export async function runExport(argv: string[]): Promise<ExportResult | null> {
  return await runCommand(command, argv);
}

function exportSynopsis(): string {
  return [
    'usage: peftscale export FILE --out DIR [filters] [--full-model]',
    '',
    "Writes the cached adapters of an experiment's trials to DIR/<method>_<task>_<preset>_seed<N>_<key>/:",
    'the adapter (PEFT format where PEFT has the method) and trial.json, the record that produced it.',
    'Exit status 0: every chosen trial exported; 2: some had no adapter (listed); 1: an error.',
    '',
    `FILE: a shipped experiment (${shippedExperiments().join(', ')}) or a path to an experiment file`,
  ].join('\n');
}

export interface ExportedTrial {
  key: string;
  dir: string;
  method: string;
  /** "peft" (PeftModel.from_pretrained loads it) or "peftscale" (the method is not in PEFT). */
  format: 'peft' | 'peftscale';
  /** The transformers model folder written with --full-model. */
  model?: string;
}

export interface ExportResult {
  experiment: string;
  exported: ExportedTrial[];
  notExported: { key: string; reason: string }[];
}

/** A comma-separated filter flag as a set, or null when not given. */
function listFilter(value: string | undefined): Set<string> | null {
  return value === undefined ? null : new Set(value.split(',').map((item) => item.trim()).filter((item) => item !== ''));
}

function folderName(record: TrialRecord): string {
  const label = optionsLabel(record.config.options);
  const parts = [record.config.method, label === '' ? null : label, record.config.task, record.config.preset, `seed${record.config.seed}`, record.key.slice(0, 12)];
  return parts.filter((part): part is string => part !== null).join('_').replace(/[^A-Za-z0-9._=-]+/g, '-');
}

async function exportCommand(args: ParsedArgs): Promise<ExportResult | null> {
  if (args.positionals.length !== 1) throw new Error(`export: expected one experiment file, got ${args.positionals.length === 0 ? 'none' : args.positionals.join(' ')}; see --help`);
  const out = stringFlag(args, 'out');
  if (out === undefined) throw new Error('export: --out DIR is required (the folder the adapters are written into)');
  const experiment = resolveExperiment(experimentPath(args.positionals[0]), stringFlag(args, 'profile') ?? defaultProfile(experimentPath(args.positionals[0])));
  const trialCacheDir = stringFlag(args, 'trial-cache') ?? DEFAULT_TRIAL_CACHE_DIR;
  const filters = { method: listFilter(stringFlag(args, 'method')), task: listFilter(stringFlag(args, 'task')), preset: listFilter(stringFlag(args, 'preset')), seed: listFilter(stringFlag(args, 'seed')), key: listFilter(stringFlag(args, 'key')) };
  const chosen = experiment.trials.filter(
    (trial) =>
      (filters.method?.has(trial.config.method) ?? true) &&
      (filters.task?.has(trial.config.task) ?? true) &&
      (filters.preset?.has(trial.config.preset) ?? true) &&
      (filters.seed?.has(String(trial.config.seed)) ?? true) &&
      (filters.key?.has(trial.key) ?? true),
  );
  if (chosen.length === 0) throw new Error(`export: no trial of ${experiment.name} (profile ${experiment.profile}, ${experiment.trials.length} trials) matches the filters ${JSON.stringify(Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== null).map(([k, v]) => [k, [...(v as Set<string>)]])))}`);
  const plan = await planRun({ ...experiment, trials: chosen }, trialCacheDir, (message) => void process.stderr.write(`warning: ${message}\n`));
  const result: ExportResult = { experiment: experiment.name, exported: [], notExported: [] };
  await mkdir(out, { recursive: true });
  let backendReady = false;
  for (const trial of chosen) {
    const record = plan.cached.get(trial.key);
    const adapterDir = trialAdapterPath(trialCacheDir, trial.key);
    if (record === undefined) {
      result.notExported.push({ key: trial.key, reason: 'not in the trial cache (run the experiment first)' });
      continue;
    }
    if (!existsSync(adapterDir)) {
      const trainsNothing = record.parameters.trainable === 0;
      result.notExported.push({ key: trial.key, reason: trainsNothing ? 'the method trains nothing: there is no adapter' : `no adapter in ${adapterDir} (over the cache's size limit, PEFTSCALE_ADAPTER_CACHE_MAX_MB, or cached before adapters were kept)` });
      continue;
    }
    const target = path.join(out, folderName(record));
    const temporary = temporaryPathFor(target);
    const format = existsSync(path.join(adapterDir, PEFT_CONFIG_FILE)) ? 'peft' : 'peftscale';
    const entry: ExportedTrial = { key: trial.key, dir: target, method: record.config.method, format };
    try {
      await cp(adapterDir, temporary, { recursive: true });
      await writeFile(path.join(temporary, 'trial.json'), `${JSON.stringify(record, null, 2)}\n`);
      if (format === 'peftscale') await writeFile(path.join(temporary, 'README.txt'), `${notPeftNote(getMethod(record.config.method))}.\n`);
      if (booleanFlag(args, 'full-model') && holdsWholeModel(record)) {
        if (!backendReady) {
          await initBackend(); // the active one, else the first that loads (PEFTSCALE_BACKEND)
          backendReady = true;
        }
        await writeModelFolder(path.join(temporary, 'model'), adapterDir, record, experiment);
        entry.model = path.join(target, 'model');
      }
      await rm(target, { recursive: true, force: true });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
      throw new Error(`export: cannot write ${target}: ${(error as Error).message}`);
    }
    result.exported.push(entry);
  }
  report(result, out);
  if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.notExported.length > 0 && (process.exitCode === undefined || process.exitCode === 0)) process.exitCode = 2;
  return result;
}

function report(result: ExportResult, out: string): void {
  process.stderr.write(`${result.experiment}: ${result.exported.length} adapter(s) written to ${out}\n`);
  for (const entry of result.exported) {
    const how = entry.format === 'peft' ? 'PEFT format' : "peftscale's own format (PEFT has no such method; see README.txt)";
    process.stderr.write(`  ${path.basename(entry.dir)}  ${how}${entry.model === undefined ? '' : `; transformers model in ${path.basename(entry.dir)}/model`}\n`);
  }
  for (const missing of result.notExported) process.stderr.write(`  not exported: ${missing.key}: ${missing.reason}\n`);
}

/** Whether a trial's adapter is the whole model: it trained as many values as the base has (full model tuning). */
function holdsWholeModel(record: TrialRecord): boolean {
  return record.parameters.trainable === record.parameters.base && record.parameters.adapterBytes === 4 * record.parameters.base;
}

/**
 * The trained copy of every base parameter as a model folder transformers loads: model.safetensors with
 * the `transformer.` prefix and config.json; the tokenizer as the base had it (the byte tokenizer by name,
 * or the checkpoint folder's BPE files copied).
 */
async function writeModelFolder(dir: string, adapterDir: string, record: TrialRecord, experiment: ResolvedExperiment): Promise<void> {
  const adapterJson = await readJsonFile(path.join(adapterDir, ADAPTER_CONFIG_FILE), `trial ${record.key}'s adapter`);
  if (!isObject(adapterJson) || !isObject(adapterJson.model)) throw new Error(`${path.join(adapterDir, ADAPTER_CONFIG_FILE)}: no "model" config`);
  const config = validateModelConfig(adapterJson.model as unknown as ModelConfig, `model config in ${path.join(adapterDir, ADAPTER_CONFIG_FILE)}`);
  const { tensors } = await loadWeights(path.join(adapterDir, ADAPTER_WEIGHTS_FILE));
  const model = GPT2.fromWeights(config, tensors, path.join(adapterDir, ADAPTER_WEIGHTS_FILE)); // owns the tensors now
  try {
    const checkpoint = experiment.checkpoints.find((info) => info.name === record.config.preset);
    if (checkpoint === undefined || checkpoint.tokenizer === 'byte') {
      await saveCheckpoint(dir, model, { trial: record.key, method: record.config.method, task: record.config.task });
      return;
    }
    await mkdir(dir, { recursive: true });
    const prefixed = new Map<string, tf.Tensor>([...model.parameters()].map(([name, tensor]) => [`${HF_PREFIX}${name}`, tensor]));
    await saveTensors(path.join(dir, 'model.safetensors'), prefixed, { format: 'pt' });
    const files = await readdir(checkpoint.dir);
    for (const file of ['vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      if (files.includes(file)) await cp(path.join(checkpoint.dir, file), path.join(dir, file));
    }
    const base = await readJsonFile(path.join(checkpoint.dir, 'config.json'), `checkpoint ${checkpoint.name}`);
    const ids = isObject(base) ? base : {};
    const eos = typeof ids.eos_token_id === 'number' ? ids.eos_token_id : config.vocabSize - 1;
    const bos = typeof ids.bos_token_id === 'number' ? ids.bos_token_id : eos;
    await writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(hfConfigFor(config, { bos, eos, pad: eos }, {}), null, 2)}\n`);
  } finally {
    model.dispose();
  }
}
