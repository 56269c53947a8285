/**
 * Published figures the report shows beside this run's results, each with its source. Copied from the
 * project's reference notes (../shared/references.md beside the checkout); nothing here is measured by
 * this suite, and the report always labels these values as published, never as ours.
 */
import type { MethodCards } from './method_cards.js';

/** A citation as the report prints it. */
export interface Source {
  short: string;
  full: string;
}

export const LESTER_2021: Source = {
  short: 'Lester et al. 2021',
  full: 'Lester, Al-Rfou, Constant 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning" (arXiv 2104.08691)',
};
export const HF_PEFT: Source = { short: 'Hugging Face PEFT', full: 'Hugging Face PEFT, print_trainable_parameters() for gpt2' };

/** One frozen T5.1.1 size of Lester et al. (embedding width E, approximate parameters). */
export interface T5Size {
  name: string;
  width: number;
  parameters: number;
}

/** Lester et al. 2021, §2/Fig. 4: the frozen T5.1.1 sizes (about 77M to 11.1B parameters). */
export const LESTER_T5_SIZES: readonly T5Size[] = [
  { name: 'T5 Small', width: 512, parameters: 77e6 },
  { name: 'T5 Base', width: 768, parameters: 248e6 },
  { name: 'T5 Large', width: 1024, parameters: 783e6 },
  { name: 'T5 XL', width: 2048, parameters: 2.85e9 },
  { name: 'T5 XXL', width: 4096, parameters: 11.1e9 },
];

/** Lester et al.'s default prompt length (P = 100), at which E × P gives 0.066% (Small) to 0.0037% (XXL). */
export const LESTER_PROMPT_LENGTH = 100;

/** A reference point for the parameter-efficiency figure: trainable parameters as % of the model. */
export interface EfficiencyReference {
  label: string;
  method: string;
  parameters: number;
  percent: number;
  source: Source;
  note: string;
}

/**
 * Prompt tuning on T5 at P = 100 (Lester et al. Fig. 4), computed as E × P / parameters from the sizes
 * above (the paper states the two ends: 0.066% for Small, 0.0037% for XXL), and the published PEFT
 * counts for gpt2 (124,439,808 parameters).
 */
export function efficiencyReferences(cards: MethodCards): EfficiencyReference[] {
  // Lester et al.'s points are prompt tuning: the method whose card says its adapter is a learned prompt.
  const prompt = cards.learnedPrompt();
  const lester = (prompt === null ? [] : LESTER_T5_SIZES).map((size) => ({
    label: `${size.name}, prompt ${LESTER_PROMPT_LENGTH} tokens`,
    method: prompt ?? '',
    parameters: size.parameters,
    percent: ((size.width * LESTER_PROMPT_LENGTH) / size.parameters) * 100,
    source: LESTER_2021,
    note: `E × P = ${size.width} × ${LESTER_PROMPT_LENGTH} over about ${formatCount(size.parameters)} parameters`,
  }));
  const gpt2 = cards.publishedGpt2().map((entry) => ({
    label: `gpt2, ${entry.setting}`,
    method: entry.method,
    parameters: GPT2_PARAMETERS,
    percent: (entry.trainable / GPT2_PARAMETERS) * 100,
    source: HF_PEFT,
    note: `${entry.trainable.toLocaleString('en-US')} trainable of ${GPT2_PARAMETERS.toLocaleString('en-US')}`,
  }));
  return [...lester, ...gpt2];
}

export const GPT2_PARAMETERS = 124_439_808;

/** Lester et al. Fig. 4's bands of task-specific parameters (% of the model): a band when `upTo` is set, else a line. */
export const LESTER_FIG4_LINES: readonly { percent: number; upTo?: number; label: string }[] = [
  { percent: 100, label: 'model tuning: 100%' },
  { percent: 0.1, upTo: 1, label: 'prefix tuning: 0.1–1%' },
  { percent: 0.1, label: 'WARP: under 0.1%' },
  { percent: 0.01, label: 'prompt tuning: under 0.01% (most T5 sizes)' },
];

/** Lester et al. 2021, Table 3: 5 prompts on frozen T5-XXL, SuperGLUE dev score (%): their average, the best one, the majority vote. */
export const LESTER_TABLE3 = { prompts: 5, model: 'T5-XXL', average: 90.5, best: 91.0, ensemble: 91.3 } as const;

/** Findings stated in the text of Lester et al., shown under the matching figures. */
export const LESTER_FINDINGS = {
  fig1:
    'Lester et al. 2021, Fig. 1 (frozen T5.1.1, SuperGLUE): prompt tuning lags model tuning at small sizes and matches it at XXL (11B); ' +
    'GPT-3 175B few-shot prompt design scores 71.8 against 89.3 for fine-tuned T5-XXL. Their scores are SuperGLUE, not comparable in value with these tasks.',
  fig3a:
    'Lester et al. 2021, Fig. 3a (lengths 1, 5, 20, 100, 150): more than one token matters for most sizes; gains past 20 tokens are marginal; ' +
    'past 100 is mildly harmful for large models; XXL is strong even with one token.',
  fig3b:
    'Lester et al. 2021, Fig. 3b: random uniform [-0.5, 0.5] < sampled vocabulary (5,000 most common tokens) < class label; the differences vanish at XXL.',
  fig4:
    'Lester et al. 2021, Fig. 4: model tuning 100%; prefix tuning 0.1–1%; WARP < 0.1%; prompt tuning < 0.01% for most sizes; prompt design needs no parameters.',
  table3: `Lester et al. 2021, Table 3 (${LESTER_TABLE3.prompts} prompts on frozen ${LESTER_TABLE3.model}, SuperGLUE dev): average ${LESTER_TABLE3.average.toFixed(1)}, best ${LESTER_TABLE3.best.toFixed(1)}, majority-vote ensemble ${LESTER_TABLE3.ensemble.toFixed(1)}.`,
} as const;

/** The claims table's published side: what is commonly claimed for prompt tuning, and by whom. */
export const CLAIM_SOURCES = {
  parameters:
    'Lester et al. 2021, Fig. 4: prompt tuning trains < 0.01% of the model for most T5 sizes (0.066% Small to 0.0037% XXL at 100 tokens); ' +
    'Hugging Face PEFT: 15,360 of 124,439,808 (0.0123%) for gpt2 with 20 tokens',
  storage:
    'A prompt is E × P values (Lester et al. 2021); for T5-XXL at 100 tokens that is 409,600 float32 values, 1.6 MB (computed), against a full model copy per task for model tuning',
  overhead:
    'Commonly claimed for prompt tuning (one frozen model serves many tasks; the cost is the extra prompt positions). The references kept here give no figure for it; ' +
    'Hu et al. 2021 claim no added latency for LoRA, which merges into the weights',
  scale: 'Lester et al. 2021, Fig. 1: the gap to model tuning closes as the frozen model grows, matching it at T5-XXL (11B)',
  data: 'Gu et al. 2022 (PPT, ACL): prompt tuning performs much worse than full model tuning in few-shot settings (32 examples per task), while it is comparable with full data',
} as const;

function formatCount(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toPrecision(3)}B`;
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  return value.toLocaleString('en-US');
}

/** The inference overhead commonly claimed for prompt tuning, in percent (the claims table and the overhead figure's dashed line). */
export const OVERHEAD_CLAIM_PERCENT = 1;
