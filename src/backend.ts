/**
 * Picks the TensorFlow.js backend: `tensorflow` (native, through @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node), else `wasm`, else `cpu`. An explicitly requested backend that cannot load is
 * an error, never a silent fallback. The outcome, with the reason each better backend was passed over,
 * is kept for stamping into results.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { installFastGradients } from './ops/fast_gradients.js';
import { installWasmKernels } from './ops/wasm_kernels.js';

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_ENV_VAR = 'PEFTSCALE_BACKEND';

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** Which package provides it (for `tensorflow`: tfjs-node-gpu or tfjs-node). */
  provider: string;
  /** True when chosen by --backend or PEFTSCALE_BACKEND, false when picked automatically. */
  requested: boolean;
  /** For each better backend that was not used: why. */
  skipped: { name: BackendName; reason: string }[];
  /** Versions of the TensorFlow.js packages that matter for reproducing numbers. */
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);
let active: BackendInfo | null = null;

/** The backend chosen by the last successful {@link initBackend}, or null before it. */
export function activeBackend(): BackendInfo | null {
  return active;
}

function packageVersion(pkg: string): string | null {
  try {
    const manifest = require(`${pkg}/package.json`) as { version?: string };
    return manifest.version ?? null;
  } catch {
    return null;
  }
}

function shortError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split('\n').find((line) => line.trim() !== '') ?? text;
  return firstLine.length > 160 ? `${firstLine.slice(0, 157)}...` : firstLine;
}

async function tryTensorflow(): Promise<{ ok: true; provider: string } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (tf.findBackend('tensorflow') === null) throw new Error('package loaded but registered no "tensorflow" backend');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      return { ok: true, provider: pkg };
    } catch (error) {
      reasons.push(`${pkg}: ${shortError(error)}`);
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

async function tryWasm(): Promise<{ ok: true; provider: string } | { ok: false; reason: string }> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Point the loader at the .wasm binaries inside node_modules: nothing is fetched.
    const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
    wasm.setWasmPaths(path.dirname(wasmFile) + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    return { ok: true, provider: '@tensorflow/tfjs-backend-wasm' };
  } catch (error) {
    return { ok: false, reason: shortError(error) };
  }
}

async function tryCpu(): Promise<{ ok: true; provider: string } | { ok: false; reason: string }> {
  try {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
    return { ok: true, provider: '@tensorflow/tfjs-backend-cpu' };
  } catch (error) {
    return { ok: false, reason: shortError(error) };
  }
}

const LOADERS: Record<BackendName, () => Promise<{ ok: true; provider: string } | { ok: false; reason: string }>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/** Validates a backend name from a flag or the environment; the error lists what is allowed. */
export function parseBackendName(value: string, source: string): BackendName | 'auto' {
  if (value === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${source}: unknown backend "${value}"; allowed: ${[...BACKEND_NAMES, 'auto'].join(', ')}`);
}

/**
 * Initialises a backend. With `requested` (or PEFTSCALE_BACKEND) naming one, that one must load or this
 * throws; with 'auto' or nothing, the best available one is taken in the order tensorflow, wasm, cpu.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const fromEnv = process.env[BACKEND_ENV_VAR];
  const choice =
    requested !== undefined
      ? parseBackendName(requested, '--backend')
      : fromEnv !== undefined && fromEnv !== ''
        ? parseBackendName(fromEnv, BACKEND_ENV_VAR)
        : 'auto';
  if (active !== null && (choice === 'auto' || choice === active.name)) return active;

  const versions: Record<string, string> = {};
  for (const pkg of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    const version = packageVersion(pkg);
    if (version !== null) versions[pkg] = version;
  }
  versions.node = process.versions.node;

  const skipped: { name: BackendName; reason: string }[] = [];
  if (choice !== 'auto') {
    const result = await LOADERS[choice]();
    if (!result.ok) {
      throw new Error(
        `backend "${choice}" was requested but cannot load: ${result.reason}. ` +
          `Allowed: ${BACKEND_NAMES.join(', ')}, or auto to take the best one available.`,
      );
    }
    await tf.ready();
    prepareBackend(choice);
    active = { name: choice, provider: result.provider, requested: true, skipped, versions };
    return active;
  }
  for (const name of BACKEND_NAMES) {
    const result = await LOADERS[name]();
    if (result.ok) {
      await tf.ready();
      prepareBackend(name);
      active = { name, provider: result.provider, requested: false, skipped, versions };
      return active;
    }
    skipped.push({ name, reason: result.reason });
  }
  throw new Error(`no TensorFlow.js backend could load: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** Installs the gradients and kernels that make training fast on the chosen backend. */
function prepareBackend(name: BackendName): void {
  installFastGradients();
  if (name === 'wasm') installWasmKernels();
}

/** One line for humans: the backend, and why each better one was not used. */
export function describeBackend(info: BackendInfo): string {
  const how = info.requested ? 'requested' : 'auto-selected';
  const why = info.skipped.map((s) => `${s.name} unavailable (${s.reason})`).join('; ');
  return `backend: ${info.name} (${how}, via ${info.provider})${why === '' ? '' : `; ${why}`}`;
}
