import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/main/dist/src/backend.js';
import { findPreset } from '/work/main/dist/src/config.js';
import { GPT2 } from '/work/main/dist/src/model.js';
await initBackend('wasm');
for (const p of ['ps-nano','ps-micro','ps-mini']) for (const [B,T] of [[16,64],[16,128],[8,256]]) {
  const cfg = findPreset(p).config;
  const base = GPT2.initialize(cfg, 0);
  const vars = new Map([...base.parameters()].map(([n,t]) => [n, tf.variable(t, true)]));
  const m = GPT2.fromWeights(cfg, vars);
  const list = [...vars.values()];
  const tokens = tf.tensor2d(new Int32Array(B*T).map((_, i) => i % 200), [B,T], 'int32');
  const opt = tf.train.adam(1e-3);
  let tg=0, tf2=0, ta=0;
  for (let i=0;i<6;i++){
    let t0=performance.now();
    const l = m.languageModelLoss(tokens); l.dataSync(); l.dispose();
    const t1=performance.now();
    const {value, grads} = tf.variableGrads(() => m.languageModelLoss(tokens, {training:true}), list);
    value.dataSync(); 
    const t2=performance.now();
    opt.applyGradients(grads); list[0].dataSync();
    const t3=performance.now();
    value.dispose(); for (const g of Object.values(grads)) g.dispose();
    if (i>=2){ tf2+=t1-t0; tg+=t2-t1; ta+=t3-t2; }
  }
  console.log(p, B, T, 'fwd', (tf2/4).toFixed(0), 'fwd+bwd', (tg/4).toFixed(0), 'tf.adam', (ta/4).toFixed(0));
  m.dispose(); opt.dispose(); tokens.dispose();
}
