/**
 * Picks the TensorFlow.js backend: `tensorflow` (native, through @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node), else `wasm`, else `cpu`. An explicitly requested backend that cannot load is
 * an error, never a silent fallback. The outcome, with the reason each better backend was passed over,
 * is kept for stamping into results.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { installFastGradients } from '../ops/fast_gradients.js';
import { installWasmKernels } from '../ops/wasm_kernels.js';

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
  /** For `tensorflow`: the intra-op threads each TensorFlow context uses (TF_NUM_INTRAOP_THREADS). */
  threads?: number;
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

/** Environment variables the TensorFlow C library reads once, when the first context is created. */
export const NATIVE_THREAD_ENV = 'TF_NUM_INTRAOP_THREADS';

/**
 * Sets how many intra-op threads each native TensorFlow context (one per worker thread) may use, unless
 * the user already set TF_NUM_INTRAOP_THREADS. The C library reads these once per process, so this must
 * run on the main thread before any worker or the main thread loads tfjs-node (a worker's process.env
 * is a copy that native code never sees). Each context gets its own pool (TF_OVERRIDE_GLOBAL_THREADPOOL),
 * so W workers × `threads` threads stays within the cores; inter-op work is serial in eager mode.
 * TensorFlow's informational start-up lines are silenced (TF_CPP_MIN_LOG_LEVEL=2) unless asked for.
 * Returns the intra-op thread count in effect.
 */
export function configureNativeThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`configureNativeThreads: threads = ${threads}; allowed: an integer ≥ 1`);
  const setDefault = (name: string, value: string) => {
    if (process.env[name] === undefined || process.env[name] === '') process.env[name] = value;
  };
  setDefault(NATIVE_THREAD_ENV, String(threads));
  setDefault('TF_NUM_INTEROP_THREADS', '1');
  setDefault('TF_OVERRIDE_GLOBAL_THREADPOOL', '1');
  setDefault('TF_CPP_MIN_LOG_LEVEL', '2');
  return nativeThreads();
}

/** The intra-op thread count the native backend uses (or will use) in this process. */
function nativeThreads(): number {
  const value = Number(process.env[NATIVE_THREAD_ENV]);
  return Number.isInteger(value) && value > 0 ? value : 1;
}

/** The addon a tfjs-node package loads, when it was built (npm's install script or `npm run setup:native`). */
function findAddon(pkg: string): string | null {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
  const lib = path.join(dir, 'lib');
  const builds = fs.existsSync(lib) ? fs.readdirSync(lib).filter((name) => /^napi-v\d+$/.test(name)) : [];
  for (const build of builds) {
    const file = path.join(lib, build, 'tfjs_binding.node');
    if (fs.existsSync(file)) return file;
  }
  return null;
}

/** True when a tfjs-node package with a built addon is installed: `auto` will then try `tensorflow` first. */
export function nativeAddonInstalled(): boolean {
  return findAddon('@tensorflow/tfjs-node-gpu') !== null || findAddon('@tensorflow/tfjs-node') !== null;
}

/**
 * Forgets what a tfjs-node package that failed to load had registered: it registers its ~150 kernels for
 * 'tensorflow' before loading its addon, and the next package would otherwise warn about each one.
 */
function forgetTensorflowBackend(): void {
  for (const kernel of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(kernel.kernelName, 'tensorflow');
  if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
}

async function tryTensorflow(): Promise<{ ok: true; provider: string } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (findAddon(pkg) === null) {
      // Not installed, or installed without its addon (npm --ignore-scripts, setup:native not run for it).
      let installed = true;
      try {
        require.resolve(`${pkg}/package.json`);
      } catch {
        installed = false;
      }
      reasons.push(`${pkg}: ${installed ? 'installed without its native addon (run `npm run setup:native`)' : 'not installed'}`);
      continue;
    }
    try {
      configureNativeThreads(1); // a no-op when the main thread (or the user) already chose
      await import(pkg);
      if (tf.findBackend('tensorflow') === null) throw new Error('package loaded but registered no "tensorflow" backend');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      return { ok: true, provider: pkg };
    } catch (error) {
      forgetTensorflowBackend();
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
    active = { name: choice, provider: result.provider, requested: true, skipped, versions, ...nativeDetails(choice, result.provider, versions) };
    return active;
  }
  for (const name of BACKEND_NAMES) {
    const result = await LOADERS[name]();
    if (result.ok) {
      await tf.ready();
      prepareBackend(name);
      active = { name, provider: result.provider, requested: false, skipped, versions, ...nativeDetails(name, result.provider, versions) };
      return active;
    }
    skipped.push({ name, reason: result.reason });
  }
  throw new Error(`no TensorFlow.js backend could load: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/**
 * For the native backend: its thread count, and the TensorFlow C library's version added to `versions`
 * (from the addon itself, and what `npm run setup:native` recorded about where it came from).
 */
function nativeDetails(name: BackendName, provider: string, versions: Record<string, string>): { threads?: number } {
  if (name !== 'tensorflow') return {};
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  if (typeof binding?.TF_Version === 'string') versions.libtensorflow = binding.TF_Version;
  const addon = findAddon(provider);
  const marker = addon === null ? null : path.join(path.dirname(addon), '..', '..', 'deps', 'peftscale-native.json');
  if (marker !== null && fs.existsSync(marker)) {
    const built = JSON.parse(fs.readFileSync(marker, 'utf8')) as { source?: string };
    if (typeof built.source === 'string') versions['libtensorflow-source'] = path.basename(built.source);
  }
  return { threads: nativeThreads() };
}

/** Installs the gradients and kernels that make training fast on the chosen backend. */
function prepareBackend(name: BackendName): void {
  // TensorFlow's own kernels take transpose flags and column sums natively: there the rewrites only add
  // copies (CPU time per reference step 178 ms stock vs 200 ms rewritten, means of two noisy runs each).
  installFastGradients(['wasm', 'cpu']);
  if (name === 'wasm') installWasmKernels();
}

/** One line for humans: the backend, and why each better one was not used. */
export function describeBackend(info: BackendInfo): string {
  const how = info.requested ? 'requested' : 'auto-selected';
  const why = info.skipped.map((s) => `${s.name} unavailable (${s.reason})`).join('; ');
  const threads = info.threads === undefined ? '' : `, ${info.threads} intra-op thread${info.threads === 1 ? '' : 's'}`;
  return `backend: ${info.name} (${how}, via ${info.provider}${threads})${why === '' ? '' : `; ${why}`}`;
}
