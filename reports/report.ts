/**
 * The report of a results folder (`peftscale report RESULTS`, experiments/commands/report.ts): reads it and writes reports/out/<experiment>/index.html,
 * self-contained and readable offline, with each figure's Vega-Lite spec (.vl.json), static SVG (.svg)
 * and data (.csv) beside it, plus claims.csv. The end of `npm run experiment` calls writeReport.
 * bench.json comes from --bench FILE, else from the results folder when it holds one.
 *
 * @example
 * const { htmlPath } = await writeReport('results/default'); // reports/out/default/index.html
 * await writeReport('results/default', { benchFile: 'results/bench/bench.json', outDir: 'out' });
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { benchSectionHtml, benchWarnings } from './bench_section.js';
import { claimsHtml, claimsTable } from './claims.js';
import { ensembleSectionHtml } from './ensemble_section.js';
import { CLAIMS_TABLE, GATES_FIGURE, numberOf, OVERHEAD_FIGURE, planFigures, type FigurePlan } from './figures/index.js';
import { escapeHtml } from './format.js';
import { figureHtml, pageHtml, type FigureSection } from './html.js';
import { gatesHtml, measuredTasks } from './gates.js';
import { controlSectionHtml } from './control_section.js';
import { loadResults, type LoadedResults, type LoadOptions } from './load.js';
import { findings, findingsHtml, type HypothesisSources } from './findings.js';
import { summaryCounts } from '../src/results/results.js';
import { LESTER_FINDINGS } from './references.js';
import { renderSvg } from './render.js';
import { dataSourcesHtml } from './data_section.js';
import { divergedHtml, pretrainedHtml, referenceCountsHtml, runLine, runTable, summaryHtml } from './tables.js';

/** What writeReport wrote. Paths are as given (relative when the folders were). */
export interface ReportResult {
  htmlPath: string;
  outDir: string;
  figures: { id: string; number: number; title: string; drawn: boolean; specPath: string | null; svgPath: string | null; csvPath: string | null }[];
  claimsCsvPath: string;
  /** The bench.json shown (resolved), or null when the report has none. */
  benchFile: string | null;
  /** Ensembles shown from ensembles.json, or null when the results folder has none. */
  ensembles: number | null;
  /** Things left out of figures, Vega-Lite compiler warnings and leaks bench.json recorded (also listed in the report). */
  warnings: string[];
}

export interface ReportOptions {
  /** Where to write the report (default reports/out/<experiment>). */
  outDir?: string;
  /** A bench.json to show (default: RESULTS/bench.json when present); a missing file is an error. */
  benchFile?: string;
  /** The experiment file's hypotheses now, and any given for this report alone (the Findings section). */
  hypotheses?: HypothesisSources;
  /** The methods' cards for a results folder whose run.json predates them (see LoadOptions). */
  cardsIfMissing?: LoadOptions['cardsIfMissing'];
}

/** The default output folder of a results folder: reports/out/<experiment> under the working directory. */
export function defaultOutDir(results: Pick<LoadedResults, 'manifest' | 'dir'>): string {
  const name = /^[A-Za-z0-9._-]+$/.test(results.manifest.experiment) && !/^\.+$/.test(results.manifest.experiment) ? results.manifest.experiment : path.basename(results.dir);
  return path.join('reports', 'out', name);
}

function csvText(rows: readonly Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown): string | number => {
    if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '';
    if (typeof value === 'number' || typeof value === 'string') return value;
    return typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  };
  return stringify(rows.map((row) => columns.map((c) => cell(row[c]))), { header: true, columns });
}

function fileStem(figure: FigurePlan): string {
  return `fig${figure.number}-${figure.id}`;
}

/** Reads `resultsDir` (and the bench.json of `options.benchFile`), writes the report into `options.outDir` and returns the paths. */
export async function writeReport(resultsDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const loaded = await loadResults(resultsDir, options);
  const sources = options.hypotheses ?? { current: null, posthoc: null };
  const found = findings(loaded.records, loaded.manifest, sources);
  const results: LoadedResults = { ...loaded, hypotheses: found.map((f) => f.hypothesis) };
  const out = options.outDir ?? defaultOutDir(results);
  await mkdir(out, { recursive: true });
  const plans = planFigures(results);
  const warnings = [...plans.flatMap((plan) => plan.warnings), ...(results.bench === null ? [] : benchWarnings(results.methods, results.bench.report))];
  const sections: FigureSection[] = [];
  const figures: ReportResult['figures'] = [];
  for (const plan of plans) {
    if (plan.spec === null) {
      sections.push({ id: plan.id, number: plan.number, title: plan.title, spec: null, svg: null, paragraphs: plan.paragraphs, ...(plan.notice === undefined ? {} : { notice: plan.notice }) });
      figures.push({ id: plan.id, number: plan.number, title: plan.title, drawn: false, specPath: null, svgPath: null, csvPath: null });
      continue;
    }
    const { svg, warnings: compileWarnings } = await renderSvg(plan.spec);
    warnings.push(...compileWarnings.map((w) => `Figure ${plan.number} (Vega-Lite): ${w}`));
    const stem = fileStem(plan);
    const files = { spec: `${stem}.vl.json`, svg: `${stem}.svg`, csv: `${stem}.csv` };
    await writeFile(path.join(out, files.spec), `${JSON.stringify(plan.spec, null, 2)}\n`);
    await writeFile(path.join(out, files.svg), svg);
    await writeFile(path.join(out, files.csv), csvText(plan.rows));
    sections.push({ id: plan.id, number: plan.number, title: plan.title, spec: plan.spec, svg, paragraphs: plan.paragraphs, files });
    figures.push({ id: plan.id, number: plan.number, title: plan.title, drawn: true, specPath: path.join(out, files.spec), svgPath: path.join(out, files.svg), csvPath: path.join(out, files.csv) });
  }
  const claims = claimsTable(results);
  const claimsCsvPath = path.join(out, 'claims.csv');
  await writeFile(claimsCsvPath, csvText(claims.map((c) => ({ ...c }))));

  const drawn = new Map(sections.filter((f) => f.spec !== null).map((f) => [f.id, f.number]));
  const html = await pageHtml(`peftscale report: ${results.manifest.experiment}`, bodySections(results, sections, claimsHtml(claims), warnings, findingsHtml(found, drawn)), sections);
  const htmlPath = path.join(out, 'index.html');
  await writeFile(htmlPath, html);
  return { htmlPath, outDir: out, figures, claimsCsvPath, benchFile: results.bench?.file ?? null, ensembles: results.ensembles?.length ?? null, warnings };
}

/**
 * The page body, in order: header and run, contents, the gates (with their figure), the other figures but
 * the overhead one, claims, prompt ensembles, benchmarks (with the overhead figure), tables, references, notes.
 */
function bodySections(results: LoadedResults, figures: readonly FigureSection[], claims: string, warnings: readonly string[], findingsSection: string): string[] {
  const m = results.manifest;
  // The gates figure sits in the gates section, before every score figure: it says what may be claimed.
  const gatesFigureSection = figures.find((f) => f.id === GATES_FIGURE);
  const main = figures.filter((f) => f.id !== OVERHEAD_FIGURE && f.id !== GATES_FIGURE);
  // The overhead figure sits inside the benchmark section, which says why when there is nothing to draw.
  const found = figures.find((f) => f.id === OVERHEAD_FIGURE);
  const overhead = found !== undefined && found.spec !== null ? found : undefined;
  const claimsHeading = `${numberOf(CLAIMS_TABLE.id)}. ${CLAIMS_TABLE.title}`;
  const sources = ['results.jsonl', 'summary.json', 'run.json', ...(results.ensembles === null ? [] : ['ensembles.json'])];
  const contents = [
    '<li><a href="#findings">Findings: the hypotheses and their verdicts</a></li>',
    '<li><a href="#gates">Capability gates of the frozen models (what may be claimed)</a></li>',
    ...main.map((f) => `<li><a href="#fig-${f.id}">Figure ${f.number}. ${escapeHtml(f.title)}</a></li>`),
    `<li><a href="#${CLAIMS_TABLE.id}">${escapeHtml(claimsHeading)}</a></li>`,
    '<li><a href="#ensembles">Prompt ensembles (Lester et al. Table 3)</a></li>',
    '<li><a href="#bench">Benchmarks (bench.json)</a></li>',
    ...(overhead === undefined ? [] : [`<li><a href="#fig-${overhead.id}">Figure ${overhead.number}. ${escapeHtml(overhead.title)}</a></li>`]),
    '<li><a href="#control">Pretraining dependence (never-trained control)</a></li>',
    '<li><a href="#summary">Summary of every group</a></li>',
    '<li><a href="#diverged">Diverged trials</a></li>',
    '<li><a href="#pretrained">Frozen models</a></li>',
    ...(m.checkpoints === undefined && m.datasets === undefined ? [] : ['<li><a href="#data">Data and checkpoint folders</a></li>']),
    '<li><a href="#references">Published reference figures</a></li>',
  ];
  const sections = [
    `<h1>peftscale report: ${escapeHtml(m.experiment)}</h1>`,
    `<p class="lead">${escapeHtml(m.description)}</p>`,
    findingsSection,
    `<p>Parameter-efficient fine-tuning methods on frozen GPT-2-architecture models, after Lester et al. 2021 (“The Power of Scale for Parameter-Efficient Prompt Tuning”). Scores are test accuracies in percent; intervals are 95% Student-t intervals over seeds. Every number comes from the results folder (${sources.join(', ')})${results.bench === null ? '' : ' or, in the benchmark section, from bench.json'} unless it is marked as published.</p>`,
    runTable(m, results.records),
    `<nav><h3>Contents</h3><ul>${contents.join('')}</ul></nav>`,
    `<section><h2 id="gates">Capability gates of the frozen models</h2>${gatesHtml(m, measuredTasks(results.records))}</section>`,
    ...(gatesFigureSection === undefined ? [] : [figureHtml(gatesFigureSection)]),
    ...main.map(figureHtml),
    `<section><h2 id="${CLAIMS_TABLE.id}">${escapeHtml(claimsHeading)}</h2>${claims}<p class="caption">${escapeHtml(`Properties commonly claimed for prompt tuning, what the cited sources say, and what this run measured (prompt tuning in the scaling sweeps; inference overhead from bench.json). ${runLine(m)}`)}</p><p class="files">Beside this page: <a href="claims.csv">claims.csv</a></p></section>`,
    ensembleSectionHtml(m, results.ensembles),
    benchSectionHtml(results.methods, m, results.bench, overhead, numberOf('compute')),
    controlSectionHtml(results),
    `<section><h2 id="summary">Summary of every group</h2><p class="caption">${escapeHtml(summaryCaption(results))}</p>${summaryHtml(results.methods, results.summary)}</section>`,
    `<section><h2 id="diverged">Diverged trials</h2><p class="caption">Trials whose training loss became NaN or infinite: left out of every mean, counted here and in the summary.</p>${divergedHtml(results.methods, results.records)}</section>`,
    `<section><h2 id="pretrained">Frozen models</h2><p class="caption">From run.json: each frozen model, pretrained on the generated corpus, with its held-out loss against the same architecture untrained.</p>${pretrainedHtml(m)}</section>`,
    dataSourcesHtml(m, results.records),
    `<section><h2 id="references">Published reference figures</h2><p class="caption">Not measured here: trainable-parameter counts as published, shown beside ours in Figure ${numberOf('efficiency')}.</p>${referenceCountsHtml(results.methods)}<ul>${Object.values(LESTER_FINDINGS)
      .map((f) => `<li class="source">${escapeHtml(f)}</li>`)
      .join('')}</ul></section>`,
  ];
  if (warnings.length > 0) sections.push(`<section><h2 id="notes">Notes</h2><ul>${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></section>`);
  return sections;
}

/** The summary table's caption, with the counts of trials that kept their init and one-seed groups. */
function summaryCaption(results: LoadedResults): string {
  const c = summaryCounts(results.summary);
  const noGain = results.summary.some((r) => r.noGain !== null)
    ? `${c.noGain} of ${c.trained} trained trials reported their untrained init (best dev at step 0: no gain over init); their group's accuracy is the init's, not a tuned score.`
    : 'Whether training improved on the init was not recorded (results format 1).';
  return (
    'From summary.json: per frozen model, method, options and task, the finished seeds, diverged trials, mean test accuracy with its 95% interval (none for one seed), the gap to full model tuning on the same model and task, ' +
    "the trials that kept their init, the seeds that left chance (above the majority rate by a one-sided 95% binomial margin), the share of full tuning's gain above chance recovered (when full tuning clearly left chance) and the mean last-step test accuracy. " +
    `${noGain} ${c.oneSeed} group${c.oneSeed === 1 ? '' : 's'} had one seed.`
  );
}
