/**
 * writeReport and `peftscale report` on fixture results: the files beside the page, a page that needs
 * nothing from the network (bundles inlined, no external references, a CSP that forbids fetching),
 * static SVG fallbacks with ids that do not collide, CSVs that hold the plotted rows, and the command's
 * arguments and errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFixtureResults } from './fixtures.js';
import { escapeInlineScript, inlineJson } from './html.js';
import { prefixSvgIds } from './render.js';
import { defaultOutDir, REPORT_USAGE, runReport, writeReport, type ReportResult } from './report.js';

let dir = '';
let results = '';
let report: ReportResult;
let html = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-report-'));
  results = await writeFixtureResults(path.join(dir, 'results', 'fixture'), { bench: true });
  report = await writeReport(results, path.join(dir, 'out'));
  html = await readFile(report.htmlPath, 'utf8');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('writes index.html with each figure’s spec, SVG and CSV beside it, and claims.csv', async () => {
    const files = (await readdir(report.outDir)).sort();
    const expected = ['claims.csv', 'index.html'];
    for (const [n, id] of [[1, 'scaling'], [2, 'gap'], [3, 'prompt-length'], [4, 'init'], [5, 'efficiency'], [6, 'curves'], [7, 'compute']] as const) {
      expected.push(`fig${n}-${id}.csv`, `fig${n}-${id}.svg`, `fig${n}-${id}.vl.json`);
    }
    assert.deepEqual(files, expected.sort());
    assert.equal(report.figures.filter((f) => f.drawn).length, 7);
    assert.deepEqual(report.warnings, [], 'the fixture draws without notes or Vega-Lite warnings');
  });

  it('inlines the vega, vega-lite and vega-embed bundles and references nothing outside the page', () => {
    for (const bundle of ['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js']) assert.ok(html.includes(`/* ${bundle} */`), bundle);
    // Every <script> closes where it should: no "</script" hides inside a bundle or the spec JSON.
    assert.equal(html.match(/<script[\s>]/g)?.length, 5, 'specs JSON, three bundles, the page script');
    assert.equal(html.match(/<\/script>/gi)?.length, 5);
    const markup = html.replace(/<script[\s\S]*?<\/script>/g, ''); // the page outside its scripts
    for (const external of [/<script[^>]+src=/i, /<link[^>]+href=/i, /<img[^>]+src="(?!data:)/i, /url\((?!#)/i]) {
      assert.ok(!external.test(markup), `the page has no ${external}`);
    }
    assert.ok(markup.includes(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`), 'a CSP that allows no fetches');
  });

  it('embeds each figure’s static SVG as the scripts-off fallback, with ids unique in the page', () => {
    for (const figure of report.figures) assert.ok(html.includes(`<div class="static" data-figure="${figure.id}"><svg`), figure.id);
    const markup = html.replace(/<script[\s\S]*?<\/script>/g, '');
    const ids = [...markup.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')}`);
    for (const ref of markup.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(ref[1]), `url(#${ref[1]}) points at an id in the page`);
  });

  it('the .vl.json files are the embedded specs; the CSVs hold the plotted rows', async () => {
    const specs = JSON.parse(html.match(/<script type="application\/json" id="peftscale-specs">([^<]*)<\/script>/)![1]) as Record<string, { data?: { values: unknown[] } }>;
    const scaling = report.figures.find((f) => f.id === 'scaling')!;
    const file = JSON.parse(await readFile(scaling.specPath!, 'utf8')) as { data: { values: Record<string, unknown>[] } };
    assert.deepEqual(file, specs.scaling);
    const csv = (await readFile(scaling.csvPath!, 'utf8')).trim().split('\n');
    assert.equal(csv.length, file.data.values.length + 1);
    assert.equal(csv[0], Object.keys(file.data.values[0]).join(','));
    assert.match(await readFile(scaling.svgPath!, 'utf8'), /^<svg[^>]*>.*role-mark/s);
  });

  it('says which run it shows and every claim and table', () => {
    assert.match(html, /peftscale report: fixture/);
    assert.match(html, /Synthetic fixture results/);
    for (const heading of ['8. Claims for prompt tuning', 'Summary of every group', 'Diverged trials', 'Benchmarks (bench.json)', 'Frozen models', 'Published reference figures']) {
      assert.ok(html.includes(heading), heading);
    }
    assert.match(html, /Lester et al\. 2021, Table 3/);
  });

  it('defaults to reports/out/<experiment>, falling back to the folder name for an unsafe name', () => {
    const manifest = { experiment: 'default' } as Parameters<typeof defaultOutDir>[0]['manifest'];
    assert.equal(defaultOutDir({ dir: '/x/results/default', manifest }), path.join('reports', 'out', 'default'));
    assert.equal(defaultOutDir({ dir: '/x/results/run-7', manifest: { ...manifest, experiment: '../../etc' } }), path.join('reports', 'out', 'run-7'));
  });
});

describe('inline escaping', () => {
  it('keeps "</script" and "<!--" from ending or confusing an inline script, meaning the same to JavaScript', () => {
    const code = 'var a = "</script><!-- x";';
    const escaped = escapeInlineScript(code);
    assert.doesNotMatch(escaped, /<\/script|<!--/i);
    assert.equal(new Function(`${escaped}; return a;`)(), '</script><!-- x');
    assert.equal(JSON.parse(inlineJson({ t: '</script>' })).t, '</script>');
    assert.doesNotMatch(inlineJson({ t: '</script>' }), /</);
  });

  it('prefixes SVG ids and their references', () => {
    assert.equal(prefixSvgIds('<clipPath id="clip1"></clipPath><g clip-path="url(#clip1)"><use href="#clip1"/></g>', 'f'), '<clipPath id="f-clip1"></clipPath><g clip-path="url(#f-clip1)"><use href="#f-clip1"/></g>');
  });
});

describe('peftscale report', () => {
  it('needs exactly one results folder', async () => {
    await assert.rejects(runReport([]), /expected one results folder, got none\n.*usage: peftscale report RESULTS/s);
    await assert.rejects(runReport(['a', 'b']), /expected one results folder, got "a", "b"/);
  });

  it('an unknown flag is named with the allowed ones', async () => {
    await assert.rejects(runReport([results, '--outdir', 'x']), /unknown flag "--outdir".*Allowed: --out, --json/);
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
    assert.equal(printed.figures.length, 7);
    assert.ok((await readdir(out)).includes('index.html'));
  });

  it('has usage text naming its flags', () => {
    assert.match(REPORT_USAGE, /--out VALUE/);
    assert.match(REPORT_USAGE, /--json/);
  });
});
