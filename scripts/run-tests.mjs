// Runs every compiled test file (dist/**/*.test.js) with node's built-in runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const files = findTests('dist').sort();
if (files.length === 0) {
  console.error('no test files under dist/: did the build run?');
  process.exit(1);
}
const filter = process.argv.slice(2);
const selected = filter.length === 0 ? files : files.filter((f) => filter.some((part) => f.includes(part)));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit' });
process.exit(result.status ?? 1);
