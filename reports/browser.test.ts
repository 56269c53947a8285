/**
 * The report in a real browser: Chromium (Debian's package; .ci/run installs it) opens a report built
 * from fixture results over file://. With scripts on, every figure must draw data marks, with no console
 * error and no request beyond the page itself; with JavaScript off, every figure's static SVG fallback
 * must show. A full-page screenshot is saved as test-output/report-screenshot.png.
 *
 * Without Chromium the test skips, saying so; with PEFTSCALE_REQUIRE_BROWSER=1 (as in CI) it fails.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findChromium, launchChromium, visitWithoutScripts, visitWithScripts } from './browser.js';
import { writeFixtureResults } from '../test/report_fixtures.js';
import { writeReport } from './report.js';

const OUTPUT = 'test-output';
const chromium = findChromium();
const required = process.env.PEFTSCALE_REQUIRE_BROWSER === '1';
const skip = chromium === null && !required ? 'Chromium not found (/usr/bin/chromium, or set PEFTSCALE_CHROMIUM): browser test skipped; set PEFTSCALE_REQUIRE_BROWSER=1 to make this a failure' : false;

describe('the report in Chromium', () => {
  it('draws every figure offline without errors, and shows the static SVGs with JavaScript off', { skip, timeout: 60_000 }, async () => {
    assert.ok(chromium !== null, 'PEFTSCALE_REQUIRE_BROWSER=1 but no Chromium at /usr/bin/chromium or /usr/bin/chromium-browser (PEFTSCALE_CHROMIUM overrides): install it (apt-get install -y chromium)');
    await mkdir(OUTPUT, { recursive: true });
    const results = await writeFixtureResults(path.join(OUTPUT, 'browser-test', 'results'), { bench: true, ensembles: true });
    const report = await writeReport(results, { outDir: path.join(OUTPUT, 'browser-test', 'report') });
    const drawn = report.figures.filter((f) => f.drawn).map((f) => f.id);
    // Every figure the fixture can feed: 1–7, the gates (10), the recovered share (11) and the overhead (9, bench.json).
    assert.deepEqual([...drawn].sort(), ['compute', 'curves', 'efficiency', 'gap', 'gates', 'init', 'margin', 'overhead', 'prompt-length', 'recovered', 'scaling']);

    const browser = await launchChromium(chromium);
    try {
      const screenshot = path.join(OUTPUT, 'report-screenshot.png');
      const visit = await visitWithScripts(browser, report.htmlPath, screenshot);
      assert.deepEqual(visit.consoleErrors, [], 'no console errors');
      assert.deepEqual(visit.requests, [], 'no requests beyond the page itself');
      // The page shows the gates section first: compare the sets, not the order of report.figures.
      assert.deepEqual(visit.figures.map((f) => f.id).sort(), [...drawn].sort());
      for (const figure of visit.figures) {
        assert.equal(figure.state, 'drawn', `${figure.id}: drawn by vega-embed`);
        assert.ok(figure.marks > 0, `${figure.id}: data marks in the live chart (found ${figure.marks})`);
        assert.equal(figure.fallbackLeft, false, `${figure.id}: the static fallback is removed once the chart has drawn`);
      }

      const scriptless = await visitWithoutScripts(browser, report.htmlPath);
      assert.deepEqual(scriptless.fallbacks.map((f) => f.id).sort(), [...drawn].sort());
      for (const fallback of scriptless.fallbacks) {
        assert.ok(fallback.visible, `${fallback.id}: the static SVG shows with JavaScript off`);
        assert.ok(fallback.marks > 0, `${fallback.id}: the static SVG has data marks`);
        assert.ok(fallback.chartEmpty, `${fallback.id}: nothing ran to draw the live chart`);
      }
    } finally {
      await browser.close();
    }
  });
});
