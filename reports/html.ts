/**
 * The report page: one self-contained HTML file. The vega, vega-lite and vega-embed browser bundles
 * are inlined from node_modules (so the page works from file:// with no network), each figure's spec is
 * embedded as JSON, and each figure's static SVG sits in the page as the fallback shown when scripts
 * are off (the page script removes it once the live chart has drawn). A Content-Security-Policy allows
 * no network fetches at all.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml } from './format.js';
import { prefixSvgIds } from './render.js';

/** The browser bundles, in load order: package, the module Node resolves for it, the bundle beside it. */
const BUNDLES = [
  { name: 'vega', file: 'vega.min.js' },
  { name: 'vega-lite', file: 'vega-lite.min.js' },
  { name: 'vega-embed', file: 'vega-embed.min.js' },
] as const;

/** Paths of the vega, vega-lite and vega-embed browser bundles (build/*.min.js of each package). */
export function bundlePaths(): string[] {
  const require = createRequire(import.meta.url);
  return BUNDLES.map(({ name, file }) => path.join(path.dirname(require.resolve(name)), file));
}

/**
 * Makes text safe inside an inline <script>: "</script" and "<!--" would end or confuse the element.
 * "\x3C" is "<" in JavaScript strings, template literals and regular expressions alike.
 */
export function escapeInlineScript(code: string): string {
  return code.replace(/<(\/script|!--)/gi, '\\x3C$1');
}

/** JSON for a <script type="application/json"> element ("<" escaped, so no "</script>" can appear). */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export async function inlineBundles(): Promise<string> {
  const parts: string[] = [];
  for (const file of bundlePaths()) {
    let code: string;
    try {
      code = await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the browser bundle ${file} (${(error as Error).message}): are vega, vega-lite and vega-embed installed (npm install)?`);
    }
    parts.push(`<script>/* ${path.basename(file)} */\n${escapeInlineScript(code)}\n</script>`);
  }
  return parts.join('\n');
}

/** A table; cells are HTML (escape text with escapeHtml), `numeric` columns are right-aligned. */
export function htmlTable(headers: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = [], className = ''): string {
  const head = headers.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table${className === '' ? '' : ` class="${className}"`}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A two-column table of names (bold) and values, without a header row; values are HTML. */
export function keyValueTable(rows: readonly (readonly [string, string])[]): string {
  const body = rows.map(([name, value]) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${value}</td></tr>`).join('\n');
  return `<div class="table-wrap"><table class="key-value"><tbody>\n${body}\n</tbody></table></div>`;
}

/** One figure of the page. */
export interface FigureSection {
  /** File stem and element key ("scaling"). */
  id: string;
  number: number;
  title: string;
  /** null when the run has nothing to draw (then `notice` says why). */
  spec: TopLevelSpec | null;
  svg: string | null;
  /** Paragraphs (HTML) under the figure. */
  paragraphs: string[];
  notice?: string;
  files?: { spec: string; svg: string; csv: string };
}

export function figureHtml(figure: FigureSection): string {
  const heading = `<h2 id="fig-${figure.id}">Figure ${figure.number}. ${escapeHtml(figure.title)}</h2>`;
  const body =
    figure.spec === null || figure.svg === null
      ? `<p class="notice">${escapeHtml(figure.notice ?? 'Nothing to draw from this run.')}</p>`
      : `<div class="chart" data-figure="${figure.id}"></div>\n<div class="static" data-figure="${figure.id}">${prefixSvgIds(figure.svg, `static-${figure.id}`)}</div>`;
  const files =
    figure.files === undefined
      ? ''
      : `<p class="files">Beside this page: <a href="${figure.files.spec}">${figure.files.spec}</a> (Vega-Lite spec) · <a href="${figure.files.svg}">${figure.files.svg}</a> (static SVG) · <a href="${figure.files.csv}">${figure.files.csv}</a> (data)</p>`;
  return `<section class="figure">\n${heading}\n${body}\n${figure.paragraphs.map((p) => `<p class="caption">${p}</p>`).join('\n')}\n${files}\n</section>`;
}

/** Draws every figure with vega-embed, then removes its static fallback; marks the body when all are done. */
const PAGE_SCRIPT = `
(function () {
  var specs = JSON.parse(document.getElementById('peftscale-specs').textContent);
  var pending = Object.keys(specs).map(function (id) {
    var target = document.querySelector('.chart[data-figure="' + id + '"]');
    var fallback = document.querySelector('.static[data-figure="' + id + '"]');
    target.setAttribute('data-state', 'drawing');
    return vegaEmbed(target, specs[id], { renderer: 'svg', actions: false }).then(function () {
      if (fallback) fallback.remove();
      target.setAttribute('data-state', 'drawn');
    }, function (error) {
      target.setAttribute('data-state', 'failed');
      console.error('figure ' + id + ' did not draw: ' + (error && error.message ? error.message : error));
    });
  });
  Promise.all(pending).then(function () { document.body.setAttribute('data-figures', 'done'); });
})();
`;

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d1d1d; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-top: 12px; border-top: 1px solid #e5e5e5; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.lead { color: #444; margin-top: 0; }
.chart, .static { overflow-x: auto; }
.static svg { max-width: 100%; height: auto; }
.caption { color: #333; max-width: 980px; }
.files, .source { color: #666; font-size: 13px; }
.notice { padding: 10px 14px; background: #fff6e0; border-left: 4px solid #e0a800; }
.banner { padding: 10px 14px; background: #fdecea; border-left: 4px solid #d93025; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
table.key-value th { background: none; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.claims td { max-width: 420px; }
.verdict-holds { color: #1e7d32; font-weight: 600; }
.verdict-partly-holds, .verdict-inconclusive { color: #9a6700; font-weight: 600; }
.verdict-does-not-hold { color: #c62828; font-weight: 600; }
.verdict-not-measured, .verdict-not-stated { color: #666; font-weight: 600; }
.gate-verdict { padding: 0.6em 0.8em; border-left: 4px solid #888; background: #f6f6f6; }
.gate-fail, .gate-not-measured { border-left-color: #c62828; }
.gate-pass { border-left-color: #1e7d32; }
nav ul { columns: 2; list-style: none; padding-left: 0; }
nav li { margin: 2px 0; }
td code { white-space: nowrap; }
code { font-size: 13px; }
#vg-tooltip-element { font-size: 12px; }
`;

/** The whole page. `sections` is the body's HTML, in order; figures with specs are drawn by the page script. */
export async function pageHtml(title: string, sections: readonly string[], figures: readonly FigureSection[]): Promise<string> {
  const specs = Object.fromEntries(figures.filter((f) => f.spec !== null && f.svg !== null).map((f) => [f.id, f.spec]));
  const csp = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<noscript><p class="notice">Scripts are off: each figure is shown as its static SVG (no tooltips).</p></noscript>
${sections.join('\n')}
</main>
<script type="application/json" id="peftscale-specs">${inlineJson(specs)}</script>
${await inlineBundles()}
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
