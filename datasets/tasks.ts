/**
 * The synthetic downstream suite (SuperGLUE-like, text to text, label words scored by the model):
 *
 * - verify  (yes/no fact verification, like BoolQ):   "Question: Is Bazo a fox?\nAnswer:" → " yes" | " no"
 * - entail  (three-way entailment, like CB):           "Bazo lives in Lumby.\nClaim: Bazo is red.\nAnswer:" → " true" | " false" | " unknown"
 * - colour  (multi-class attribute classification):   "Question: What colour is Bazo?\nAnswer:" → " red" | " blue" | ...
 * - town    (multi-class relation classification):    "Question: Where does Bazo live?\nAnswer:" → " Lumby" | ...
 * - compare (comparison of two numeric facts):        "Question: Does Bazo have more coins than Kemi?\nAnswer:" → " yes" | " no"
 *
 * - lookup-d0..d4, versus-d0..d4, recall-d0..d4: the skills of datasets/skills.ts at template distances
 *   0 (the pretraining wording) to 4 (never seen): "Bipo is white. Vini is pink. So Vini is" → " pink".
 *   A skill's five tasks share their examples (the same sampling stream): only the template differs.
 *
 * Splits are by entity (see `partitionEntities`): a test example is only about test characters, whose
 * facts the pretraining corpus states but no task's train split mentions, so a method scores well on
 * test only by using what the frozen model knows. Labels are balanced by sampling label by label.
 */
import { definedOnly, unknownNameMessage } from '../src/model/config.js';
import { Random } from '../src/util/random.js';
import { ALL_TASK_DEFS, type SyntheticTaskDef } from './taskdefs.js';
import { majorityOf, SPLIT_NAMES, type Task, type TaskExample, type TaskSplits } from './types.js';
import { ENTITY_SPLIT_FRACTIONS, generateWorld, partitionEntities, type EntityPartition, type World } from './world.js';

export type { Task, TaskExample, TaskSplits } from './types.js';
export { SPLIT_NAMES } from './types.js';

/**
 * Most bytes `format(example) + label` may take: with <|endoftext|> and a prompt of up to 100 virtual
 * tokens it fits a 256-token context (the in-context skills' 7 bindings need about 130).
 */
export const MAX_EXAMPLE_BYTES = 150;

/** Split sizes (examples per task). */
export interface SplitSizes {
  train: number;
  dev: number;
  test: number;
}

/** Defaults for a quick profile. */
export const DEFAULT_SPLIT_SIZES: SplitSizes = { train: 256, dev: 64, test: 128 };

/** Options of `buildTaskSuite`. */
export interface TaskSuiteOptions {
  seed: number;
  /** Number of characters in the world (must match the corpus the model was pretrained on). */
  worldSize: number;
  /** Examples per split and task; defaults to DEFAULT_SPLIT_SIZES. */
  sizes?: Partial<SplitSizes>;
  /** Towns in the world; default 8 (must match the corpus). */
  townCount?: number;
  /** Only these tasks (by name); default all. */
  tasks?: string[];
  /** A world already generated from the same seed and size, to skip regenerating it. */
  world?: World;
  /** Take at most the requested sizes: a split with fewer candidates gets them all instead of an error. */
  capToAvailable?: boolean;
}

/** Names of the synthetic tasks, in suite order. */
export const TASK_NAMES: readonly string[] = ALL_TASK_DEFS.map((t) => t.name);

/** Builds the synthetic task suite; deterministic in its options. */
export function buildTaskSuite(options: TaskSuiteOptions): Task[] {
  const sizes = resolveSizes(options.sizes);
  const world = options.world ?? generateWorld({ seed: options.seed, worldSize: options.worldSize, townCount: options.townCount });
  const partition = partitionEntities(world);
  const defs = (options.tasks ?? TASK_NAMES).map((name) => findDef(name));
  return defs.map((def) => buildTask(def, world, partition, sizes, options.seed, options.capToAvailable === true));
}

/** The task with this name; an unknown name throws with a "did you mean" suggestion. */
export function findTask(tasks: readonly Task[], name: string): Task {
  const task = tasks.find((t) => t.name === name);
  if (task === undefined) throw new Error(unknownNameMessage('task', name, tasks.map((t) => t.name)));
  return task;
}

function findDef(name: string): SyntheticTaskDef {
  const def = ALL_TASK_DEFS.find((t) => t.name === name);
  if (def === undefined) throw new Error(unknownNameMessage('task', name, TASK_NAMES));
  return def;
}

function resolveSizes(partial: Partial<SplitSizes> = {}): SplitSizes {
  const sizes = { ...DEFAULT_SPLIT_SIZES, ...definedOnly(partial) };
  const problems = SPLIT_NAMES.filter((s) => !Number.isInteger(sizes[s]) || sizes[s] < 0).map(
    (s) => `sizes.${s} = ${JSON.stringify(sizes[s])}: must be a non-negative integer`,
  );
  if (problems.length > 0) throw new Error(`invalid task split sizes:\n  ${problems.join('\n  ')}`);
  return sizes;
}

function buildTask(def: SyntheticTaskDef, world: World, partition: EntityPartition, sizes: SplitSizes, seed: number, cap: boolean): Task {
  const labels = def.labels(world);
  const splits = {} as TaskSplits;
  for (const split of SPLIT_NAMES) {
    const rng = new Random(seed, `task:${def.family ?? def.name}:${split}`);
    const candidates = def.candidates(world, partition[split], rng);
    const wanted = cap ? Math.min(sizes[split], candidates.filter((e) => labels.includes(e.label)).length) : sizes[split];
    splits[split] = sampleBalanced(candidates, labels, wanted, rng, () => tooFewMessage(def.name, split, sizes[split], candidates.length, world));
  }
  return {
    name: def.name,
    kind: def.kind,
    description: def.description,
    labels,
    splits,
    format: def.format,
    majorityBaseline: (split) => majorityOf(splits[split], labels),
  };
}

function tooFewMessage(task: string, split: keyof TaskSplits, wanted: number, available: number, world: World): string {
  const perCharacter = available / Math.max(1, Math.round(world.characters.length * ENTITY_SPLIT_FRACTIONS[split]));
  const needed = Math.ceil(wanted / Math.max(perCharacter, 1e-9) / ENTITY_SPLIT_FRACTIONS[split]);
  return (
    `task "${task}": sizes.${split} = ${wanted} but the ${split} characters of a world of ${world.characters.length} ` +
    `yield only ${available} examples; use worldSize >= ${needed} or a smaller sizes.${split}`
  );
}

/**
 * Takes n examples, cycling through the labels so each gets an equal share (a label that runs out leaves
 * its share to the others), then shuffles. Candidates are drawn at random within each label.
 */
export function sampleBalanced(
  candidates: readonly TaskExample[],
  labels: readonly string[],
  n: number,
  rng: Random,
  tooFew: () => string,
): TaskExample[] {
  const buckets = labels.map((label) => rng.shuffle(candidates.filter((e) => e.label === label)));
  // Counting only labelled candidates also keeps the loop below finite.
  if (buckets.reduce((sum, b) => sum + b.length, 0) < n) throw new Error(tooFew());
  const picked: TaskExample[] = [];
  while (picked.length < n) {
    for (const bucket of buckets) {
      const next = bucket.pop();
      if (next !== undefined && picked.length < n) picked.push(next);
    }
  }
  return rng.shuffle(picked);
}
