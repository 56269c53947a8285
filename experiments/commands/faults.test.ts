/**
 * Crash safety under faults: a sweep whose main process is killed with SIGKILL at seeded random moments
 * (during pretraining, training and writing), and whose worker threads die mid-trial, ends, once rerun,
 * with exactly the results of an uninterrupted run: the same trials, the same scores, curves and
 * pretrained models, and no temporary files left behind. Trials train one at a time (--pack-rows 0): kills
 * are tied to single trials finishing, and packs that form differently after a kill agree only within float
 * tolerance (experiments/run/packed_trials.test.ts tests packing).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Random } from '../../src/util/random.js';
import { RESULT_FILES, type RunManifest, type TrialRecord } from '../../src/results/results.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-faults-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

const file = path.join(root, 'faults.json');
writeFileSync(
  file,
  JSON.stringify({
    name: 'faults',
    presets: ['ps-nano'],
    pretrainSteps: 30,
    tasks: ['verify'],
    // 8 trials: a kill lands 0-300 ms after a trial's line, in which a fast trial (0.4 s) can finish too,
    // so three kills may cache up to 6; trials must remain for every kill to interrupt work.
    seeds: [0, 1, 2, 3],
    data: { train: 16, dev: 8, test: 8 },
    training: { steps: 6, batchSize: 4, evalEvery: 2 },
    sweeps: [{ name: 'scaling', figure: 'scaling', methods: [{ method: 'prompt-tuning', options: { length: 2 } }, { method: 'lora', options: { rank: 1 } }] }],
  }),
);

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  seconds: number;
}

/**
 * Runs the experiment in a child process under `name`'s folders. With `killOn`, it is killed with SIGKILL
 * `delayMs` after its output first matches: kill points are tied to what the run is doing (pretraining,
 * a trial just finished), not to wall time, so a loaded machine moves them nowhere.
 */
function run(name: string, options: { killOn?: RegExp; delayMs?: number; env?: Record<string, string> } = {}): Promise<Outcome> {
  const dir = path.join(root, name);
  const args = [cli, 'experiment', file, '--cache', path.join(dir, 'models'), '--trial-cache', path.join(dir, 'trials'), '--results', path.join(dir, 'results'), '--workers', '1', '--no-report', '--pack-rows', '0'];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } });
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (options.killOn !== undefined && timer === undefined && options.killOn.test(stderr)) timer = setTimeout(() => child.kill('SIGKILL'), options.delayMs ?? 0);
  });
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, seconds: (performance.now() - started) / 1000 });
    }),
  );
}

/** What must not depend on interruptions: everything but timings, memory, dates and the environment. */
function comparable(name: string): { records: unknown[]; pretrained: unknown[] } {
  const dir = path.join(root, name, 'results', 'faults');
  const records = readFileSync(path.join(dir, RESULT_FILES.records), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialRecord)
    .map((r) => ({ key: r.key, status: r.status, config: r.config, parameters: r.parameters, dev: r.dev, test: r.test, lossCurve: r.lossCurve, devCurve: r.devCurve }))
    .sort((a, b) => a.key.localeCompare(b.key));
  const manifest = JSON.parse(readFileSync(path.join(dir, RESULT_FILES.manifest), 'utf8')) as RunManifest;
  return { records, pretrained: manifest.pretrained.map((p) => ({ preset: p.preset, steps: p.steps, heldOutLoss: p.heldOutLoss, controlHeldOutLoss: p.controlHeldOutLoss })) };
}

function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (/\.tmp$|\.writing-|\.old-/.test(entry.name)) found.push(path.join(entry.parentPath, entry.name));
  }
  return found;
}

describe('crash safety under faults', () => {
  it('random SIGKILLs and dying workers, then a rerun, give the uninterrupted results', async () => {
    const clean = await run('clean');
    assert.equal(clean.code, 0, clean.stderr);

    // Main process killed at seeded random moments: mid-pretraining (the control saved, the model not
    // yet), then three times just after a trial finished (while the next trains or the record is written).
    const random = new Random(7, 'faults');
    const killed = await run('killed', { killOn: /saved the never-trained control/, delayMs: Math.round(random.uniform(0, 300)) });
    assert.equal(killed.signal, 'SIGKILL', `killed during pretraining:\n${killed.stderr}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await run('killed', { killOn: /^✓ /m, delayMs: Math.round(random.uniform(0, 300)) });
      assert.equal(outcome.signal, 'SIGKILL', `kill ${attempt + 2} came while trials remained:\n${outcome.stderr}`);
    }
    // A worker thread that dies mid-trial: the trial is reported failed, not cached, and the command exits 1.
    const crashed = await run('killed', { env: { PEFTSCALE_FAULT_WORKER_EXIT_AT_STEP: '3' } });
    if (crashed.code !== 0) assert.match(crashed.stderr, /failed and are not cached/);
    const final = await run('killed');
    assert.equal(final.code, 0, final.stderr);

    assert.deepEqual(comparable('killed'), comparable('clean'));
    assert.deepEqual(leftovers(path.join(root, 'killed')), []);
  });
});
