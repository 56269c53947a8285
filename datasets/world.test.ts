import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWorld, partitionEntities, worldStats, MAX_WORLD_SIZE } from './world.js';

test('world: same seed gives the same world, another seed a different one', () => {
  const a = generateWorld({ seed: 7, worldSize: 300 });
  const b = generateWorld({ seed: 7, worldSize: 300 });
  const c = generateWorld({ seed: 8, worldSize: 300 });
  assert.equal(JSON.stringify(a.facts), JSON.stringify(b.facts));
  assert.notEqual(JSON.stringify(a.facts), JSON.stringify(c.facts));
});

test('world: names are unique short ASCII, friendship symmetric, facts have unique ids', () => {
  const world = generateWorld({ seed: 1, worldSize: 1000 });
  const names = [...world.characters.map((c) => c.name), ...world.towns.map((t) => t.name)];
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.match(name, /^[A-Z][a-z]{2,6}$/);
  for (const c of world.characters) {
    if (c.friend !== null) assert.equal(world.characterById.get(c.friend)?.friend, c.id);
  }
  assert.equal(world.factById.size, world.facts.length);
  const stats = worldStats(world);
  assert.ok(stats.facts > 5 * 1000 && stats.factBits > 20_000, JSON.stringify(stats));
});

test('world: the entity partition is disjoint and complete', () => {
  const world = generateWorld({ seed: 3, worldSize: 500 });
  const p = partitionEntities(world);
  const all = [...p.train, ...p.dev, ...p.test];
  assert.equal(new Set(all).size, 500);
  assert.equal(all.length, 500);
});

test('world: bad config values name the field and what is allowed', () => {
  assert.throws(() => generateWorld({ seed: 1, worldSize: 1 }), /worldSize = 1: must be an integer in \[2, /);
  assert.throws(() => generateWorld({ seed: 1, worldSize: MAX_WORLD_SIZE + 1 }), /worldSize/);
  assert.throws(() => generateWorld({ seed: 1.5, worldSize: 10, townCount: 1 }), /seed = 1.5[\s\S]*townCount = 1/);
});
