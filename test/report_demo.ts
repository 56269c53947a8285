/**
 * A report from synthetic fixture results, to look at the report without running an experiment:
 *
 *   npm run build && node dist/test/report_demo.js [--bench] [--ensembles] [OUT]
 *
 * writes the fixture's results folder to test-output/fixture-results/ (with bench.json and
 * ensembles.json when asked) and the report to OUT (default reports/out/fixture/). Every number in it
 * is synthetic (reports/fixtures.ts), and the report says so.
 */
import { writeFixtureResults } from './report_fixtures.js';
import { writeReport } from '../reports/report.js';

async function main(argv: string[]): Promise<void> {
  const flags = ['--bench', '--ensembles'];
  const [out] = argv.filter((a) => !flags.includes(a));
  const dir = await writeFixtureResults('test-output/fixture-results', { bench: argv.includes('--bench'), ensembles: argv.includes('--ensembles') });
  const result = await writeReport(dir, out === undefined ? {} : { outDir: out });
  console.log(`fixture results: ${dir}\nreport (synthetic data): ${result.htmlPath}`);
  for (const warning of result.warnings) console.log(`  note: ${warning}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
