/**
 * A lock file that works across processes and machines on a shared file system, for work that must not
 * run twice at once into the same folder (pretraining a frozen model that several shards need).
 *
 * Taking the lock creates `<path>` exclusively (O_CREAT | O_EXCL, atomic on local file systems and on
 * NFS v3 and later) with the holder's host, pid and start time. The holder refreshes the file's mtime
 * (`heartbeat`, and a timer) while it works. A waiter polls; it breaks the lock when the holder is gone:
 * on the same host, when its pid no longer exists (a killed process: recovered at once); on another host,
 * when the heartbeat is older than `staleSeconds` (a killed Slurm task on another node). Breaking renames
 * the file to a unique name first, so of several waiters only one breaks it.
 */
import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { processAlive } from './atomic_file.js';

export interface LockOptions {
  /** A heartbeat older than this on another host means its holder is dead (default 600 s, or PEFTSCALE_LOCK_STALE_SECONDS). */
  staleSeconds?: number;
  /** How often a waiter looks again (default 1000 ms). */
  pollMilliseconds?: number;
  /** Said once when the lock is busy, then once a minute: who holds it. */
  onWait?: (message: string) => void;
}

/** What a lock file holds. */
interface LockOwner {
  host: string;
  pid: number;
  since: string;
  token: string;
}

/** Refreshes the lock's heartbeat (throttled to once every few seconds; cheap to call every step). */
export type Heartbeat = () => void;

const HEARTBEAT_SECONDS = 5;

function defaultStaleSeconds(): number {
  const fromEnv = Number(process.env.PEFTSCALE_LOCK_STALE_SECONDS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 600;
}

function tryCreate(file: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the lock file ${file}: ${(error as Error).message}`);
  }
  try {
    writeSync(fd, `${JSON.stringify(owner)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readOwner(file: string): { owner: LockOwner | null; ageSeconds: number } | null {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // released meanwhile
    throw error;
  }
  let owner: LockOwner | null = null;
  try {
    owner = JSON.parse(text) as LockOwner;
  } catch {
    owner = null; // being written right now, or damaged: judged by its age alone
  }
  return { owner, ageSeconds: (Date.now() - mtimeMs) / 1000 };
}


/** Why a lock may be broken, or null while its holder may be alive. */
function staleReason(state: { owner: LockOwner | null; ageSeconds: number }, staleSeconds: number): string | null {
  const { owner, ageSeconds } = state;
  if (owner !== null && owner.host === hostname() && !processAlive(owner.pid)) return `its holder (pid ${owner.pid} on this host) is gone`;
  if (ageSeconds > staleSeconds) return `its heartbeat is ${Math.round(ageSeconds)} s old (stale after ${staleSeconds} s)`;
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` holding the lock file `file`: waits while another process holds it, breaks it when its
 * holder is dead (see the module comment), and removes it afterwards, also when `work` throws.
 */
export async function withFileLock<T>(file: string, work: (heartbeat: Heartbeat) => Promise<T>, options: LockOptions = {}): Promise<T> {
  const staleSeconds = options.staleSeconds ?? defaultStaleSeconds();
  const poll = options.pollMilliseconds ?? 1000;
  const owner: LockOwner = { host: hostname(), pid: process.pid, since: new Date().toISOString(), token: Math.random().toString(36).slice(2) };
  let lastSaid = 0;
  while (!tryCreate(file, owner)) {
    const state = readOwner(file);
    if (state === null) continue;
    const reason = staleReason(state, staleSeconds);
    if (reason !== null) {
      const aside = `${file}.broken.${process.pid}.${Math.random().toString(36).slice(2)}`;
      try {
        renameSync(file, aside); // only one waiter's rename succeeds
        rmSync(aside, { force: true });
        options.onWait?.(`broke the lock ${file}: ${reason}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      continue;
    }
    if (Date.now() - lastSaid > 60_000) {
      lastSaid = Date.now();
      const who = state.owner === null ? 'another process' : `pid ${state.owner.pid} on ${state.owner.host} (since ${state.owner.since})`;
      options.onWait?.(`waiting for ${who}, which holds ${file}`);
    }
    await sleep(poll);
  }
  let lastBeat = Date.now();
  const heartbeat: Heartbeat = () => {
    if (Date.now() - lastBeat < HEARTBEAT_SECONDS * 1000) return;
    lastBeat = Date.now();
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // A lock broken under us (a pause longer than staleSeconds) is not this process's to recreate.
    }
  };
  // Also beats while work waits on I/O; work that computes for long stretches calls heartbeat itself.
  const timer = setInterval(heartbeat, HEARTBEAT_SECONDS * 1000);
  timer.unref();
  try {
    return await work(heartbeat);
  } finally {
    clearInterval(timer);
    const state = readOwner(file);
    if (state?.owner?.token === owner.token) rmSync(file, { force: true });
  }
}
