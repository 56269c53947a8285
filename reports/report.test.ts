/**
 * writeReport and `peftscale report` on fixture results: the files beside the page, a page that needs
 * nothing from the network (bundles inlined, no external references, a CSP that forbids fetching),
 * static SVG fallbacks with ids that do not collide, CSVs that hold the plotted rows, the prompt-ensemble
 * and benchmark sections with their numbers (and what they say when their files are absent). The
 * command's arguments and errors: experiments/commands/report.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixtureEnsembles, fixtureRecords, writeFixtureResults } from '../test/report_fixtures.js';
import { escapeInlineScript, inlineJson } from './html.js';
import { prefixSvgIds } from './render.js';
import { defaultOutDir, writeReport, type ReportResult } from './report.js';

let dir = '';
let results = '';
let report: ReportResult;
let html = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-report-'));
  results = await writeFixtureResults(path.join(dir, 'results', 'fixture'), { bench: true, ensembles: true });
  report = await writeReport(results, { outDir: path.join(dir, 'out') });
  html = await readFile(report.htmlPath, 'utf8');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeReport', () => {
  it('writes index.html with each figure’s spec, SVG and CSV beside it, and claims.csv', async () => {
    const files = (await readdir(report.outDir)).sort();
    const expected = ['claims.csv', 'index.html'];
    for (const [n, id] of [[1, 'scaling'], [2, 'gap'], [3, 'prompt-length'], [4, 'init'], [5, 'efficiency'], [6, 'curves'], [7, 'compute'], [9, 'overhead'], [10, 'gates'], [11, 'recovered'], [12, 'margin']] as const) {
      expected.push(`fig${n}-${id}.csv`, `fig${n}-${id}.svg`, `fig${n}-${id}.vl.json`);
    }
    assert.deepEqual(files, expected.sort());
    assert.equal(report.figures.filter((f) => f.drawn).length, 11);
    assert.equal(report.benchFile, path.join(path.resolve(results), 'bench.json'));
    assert.equal(report.ensembles, 6);
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
    // The fixture has no data-size sweep: Figure 13 is the one figure not drawn (figures.test.ts draws it from a fixture that has one).
    assert.deepEqual(report.figures.filter((f) => !f.drawn).map((f) => f.id), ['data-size']);
    for (const figure of report.figures.filter((f) => f.drawn)) assert.ok(html.includes(`<div class="static" data-figure="${figure.id}"><svg`), figure.id);
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
    for (const heading of ['8. Claims for prompt tuning', 'Prompt ensembles (Lester et al. Table 3)', 'Benchmarks (bench.json)', 'Summary of every group', 'Diverged trials', 'Frozen models', 'Published reference figures']) {
      assert.ok(html.includes(heading), heading);
    }
    for (const anchor of ['#claims', '#ensembles', '#bench', '#summary']) assert.ok(html.includes(`<li><a href="${anchor}">`), `contents link ${anchor}`);
    assert.match(html, /Lester et al\. 2021, Table 3/);
  });

  it('prompt ensembles: a row per (frozen model, options, task) with each prompt, average, best, vote and the differences; the caption cites Table 3 and names the run', () => {
    const section = sectionOf(html, 'ensembles');
    const ensembles = fixtureEnsembles(fixtureRecords());
    const pct = (x: number): string => (x * 100).toFixed(1);
    const points = (x: number): string => `${x < 0 ? '−' : '+'}${Math.abs(x * 100).toFixed(1)}`;
    for (const e of ensembles) {
      const cells = [pct(e.average), pct(e.best), pct(e.ensemble), points(e.ensemble - e.best), points(e.ensemble - e.average)].map((c) => `<td class="num">${c}</td>`).join('');
      const row = `<tr><td>${e.preset}</td><td><code>${e.optionsLabel}</code></td><td>${e.task}</td><td class="num">2</td><td>0, 1</td><td>${pct(e.perPrompt[0])}, ${pct(e.perPrompt[1])}</td>${cells}`;
      assert.ok(section.includes(row), `row for ${e.preset} ${e.task}:\n${row}`);
    }
    const beatBest = ensembles.filter((e) => e.ensemble > e.best).length;
    assert.ok(beatBest > 0 && beatBest < ensembles.length, 'the fixture has votes on both sides of the best prompt');
    assert.match(section, new RegExp(`the vote beats the best single prompt in ${beatBest} of 6 configurations`));
    assert.match(section, /Published, for comparison: Lester et al\. 2021, Table 3 \(5 prompts on frozen T5-XXL, SuperGLUE dev\): average 90\.5, best 91\.0, majority-vote ensemble 91\.3\./);
    assert.match(section, /Lester et al\.: \+0\.3 pp and \+0\.8 pp with 5 prompts on T5-XXL/);
    assert.match(section, /<span class="source">T5-XXL \(about 11B\)<\/span>.*<span class="source">90\.5<\/span>.*<span class="source">\+0\.3<\/span><\/td><td class="num"><span class="source">\+0\.8<\/span>/, 'the published row, marked as such');
    assert.match(section, /Run: experiment “fixture”, profile quick, backend wasm, git f1x7ure/);
  });

  it('benchmarks: provenance, that the benchmark is another run, a cost table per preset with units, Figure 9, mixed serving and the reference step', () => {
    const section = sectionOf(html, 'bench');
    assert.match(section, /found in the results folder/);
    assert.match(section, /<p class="notice">The benchmark ran separately from the experiment \(peftscale bench, 2025-01-16 09:00 UTC; the experiment finished [^)]*\), with a different git commit \(benchmark b3nchf1x7ure, experiment f1x7ure\) and machine/);
    assert.match(section, /16 rows × 64 tokens/);
    assert.match(section, /5 warm-up and 20 measured calls per timing/);
    for (const header of ['train median (ms)', 'train p99 (ms)', 'train throughput (tokens/s)', 'train peak tensors (MiB)', 'inference median (ms)', 'overhead vs bare (%)', 'inference throughput (rows/s)', 'adapter on disk (KiB)', 'peak RSS (MiB)']) {
      assert.ok(section.includes(`<th class="num">${header}</th>`), header);
    }
    for (const preset of ['ps-nano: 41,984 frozen parameters, pretrained weights', 'ps-micro: 133,120 frozen parameters, initialised weights', 'ps-mini: 385,248 frozen parameters']) assert.ok(section.includes(preset), preset);
    // ps-nano prompt tuning: 4 ms × 1.31 = 5.24 ms (p99 × 1.12 = 5.87), +31%, 16 rows / 5.24 ms = 3,053 rows/s, (640 × 4 + 310) bytes = 2.80 KiB, 240 MB RSS = 229 MiB.
    assert.ok(section.includes('<td class="num">5.24</td><td class="num">5.87</td><td class="num">+31.0</td><td class="num">3,053</td><td class="num">2.80</td><td class="num">229</td>'), 'ps-nano prompt-tuning row');
    assert.match(section, /<tr><td>frozen model alone<\/td><td class="num">0<\/td><td class="num">0<\/td><td class="num">—<\/td>.*<td class="num">baseline<\/td>/, 'the bare row: nothing trained, the baseline');
    assert.ok(section.includes('<td>LoRA (merged)</td>'));
    assert.ok(section.indexOf('<h2 id="fig-overhead">Figure 9.') > 0, 'Figure 9 inside the benchmark section');
    // Mixed serving on ps-nano: 5.24 ms mixed, 5.24 × 2.4 = 12.6 ms per task, 2.40× faster, identical logits; ps-micro differs by 2.4e-7.
    assert.ok(section.includes('<td class="num">5.24</td><td class="num">12.6</td>'), 'mixed and per-task medians');
    assert.ok(section.includes('<td class="num">2.40</td><td class="num">0 (identical)</td>'));
    assert.ok(section.includes('<td class="num">2.4e-7</td>'));
    assert.match(section, /d_model 128, 4 layers, 4 heads, d_ff 512, vocab 256/);
    assert.match(section, /full model tuning, batch 16 × 64 tokens/);
  });

  it('claims: the inference overhead comes from bench.json’s prompt-tuning rows against the bare ones', async () => {
    const claims = await readFile(report.claimsCsvPath, 'utf8');
    assert.match(claims, /Under 1% inference overhead,.*ps-nano \(20 virtual tokens\): 5\.24 ms against 4\.00 ms for the frozen model alone, \+31\.0%.*Under 1% at 0 of 3 sizes\.",does not hold/);
  });

  it('defaults to reports/out/<experiment>, falling back to the folder name for an unsafe name', () => {
    const manifest = { experiment: 'default' } as Parameters<typeof defaultOutDir>[0]['manifest'];
    assert.equal(defaultOutDir({ dir: '/x/results/default', manifest }), path.join('reports', 'out', 'default'));
    assert.equal(defaultOutDir({ dir: '/x/results/run-7', manifest: { ...manifest, experiment: '../../etc' } }), path.join('reports', 'out', 'run-7'));
  });
});

/** The HTML of the page section whose heading has this id, up to the next one (figures nested in it included). */
function sectionOf(page: string, id: string): string {
  const start = page.indexOf(`<h2 id="${id}">`);
  assert.ok(start > 0, `a section #${id}`);
  const next = page.indexOf('<section><h2', start);
  return page.slice(start, next === -1 ? undefined : next);
}

describe('a report without ensembles.json and bench.json', () => {
  it('says ensembles were not run and how to turn them on, and how to show a bench.json; Figure 9 is not drawn', async () => {
    const bare = await writeFixtureResults(path.join(dir, 'results', 'plain'));
    const plain = await writeReport(bare, { outDir: path.join(dir, 'plain-out') });
    const page = await readFile(plain.htmlPath, 'utf8');
    assert.equal(plain.benchFile, null);
    assert.equal(plain.ensembles, null);
    assert.deepEqual(
      plain.figures.filter((f) => !f.drawn).map((f) => f.id),
      ['overhead', 'data-size'],
    );
    assert.ok(!(await readdir(plain.outDir)).some((f) => f.startsWith('fig9')), 'no files for an undrawn figure');
    assert.match(sectionOf(page, 'ensembles'), /This run did not ensemble prompts .*add &quot;ensemble&quot;: true to the experiment file/);
    assert.match(sectionOf(page, 'bench'), /No bench\.json.*`peftscale report RESULTS --bench results\/bench\/bench\.json`/);
    assert.ok(!page.includes('id="fig-overhead"'));
    assert.match(page, /Under 1% inference overhead.*not measured in this run: no bench\.json/s);
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
