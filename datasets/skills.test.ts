import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../src/util/random.js';
import { buildCorpus } from './corpus.js';
import { drawForm, lookupItem, SKILL_NAMES, SKILLS, skillPrompt, skillTaskName, TEMPLATE_DISTANCES, TRIGGER_FREQUENCIES, versusItem } from './skills.js';
import { buildTaskSuite, TASK_NAMES } from './tasks.js';
import { COLOURS, generateWorld, RECALL_EXPOSURES } from './world.js';

const config = { seed: 3, worldSize: 240, corpusBytes: 400_000, heldoutBytes: 4_000 };
const world = generateWorld(config);
const corpus = buildCorpus(config, world);
const skillTasks = SKILL_NAMES.flatMap((s) => TEMPLATE_DISTANCES.map((d) => skillTaskName(s, d)));
const suite = buildTaskSuite({ seed: config.seed, worldSize: config.worldSize, world, sizes: { train: 48, dev: 16, test: 48 } });

test('skills: every skill task is in the suite, one per skill and distance', () => {
  assert.equal(skillTasks.length, 15);
  for (const name of skillTasks) assert.ok(TASK_NAMES.includes(name), name);
});

test('skills: the distance knob changes only the template; the same examples and labels at every distance', () => {
  for (const skill of SKILL_NAMES) {
    const tasks = TEMPLATE_DISTANCES.map((d) => suite.find((t) => t.name === skillTaskName(skill, d)));
    const [first] = tasks;
    assert.ok(first !== undefined);
    const texts = new Set<string>();
    for (const task of tasks) {
      assert.ok(task !== undefined);
      assert.deepEqual(task.splits.test.map((e) => [e.id, e.label]), first.splits.test.map((e) => [e.id, e.label]), task.name);
      texts.add(task.format(task.splits.test[0]));
    }
    assert.equal(texts.size, TEMPLATE_DISTANCES.length, `${skill}: every distance has its own template`);
    // No trigger ends with another: a far template never contains a nearer one's final words whole.
    const item = versusItem(new Random(1, 't'));
    const triggers = SKILLS[skill].triggers.map((f) => f.before(item));
    for (const [i, x] of triggers.entries()) for (const [j, y] of triggers.entries()) if (i !== j) assert.ok(!x.endsWith(y), `${skill}: "${x}" ends with "${y}"`);
  }
});

test('skills: triggers appear in the corpus at their declared frequencies; distance 0 is the pretraining wording, distance 4 never occurs', () => {
  const rng = new Random(9, 'freq');
  const draws = 200_000;
  const counts = new Map<unknown, number>();
  for (let i = 0; i < draws; i++) {
    const form = drawForm(SKILLS.lookup, rng);
    counts.set(form, (counts.get(form) ?? 0) + 1);
  }
  TRIGGER_FREQUENCIES.forEach((f, d) => {
    const share = (counts.get(SKILLS.lookup.triggers[d]) ?? 0) / draws;
    assert.ok(Math.abs(share - f) <= 4 * Math.sqrt((f * (1 - f)) / draws) + 1e-9, `distance ${d}: ${share} vs ${f}`);
  });
  const text = corpus.train.join('\n');
  const lookupDocs = corpus.trainDocuments.filter((d) => d.type === 'lookup');
  assert.ok(lookupDocs.length > 100);
  const atDistance0 = lookupDocs.filter((d) => / So [A-Z][a-z]+ is [a-z]+\.$/.test(d.text)).length / lookupDocs.length;
  assert.ok(atDistance0 > 0.4 && atDistance0 < 0.6, `lookup at distance 0: ${atDistance0}`);
  // A downstream distance-0 text followed by its label is a stretch of some pretraining document's wording.
  const d0 = suite.find((t) => t.name === 'lookup-d0');
  assert.ok(d0 !== undefined && lookupDocs.some((doc) => / So [A-Z][a-z]+ is /.test(doc.text)));
  for (const marker of ['Colour of ', ' vs ', 'Hat of ']) assert.ok(!text.includes(marker), `a distance-4 trigger occurs in pretraining: "${marker}"`);
});

test('skills: every byte of every downstream template and label occurs in pretraining', () => {
  const bytes = new Set(Buffer.from(corpus.train.join('\n'), 'utf8'));
  for (const task of suite) {
    for (const split of ['train', 'dev', 'test'] as const) {
      for (const e of task.splits[split]) {
        for (const b of Buffer.from(task.format(e) + e.label, 'utf8')) assert.ok(bytes.has(b), `${task.name}: byte ${JSON.stringify(String.fromCharCode(b))} of "${task.format(e)}" never occurs in pretraining`);
      }
    }
  }
});

test('skills: in-context episodes have 1-6 (lookup) and 1-3 (versus) distractors, distinct names, a right answer and no ties', () => {
  const rng = new Random(4, 'episodes');
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const item = lookupItem(rng);
    const bindings = item.context.split('. ').map((s) => s.replace(/\.$/, '').split(' is '));
    assert.equal(bindings.length, item.difficulty + 1);
    assert.equal(new Set(bindings.map(([n]) => n)).size, bindings.length);
    const bound = bindings.find(([n]) => n === item.a);
    assert.ok(bound !== undefined && ` ${bound[1]}` === item.label && (COLOURS as readonly string[]).includes(bound[1]));
    seen.add(item.difficulty);
    const v = versusItem(rng);
    const coins = new Map(v.context.split('. ').map((s) => /^(\w+) has (\d) coins?/.exec(s) ?? []).map((m) => [m[1], Number(m[2])]));
    assert.ok(v.difficulty >= 1 && v.difficulty <= 3 && coins.size === v.difficulty + 2);
    const [a, b] = [coins.get(v.a), coins.get(v.b)];
    assert.ok(a !== undefined && b !== undefined && a !== b, v.context);
    assert.equal(v.label, a > b ? ' more' : ' fewer');
    assert.ok(skillPrompt(SKILLS.versus, v, 0).endsWith(`${v.a} has`));
  }
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
});

test('skills: each hat colour is stated exactly its exposures in the corpus, and only in recall documents', () => {
  const counts = new Map<string, number>();
  for (const doc of corpus.trainDocuments) {
    for (const fact of doc.facts) if (fact.endsWith('.hat')) {
      assert.equal(doc.type, 'recall');
      counts.set(fact, (counts.get(fact) ?? 0) + 1);
    }
  }
  for (const c of world.characters) {
    assert.ok((RECALL_EXPOSURES as readonly number[]).includes(c.hatExposures));
    assert.equal(counts.get(`${c.id}.hat`), c.hatExposures, c.name);
  }
  const perExposure = RECALL_EXPOSURES.map((e) => world.characters.filter((c) => c.hatExposures === e).length);
  assert.ok(Math.max(...perExposure) - Math.min(...perExposure) <= 1, `${perExposure}`);
});

test('skills: tasks are deterministic per seed and differ across seeds', () => {
  const names = ['lookup-d1', 'versus-d3', 'recall-d0'];
  const a = buildTaskSuite({ seed: 3, worldSize: 240, tasks: names, sizes: { train: 16, dev: 8, test: 8 } });
  const b = buildTaskSuite({ seed: 3, worldSize: 240, tasks: names, sizes: { train: 16, dev: 8, test: 8 } });
  const c = buildTaskSuite({ seed: 4, worldSize: 240, tasks: names, sizes: { train: 16, dev: 8, test: 8 } });
  assert.equal(JSON.stringify(a.map((t) => t.splits)), JSON.stringify(b.map((t) => t.splits)));
  for (let i = 0; i < names.length; i++) assert.notEqual(JSON.stringify(a[i].splits), JSON.stringify(c[i].splits), names[i]);
});
