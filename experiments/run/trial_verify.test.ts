/**
 * The tolerance of `--import-trials --verify` (trial_verify.ts): none where the record was produced (the
 * same backend, provider, versions, CPU, threads); elsewhere one example in CROSS_BACKEND_EXAMPLES_PER_FLIP
 * per split (at least one), the message naming what differs and never claiming exactness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import { fixtureRecords } from '../../test/report_fixtures.js';
import { allowedFlips, CROSS_BACKEND_EXAMPLES_PER_FLIP, describeVerification, producerDifferences, reproductionProblems } from './trial_verify.js';

const MACHINE = { cpu: 'AMD EPYC', cores: 2, memoryBytes: 1, platform: 'linux x64', node: 'v20' };
const VERSIONS = { '@tensorflow/tfjs-core': '4.22.0', node: '20' };
/** An environment on `backend`, provided by `provider` (omitted: an older record that does not name it). */
function env(backend: string, provider?: string, more: Partial<TrialEnvironment> = {}): TrialEnvironment {
  return { backend, ...(provider === undefined ? {} : { provider }), versions: VERSIONS, gitHash: 'x', gitDirty: false, machine: MACHINE, ...more };
}
const CPU = env('cpu', '@tensorflow/tfjs-backend-cpu');
const NODE = env('tensorflow', '@tensorflow/tfjs-node', { threads: 2 });

/** A fixture record produced in `environment` with `devCorrect` of 64 and `testCorrect` of 150 correct. */
function recordOf(environment: TrialEnvironment, devCorrect: number, testCorrect: number): TrialRecord {
  const record = fixtureRecords().find((r) => r.status === 'finished') as TrialRecord;
  return { ...record, environment, dev: { ...record.dev, accuracy: devCorrect / 64, examples: 64 }, test: { ...record.test, accuracy: testCorrect / 150, examples: 150 } };
}

const rescored = (environment: TrialEnvironment, dev: number, test: number, budget = { recorded: 100, now: 100 }) => ({
  environment,
  rescored: { dev: { correct: dev, examples: 64 }, test: { correct: test, examples: 150 }, seconds: 0, budget },
});

describe('--verify tolerance', () => {
  it('allows no flip where the record was produced, one per 200 examples (at least one) elsewhere', () => {
    assert.deepEqual([allowedFlips(150, true), allowedFlips(150, false), allowedFlips(872, false), allowedFlips(2 * CROSS_BACKEND_EXAMPLES_PER_FLIP, false)], [0, 1, 5, 2]);
  });

  it("where the record was produced one example off is refused, naming the split, the recorded and the re-scored counts", () => {
    assert.deepEqual(reproductionProblems('r.jsonl:3 (trial k)', recordOf(CPU, 40, 100), 'A', rescored(CPU, 40, 100)), []);
    const problems = reproductionProblems('r.jsonl:3 (trial k)', recordOf(CPU, 40, 100), 'A', rescored(CPU, 40, 101));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^r\.jsonl:3 \(trial k\): test\.accuracy = 0\.6+ recorded \(100 of 150 correct\), re-scored 0\.673+ \(101 of 150\) from A: allowed: the same count \(re-scored where the record was produced: backend cpu, @tensorflow\/tfjs-backend-cpu/);
  });

  it('across backends one flip per split passes and two are refused, the message naming both backends', () => {
    assert.deepEqual(reproductionProblems('at', recordOf(NODE, 40, 100), 'A', rescored(env('wasm', 'w'), 41, 99)), []);
    const problems = reproductionProblems('at', recordOf(NODE, 40, 100), 'A', rescored(env('wasm', 'w'), 42, 100));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /dev\.accuracy = 0\.625 recorded \(40 of 64 correct\), re-scored 0\.65625 \(42 of 64\) .*within 1 example\(s\) \(re-scored elsewhere than the record was produced: backend "tensorflow" recorded, "wasm" re-scoring.*--backend tensorflow re-scores closer\)/);
  });

  it('the same backend name from another package, another thread count or version, or an unnamed provider is not exact: the tolerance applies and the message says what differs', () => {
    const gpu = env('tensorflow', '@tensorflow/tfjs-node-gpu', { threads: 2 });
    assert.deepEqual(producerDifferences(NODE, NODE), []);
    assert.deepEqual(producerDifferences(NODE, gpu), ['provider "@tensorflow/tfjs-node" recorded, "@tensorflow/tfjs-node-gpu" re-scoring']);
    assert.deepEqual(producerDifferences(NODE, { ...NODE, threads: 16 }), ['threads 2 recorded, 16 re-scoring']);
    assert.deepEqual(producerDifferences(NODE, { ...NODE, versions: { ...VERSIONS, libtensorflow: '2.21.0' } }), ['versions.libtensorflow undefined recorded, "2.21.0" re-scoring']);
    assert.deepEqual(producerDifferences(env('tensorflow', undefined, { threads: 2 }), NODE), ['the record does not name the package that provided backend tensorflow']);
    // An older cpu record names no provider: cpu has one, so it is still exact.
    assert.deepEqual(producerDifferences(env('cpu'), CPU), []);
    assert.deepEqual(reproductionProblems('at', recordOf(NODE, 40, 100), 'A', rescored(gpu, 41, 100)), [], 'one flip passes on tfjs-node-gpu');
    const [problem] = reproductionProblems('at', recordOf(NODE, 40, 100), 'A', rescored(gpu, 42, 100));
    assert.match(problem, /within 1 example\(s\) \(re-scored elsewhere than the record was produced: provider "@tensorflow\/tfjs-node" recorded, "@tensorflow\/tfjs-node-gpu" re-scoring: float round-off/);
    assert.doesNotMatch(problem, /exactly|--backend/);
  });

  it('a recorded accuracy that is no count of its examples gets its own message, even when the counts match', () => {
    const record = recordOf(CPU, 40, 100);
    const odd = { ...record, test: { ...record.test, accuracy: 0.6667 } };
    const problems = reproductionProblems('at', odd, 'A', rescored(CPU, 40, 100));
    assert.deepEqual(problems, ['at: test.accuracy = 0.6667 recorded is not a count of 150 examples (the nearest, 100 of 150, is 0.6666666666666666); re-scored 100 of 150: allowed: correct/examples']);
  });

  it('a mismatch re-scored with a recorded input budget that today\'s code computes differently says so', () => {
    const [problem] = reproductionProblems('at', recordOf(CPU, 40, 100), 'A', rescored(CPU, 40, 90, { recorded: 46, now: 44 }));
    assert.match(problem, /\(input budget 46 recorded, 44 now: the code changed; re-scored with the recorded 46\)$/);
  });

  it('a different example count, or a re-scoring that failed, is a problem', () => {
    const other = { environment: CPU, rescored: { dev: { correct: 40, examples: 60 }, test: { correct: 100, examples: 150 }, seconds: 0, budget: { recorded: 1, now: 1 } } };
    assert.match(reproductionProblems('at', recordOf(CPU, 40, 100), 'A', other)[0], /dev\.examples = 64 recorded, 60 re-scored: allowed: the trial's own dev split/);
    assert.match(reproductionProblems('at', recordOf(CPU, 40, 100), 'A', { error: 'boom' })[0], /^at: its adapter A could not be re-scored: boom$/);
  });

  it('the summary counts exact and tolerated reproductions, records the cache kept (not verified) and records without an adapter', () => {
    const text = describeVerification({ reproduced: 3, exact: 2, keptCache: 1, noAdapter: new Map([['the method trains nothing', 1]]), backend: 'cpu', seconds: [1, 2, 3], adapters: new Map() });
    assert.equal(text, "3 of 3 re-scored record(s) reproduced their dev and test counts on backend cpu (2 exactly, where they were produced; 1 within the tolerance across environments; 2.0 s each); 1 record(s) whose trial the trial cache already holds another record of: kept the cache's record: not verified; 1 record(s) have no kept adapter: not re-scored (the method trains nothing: 1)");
  });
});
