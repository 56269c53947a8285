import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCorpus } from './corpus.js';
import { buildTaskSuite, findTask, MAX_EXAMPLE_BYTES, TASK_NAMES, type Task } from './tasks.js';
import { factSubject, generateWorld } from './world.js';

const options = { seed: 11, worldSize: 700, sizes: { train: 128, dev: 32, test: 64 } };
const world = generateWorld(options);
const suite: Task[] = buildTaskSuite({ ...options, world });

test('tasks: at least four tasks of different kinds, with the requested split sizes', () => {
  assert.ok(suite.length >= 4);
  assert.equal(new Set(suite.map((t) => t.kind)).size, suite.length);
  for (const task of suite) {
    assert.deepEqual([task.splits.train.length, task.splits.dev.length, task.splits.test.length], [128, 32, 64], task.name);
    for (const label of task.labels) assert.match(label, /^ \S+$/);
    assert.equal(new Set(task.labels).size, task.labels.length);
  }
});

test('tasks: deterministic in the seed', () => {
  const again = buildTaskSuite(options);
  const other = buildTaskSuite({ ...options, seed: 12 });
  assert.equal(JSON.stringify(again.map((t) => t.splits)), JSON.stringify(suite.map((t) => t.splits)));
  assert.notEqual(JSON.stringify(other.map((t) => t.splits)), JSON.stringify(suite.map((t) => t.splits)));
});

test('tasks: splits are disjoint by example id, fact and entity', () => {
  for (const task of suite) {
    const ids = new Set<string>();
    for (const split of ['train', 'dev', 'test'] as const) {
      for (const e of task.splits[split]) {
        assert.ok(!ids.has(e.id), `${task.name}: duplicate id ${e.id}`);
        ids.add(e.id);
      }
    }
    const trainFacts = new Set(task.splits.train.flatMap((e) => e.facts));
    const trainEntities = new Set([...trainFacts].map(factSubject));
    for (const e of [...task.splits.test, ...task.splits.dev]) {
      for (const fact of e.facts) {
        assert.ok(!trainFacts.has(fact), `${task.name}: ${fact} in train and held-out splits`);
        assert.ok(!trainEntities.has(factSubject(fact)), `${task.name}: entity of ${fact} in train`);
      }
      const names = e.facts.map((f) => world.characterById.get(factSubject(f))?.name ?? '');
      for (const t of task.splits.train) for (const n of names) assert.ok(!t.input.includes(`${n} `) && !t.input.includes(`${n}?`), `${n} in train`);
    }
  }
});

test('tasks: every test fact is stated in the pretraining corpus', () => {
  const corpus = buildCorpus({ seed: options.seed, worldSize: options.worldSize, corpusBytes: 0 }, world);
  const stated = new Set(corpus.trainDocuments.filter((d) => d.type !== 'demo').flatMap((d) => d.facts));
  for (const task of suite) for (const e of task.splits.test) for (const f of e.facts) assert.ok(stated.has(f), `${task.name}: ${f}`);
});

test('tasks: labels roughly balanced (no label above 1/k + 0.1) and majority baseline consistent', () => {
  for (const task of suite) {
    for (const split of ['train', 'dev', 'test'] as const) {
      const { label, accuracy } = task.majorityBaseline(split);
      assert.ok(task.labels.includes(label));
      assert.ok(accuracy <= 1 / task.labels.length + 0.1, `${task.name}/${split}: ${label} ${accuracy}`);
      const count = task.splits[split].filter((e) => e.label === label).length;
      assert.equal(accuracy, count / task.splits[split].length);
    }
  }
});

test('tasks: every formatted example plus label is within the byte budget', () => {
  for (const task of suite) {
    for (const split of ['train', 'dev', 'test'] as const) {
      for (const e of task.splits[split]) {
        const text = task.format(e);
        assert.ok(task.labels.includes(e.label));
        assert.ok(!text.endsWith(' '), 'format ends right before the label word');
        assert.ok(Buffer.byteLength(text + e.label) <= MAX_EXAMPLE_BYTES, `${text}${e.label}`);
      }
    }
  }
});

test('tasks: unknown names get a "did you mean"; too small worlds say what is needed', () => {
  assert.throws(() => findTask(suite, 'colur'), /unknown task "colur"; did you mean "colour"\?/);
  assert.throws(() => buildTaskSuite({ ...options, tasks: ['verfy'] }), /did you mean "verify"/);
  assert.equal(findTask(suite, 'entail').name, 'entail');
  assert.deepEqual(suite.map((t) => t.name), [...TASK_NAMES]);
  assert.throws(() => buildTaskSuite({ seed: 1, worldSize: 100, tasks: ['colour'] }), /sizes\.train = 256 .*use worldSize >= \d+/);
  assert.throws(() => buildTaskSuite({ ...options, sizes: { dev: -1 } }), /sizes\.dev = -1/);
});

/** The relation a world sentence states ("Nuk is green." → colour), read from its wording alone. */
function relationOfSentence(sentence: string): string {
  if (/ lives in /.test(sentence)) return 'town';
  if (/ has \d+ coins?\.$/.test(sentence)) return 'coins';
  if (/ likes to /.test(sentence)) return 'hobby';
  if (/ is an? /.test(sentence)) return 'kind';
  if (/ is \w+\.$/.test(sentence)) return 'colour';
  throw new Error(`no relation in "${sentence}"`);
}

test('tasks: infer is decided by its text alone, every label occurring', () => {
  const infer = findTask(suite, 'infer');
  for (const split of ['train', 'dev', 'test'] as const) {
    for (const e of infer.splits[split]) {
      const match = /^Premise: (.+)\nHypothesis: (.+)$/.exec(e.input);
      assert.ok(match !== null, e.input);
      const [, premise, hypothesis] = match;
      // A reader of the text alone: the same sentence is entailed, another value of the same relation contradicts, another relation is not addressed.
      const solved = premise === hypothesis ? ' true' : relationOfSentence(premise) === relationOfSentence(hypothesis) ? ' false' : ' unknown';
      assert.equal(solved, e.label, e.input);
    }
  }
  assert.deepEqual(new Set(infer.splits.test.map((e) => e.label)), new Set(infer.labels));
});
