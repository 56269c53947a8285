// Checks the project's imports (type-only ones included): no cycles among TypeScript files, and every
// import runs down the declared layer order below. Run in CI: node scripts/import-cycles.mjs .
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
const root = path.resolve(process.argv[2] ?? '.');

// Layers, lowest first: a file may import its own layer and the ones it lists. Tests (*.test.ts) and
// test/ helpers may import anything. The first matching prefix names a file's layer.
const LAYERS = [
  ['src/', []],
  ['methods/', ['src/']],
  ['datasets/', ['src/']],
  ['reports/', ['src/']],
  ['experiments/pretrain/', ['src/', 'methods/', 'datasets/']],
  ['experiments/plan/', ['src/', 'methods/', 'datasets/', 'experiments/pretrain/']],
  ['experiments/run/', ['src/', 'methods/', 'datasets/', 'experiments/pretrain/', 'experiments/plan/']],
  ['experiments/bench/', ['src/', 'methods/', 'datasets/', 'experiments/pretrain/', 'experiments/plan/', 'experiments/run/']],
  ['experiments/cluster/', ['src/', 'methods/', 'datasets/', 'experiments/pretrain/', 'experiments/plan/', 'experiments/run/']],
  ['experiments/commands/', ['src/', 'methods/', 'datasets/', 'reports/', 'experiments/pretrain/', 'experiments/plan/', 'experiments/run/', 'experiments/bench/', 'experiments/cluster/']],
  ['experiments/', ['src/', 'methods/', 'datasets/', 'reports/', 'experiments/pretrain/', 'experiments/plan/', 'experiments/run/', 'experiments/bench/', 'experiments/cluster/', 'experiments/commands/']],
];
const layerOf = (rel) => LAYERS.find(([prefix]) => rel.startsWith(prefix));

const files = [];
const walk = (d) => { for (const e of readdirSync(d)) { const p = path.join(d, e); if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue; if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p); } };
for (const d of ['src', 'methods', 'datasets', 'experiments', 'reports', 'test']) walk(path.join(root, d));
const graph = new Map();
const violations = [];
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = [...text.matchAll(/^(?:import|export)\s+[^'"]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm)].map((m) => path.resolve(path.dirname(f), (m[1] ?? m[2]).replace(/\.js$/, '.ts')));
  graph.set(path.resolve(f), deps); // imports outside the walked folders are skipped in visit (not graph keys)
  const rel = path.relative(root, f);
  const layer = layerOf(rel);
  if (layer === undefined || rel.endsWith('.test.ts')) continue;
  for (const dep of deps) {
    const depRel = path.relative(root, dep);
    const depLayer = layerOf(depRel);
    if (depLayer === undefined || depLayer === layer) continue;
    if (!layer[1].includes(depLayer[0])) violations.push(`${rel} imports ${depRel}: ${layer[0]} may import ${layer[1].join(', ') || 'only itself'}`);
  }
}
const state = new Map(); const stack = []; const cycles = [];
const visit = (n) => { state.set(n, 1); stack.push(n); for (const m of graph.get(n) ?? []) { if (!graph.has(m)) continue; if (state.get(m) === 1) cycles.push(stack.slice(stack.indexOf(m)).concat(m).map((x) => path.relative(root, x)).join(' -> ')); else if (!state.has(m)) visit(m); } stack.pop(); state.set(n, 2); };
for (const n of graph.keys()) if (!state.has(n)) visit(n);
console.log(cycles.length === 0 ? 'no import cycles' : cycles.join('\n'));
console.log(violations.length === 0 ? 'imports follow the layer order' : `imports against the layer order:\n${violations.join('\n')}`);
process.exit(cycles.length === 0 && violations.length === 0 ? 0 : 1);
