// Lists import cycles among the project's TypeScript files (type-only imports included): node scripts/import-cycles.mjs .
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
const root = process.argv[2] ?? '.';
const files = [];
const walk = (d) => { for (const e of readdirSync(d)) { const p = path.join(d, e); if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue; if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p); } };
for (const d of ['src', 'methods', 'datasets', 'experiments', 'reports', 'test']) walk(path.join(root, d));
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = [...text.matchAll(/^(?:import|export)\s+[^'"]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)].map((m) => path.resolve(path.dirname(f), (m[1] ?? m[2]).replace(/\.js$/, '.ts')));
  graph.set(path.resolve(f), deps); // imports outside the walked folders are skipped in visit (not graph keys)
}
const state = new Map(); const stack = []; const cycles = [];
const visit = (n) => { state.set(n, 1); stack.push(n); for (const m of graph.get(n) ?? []) { if (!graph.has(m)) continue; if (state.get(m) === 1) cycles.push(stack.slice(stack.indexOf(m)).concat(m).map((x) => path.relative(root, x)).join(' -> ')); else if (!state.has(m)) visit(m); } stack.pop(); state.set(n, 2); };
for (const n of graph.keys()) if (!state.has(n)) visit(n);
console.log(cycles.length === 0 ? 'no import cycles' : cycles.join('\n'));
process.exit(cycles.length === 0 ? 0 : 1);
