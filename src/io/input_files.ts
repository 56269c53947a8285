/**
 * Checks on paths that come from a user (experiment files, includes, data files, checkpoints) and on
 * the folders a run writes into, made before any work starts: a wrong path fails in a second, with
 * its name, instead of hanging on /dev/zero or losing an hour of results to a read-only folder.
 */
import { constants as bufferConstants } from 'node:buffer';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** The largest JSON or text file of a model or adapter folder read (config.json, tokenizer.json, merges.txt). */
export const MAX_JSON_FILE_BYTES = 64 * 1024 * 1024;
/** The largest file read whole into memory (a weights file): what one Buffer can hold. */
export const MAX_BUFFER_BYTES = bufferConstants.MAX_LENGTH;

/**
 * A path a user gave must be a regular file of at most `maxBytes`: a directory, a device (/dev/zero
 * would never end), a FIFO or a socket is refused by its type before anything reads it.
 */
export function checkInputFile(file: string, what: string, maxBytes: number): void {
  const stats = statSync(file); // ENOENT names the path
  const kind = stats.isDirectory()
    ? 'a directory'
    : stats.isCharacterDevice() || stats.isBlockDevice()
      ? 'a device'
      : stats.isFIFO()
        ? 'a FIFO'
        : stats.isSocket()
          ? 'a socket'
          : null;
  if (kind !== null || !stats.isFile()) throw new Error(`${what} ${file} is ${kind ?? 'not a regular file'}: allowed: a regular file`);
  if (stats.size > maxBytes) throw new Error(`${what} ${file} is ${stats.size.toLocaleString('en-US')} bytes: allowed: at most ${maxBytes.toLocaleString('en-US')}`);
}

/** {@link checkInputFile}, then the file's bytes. */
export function readInputFileSync(file: string, what: string, maxBytes: number): Buffer {
  checkInputFile(file, what, maxBytes);
  return readFileSync(file);
}

/** {@link checkInputFile}, then the file's bytes (asynchronously). */
export async function readInputFile(file: string, what: string, maxBytes: number): Promise<Buffer> {
  checkInputFile(file, what, maxBytes);
  return readFile(file);
}

/** Free space a run's output folders need before it starts: results, records and small models. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;

/**
 * Makes sure a folder a run writes into exists, is a folder, takes a file and has `minFreeBytes`
 * free: probed with a real write (permissions alone do not show a read-only mount), removed again.
 */
export function probeOutputFolder(dir: string, what: string, minFreeBytes = MIN_FREE_BYTES): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new Error(`${what} ${dir} cannot be created: ${(error as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new Error(`${what} ${dir} is not a folder`);
  const probe = path.join(dir, `.peftscale-probe-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK);
    writeFileSync(probe, 'probe');
  } catch (error) {
    throw new Error(`${what} ${dir} is not writable: ${(error as Error).message}`);
  } finally {
    rmSync(probe, { force: true });
  }
  const space = statfsSync(dir);
  const free = Number(space.bavail) * Number(space.bsize);
  if (free < minFreeBytes) {
    throw new Error(`${what} ${dir} has ${(free / 2 ** 20).toFixed(1)} MiB free: a run needs at least ${(minFreeBytes / 2 ** 20).toFixed(0)} MiB there`);
  }
}
