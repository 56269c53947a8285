/**
 * `peftscale report`: its arguments and errors, --out, --json and --bench (the report itself is tested in
 * reports/report.test.ts); a results folder is drawn by a process that loads no method (the cards come
 * from run.json), and a folder whose run.json predates the cards is drawn with today's registry's,
 * exactly as one that records them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixtureBench, writeFixtureResults } from '../../test/report_fixtures.js';
import { cardRecords } from '../../src/adapt/method_card.js';
import { RESULT_FILES, type RunManifest } from '../../src/results/results.js';
import { writeReport, type ReportResult } from '../../reports/report.js';
import { commandUsage } from './command.js';
import { command, runReport } from './report.js';

let dir = '';
let results = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-report-command-'));
  results = await writeFixtureResults(path.join(dir, 'results', 'fixture'), { bench: true, ensembles: true });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('peftscale report', () => {
  it('needs exactly one results folder', async () => {
    await assert.rejects(runReport([]), /expected one results folder, got none\n.*usage: peftscale report RESULTS/s);
    await assert.rejects(runReport(['a', 'b']), /expected one results folder, got "a", "b"/);
  });

  it('an unknown flag is named with the allowed ones', async () => {
    await assert.rejects(runReport([results, '--outdir', 'x']), /unknown flag "--outdir".*Allowed: --out, --hypotheses, --bench, --json/);
  });

  it('a folder that is not a results folder says what one holds', async () => {
    await assert.rejects(runReport([path.join(dir, 'nowhere'), '--out', path.join(dir, 'x')]), /cannot read .*run\.json/);
  });

  it('--out and --json: writes there and prints the paths as JSON', async () => {
    // In a child process: this one's stdout belongs to the test runner.
    const out = path.join(dir, 'cli-out');
    const module = new URL('./report.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then((m) => m.runReport(${JSON.stringify([results, '--out', out, '--json'])}))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const printed = JSON.parse(stdout) as ReportResult;
    assert.equal(printed.htmlPath, path.join(out, 'index.html'));
    assert.equal(printed.figures.length, 12);
    assert.ok((await readdir(out)).includes('index.html'));
  });

  it('--bench FILE: shows that bench.json (the results folder need not hold one), and says it was given', async () => {
    const folder = await writeFixtureResults(path.join(dir, 'results', 'no-bench'));
    const benchFile = path.join(dir, 'elsewhere', 'bench.json');
    await writeFixtureResults(path.join(dir, 'elsewhere'), { bench: true });
    const out = path.join(dir, 'bench-flag-out');
    const module = new URL('./report.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then((m) => m.runReport(${JSON.stringify([folder, '--out', out, '--bench', benchFile, '--json'])}))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const printed = JSON.parse(stdout) as ReportResult;
    assert.equal(printed.benchFile, benchFile);
    assert.ok(printed.figures.find((f) => f.id === 'overhead')?.drawn);
    const page = await readFile(printed.htmlPath, 'utf8');
    assert.ok(page.includes(`${benchFile} (given with --bench)`));
  });

  it('--bench takes precedence over the folder’s bench.json', async () => {
    const other = { ...fixtureBench(), createdAt: '2025-02-01T10:00:00.000Z' };
    const benchFile = path.join(dir, 'precedence-bench.json');
    await writeFile(benchFile, JSON.stringify(other));
    const written = await writeReport(results, { outDir: path.join(dir, 'precedence-out'), benchFile });
    assert.equal(written.benchFile, benchFile);
    assert.match(await readFile(written.htmlPath, 'utf8'), /peftscale bench, 2025-02-01 10:00 UTC/);
  });

  it('--bench naming a missing file is an error naming it', async () => {
    const missing = path.join(dir, 'missing', 'bench.json');
    await assert.rejects(runReport([results, '--out', path.join(dir, 'never'), '--bench', missing]), (error: Error) => error.message.startsWith(`--bench ${missing}: cannot read ${missing}: no such file`));
  });

  it('has usage text naming its flags', () => {
    const usage = commandUsage(command);
    assert.match(usage, /^usage: peftscale report RESULTS \[--out DIR\] \[--hypotheses FILE\] \[--bench FILE\] \[--json\]/);
    assert.match(usage, /--out VALUE/);
    assert.match(usage, /--bench VALUE .*\(default RESULTS\/bench\.json when present\)/);
    assert.match(usage, /--json/);
  });
});

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const repository = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Runs `peftscale ARGV` with a module hook that logs every file the process (and its workers) load; returns the relative paths. */
async function loadedModules(argv: readonly string[]): Promise<string[]> {
  const log = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  const hooks = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  await promisify(execFile)(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, cli, ...argv]);
  const urls = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '');
  return [...new Set(urls.map((url) => path.relative(path.join(repository, 'dist'), fileURLToPath(url))))];
}

describe('peftscale report loads no method', () => {
  it('draws a results folder from its run.json alone: no module of methods/ or the method registries is loaded', async () => {
    const loaded = await loadedModules(['report', results, '--out', path.join(dir, 'isolated')]);
    assert.ok(loaded.includes(path.join('reports', 'report.js')), `the hook saw the report modules: ${loaded.join(', ')}`);
    const registry = loaded.filter((file) => file.startsWith(`methods${path.sep}`) || file === path.join('src', 'adapt', 'peft.js') || file === path.join('src', 'adapt', 'method_card.js'));
    assert.deepEqual(registry, [], 'methods/ and the registries stay unloaded');
    assert.ok((await readdir(path.join(dir, 'isolated'))).includes('index.html'));
  });

  it('a run.json without "methods" (written before it recorded the cards) is drawn with the registry, as it was written', async () => {
    const old = path.join(dir, 'results', 'before-cards');
    await cp(results, old, { recursive: true });
    const file = path.join(old, RESULT_FILES.manifest);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as RunManifest;
    assert.deepEqual(manifest.methods, cardRecords(), 'the fixture records the registry’s cards');
    delete manifest.methods;
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    const loaded = await loadedModules(['report', old, '--out', path.join(dir, 'old-out')]);
    assert.ok(loaded.includes(path.join('methods', 'index.js')), 'only then is the registry loaded');
    await writeReport(results, { outDir: path.join(dir, 'new-out') });
    for (const name of await readdir(path.join(dir, 'new-out'))) {
      const [before, after] = await Promise.all([readFile(path.join(dir, 'old-out', name), 'utf8'), readFile(path.join(dir, 'new-out', name), 'utf8')]);
      assert.equal(after.replaceAll(results, old), before, `${name}: the same report from the cards as from the registry`);
    }
    await assert.rejects(writeReport(old, { outDir: path.join(dir, 'never') }), /run\.json has no "methods" .*draw it with `peftscale report`/);
  });
});
