import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTasks, formatSamples, formatTaskTable, sampleExamples } from './commands.js';
import { buildTaskSuite, findTask } from './tasks.js';

const suite = buildTaskSuite({ seed: 2, worldSize: 400, sizes: { train: 64, dev: 16, test: 32 } });

test('commands: describeTasks and the table', () => {
  const described = describeTasks(suite);
  assert.equal(described.length, suite.length);
  const colour = described.find((d) => d.name === 'colour');
  assert.ok(colour !== undefined);
  assert.deepEqual(colour.sizes, { train: 64, dev: 16, test: 32 });
  assert.ok(colour.majority.test.accuracy > 0 && colour.maxExampleBytes > 20);
  const table = formatTaskTable(suite);
  assert.equal(table, formatTaskTable(described));
  assert.match(table, /^task\s+kind/);
  for (const task of suite) assert.match(table, new RegExp(`\\n${task.name} `));
});

test('commands: sampleExamples is deterministic and shows what the model reads', () => {
  const task = findTask(suite, 'verify');
  const a = sampleExamples(task, 'test', 5, 9);
  assert.deepEqual(a, sampleExamples(task, 'test', 5, 9));
  assert.notDeepEqual(a, sampleExamples(task, 'test', 5, 10));
  assert.equal(a.length, 5);
  for (const s of a) assert.match(s.text, /^Question: .*\?\nAnswer:$/);
  const printed = formatSamples(task, 'test', a);
  assert.match(printed, /Answer:\[" (yes|no)"\]/);
  assert.throws(() => sampleExamples(task, 'test', -1, 0), /n = -1/);
});
