/**
 * Tasks from files: an experiment's dataset entry (a recipe, file paths, optional overrides) becomes a
 * validated loader config, then a Task with train, dev and test splits.
 *
 * Splits. Benchmarks rarely ship a labelled test file (GLUE and SuperGLUE hide their test labels), so the
 * missing splits are derived from what exists, deterministically:
 * - the pool is the train file; without one, the only file (or the dev file);
 * - test is the test file; else the dev file when it is not the pool (the official validation set serves
 *   as test, as Lester et al. report SuperGLUE validation scores); else `heldOut.test` of the pool;
 * - dev is the dev file when it is neither pool nor test; else `heldOut.dev` of the pool;
 * - train is the rest of the pool.
 * Carving and caps (`sizes`) take examples in the order of SHA-256("peftscale-split:" + example id), so the
 * result depends only on the files' contents, never on a seed or the order of the rows. Every split's
 * origin is written in words into `task.source.splits`, which the trial record keeps.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkInputFile } from '../src/io/input_files.js';
import { unknownNameMessage } from '../src/model/config.js';
import { loadTask, validateLoaderConfig, type LoaderConfig } from './loaders.js';
import type { Recipe } from './recipe.js';
import { RECIPE_NAMES, RECIPES } from './recipes/index.js';
import { DEFAULT_MAX_OVERLAP, overlapProblem, splitOverlap } from './split_overlap.js';
import { majorityOf, SPLIT_NAMES, type Task, type TaskExample, type TaskSource, type TaskSplits } from './types.js';

type Split = keyof TaskSplits;

/** A split size: a number of examples, or "all". */
export type SplitCap = number | 'all';

/** A dataset as an experiment file writes it (paths already resolved to absolute ones). */
export interface DatasetEntry {
  recipe: string;
  files: Partial<Record<Split, string>>;
  format?: LoaderConfig['format'];
  textFields?: string[];
  labelField?: string;
  labelWords?: Record<string, string>;
  template?: string;
  idField?: string;
  truncateField?: string;
  /** Most examples per split (default: the experiment's `data`); "all" keeps every one. */
  sizes?: Partial<Record<Split, SplitCap>>;
  /** Fractions of the pool carved out for dev and test when no file gives them (default 0.1 and 0.2). */
  heldOut?: { dev?: number; test?: number };
  /** Most share of a split's rows that may also be in another split (default 0.01); above it the task is refused. */
  maxOverlap?: number;
}

/** A checked dataset entry: everything a worker needs to load it again. */
export interface ResolvedDataset {
  name: string;
  recipe: string;
  loader: LoaderConfig;
  truncateField: string | undefined;
  sizes: Record<Split, SplitCap>;
  heldOut: { dev: number; test: number };
  /** Refuses the task above this share of shared rows (not in the fingerprint: it changes no result). */
  maxOverlap: number;
}

export const DEFAULT_HELD_OUT = { dev: 0.1, test: 0.2 };

const ENTRY_FIELDS = ['recipe', 'files', 'format', 'textFields', 'labelField', 'labelWords', 'template', 'idField', 'truncateField', 'sizes', 'heldOut', 'maxOverlap'];

export function findRecipe(name: string): Recipe {
  const recipe = RECIPES.find((r) => r.name === name);
  if (recipe === undefined) throw new Error(unknownNameMessage('recipe', name, RECIPE_NAMES));
  return recipe;
}

/**
 * Checks an entry against its recipe; every problem names the field (under `at`), the value and what is
 * allowed. Does not read the files (see {@link loadFileTask}).
 */
export function resolveDataset(name: string, entry: DatasetEntry, defaultSizes: Record<Split, SplitCap>, at: string): { dataset: ResolvedDataset | null; problems: string[] } {
  const problems: string[] = [];
  const recipe = RECIPES.find((r) => r.name === entry.recipe);
  if (recipe === undefined) return { dataset: null, problems: [`${at}.recipe: ${unknownNameMessage('recipe', String(entry.recipe), RECIPE_NAMES)}`] };
  for (const key of Object.keys(entry)) if (!ENTRY_FIELDS.includes(key)) problems.push(`${at}.${key}: ${unknownNameMessage('field', key, ENTRY_FIELDS)}`);
  const base: Partial<LoaderConfig> = recipe.fields ?? {};
  const overrides = Object.fromEntries(['format', 'textFields', 'labelField', 'labelWords', 'template', 'idField'].flatMap((k) => (entry[k as keyof DatasetEntry] === undefined ? [] : [[k, entry[k as keyof DatasetEntry]]])));
  if (recipe.fields === undefined) {
    for (const field of ['format', 'textFields', 'labelField', 'labelWords'] as const) {
      if (entry[field] === undefined) problems.push(`${at}.${field}: required by recipe "generic" (it declares the file's fields); or name a recipe: ${RECIPE_NAMES.filter((r) => r !== 'generic').join(', ')}`);
    }
  }
  // A recipe's template names its own fields: new text fields without a new template get the default one.
  const template = entry.template ?? (entry.textFields === undefined ? base.template : undefined);
  // A recipe's format is a default (converted files are common); a stated one is checked against the content.
  const formatFromContent = recipe.fields !== undefined && entry.format === undefined ? true : undefined;
  const candidate = { ...base, ...overrides, template, name, files: entry.files, formatFromContent };
  if (candidate.template === undefined) delete candidate.template;
  if (candidate.idField === undefined) delete candidate.idField;
  if (candidate.formatFromContent === undefined) delete candidate.formatFromContent;
  let loader: LoaderConfig | null = null;
  if (problems.length === 0) {
    try {
      loader = validateLoaderConfig(candidate);
    } catch (error) {
      const lines = (error as Error).message.split('\n').slice(1).map((line) => line.trim());
      problems.push(...lines.map((line) => `${at}.${line}`));
    }
  }
  const truncateField = entry.truncateField ?? (entry.textFields === undefined ? recipe.truncateField : undefined);
  if (truncateField !== undefined && loader !== null && !loader.textFields.includes(truncateField)) {
    problems.push(`${at}.truncateField = ${JSON.stringify(truncateField)}: allowed: one of the text fields ${loader.textFields.join(', ')}`);
  }
  const heldOut = { ...DEFAULT_HELD_OUT, ...entry.heldOut };
  for (const split of ['dev', 'test'] as const) {
    if (!(heldOut[split] > 0 && heldOut[split] < 1)) problems.push(`${at}.heldOut.${split} = ${heldOut[split]}: allowed: a fraction in (0, 1)`);
  }
  if (heldOut.dev + heldOut.test >= 1) problems.push(`${at}.heldOut = ${JSON.stringify(heldOut)}: dev + test must leave examples to train on (sum < 1)`);
  const sizes = { ...defaultSizes, ...entry.sizes };
  const maxOverlap = entry.maxOverlap ?? DEFAULT_MAX_OVERLAP;
  if (!(typeof maxOverlap === 'number' && maxOverlap >= 0 && maxOverlap <= 1)) problems.push(`${at}.maxOverlap = ${JSON.stringify(maxOverlap)}: allowed: a fraction in [0, 1]`);
  if (problems.length > 0 || loader === null) return { dataset: null, problems };
  return { dataset: { name, recipe: recipe.name, loader, truncateField, sizes, heldOut, maxOverlap }, problems };
}

/** The largest data file read (a JavaScript string holds at most about 512 MiB). */
export const MAX_DATA_FILE_BYTES = 512 * 1024 * 1024;

/** SHA-256 (hex) of a file's bytes, after checking it is a regular file of bounded size; an error names the dataset field. */
export function fileSha256(path: string, what: string): string {
  let bytes: Buffer;
  try {
    // Before any read: /dev/zero would grow without end, a FIFO would block, a directory is no data.
    checkInputFile(path, 'data file', MAX_DATA_FILE_BYTES);
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${what} = ${JSON.stringify(path)}: cannot be read (${code === undefined ? (error as Error).message : code}); allowed: an existing regular file of at most ${MAX_DATA_FILE_BYTES.toLocaleString('en-US')} bytes`);
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** Where an example falls in the derived order: SHA-256 of its id. */
function hashOrder(examples: readonly TaskExample[]): TaskExample[] {
  const key = (e: TaskExample): string => createHash('sha256').update(`peftscale-split:${e.id}`).digest('hex');
  const keyed = examples.map((e) => [key(e), e] as const);
  return keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, e]) => e);
}

/** Keeps the original file order of a chosen subset. */
function inFileOrder(all: readonly TaskExample[], chosen: readonly TaskExample[]): TaskExample[] {
  const set = new Set(chosen);
  return all.filter((e) => set.has(e));
}

/**
 * Loads a resolved dataset into a Task: reads and checks every row (DatasetLoadError lists the bad ones),
 * derives the missing splits and applies the caps. An empty file or split is an error naming it.
 */
export function loadFileTask(dataset: ResolvedDataset): Task {
  const { loader } = dataset;
  const given = SPLIT_NAMES.filter((split) => loader.files[split] !== undefined);
  const files: TaskSource['files'] = given.map((split) => {
    const path = loader.files[split] as string;
    return { split, path, sha256: fileSha256(path, `dataset "${dataset.name}": files.${split}`), rows: 0 };
  });
  // The same bytes given as two splits would score a model on what it trained on.
  for (const [i, file] of files.entries()) {
    const twin = files.slice(0, i).find((other) => other.sha256 === file.sha256);
    if (twin !== undefined) throw new Error(`dataset "${dataset.name}": files.${twin.split} = ${JSON.stringify(twin.path)} and files.${file.split} = ${JSON.stringify(file.path)} have the same content (SHA-256 ${file.sha256.slice(0, 12)}…): allowed: a different file per split (leave a split out to carve it from the pool)`);
  }
  const loaded = loadTask(loader);
  for (const file of files) {
    file.rows = loaded.splits[file.split].length;
    if (file.rows === 0) throw new Error(`dataset "${dataset.name}": files.${file.split} = ${JSON.stringify(file.path)}: the file holds no rows; allowed: a file with a header (CSV/TSV) and at least one row`);
  }
  const short = (split: Split): string => (loader.files[split] as string).split(/[\\/]/).pop() as string;
  const poolSplit: Split = loader.files.train !== undefined ? 'train' : given.length === 1 ? given[0] : 'dev';
  let pool = hashOrder(loaded.splits[poolSplit]);
  const poolSize = pool.length;
  const notes: string[] = [];
  const carve = (split: Split, fraction: number): TaskExample[] => {
    const n = Math.max(1, Math.round(fraction * poolSize));
    const taken = pool.slice(0, n);
    pool = pool.slice(n);
    notes.push(`${split}: ${taken.length} of ${short(poolSplit)}'s ${poolSize} rows (${Math.round(fraction * 100)}%, the first by SHA-256 of the example id)`);
    return taken;
  };
  const derived = {} as TaskSplits;
  if (loader.files.test !== undefined && poolSplit !== 'test') {
    derived.test = loaded.splits.test;
    notes.push(`test: ${short('test')} (${derived.test.length} rows)`);
  } else if (loader.files.dev !== undefined && poolSplit !== 'dev') {
    derived.test = loaded.splits.dev;
    notes.push(`test: ${short('dev')} (${derived.test.length} rows; no labelled test file, so the validation file is the test split)`);
  } else derived.test = carve('test', dataset.heldOut.test);
  const devUsed = loader.files.dev !== undefined && poolSplit !== 'dev' && derived.test !== loaded.splits.dev;
  if (devUsed) {
    derived.dev = loaded.splits.dev;
    notes.push(`dev: ${short('dev')} (${derived.dev.length} rows)`);
  } else derived.dev = carve('dev', dataset.heldOut.dev);
  derived.train = pool;
  notes.push(`train: ${poolSplit === 'train' && pool.length === poolSize ? `${short('train')} (${pool.length} rows)` : `the other ${pool.length} rows of ${short(poolSplit)}`}`);
  if (derived.train.length === 0) throw new Error(`dataset "${dataset.name}": no training examples left after carving dev and test from ${short(poolSplit)} (${poolSize} rows); allowed: more rows or smaller heldOut fractions`);

  const everything = SPLIT_NAMES.flatMap((split) => loaded.splits[split]);
  const splits = {} as TaskSplits;
  for (const split of SPLIT_NAMES) {
    const cap = dataset.sizes[split];
    const all = derived[split];
    const kept = cap !== 'all' && all.length > cap ? hashOrder(all).slice(0, cap) : all;
    if (kept.length < all.length) notes.push(`${split}: capped at ${cap} of ${all.length} (the first by SHA-256 of the example id)`);
    splits[split] = inFileOrder(everything, kept);
  }
  const overlap = splitOverlap(splits, dataset.maxOverlap);
  const refused = overlapProblem(overlap);
  if (refused !== null) throw new Error(`dataset "${dataset.name}": ${refused}`);
  const labels = loaded.labels;
  return {
    ...loaded,
    description: `${findRecipe(dataset.recipe).description} (from ${files.map((f) => f.path.split(/[\\/]/).pop()).join(', ')})`,
    splits,
    majorityBaseline: (split) => majorityOf(splits[split], labels),
    truncateField: dataset.truncateField,
    source: { recipe: dataset.recipe, files, splits: notes, overlap },
  };
}

/**
 * What identifies a file task's data in a trial key: the loader fields without the paths, the files'
 * SHA-256 by split, the caps and held-out fractions. Moving a file keeps it; changing a byte changes it.
 */
export function datasetFingerprint(dataset: ResolvedDataset, source: TaskSource): string {
  // Class names, label aliases, row indices and format detection are fixed by the recipe (named here) and change
  // nothing for files that worked before them, so they stay out: existing trial keys are kept.
  const { files: _paths, name: _name, classLabels: _classes, labelFieldAliases: _aliases, formatFromContent: _detect, rowIndexField: _rowIndex, ...fields } = dataset.loader;
  const content = { recipe: dataset.recipe, fields, truncateField: dataset.truncateField ?? null, sizes: dataset.sizes, heldOut: dataset.heldOut, files: source.files.map((f) => [f.split, f.sha256]) };
  return createHash('sha256').update(canonical(content)).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
