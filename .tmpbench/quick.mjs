import { runPretrain } from '/work/main/dist/experiments/pretrain.js';
const t0 = performance.now();
await runPretrain(process.argv.slice(2));
console.log('TOTAL wall', ((performance.now()-t0)/1000).toFixed(1), 's');
