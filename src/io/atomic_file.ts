/**
 * Atomic file writes and the temporary files they leave when a process is killed mid-write.
 *
 * A write goes to `.<name>.<host>~<pid>.<random>.tmp` in the target's folder and is renamed over the target,
 * so a reader never sees half a file. A SIGKILL between the two leaves the temporary behind; the host and
 * pid in its name let a later run on the same host remove it once that process is gone, without touching
 * what a live process (or another host sharing the folder, e.g. a cluster's cache) is still writing.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** This host's name as it appears in temporary file names (characters other than [A-Za-z0-9_-] become _). */
const HOST_TAG = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
const TEMPORARY = /\.([A-Za-z0-9_-]+)~(\d+)\.[0-9a-f]+\.tmp$/;

/** The temporary path a write of `filePath` goes through (same folder, so the rename is atomic). */
export function temporaryPathFor(filePath: string): string {
  return path.join(path.dirname(filePath), `.${path.basename(filePath)}.${HOST_TAG}~${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same folder, is flushed to disk, then
 * renamed over `filePath`, so a reader never sees a half-written file. The temporary file is removed on failure.
 */
export async function writeFileAtomic(filePath: string, data: Uint8Array | string): Promise<void> {
  const temporary = temporaryPathFor(filePath);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, filePath);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    // Name the path (ENOSPC alone says nothing of where); keep the code for callers that test it.
    throw Object.assign(new Error(`cannot write ${filePath}: ${(error as Error).message}`, { cause: error }), { code: (error as NodeJS.ErrnoException).code });
  }
}

/**
 * Replaces a folder in one rename: `fill` writes a temporary folder beside `dirPath` (its parent created),
 * which then takes the place of any folder there, so a reader sees the old folder, none, or the whole new
 * one. The temporary folder is removed on failure, and the error is `fill`'s or the file system's.
 */
export async function writeFolderAtomic(dirPath: string, fill: (temporary: string) => Promise<unknown>): Promise<void> {
  const temporary = temporaryPathFor(dirPath);
  try {
    await mkdir(path.dirname(dirPath), { recursive: true });
    await fill(temporary);
    await rm(dirPath, { recursive: true, force: true });
    await rename(temporary, dirPath);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` (not below it) that a process of this host left when it was killed:
 * those whose name carries this host and the pid of a process that no longer runs. Returns their paths.
 * A missing folder has none.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (match === null || match[1] !== HOST_TAG || processAlive(Number(match[2]))) continue;
    const file = path.join(dir, name);
    await rm(file, { force: true, recursive: true }); // a folder written whole, then renamed (a trial's adapter), too
    removed.push(file);
  }
  return removed;
}
