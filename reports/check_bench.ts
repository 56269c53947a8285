/**
 * Checks bench.json (written by `peftscale bench`) beyond its declared format: what the report also
 * shows and the unit of every column it converts.
 */
import { BENCH_COLUMNS, benchReportProblems, type BenchReport } from '../src/results/bench.js';
import { Checker, isPlainObject, throwProblems } from './check.js';

/**
 * Checks bench.json against its declared format (src/results/bench.ts): benchReportProblems covers the top level
 * and every row column; the Checker here covers what the report also shows (settings, machine, models,
 * mixed serving, the reference step) and that each declared column keeps the unit the report converts
 * from. Every problem comes in one error, each line naming the file.
 */
export function checkBench(value: unknown, where: string): BenchReport {
  const problems = benchReportProblems(value).map((problem) => `${where}: ${problem}`);
  if (!isPlainObject(value)) throw new Error(problems.join('\n'));
  const c = new Checker(where, value);
  // Parents benchReportProblems already found to be of the wrong kind are not walked again.
  if (isPlainObject(value.environment)) {
    c.object('environment.versions');
    c.boolean('environment.gitDirty');
    if (isPlainObject(value.environment.machine)) {
      for (const key of ['cpu', 'platform', 'node']) c.string(`environment.machine.${key}`);
      for (const key of ['cores', 'memoryBytes']) c.number(`environment.machine.${key}`);
    }
  }
  if (isPlainObject(value.settings)) {
    c.strings('settings.presets');
    c.strings('settings.methods');
    const options = c.object('settings.methodOptions');
    for (const [method, label] of Object.entries(options)) if (typeof label !== 'string') c.problem(`settings.methodOptions.${method}`, label, 'a string (the options label)');
    for (const key of ['weights', 'batchText', 'optimizer']) c.string(`settings.${key}`);
    for (const key of ['batchSize', 'sequenceLength', 'warmup', 'iterations', 'seed']) c.number(`settings.${key}`);
  }
  const entries = (key: string): unknown[] => (Array.isArray(value[key]) ? (value[key] as unknown[]) : []);
  entries('models').forEach((model, i) => {
    const m = new Checker(`${where}: models[${i}]`, model);
    m.string('preset');
    m.number('parameters');
    m.oneOf('weights', ['pretrained', 'initialised']);
    m.stringOrNull('source');
    c.problems.push(...m.problems);
  });
  const declared = new Map(BENCH_COLUMNS.map((column) => [column.key, column]));
  entries('columns').forEach((column, i) => {
    const k = new Checker(`${where}: columns[${i}]`, column);
    const key = k.string('key');
    k.oneOf('type', ['string', 'number']);
    k.boolean('nullable');
    const unit = k.string('unit');
    k.string('description');
    const expected = declared.get(key);
    if (expected !== undefined && k.problems.length === 0 && unit !== expected.unit) k.problem('unit', unit, `"${expected.unit}" (the unit src/results/bench.ts declares for ${key}; the report converts from it)`);
    c.problems.push(...k.problems);
  });
  entries('mixedServing').forEach((row, i) => {
    const m = new Checker(`${where}: mixedServing[${i}]`, row);
    m.string('preset');
    for (const key of ['tasks', 'promptLength', 'batchSize', 'sequenceLength', 'mixedPasses', 'separatePasses', 'mixedMedianMs', 'separateMedianMs', 'mixedRowsPerSecond', 'separateRowsPerSecond', 'speedup', 'maxAbsDifference']) {
      m.number(key);
    }
    c.problems.push(...m.problems);
  });
  if (isPlainObject(value.reference)) {
    const r = new Checker(`${where}: reference`, value.reference);
    for (const key of ['method', 'options']) r.string(key);
    for (const key of ['dModel', 'nLayers', 'nHeads', 'dFF', 'vocabSize', 'batchSize', 'sequenceLength', 'warmup', 'steps', 'medianMs', 'p99Ms', 'meanMs', 'tokensPerSecond', 'leakedTensors', 'peakTensorBytes', 'peakRssBytes']) {
      r.number(key);
    }
    r.number('lastLoss', true); // a step whose loss was NaN is still a timed step
    r.numbers('samplesMs');
    c.problems.push(...r.problems);
  }
  throwProblems([...problems, ...c.problems]);
  // Every field BenchReport declares was checked above or by benchReportProblems.
  return value as unknown as BenchReport;
}
