/**
 * Parameter counts: published PEFT figures for GPT-2, closed forms against declared shapes for every
 * small preset, and against what AdaptedModel.create actually allocates; option errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdaptedModel, planParameters } from '../src/adapt/adapted.js';
import { initBackend } from '../src/model/backend.js';
import { findPreset, PRESETS, type ModelConfig } from '../src/model/config.js';
import { GPT2 } from '../src/model/model.js';
import { getMethod, resolveOptions } from '../src/adapt/peft.js';
import { formatParameterPlan } from './commands.js';
import { METHODS } from './index.js';
import { methodContext } from './test_support.js';

function plan(config: ModelConfig, name: string, raw: Record<string, unknown>) {
  const method = getMethod(name);
  return planParameters(config, method, resolveOptions(method, raw, config));
}

/** Method × options cases for a config: prompt lengths and ranks that fit, a few target sets. */
function cases(config: ModelConfig): { name: string; raw: Record<string, unknown> }[] {
  const lengths = [0, 1, 5, 20, 100].filter((k) => k + 1 <= config.contextLength);
  const list: { name: string; raw: Record<string, unknown> }[] = [];
  for (const k of lengths) {
    list.push({ name: 'prompt-tuning', raw: { length: k } });
    if (k === 0) continue;
    list.push({ name: 'prefix-tuning', raw: { length: k } }, { name: 'prefix-tuning', raw: { length: k, projection: 24 } });
    list.push({ name: 'p-tuning', raw: { length: k } }, { name: 'p-tuning', raw: { length: k, hidden: 12 } }, { name: 'p-tuning', raw: { length: k, encoder: 'lstm', hidden: 8 } });
  }
  for (const rank of [1, 4, 8]) {
    for (const targets of ['c_attn', 'c_attn,c_proj', 'mlp.c_fc,mlp.c_proj', 'all-linear']) list.push({ name: 'lora', raw: { rank, targets } });
  }
  for (const biases of ['all', 'ln', 'attn.c_attn,mlp.c_fc,ln', 'c_proj', 'linear']) list.push({ name: 'bitfit', raw: { biases } });
  list.push({ name: 'full', raw: {} }, { name: 'prompt-design', raw: {} });
  for (const [targets, feedforward] of [['c_attn,mlp.c_proj', 'mlp.c_proj'], ['c_attn', ''], ['c_attn,c_proj,c_fc', 'c_proj'], ['mlp.c_fc,mlp.c_proj', 'mlp.c_fc,mlp.c_proj']]) list.push({ name: 'ia3', raw: { targets, feedforward } });
  return list;
}

describe('published GPT-2 counts (planParameters, nothing allocated)', () => {
  const gpt2 = findPreset('gpt2').config;
  it('prompt tuning k=20: 15,360', () => assert.equal(plan(gpt2, 'prompt-tuning', { length: 20 }).trainable, 15_360));
  it('LoRA r=8 on c_attn: 294,912 of 124,734,720', () => {
    const p = plan(gpt2, 'lora', { rank: 8, targets: 'c_attn' });
    assert.equal(p.trainable, 294_912);
    assert.equal(p.total, 124_734_720);
    assert.match(formatParameterPlan(p), /trainable params: 294,912 \|\| all params: 124,734,720 \|\| trainable%: 0\.2364/);
  });
  it('prefix tuning k=20 without projection: 368,640', () => assert.equal(plan(gpt2, 'prefix-tuning', { length: 20 }).trainable, 368_640));
  it('p-tuning MLP k=20 hidden 768: 1,787,136', () => assert.equal(plan(gpt2, 'p-tuning', { length: 20, encoder: 'mlp', hidden: 768 }).trainable, 1_787_136));
  it('BitFit, all biases: 102,144', () => assert.equal(plan(gpt2, 'bitfit', { biases: 'all' }).trainable, 102_144));
  it("each card's publishedGpt2 count is what its method's default options give on gpt2", () => {
    const declared = METHODS.map(([, card]) => card).filter((card) => card.publishedGpt2 !== undefined);
    assert.ok(declared.length >= 3, 'prompt tuning, prefix tuning and LoRA declare PEFT counts');
    for (const card of declared) assert.equal(plan(gpt2, card.name, {}).trainable, card.publishedGpt2?.trainable, `${card.name}: ${card.publishedGpt2?.setting}`);
  });
  it('(IA)³ with PEFT\'s GPT-2 defaults (c_attn out, mlp.c_proj in): 64,512 = 12 × (2,304 + 3,072)', () => {
    const p = plan(gpt2, 'ia3', {});
    assert.equal(p.trainable, 64_512);
    assert.equal(p.trainable, 12 * (3 * 768 + 3072));
    assert.deepEqual(p.added.slice(0, 2), [
      { name: 'h.0.attn.c_attn.ia3_l', shape: [2304], count: 2304 },
      { name: 'h.0.mlp.c_proj.ia3_l', shape: [3072], count: 3072 },
    ]);
  });
  it('full: every parameter, prompt design: none', () => {
    assert.equal(plan(gpt2, 'full', {}).trainable, 124_439_808);
    assert.equal(plan(gpt2, 'prompt-design', {}).trainable, 0);
  });
});

describe('closed forms equal the declared shapes on every small preset', () => {
  for (const preset of PRESETS.filter((p) => p.kind === 'pretrain')) {
    it(preset.name, () => {
      for (const { name, raw } of cases(preset.config)) {
        const p = plan(preset.config, name, raw);
        assert.equal(p.trainable, p.closedForm, `${preset.name} ${name} ${JSON.stringify(raw)}`);
      }
    });
  }
  it('covers every registered method', () => {
    const covered = new Set(cases(findPreset('ps-nano').config).map((c) => c.name));
    assert.deepEqual([...covered].sort(), METHODS.map(([m]) => m.name).sort());
  });
});

describe('closed forms equal what AdaptedModel.create allocates', () => {
  before(async () => {
    await initBackend('wasm');
  });
  for (const presetName of ['ps-nano', 'ps-micro']) {
    it(presetName, () => {
      const base = GPT2.initialize(findPreset(presetName).config, 1);
      after(() => base.dispose());
      for (const { name, raw } of cases(base.config)) {
        const method = getMethod(name);
        const context = methodContext(base);
        const options = resolveOptions(method, raw, base.config);
        const adapted = AdaptedModel.create(base, method, options, context);
        const allocated = adapted.variables().reduce((sum, v) => sum + v.size, 0);
        assert.equal(allocated, method.closedFormTrainable(base.config, options), `${presetName} ${name} ${JSON.stringify(raw)}`);
        assert.equal(allocated, adapted.plan.trainable);
        adapted.dispose();
      }
    });
  }
});

describe('errors', () => {
  const config = findPreset('ps-nano').config;
  it('an unknown method suggests the nearest', () => {
    assert.throws(() => getMethod('lorra'), /unknown method "lorra"; did you mean "lora"\?/);
    assert.throws(() => getMethod('prompt_tuning'), /did you mean "prompt-tuning"/);
  });
  it('bad option values name the option and what is allowed', () => {
    assert.throws(() => resolveOptions(getMethod('lora'), { rank: 0 }, config), /--rank = 0: out of range; allowed: integer >= 1/);
    assert.throws(() => resolveOptions(getMethod('lora'), { targets: 'q_proj' }, config), /--targets = "q_proj".*Allowed: attn\.c_attn, attn\.c_proj, mlp\.c_fc, mlp\.c_proj, c_attn, c_proj, c_fc, all-linear/);
    assert.throws(() => resolveOptions(getMethod('lora'), { dropout: 1.5 }, config), /--dropout = 1\.5: out of range; allowed: number in \[0, 1\]/);
    assert.throws(() => resolveOptions(getMethod('prompt-tuning'), { init: 'random-unifrom' }, config), /--init = "random-unifrom".*did you mean "random-uniform"/);
    assert.throws(() => resolveOptions(getMethod('prompt-tuning'), { length: 256 }, config), /--length = 256: .* exceeds the context length 256; allowed: 0\.\.255/);
    assert.throws(() => resolveOptions(getMethod('prompt-tuning'), { init: 'text' }, config), /--init = text needs --init-text/);
    assert.throws(() => resolveOptions(getMethod('p-tuning'), { encoder: 'gru' }, config), /--encoder = "gru".*Allowed: mlp, lstm/);
    assert.throws(() => resolveOptions(getMethod('bitfit'), { biases: 'ln3' }, config), /--biases = "ln3".*Allowed: all, linear, ln/);
    assert.throws(() => resolveOptions(getMethod('lora'), { rnak: 4 }, config), /did you mean "rank"/);
    assert.throws(() => resolveOptions(getMethod('ia3'), { targets: 'c_attn' }, config), /--feedforward = mlp\.c_proj: mlp\.c_proj is not a target; allowed: a subset of --targets \(attn\.c_attn\)/);
    assert.throws(() => resolveOptions(getMethod('ia3'), { targets: '', feedforward: '' }, config), /--targets is empty/);
  });
});

describe('formatParameterPlan', () => {
  it('lists added and trainable base tensors and summarises the frozen base', () => {
    const config = findPreset('ps-nano').config;
    const text = formatParameterPlan(plan(config, 'bitfit', { biases: 'ln_f' }));
    assert.match(text, /^method: bitfit \(biases=ln_f\)\n/);
    assert.match(text, /trainable params: 32 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}\n/);
    assert.match(text, /added tensors \(0\): none/);
    assert.match(text, /trainable base tensors \(1\): 32\n {2}ln_f\.bias {2}\[32\] {2}32\n/);
    assert.match(text, /frozen base tensors \(\d+\): [\d,]+ params/);
    assert.match(text, /closed form: 32 \(matches the declared shapes\)/);
  });
});
