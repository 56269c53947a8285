import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildCorpus, corpusFingerprint, MAX_DOCUMENT_BYTES } from './corpus.js';
import { buildTaskSuite } from './tasks.js';
import { DATASET_VERSION, generateWorld, partitionEntities, factSubject } from './world.js';

const config = { seed: 5, worldSize: 300, corpusBytes: 120_000, heldoutBytes: 6_000 };

test('corpus: same config gives the same bytes; another seed differs', () => {
  const a = buildCorpus(config);
  const b = buildCorpus(config);
  const c = buildCorpus({ ...config, seed: 6 });
  assert.equal(a.train.join('\u0000'), b.train.join('\u0000'));
  assert.equal(a.heldout.join('\u0000'), b.heldout.join('\u0000'));
  assert.notEqual(a.train.join('\u0000'), c.train.join('\u0000'));
});

test('corpus: every fact stated at least once even when the size is tiny; size grows repeats', () => {
  const world = generateWorld(config);
  const tiny = buildCorpus({ ...config, corpusBytes: 0 }, world);
  const stated = new Set(tiny.trainDocuments.filter((d) => d.type !== 'demo').flatMap((d) => d.facts));
  for (const fact of world.facts) assert.ok(stated.has(fact.id), `fact ${fact.id} not stated`);
  assert.ok(tiny.stats.minFactMentions >= 1);
  const big = buildCorpus({ ...config, corpusBytes: 300_000 }, world);
  assert.ok(big.stats.trainBytes >= 300_000);
  // Hat facts are stated a fixed number of times (recall exposures); the other facts repeat as the size grows.
  const worldMentions = (docs: typeof tiny.trainDocuments): number => docs.filter((d) => d.type !== 'demo').flatMap((d) => d.facts).filter((f) => !f.endsWith('.hat')).length;
  assert.ok(worldMentions(big.trainDocuments) > 1.5 * worldMentions(tiny.trainDocuments), `${worldMentions(big.trainDocuments)} vs ${worldMentions(tiny.trainDocuments)}`);
});

test('corpus: a fact stated in a document appears there in words (names and values)', () => {
  const world = generateWorld(config);
  const corpus = buildCorpus(config, world);
  for (const doc of corpus.trainDocuments.filter((d) => d.type !== 'demo').slice(0, 800)) {
    for (const id of doc.facts) {
      const fact = world.factById.get(id);
      assert.ok(fact !== undefined, id);
      const subject = world.characterById.get(fact.subject)?.name ?? world.townById.get(fact.subject)?.name ?? '';
      assert.ok(doc.text.includes(subject), `${id} subject missing in ${JSON.stringify(doc.text)}`);
      if (fact.relation !== 'coins') assert.ok(doc.text.includes(fact.value), `${id}=${fact.value} missing in ${JSON.stringify(doc.text)}`);
    }
  }
});

test('corpus: documents fit one context, are ASCII, and held-out documents are new', () => {
  const corpus = buildCorpus(config);
  const train = new Set(corpus.train);
  for (const doc of [...corpus.train, ...corpus.heldout]) {
    assert.ok(doc.length > 0 && Buffer.byteLength(doc) <= MAX_DOCUMENT_BYTES, doc);
    assert.match(doc, /^[\x20-\x7e\n]+$/);
  }
  assert.ok(corpus.heldout.length > 0);
  for (const doc of corpus.heldout) assert.ok(!train.has(doc));
  assert.ok(corpus.heldoutDocuments.every((d) => d.type !== 'demo'));
});

test('corpus: task demonstrations are in task form and only about a fraction of train characters', () => {
  const world = generateWorld(config);
  const corpus = buildCorpus(config, world);
  const { splitOf } = partitionEntities(world);
  const demos = corpus.trainDocuments.filter((d) => d.type === 'demo');
  assert.ok(demos.length > 0);
  assert.ok(demos.some((d) => d.text.includes('Question: What colour is ') && /\nAnswer: \w+/.test(d.text)));
  assert.ok(demos.some((d) => d.text.includes('\nClaim: ')));
  assert.ok(corpus.demoCharacters.length > 0 && corpus.demoCharacters.length < world.characters.length * 0.25);
  const demoSet = new Set(corpus.demoCharacters);
  for (const doc of demos) {
    for (const id of doc.facts) {
      assert.equal(splitOf.get(factSubject(id)), 'train', `demo about non-train fact ${id}`);
      assert.ok(demoSet.has(factSubject(id)));
    }
  }
});

test('corpus: the fingerprint is stable, resolves defaults, and changes with any setting', () => {
  const base = { seed: 1, worldSize: 100 };
  assert.equal(corpusFingerprint(base), corpusFingerprint({ ...base, corpusBytes: 1_000_000, townCount: 8 }));
  assert.match(corpusFingerprint(base), /^[0-9a-f]{16}$/);
  const variants = [{ seed: 2 }, { worldSize: 101 }, { corpusBytes: 5 }, { demoShare: 0.1 }, { townCount: 9 }];
  for (const v of variants) assert.notEqual(corpusFingerprint({ ...base, ...v }), corpusFingerprint(base), JSON.stringify(v));
  assert.throws(() => corpusFingerprint({ ...base, demoShare: 2 }), /demoShare = 2: must be a number in \[0, 0.6\]/);
});

test('corpus: the generated data is what DATASET_VERSION names (change one, bump the other)', () => {
  // Pretrained models and finished trials are cached under keys that include DATASET_VERSION, not the data
  // itself: generating other data under the same version would silently reuse stale models and trials.
  const corpus = buildCorpus(config);
  const suite = buildTaskSuite({ seed: 5, worldSize: 700, sizes: { train: 16, dev: 8, test: 8 } });
  const hash = createHash('sha256');
  hash.update([...corpus.train, '\u0001', ...corpus.heldout].join('\u0000'));
  for (const task of suite) hash.update(JSON.stringify([task.name, task.labels, task.splits.train.map((e) => [task.format(e), e.label]), task.splits.test.map((e) => [task.format(e), e.label])]));
  const digest = hash.digest('hex').slice(0, 16);
  const known: Record<string, string> = { 'peftscale-world-v2': 'c6e8788f524d5807', 'peftscale-world-v3': 'fd6fc77cda8cad2e' };
  assert.equal(digest, known[DATASET_VERSION], `the generated data changed (fingerprint ${digest}): bump DATASET_VERSION in datasets/world.ts and record the new fingerprint here`);
});
