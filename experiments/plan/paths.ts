/**
 * Paths in experiment files (dataset files, checkpoint folders): `${NAME}` and `${NAME:-default}` are
 * replaced by environment variables (an unset variable without a default is an error naming the field),
 * and a relative path is resolved against the folder of the experiment file that writes it (not the
 * current directory, nor a file that includes it). Done per file, before includes are merged.
 */
import path from 'node:path';
import { parseHubReference, resolveHubModel } from '../../src/io/hf_cache.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Expands environment variables in a path; `field` names it in errors. */
export function expandPath(value: string, field: string, file: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: ${field} = ${JSON.stringify(value)}: environment variable ${name} is not set; set it, or write \${${name}:-default}`);
  });
}

function resolveOne(value: unknown, field: string, file: string): unknown {
  if (typeof value !== 'string') return value; // the schema has already reported it
  return path.resolve(path.dirname(file), expandPath(value, field, file));
}

/** A checkpoint folder: a path, or `hf:NAME[@REVISION]`, a model in the local Hugging Face cache (src/io/hf_cache.ts). */
function checkpointPath(value: unknown, field: string, file: string): unknown {
  const hub = typeof value === 'string' ? parseHubReference(expandPath(value, field, file)) : null;
  if (hub === null) return resolveOne(value, field, file);
  try {
    return resolveHubModel(hub.repoId, hub.revision);
  } catch (error) {
    throw new Error(`${file}: ${field} = ${JSON.stringify(value)}: ${(error as Error).message}`);
  }
}

/** The paths of one document body (top level or a profile) made absolute. */
function resolveBody(body: Json, file: string, prefix: string): Json {
  const result = { ...body };
  if (isObject(body.datasets)) {
    result.datasets = Object.fromEntries(
      Object.entries(body.datasets).map(([name, entry]) => {
        if (!isObject(entry) || !isObject(entry.files)) return [name, entry];
        const files = Object.fromEntries(Object.entries(entry.files).map(([split, p]) => [split, resolveOne(p, `${prefix}datasets.${name}.files.${split}`, file)]));
        return [name, { ...entry, files }];
      }),
    );
  }
  if (isObject(body.checkpoints)) {
    result.checkpoints = Object.fromEntries(
      Object.entries(body.checkpoints).map(([name, entry]) => [name, isObject(entry) ? { ...entry, path: checkpointPath(entry.path, `${prefix}checkpoints.${name}.path`, file) } : entry]),
    );
  }
  return result;
}

/** A parsed experiment file with every dataset and checkpoint path absolute (profiles included). */
export function resolveDocumentPaths(document: Json, file: string): Json {
  const result = resolveBody(document, file, '');
  if (isObject(document.profiles)) {
    result.profiles = Object.fromEntries(Object.entries(document.profiles).map(([name, body]) => [name, isObject(body) ? resolveBody(body, file, `profiles.${name}.`) : body]));
  }
  return result;
}
