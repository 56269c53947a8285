/**
 * Opens a generated report in Chromium (Debian's package, driven by playwright-core) from file://, the
 * way a reader would, and records what happened: whether each figure drew data marks, console errors
 * and page errors, every request other than the page itself, and, with JavaScript off, whether each
 * figure's static SVG fallback shows. Used by the browser test and to take the screenshot in docs/reports.md.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Chromium is looked for: PEFTSCALE_CHROMIUM, then Debian's and Ubuntu's paths. */
export function findChromium(): string | null {
  const candidates = [process.env.PEFTSCALE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((c): c is string => c !== undefined && c !== '');
  return candidates.find((c) => existsSync(c)) ?? null;
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
  });
}

export interface FigureState {
  id: string;
  /** data-state of the chart element: "drawn", "failed", "drawing" or null. */
  state: string | null;
  /** Elements inside Vega's data-mark groups (role "mark") in the live SVG. */
  marks: number;
  /** Whether the static fallback is still in the page after drawing. */
  fallbackLeft: boolean;
}

export interface ScriptedVisit {
  figures: FigureState[];
  consoleErrors: string[];
  /** Every request but the report's own file. */
  requests: string[];
}

/** Counts data marks in a container: children of Vega's role-mark groups (axes, legends and titles have other roles). */
async function countMarks(page: Page, selector: string): Promise<number> {
  return page.$$eval(`${selector} g.role-mark > *`, (elements) => elements.length);
}

/** Runs `use` on a fresh page in its own context (closed afterwards), with or without JavaScript. */
async function withPage<T>(browser: Browser, javaScriptEnabled: boolean, use: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
  try {
    return await use(await context.newPage());
  } finally {
    await context.close();
  }
}

function fileUrl(htmlPath: string): string {
  return pathToFileURL(path.resolve(htmlPath)).href;
}

/** Opens the report and waits until its script has drawn (or failed to draw) every figure. */
async function openDrawn(page: Page, url: string, timeoutMs: number): Promise<void> {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-figures="done"]', { timeout: timeoutMs });
}

/** The figure ids of the elements of a class (".chart" or ".static"), in page order. */
async function figureIds(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(`${selector}[data-figure]`, (elements) => elements.map((e) => e.getAttribute('data-figure') ?? ''));
}

/** Opens the report with scripts on, waits for every figure to draw (or fail), optionally saves a full-page screenshot. */
export async function visitWithScripts(browser: Browser, htmlPath: string, screenshotPath?: string, timeoutMs = 20_000): Promise<ScriptedVisit> {
  const url = fileUrl(htmlPath);
  return withPage(browser, true, async (page) => {
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (request) => {
      if (request.url() !== url) requests.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    await openDrawn(page, url, timeoutMs);
    const figures: FigureState[] = [];
    for (const id of await figureIds(page, '.chart')) {
      const selector = `.chart[data-figure="${id}"]`;
      figures.push({
        id,
        state: await page.getAttribute(selector, 'data-state'),
        marks: await countMarks(page, selector),
        fallbackLeft: (await page.$(`.static[data-figure="${id}"]`)) !== null,
      });
    }
    if (screenshotPath !== undefined) await page.screenshot({ path: screenshotPath, fullPage: true });
    return { figures, consoleErrors, requests };
  });
}

export interface FallbackState {
  id: string;
  visible: boolean;
  marks: number;
  /** Whether the live chart stayed empty (no script ran). */
  chartEmpty: boolean;
}

/** Opens the report with JavaScript disabled and reports, per figure, whether its static SVG shows with its marks. */
export async function visitWithoutScripts(browser: Browser, htmlPath: string): Promise<{ fallbacks: FallbackState[] }> {
  return withPage(browser, false, async (page) => {
    await page.goto(fileUrl(htmlPath), { waitUntil: 'load' });
    const fallbacks: FallbackState[] = [];
    for (const id of await figureIds(page, '.static')) {
      const selector = `.static[data-figure="${id}"]`;
      fallbacks.push({
        id,
        visible: await page.isVisible(`${selector} svg`),
        marks: await countMarks(page, selector),
        chartEmpty: await page.$eval(`.chart[data-figure="${id}"]`, (e) => e.childElementCount === 0),
      });
    }
    return { fallbacks };
  });
}

/**
 * A screenshot of the top of a drawn report, from the title down to the end of one figure's section
 * (default: Figure 1), for the docs.
 */
export async function screenshotTop(browser: Browser, htmlPath: string, pngPath: string, untilFigure = 'scaling'): Promise<void> {
  await withPage(browser, true, async (page) => {
    await openDrawn(page, fileUrl(htmlPath), 20_000);
    const section = await page.$(`section:has(#fig-${untilFigure})`);
    if (section === null) throw new Error(`screenshot: no figure "${untilFigure}" in ${htmlPath}`);
    const box = await section.boundingBox();
    if (box === null) throw new Error(`screenshot: figure "${untilFigure}" is not visible in ${htmlPath}`);
    await page.screenshot({ path: pngPath, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 16) } });
  });
}
