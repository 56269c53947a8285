/**
 * Reading an experiment file: its includes merged in order (objects deep, lists and scalars replaced,
 * `sweeps` by name and `hypotheses` by id), every file schema-checked and its paths made absolute. Apart
 * from spec.ts (which expands a document into trials and needs the method registry) so that a reader of
 * the document alone (the report, comparing hypotheses) loads no method.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkInputFile } from '../../src/io/input_files.js';
import type { JsonObject } from './experiment_document.js';
import { resolveDocumentPaths } from './paths.js';
import { EXPERIMENT_SCHEMA, validate } from './schema.js';

/**
 * The pretraining profile of an experiment when the command line names none: the file's own `profile`
 * field (through includes), else quick.
 */
export function defaultProfile(file: string): string {
  const document = loadExperimentDocument(file);
  return typeof document.profile === 'string' ? document.profile : 'quick';
}

/** How deep `include` may nest, and how large one experiment file may be: more is a mistake, not an experiment. */
export const MAX_INCLUDE_DEPTH = 32;
export const MAX_EXPERIMENT_FILE_BYTES = 1024 * 1024;

/** Reads a file and its includes, merged in order; cycles and unreadable files are errors naming the chain. */
export function loadExperimentDocument(file: string, chain: string[] = []): JsonObject {
  const absolute = path.resolve(file);
  if (chain.includes(absolute)) throw new Error(`experiment include cycle: ${[...chain, absolute].join(' → ')}`);
  if (chain.length >= MAX_INCLUDE_DEPTH) throw new Error(`experiment includes nest deeper than ${MAX_INCLUDE_DEPTH} files: ${chain[0]} → … → ${absolute}`);
  let text: string;
  try {
    checkInputFile(absolute, 'experiment file', MAX_EXPERIMENT_FILE_BYTES);
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const from = chain.length > 0 ? ` (included from ${chain[chain.length - 1]})` : '';
    throw new Error(`cannot read experiment file ${absolute}${from}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${absolute}: not valid JSON: ${(error as Error).message}`);
  }
  const problems = validate(parsed, EXPERIMENT_SCHEMA);
  if (problems.length > 0) throw new Error(`${absolute}: ${problems.length} problem(s) with the experiment file:\n  ${problems.join('\n  ')}`);
  const document = parsed as JsonObject;
  let merged: JsonObject = {};
  for (const include of (document.include as string[] | undefined) ?? []) {
    merged = mergeDocuments(merged, loadExperimentDocument(path.resolve(path.dirname(absolute), include), [...chain, absolute]));
  }
  const own = resolveDocumentPaths({ ...document }, absolute);
  delete own.include;
  delete own.$schema;
  return mergeDocuments(merged, own);
}

/** Deep merge: objects recursively, lists and scalars replaced, `sweeps` merged by name and `hypotheses` by id. */
export function mergeDocuments(base: JsonObject, override: JsonObject): JsonObject {
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const existing = result[key];
    const by = key === 'sweeps' ? 'name' : key === 'hypotheses' ? 'id' : null;
    if (by !== null && Array.isArray(existing) && Array.isArray(value)) {
      const items = [...(existing as JsonObject[])];
      // Hypotheses merge with the included ones only: two of one id in one file stay two (and are refused).
      const searched = by === 'id' ? items.length : Infinity;
      for (const item of value as JsonObject[]) {
        const index = items.findIndex((s, i) => i < searched && s[by] === item[by]);
        if (index >= 0) items[index] = mergeDocuments(items[index], item);
        else items.push(item);
      }
      result[key] = items;
    } else if (isPlainObject(existing) && isPlainObject(value)) {
      result[key] = mergeDocuments(existing, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The shipped experiment file of a name (experiments/configs/NAME.json), or null when there is none. */
export function shippedExperimentFile(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return null;
  const file = path.join(EXPERIMENTS_DIR_NAME, `${name}.json`);
  return existsSync(file) ? file : null;
}

/** The folder of the shipped experiment files (next to this module's source, also when running from dist/). */
export const EXPERIMENTS_DIR_NAME = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'experiments', 'configs');
