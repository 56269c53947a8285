/**
 * The pretraining profiles (quick, scaling, full): which presets, on which generated world corpus, with
 * which budget; a profile by name; and the corpus of a profile (built once per process) with its token
 * frequencies (computed once per run, in the runner's main thread, and sent with each trial).
 */
import { unknownNameMessage } from '../../src/model/config.js';
import type { PretrainScheduleInput } from '../../src/training/pretrain_schedule.js';
import type { TrialConfig } from '../../src/results/results.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { buildCorpus, corpusFingerprint, type Corpus, type CorpusConfig } from '../../datasets/corpus.js';

/** Test examples per task and probe that the gates score when a profile does not say. */
export const DEFAULT_GATE_EXAMPLES = 48;

export const PROFILE_NAMES = ['quick', 'scaling', 'full'] as const;
export type PretrainProfileName = (typeof PROFILE_NAMES)[number];

/** What a profile pretrains, on which corpus, with which budget. */
export interface PretrainProfile {
  name: string;
  description: string;
  /** The world and corpus (tasks must use the same worldSize and townCount; the seed comes from --seed). */
  corpus: Omit<CorpusConfig, 'seed'> & { worldSize: number; townCount: number };
  /** Presets pretrained by default, smallest first. */
  presets: readonly string[];
  /** The training budget of a preset. */
  schedule(preset: string): PretrainScheduleInput;
  /** Checkpoint every this many steps. */
  checkpointEvery: number;
  /** Documents per held-out batch. */
  evalBatchSize: number;
  /** Test examples per task (at most) that the capability gates score, on the model and on its control; default 48. */
  gateExamples?: number;
}

/**
 * quick: measured on a 2-core machine with the wasm backend, 2048 tokens per step: 240 steps of the three
 * presets take about 3.5 to 4.5 minutes in all. Every preset sees the same batches, so the size comparison
 * is fair. T is the whole 256-token context (B 8 × T 256 rather than 16 × 128, for about the same cost):
 * prompt tuning puts its virtual tokens first, so with 100 of them a task row (≤ 80 bytes) sits at
 * positions 100–180, whose position embeddings a 128-token pretraining would never have trained.
 */
const QUICK: PretrainProfile = {
  name: 'quick',
  description: 'ps-nano, ps-micro, ps-mini; 240 steps of 8 × 256 tokens each (~4 min on 2 CPU cores, wasm)',
  corpus: { worldSize: 120, townCount: 8, corpusBytes: 300_000, heldoutBytes: 12_000 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini'],
  schedule: (preset) => ({
    steps: 240,
    batchSize: 8,
    sequenceLength: 256,
    learningRate: QUICK_LEARNING_RATES[preset] ?? 2e-3,
    warmupSteps: 20,
    finalLearningRateFraction: 0.1,
  }),
  checkpointEvery: 50,
  evalBatchSize: 32,
  // Few: the quick run must stay within 15 minutes; intervals over 32 examples are wide (±17 points).
  gateExamples: 32,
};
// ps-milli and ps-midi (added for the replication) take the rate halfway between their neighbours'.
const QUICK_LEARNING_RATES: Record<string, number> = { 'ps-nano': 3e-3, 'ps-micro': 3e-3, 'ps-milli': 2.75e-3, 'ps-mini': 2.5e-3, 'ps-midi': 2.25e-3, 'ps-small': 2e-3 };

/**
 * scaling: four presets spanning 20x in parameters (42K to 859K), long enough for the in-context skills
 * to appear (the notes' pilot: lookup 0.40 on ps-micro and 0.77 on ps-mini after 3,000 steps of 8 × 256).
 * A bigger world (600 characters) so the recall task has 150 test characters. Every preset sees the same
 * batches. Cost, measured (docs/results/scaling/README.md): ps-small 11 min 19 s of one native worker, the four presets about 12
 * minutes on 2 workers.
 */
const SCALING: PretrainProfile = {
  name: 'scaling',
  description: 'ps-nano, ps-micro, ps-mini, ps-small (20x); 3000 steps of 8 × 256 tokens each (about 12 min on 2 CPU cores, native backend)',
  // skillShare 0.9 (not the default 0.5): with 0.5 no preset learnt the lookup skill in 3,000 steps (ps-small's
  // probe 17.7%, chance 16.7%; docs/results/scaling-skillshare-0.5/README.md), while the notes' lookup-heavy pilot reached 0.36 on ps-mini after
  // 1,200 steps. 0.9 puts lookup at 45% of the filler (was 25%), set from the gates alone, before any
  // downstream score of this corpus was seen.
  corpus: { worldSize: 600, townCount: 8, corpusBytes: 3_000_000, heldoutBytes: 60_000, skillShare: 0.9 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini', 'ps-small'],
  schedule: (preset) => ({
    steps: 3000,
    batchSize: 8,
    sequenceLength: 256,
    learningRate: QUICK_LEARNING_RATES[preset] ?? 2e-3,
    warmupSteps: 100,
    finalLearningRateFraction: 0.1,
  }),
  checkpointEvery: 250,
  evalBatchSize: 32,
  gateExamples: 96,
};

/** full: every ps-* preset, the full 256-token context, much longer (hours; meant for a bigger machine). */
const FULL: PretrainProfile = {
  name: 'full',
  description: 'every ps-* preset; 6000 steps of 32 × 256 tokens (hours; a bigger machine)',
  corpus: { worldSize: 1000, townCount: 8, corpusBytes: 8_000_000, heldoutBytes: 100_000 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini', 'ps-small', 'ps-base', 'ps-large'],
  schedule: (preset) => ({
    steps: 6000,
    batchSize: 32,
    sequenceLength: 256,
    learningRate: FULL_LEARNING_RATES[preset] ?? 1e-3,
    warmupSteps: 300,
    finalLearningRateFraction: 0.1,
    weightDecay: 0.01,
  }),
  checkpointEvery: 250,
  evalBatchSize: 32,
  gateExamples: 240,
};
const FULL_LEARNING_RATES: Record<string, number> = {
  'ps-nano': 3e-3,
  'ps-micro': 2e-3,
  'ps-mini': 1.5e-3,
  'ps-small': 1e-3,
  'ps-base': 8e-4,
  'ps-large': 6e-4,
};

export const PRETRAIN_PROFILES: Readonly<Record<PretrainProfileName, PretrainProfile>> = { quick: QUICK, scaling: SCALING, full: FULL };

/**
 * A profile by name (unknown names suggest the nearest). Resolved once where a name comes in (the command
 * line, an experiment file, a worker's pretrain job: a profile holds a function, which cannot cross to a
 * worker thread) and passed down as the object.
 */
export function resolveProfile(name: string): PretrainProfile {
  // Own keys only: a name such as "constructor" is not a profile.
  const found = Object.hasOwn(PRETRAIN_PROFILES, name) ? (PRETRAIN_PROFILES as Record<string, PretrainProfile>)[name] : undefined;
  if (found === undefined) throw new Error(unknownNameMessage('pretraining profile', name, PROFILE_NAMES));
  return found;
}

/** The corpus config of a profile and seed: also the world the task suite must be built from. */
export function profileCorpusConfig(profile: PretrainProfile, seed: number): CorpusConfig {
  return { ...profile.corpus, seed };
}

const corpora = new Map<string, Corpus>();

/** Builds (once per process) the corpus of a config. */
export function corpusFor(config: CorpusConfig): Corpus {
  const fingerprint = corpusFingerprint(config);
  let corpus = corpora.get(fingerprint);
  if (corpus === undefined) {
    corpus = buildCorpus(config);
    corpora.set(fingerprint, corpus);
  }
  return corpus;
}

/**
 * Token ids from most to least frequent in a corpus's training text (ties: lower id first): the
 * "5,000 most common tokens" of Lester et al.'s sampled-vocabulary initialisation.
 */
export function frequentTokensOf(config: CorpusConfig): number[] {
  const tokenizer = new ByteTokenizer();
  const counts = new Map<number, number>();
  for (const text of corpusFor(config).train) for (const id of tokenizer.encode(text)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([id]) => id);
}

/**
 * The frequent tokens that each trial's sampled-vocab initialisation draws from, by trial key: its
 * pretraining corpus's ({@link frequentTokensOf}, computed once per corpus and shared); a checkpoint
 * brings no corpus, so its ids in order (BPE merges are ranked by frequency) stand in: an empty list.
 */
export function frequentTokensForTrials(trials: readonly { key: string; config: Pick<TrialConfig, 'profile' | 'pretrainSeed' | 'checkpoint'> }[]): Map<string, readonly number[]> {
  const byCorpus = new Map<string, readonly number[]>();
  const none: readonly number[] = [];
  return new Map(
    trials.map(({ key, config }) => {
      if (config.checkpoint !== undefined) return [key, none];
      const corpus = JSON.stringify([config.profile, config.pretrainSeed]);
      let tokens = byCorpus.get(corpus);
      if (tokens === undefined) {
        tokens = frequentTokensOf(profileCorpusConfig(resolveProfile(config.profile), config.pretrainSeed));
        byCorpus.set(corpus, tokens);
      }
      return [key, tokens];
    }),
  );
}
