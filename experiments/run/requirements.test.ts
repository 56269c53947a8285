/**
 * `"requires": "gpu"`: the machine check names every missing part (backend, package, device), and the
 * `experiment` command refuses the gpu file before planning, dry run included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkRequirement, gpuProblems, probeGpu, type ProbeInputs } from './requirements.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-requires-'));
const noGpus = path.join(dir, 'none');
const oneGpu = path.join(dir, 'one');
mkdirSync(noGpus);
mkdirSync(path.join(oneGpu, '0000:01:00.0'), { recursive: true });
const versions = (installed: Record<string, string>): ProbeInputs['packageVersion'] => (name) => installed[name] ?? null;
const GPU_STACK = versions({ '@tensorflow/tfjs-node-gpu': '4.22.0', '@tensorflow/tfjs-node': '4.22.0' });

describe('experiment requirements', () => {
  it('a GPU machine with tfjs-node-gpu and backend auto or tensorflow has no problem', () => {
    assert.deepEqual(gpuProblems(probeGpu({ env: {}, packageVersion: GPU_STACK, gpuDir: oneGpu })), []);
    assert.deepEqual(gpuProblems(probeGpu({ requested: 'tensorflow', env: {}, packageVersion: GPU_STACK, gpuDir: oneGpu })), []);
  });

  it('each missing part is named: the CPU backend asked for, the package, the device, hidden devices', () => {
    const cpuOnly = gpuProblems(probeGpu({ env: { PEFTSCALE_BACKEND: 'wasm' }, packageVersion: versions({ '@tensorflow/tfjs-node': '4.22.0' }), gpuDir: noGpus }), noGpus);
    assert.equal(cpuOnly.length, 3);
    assert.match(cpuOnly[0], /the backend is "wasm" \(PEFTSCALE_BACKEND\), which runs on the CPU; allowed: tensorflow or auto/);
    assert.match(cpuOnly[1], /@tensorflow\/tfjs-node-gpu is not installed \(the tensorflow backend would be @tensorflow\/tfjs-node 4\.22\.0, CPU only\)/);
    assert.match(cpuOnly[2], /no NVIDIA GPU is visible \(.*none lists none/);
    const bare = gpuProblems(probeGpu({ env: {}, packageVersion: versions({}), gpuDir: path.join(dir, 'absent') }));
    assert.match(bare.join('\n'), /not installed \(the backend would be wasm or cpu\)/);
    const hidden = gpuProblems(probeGpu({ env: { CUDA_VISIBLE_DEVICES: '-1' }, packageVersion: GPU_STACK, gpuDir: oneGpu }));
    assert.deepEqual(hidden, ['CUDA_VISIBLE_DEVICES="-1" hides every GPU']);
    assert.throws(() => probeGpu({ requested: 'cuda' }), /--backend: unknown backend "cuda"/);
  });

  it('checkRequirement throws one error listing them, and nothing when the file requires nothing', () => {
    const probe = (): ReturnType<typeof probeGpu> => probeGpu({ requested: 'cpu', env: {}, packageVersion: GPU_STACK, gpuDir: oneGpu });
    assert.throws(() => checkRequirement('gpu', 'experiment "gpu"', probe), /experiment "gpu" requires a GPU \("requires": "gpu"\), and this machine lacks it:\n  the backend is "cpu" \(--backend\)[^\n]*\nallowed: run it where/);
    assert.doesNotThrow(() => checkRequirement(undefined, 'experiment "smoke"', () => assert.fail('not probed when nothing is required')));
  });

  it('`experiment gpu --dry-run` on a CPU backend fails before planning, naming the backend; --ignore-requires plans it', () => {
    const data = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'data');
    const env = { ...process.env, PEFTSCALE_BACKEND: '', PEFTSCALE_DATA: data };
    const refused = spawnSync(process.execPath, [cli, 'experiment', 'gpu', '--dry-run', '--backend', 'wasm'], { encoding: 'utf8', env });
    assert.equal(refused.status, 1);
    assert.equal(refused.stdout, '', 'no plan is printed');
    assert.match(refused.stderr, /experiment "gpu" \(.*gpu\.json\) requires a GPU[^\n]*\n  the backend is "wasm" \(--backend\), which runs on the CPU/);
    const planned = spawnSync(process.execPath, [cli, 'experiment', 'gpu', '--dry-run', '--backend', 'wasm', '--ignore-requires', '--json'], { encoding: 'utf8', env });
    assert.equal(planned.status, 0, planned.stderr);
    // The estimate comes with a GPU file's plan: per trial to run, and in total at the assumed throughput.
    const plan = JSON.parse(planned.stdout) as { trials: number; toRun: number; estimate: { assumedTflops: number; seconds: number; largestMemoryBytes: number }; list: Array<{ preset: string; method: string; estimate?: { memory: { total: number }; seconds: number } }> };
    assert.ok(plan.trials > 0);
    assert.equal(plan.list.filter((t) => t.estimate !== undefined).length, plan.toRun);
    assert.equal(plan.estimate.assumedTflops, 20);
    const total = plan.list.reduce((sum, t) => sum + (t.estimate?.seconds ?? 0), 0);
    assert.ok(Math.abs(plan.estimate.seconds - total) <= 1e-9 * total);
    // Larger models need more: gpt2-xl's full tuning holds more than gpt2's (weights, gradients, Adam).
    const full = (preset: string): number => plan.list.find((t) => t.preset === preset && t.method === 'full')?.estimate?.memory.total ?? NaN;
    assert.ok(full('gpt2-xl') > 4 * full('gpt2'));
    const text = spawnSync(process.execPath, [cli, 'experiment', 'gpu', '--dry-run', '--backend', 'wasm', '--ignore-requires', '--assume-tflops', '40'], { encoding: 'utf8', env });
    assert.match(text.stdout, /to run {2}[0-9a-f]{16} {2}gpt2 full rte \(\d+ train\) seed 0 .* ≈ \d+\.\d\d GiB, \d+ min\n/);
    assert.match(text.stdout, /estimate \(float32, from the model shapes; time at an assumed 40 TFLOP\/s sustained, not measured: --assume-tflops N\): 96 trials to run take [\d.]+ h one after another; the largest needs ≈ [\d.]+ GiB/);
    const real = spawnSync(process.execPath, [cli, 'experiment', 'gpu', '--ignore-requires'], { encoding: 'utf8', env });
    assert.match(real.stderr, /--ignore-requires: allowed only with --dry-run/);
  });
});
