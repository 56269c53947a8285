/**
 * The screenshot of a report in docs/reports.md (docs/report.png): the top of the page down to the end of a figure.
 *
 *   npm run build && node dist/reports/screenshot.js reports/out/default/index.html docs/report.png [FIGURE]
 *
 * FIGURE is a figure id (scaling, gap, prompt-length, init, efficiency, curves, compute; default scaling).
 * Needs Chromium (/usr/bin/chromium, or PEFTSCALE_CHROMIUM).
 */
import { findChromium, launchChromium, screenshotTop } from './browser.js';

async function main(argv: string[]): Promise<void> {
  const [html, png, figure] = argv;
  if (html === undefined || png === undefined) throw new Error('usage: node dist/reports/screenshot.js REPORT.html OUT.png [FIGURE]');
  const chromium = findChromium();
  if (chromium === null) throw new Error('no Chromium at /usr/bin/chromium or /usr/bin/chromium-browser (set PEFTSCALE_CHROMIUM): apt-get install -y chromium');
  const browser = await launchChromium(chromium);
  try {
    await screenshotTop(browser, html, png, figure);
  } finally {
    await browser.close();
  }
  console.log(`screenshot: ${png}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
