/**
 * What an experiment file's `requires` asks of the machine, checked before any planning: the `gpu`
 * experiment is meant for TensorFlow on a GPU (@tensorflow/tfjs-node-gpu), and on any other backend
 * its gpt2-xl trials would run for days. Only files on disk are looked at (no backend is loaded), so the
 * check is quick and names every missing part at once.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BACKEND_ENV_VAR, parseBackendName } from '../../src/model/backend.js';

export const REQUIREMENTS = ['gpu'] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

/** Where NVIDIA's driver lists one folder per GPU it drives. */
export const NVIDIA_GPU_DIR = '/proc/driver/nvidia/gpus';

export interface GpuProbe {
  /** The backend --backend or PEFTSCALE_BACKEND names, or auto; and where that came from. */
  backend: string;
  backendSource: string;
  /** Installed versions, or null. */
  nodeGpu: string | null;
  node: string | null;
  /** GPUs the driver lists, and CUDA_VISIBLE_DEVICES when set. */
  gpus: string[];
  cudaVisible: string | undefined;
}

export interface ProbeInputs {
  requested?: string;
  env?: NodeJS.ProcessEnv;
  packageVersion?: (name: string) => string | null;
  gpuDir?: string;
}

const require = createRequire(import.meta.url);

function installedVersion(name: string): string | null {
  try {
    return (require(`${name}/package.json`) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** Looks at the machine: the backend that would be asked for, the native packages, the GPUs. */
export function probeGpu(inputs: ProbeInputs = {}): GpuProbe {
  const env = inputs.env ?? process.env;
  const version = inputs.packageVersion ?? installedVersion;
  const fromEnv = env[BACKEND_ENV_VAR];
  const [backend, backendSource] =
    inputs.requested !== undefined ? [parseBackendName(inputs.requested, '--backend'), '--backend'] : fromEnv !== undefined && fromEnv !== '' ? [parseBackendName(fromEnv, BACKEND_ENV_VAR), BACKEND_ENV_VAR] : ['auto', 'default'];
  let gpus: string[] = [];
  try {
    gpus = readdirSync(inputs.gpuDir ?? NVIDIA_GPU_DIR);
  } catch {
    gpus = [];
  }
  return { backend, backendSource, nodeGpu: version('@tensorflow/tfjs-node-gpu'), node: version('@tensorflow/tfjs-node'), gpus, cudaVisible: env.CUDA_VISIBLE_DEVICES };
}

/** Each missing part, in words; empty when a GPU backend would be used. */
export function gpuProblems(probe: GpuProbe, gpuDir = NVIDIA_GPU_DIR): string[] {
  const problems: string[] = [];
  if (probe.backend !== 'auto' && probe.backend !== 'tensorflow') {
    problems.push(`the backend is "${probe.backend}" (${probe.backendSource}), which runs on the CPU; allowed: tensorflow or auto`);
  }
  if (probe.nodeGpu === null) {
    const instead = probe.node === null ? 'the backend would be wasm or cpu' : `the tensorflow backend would be @tensorflow/tfjs-node ${probe.node}, CPU only`;
    problems.push(`@tensorflow/tfjs-node-gpu is not installed (${instead})`);
  }
  if (probe.gpus.length === 0) problems.push(`no NVIDIA GPU is visible (${gpuDir} lists none: no driver or no device)`);
  else if (probe.cudaVisible !== undefined && /^\s*(-1)?\s*$/.test(probe.cudaVisible)) problems.push(`CUDA_VISIBLE_DEVICES=${JSON.stringify(probe.cudaVisible)} hides every GPU`);
  return problems;
}

/** Throws when the machine lacks what `requires` names; the message lists each missing part and the way out. */
export function checkRequirement(requires: Requirement | undefined, where: string, probe: () => GpuProbe): void {
  if (requires === undefined) return;
  const problems = gpuProblems(probe());
  if (problems.length === 0) return;
  throw new Error(
    `${where} requires a GPU ("requires": "gpu"), and this machine lacks it:\n  ${problems.join('\n  ')}\n` +
      `allowed: run it where @tensorflow/tfjs-node-gpu (with its CUDA libraries) and an NVIDIA GPU are present; ` +
      `or add --ignore-requires to a --dry-run to see its trials here`,
  );
}
