/**
 * A report from synthetic fixture results, to look at the report without running an experiment:
 *
 *   npm run build && node dist/reports/demo.js [--bench] [OUT]
 *
 * writes the fixture's results folder to test-output/fixture-results/ and the report to OUT (default
 * reports/out/fixture/). Every number in it is synthetic (reports/fixtures.ts), and the report says so.
 */
import { writeFixtureResults } from './fixtures.js';
import { writeReport } from './report.js';

async function main(argv: string[]): Promise<void> {
  const bench = argv.includes('--bench');
  const [out] = argv.filter((a) => a !== '--bench');
  const dir = await writeFixtureResults('test-output/fixture-results', { bench });
  const result = await writeReport(dir, out);
  console.log(`fixture results: ${dir}\nreport (synthetic data): ${result.htmlPath}`);
  for (const warning of result.warnings) console.log(`  note: ${warning}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
