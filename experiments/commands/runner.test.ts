import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RESULT_FILES, type EnsembleRecord, type RunManifest, type SummaryRow, type TrialRecord } from '../../src/results/results.js';
import { expectedAutoBackend } from '../../test/helpers.js';
import { runExperiment } from './experiment.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-runner-'));
after(() => rmSync(root, { recursive: true, force: true }));
const modelCache = path.join(root, 'models'); // shared: ps-nano is pretrained (30 steps) once for the file
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

/** A tiny experiment: ps-nano briefly pretrained, three methods that train, prompt design, one that blows up. */
function experimentFile(name: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(root, `${name}.json`);
  const document = {
    name,
    presets: ['ps-nano'],
    pretrainSteps: 30,
    ensemble: true,
    tasks: ['verify'],
    seeds: [0, 1],
    data: { train: 16, dev: 8, test: 8 },
    training: { steps: 4, batchSize: 4, evalEvery: 2 },
    sweeps: [
      {
        name: 'scaling',
        figure: 'scaling',
        methods: [
          { method: 'prompt-tuning', options: { length: 2, init: 'class-label' } },
          { method: 'lora', options: { rank: 1 } },
          { method: 'prompt-design' },
          { method: 'full', training: { optimizer: 'sgd', learningRate: 1e12 } },
        ],
      },
    ],
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(document));
  return file;
}

function flags(name: string): string[] {
  return ['--cache', modelCache, '--trial-cache', path.join(root, `${name}-trials`), '--results', path.join(root, 'results'), '--workers', '2'];
}

function readRecords(dir: string): TrialRecord[] {
  return readFileSync(path.join(dir, RESULT_FILES.records), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialRecord);
}

describe('the experiment runner, end to end', () => {
  it('runs every trial on workers, records divergence and goes on, writes every results file, and reuses the cache', async () => {
    const file = experimentFile('e2e');
    const first = await runExperiment([file, ...flags('e2e')]);
    assert.ok(first !== null && first.resultsDir !== null);
    assert.deepEqual([first.trials, first.cached, first.ran, first.failed], [8, 0, 8, 0]);
    const dir = first.resultsDir;
    for (const name of Object.values(RESULT_FILES)) if (name !== RESULT_FILES.bench && name !== RESULT_FILES.hypotheses) assert.ok(existsSync(path.join(dir, name)), `${name} written`);
    assert.ok(!existsSync(path.join(dir, RESULT_FILES.hypotheses)), 'an experiment that states no hypotheses records none');

    const records = readRecords(dir);
    assert.equal(records.length, 8);
    const diverged = records.filter((r) => r.status === 'diverged');
    assert.deepEqual(
      diverged.map((r) => r.config.method),
      ['full', 'full'],
      'sgd at lr 1e12 diverges; the other trials still ran',
    );
    for (const record of diverged) assert.ok(record.divergedAt !== null && record.divergedAt.step >= 1);
    for (const record of records) {
      assert.equal(record.environment.backend, expectedAutoBackend(), 'the workers run on the backend auto picks (tensorflow when its addon is built)');
      assert.match(record.environment.gitHash, /^([0-9a-f]{40}|unknown)$/);
      assert.deepEqual(record.sweeps, ['scaling']);
    }
    const csvLines = readFileSync(path.join(dir, RESULT_FILES.recordsCsv), 'utf8').trim().split('\n');
    assert.equal(csvLines.length, 1 + 8, 'header and one row per trial');
    assert.ok(csvLines[0].startsWith('key,status,sweeps,preset'));

    const summary = JSON.parse(readFileSync(path.join(dir, RESULT_FILES.summary), 'utf8')) as SummaryRow[];
    assert.equal(summary.length, 4, 'one group per method (one preset, one task)');
    const full = summary.find((r) => r.method === 'full');
    assert.deepEqual([full?.n, full?.diverged, full?.gapToFull], [0, 2, null], 'diverged trials are counted, not averaged');
    const lora = summary.find((r) => r.method === 'lora');
    assert.equal(lora?.n, 2);
    const manifest = JSON.parse(readFileSync(path.join(dir, RESULT_FILES.manifest), 'utf8')) as RunManifest;
    assert.deepEqual(manifest.trials, { total: 8, ran: 8, cached: 0, diverged: 2, failed: 0 });
    assert.equal(manifest.pretrained[0]?.preset, 'ps-nano');
    // The capability gates travel from the model's folder into run.json, measured on the control too.
    const gates = manifest.pretrained[0]?.gates;
    assert.ok(gates !== undefined && Object.keys(gates.zeroShot).includes('lookup-d0') && gates.probes.lookup.n > 0 && typeof gates.pass === 'boolean');
    const ensembles = JSON.parse(readFileSync(path.join(dir, RESULT_FILES.ensembles), 'utf8')) as EnsembleRecord[];
    assert.equal(ensembles.length, 1, 'prompt tuning, two seeds: one ensemble');
    assert.deepEqual(ensembles[0].seeds, [0, 1]);
    const singles = records.filter((r) => r.config.method === 'prompt-tuning').sort((a, b) => a.config.seed - b.config.seed);
    assert.deepEqual(ensembles[0].perPrompt, singles.map((r) => r.test.accuracy), 'each saved prompt scores in the shared batch what its trial scored alone');
    assert.ok((manifest.pretrained[0]?.heldOutLoss ?? Infinity) < (manifest.pretrained[0]?.controlHeldOutLoss ?? 0));

    // The same experiment again: nothing runs, the results are the same trials.
    const second = await runExperiment([file, ...flags('e2e')]);
    assert.deepEqual([second?.trials, second?.cached, second?.ran], [8, 8, 0]);
    assert.deepEqual(
      readRecords(dir).map((r) => [r.key, r.finishedAt]),
      records.map((r) => [r.key, r.finishedAt]),
      'cached records are reused as they were',
    );
    const cachedManifest = JSON.parse(readFileSync(path.join(dir, RESULT_FILES.manifest), 'utf8')) as RunManifest;
    assert.equal(cachedManifest.environment.versions['@tensorflow/tfjs-core'], records[0].environment.versions['@tensorflow/tfjs-core'], 'a run with nothing to train still names its versions');

    // A changed training budget for one method: only its trials miss the cache.
    const changed = experimentFile('e2e', {
      sweeps: [
        {
          name: 'scaling',
          figure: 'scaling',
          methods: [
            { method: 'prompt-tuning', options: { length: 2, init: 'class-label' } },
            { method: 'lora', options: { rank: 1 }, training: { steps: 2 } },
            { method: 'prompt-design' },
            { method: 'full', training: { optimizer: 'sgd', learningRate: 1e12 } },
          ],
        },
      ],
    });
    const dry = await runExperiment([changed, '--dry-run', ...flags('e2e')]);
    assert.deepEqual([dry?.trials, dry?.cached], [8, 6]);
    const third = await runExperiment([changed, ...flags('e2e')]);
    assert.deepEqual([third?.cached, third?.ran], [6, 2]);
  });

  it('a killed run keeps its finished trials: the rerun computes only the rest and the table is complete', async () => {
    const file = experimentFile('killed', {
      seeds: [0, 1, 2],
      training: { steps: 40, batchSize: 4, evalEvery: 20 },
      sweeps: [{ name: 'scaling', figure: 'scaling', methods: [{ method: 'prompt-tuning', options: { length: 2 } }, { method: 'lora', options: { rank: 1 } }] }],
    });
    const trialCache = path.join(root, 'killed-trials');
    const child = spawn(process.execPath, [cli, 'experiment', file, ...flags('killed').slice(0, -1), '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // Two trials finished (and cached): kill the whole process, workers and all, mid-sweep.
        if ((stderr.match(/^✓ /gm) ?? []).length >= 2) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the run ended before it was killed (code ${code}):\n${stderr}`))));
    });
    // A kill can land mid-write (packed trials finish together and write in a row): the temporary it leaves
    // is this host's and its writer is dead, so the rerun removes it (checked below).
    const cachedFiles = readdirSync(trialCache).filter((name) => name.endsWith('.json'));
    const finishedBeforeKill = cachedFiles.length;
    assert.ok(finishedBeforeKill >= 2 && finishedBeforeKill < 6, `${finishedBeforeKill} trials cached when killed`);
    const mtimes = new Map(cachedFiles.map((name) => [name, readFileSync(path.join(trialCache, name), 'utf8')]));

    const rerun = await runExperiment([file, ...flags('killed')]);
    assert.deepEqual([rerun?.trials, rerun?.cached, rerun?.ran, rerun?.failed], [6, finishedBeforeKill, 6 - finishedBeforeKill, 0]);
    for (const [name, text] of mtimes) assert.equal(readFileSync(path.join(trialCache, name), 'utf8'), text, `${name} was not recomputed`);
    const allFiles = readdirSync(trialCache);
    assert.ok(!allFiles.some((name) => name.endsWith('.tmp')), `no temporary files left after the rerun: ${allFiles.join(', ')}`);
    const records = readRecords(rerun?.resultsDir as string);
    assert.equal(records.length, 6, 'the final table has every trial');
    assert.equal(rerun?.summary.filter((row) => row.n === 3).length, 2, 'both methods have all 3 seeds');
  });
});
