/**
 * The pretraining corpus about the world: short documents (each at most MAX_DOCUMENT_BYTES, so a
 * document plus the trainer's <|endoftext|> fits one 256-token context) written with several
 * paraphrase templates per fact type, so a model learns facts rather than sentences.
 *
 * Construction:
 * 1. Coverage: a profile of every character stating all its facts, and a document per town, so every
 *    fact is stated at least once whatever the size.
 * 2. Filler: random documents (profiles of fact subsets, town residents, attribute lists, friend stories,
 *    task demonstrations) until `corpusBytes`; facts repeat in fresh paraphrases as the size grows.
 * 3. Task demonstrations, in exactly the tasks' formats with their answers, only about a fraction of the
 *    *train* characters (`demoFraction`), so a frozen model can be prompted zero/few-shot without ever
 *    having seen a dev or test question in task form.
 *
 * 4. Skills (datasets/skills.ts): in-context lookup and comparison episodes, each a document, as a share
 *    `skillShare` of the filler (half each); and recall documents stating every character's hat colour
 *    exactly `hatExposures` times, whatever the size. Restatements use each skill's triggers at their
 *    controlled frequencies, which is what makes a task's template distance a dial.
 *
 * Held-out split (for held-out LM loss): freshly generated filler documents from a separate random
 * stream, same templates, no demonstrations, none byte-identical to a training document. Every fact they
 * state is stated in training (coverage), so held-out loss measures how well the model knows the facts
 * in new combinations and wordings, not how well it recalls sentences.
 */
import { hashString, Random } from '../src/util/random.js';
import { lookupItem, recallItem, SKILLS, skillSentence, versusItem } from './skills.js';
import { SYNTHETIC_TASKS } from './taskdefs.js';
import type { TaskExample } from './types.js';
import { DATASET_VERSION, DEFAULT_TOWN_COUNT, factId, generateWorld, partitionEntities, validateWorldConfig, type World } from './world.js';
import { ALL_RELATIONS, byteLength, first, pack, Writer, type CorpusDocument } from './corpus_writer.js';

export { DATASET_VERSION } from './world.js';

export { byteLength, MAX_DOCUMENT_BYTES, type CorpusDocument } from './corpus_writer.js';

/** Corpus generator settings. Sizes are in bytes (= tokens of the byte tokenizer). */
export interface CorpusConfig {
  seed: number;
  worldSize: number;
  townCount?: number;
  /** Target training bytes (default 1,000,000); coverage documents are always included even if larger. */
  corpusBytes?: number;
  /** Target held-out bytes (default 5% of corpusBytes, at least 2,000). */
  heldoutBytes?: number;
  /** Fraction of all characters (taken from the train split) that task demonstrations are about; default 0.2. */
  demoFraction?: number;
  /** Probability that a filler document is a task demonstration; default 0.05. */
  demoShare?: number;
  /** Probability that a filler document is an in-context skill episode (lookup or versus); default 0.5. */
  skillShare?: number;
}

/** A config with every default filled in (what the fingerprint hashes). */
export type ResolvedCorpusConfig = Required<CorpusConfig>;

/** Counts for reports. */
export interface CorpusStats {
  trainDocuments: number;
  trainBytes: number;
  heldoutDocuments: number;
  heldoutBytes: number;
  demoDocuments: number;
  /** Fewest training documents (demonstrations not counted) stating any one fact (>= 1 by construction). */
  minFactMentions: number;
  meanFactMentions: number;
}

/** The corpus: document strings for the trainer, plus the annotated documents and stats. */
export interface Corpus {
  config: ResolvedCorpusConfig;
  fingerprint: string;
  /** Training documents (the trainer appends <|endoftext|> to each). */
  train: string[];
  /** Held-out documents for held-out LM loss. */
  heldout: string[];
  trainDocuments: CorpusDocument[];
  heldoutDocuments: CorpusDocument[];
  /** Character ids the task demonstrations are about (all in the train partition). */
  demoCharacters: string[];
  stats: CorpusStats;
}

/** Fills in defaults and validates, naming field, value and what is allowed. */
export function resolveCorpusConfig(config: CorpusConfig): ResolvedCorpusConfig {
  validateWorldConfig(config);
  const corpusBytes = config.corpusBytes ?? 1_000_000;
  const resolved: ResolvedCorpusConfig = {
    seed: config.seed,
    worldSize: config.worldSize,
    townCount: config.townCount ?? DEFAULT_TOWN_COUNT,
    corpusBytes,
    heldoutBytes: config.heldoutBytes ?? Math.max(2_000, Math.round(corpusBytes * 0.05)),
    demoFraction: config.demoFraction ?? 0.2,
    demoShare: config.demoShare ?? 0.05,
    skillShare: config.skillShare ?? 0.5,
  };
  const problems: string[] = [];
  for (const field of ['corpusBytes', 'heldoutBytes'] as const) {
    const v = resolved[field];
    if (!Number.isInteger(v) || v < 0) problems.push(`${field} = ${JSON.stringify(v)}: must be a non-negative integer`);
  }
  for (const field of ['demoFraction', 'demoShare'] as const) {
    const v = resolved[field];
    if (typeof v !== 'number' || !(v >= 0 && v <= 0.6)) problems.push(`${field} = ${JSON.stringify(v)}: must be a number in [0, 0.6]`);
  }
  if (typeof resolved.skillShare !== 'number' || !(resolved.skillShare >= 0 && resolved.skillShare <= 0.9)) {
    problems.push(`skillShare = ${JSON.stringify(resolved.skillShare)}: must be a number in [0, 0.9]`);
  }
  if (problems.length > 0) throw new Error(`invalid corpus config:\n  ${problems.join('\n  ')}`);
  return resolved;
}

/** A stable hash of the resolved generator config and DATASET_VERSION, for cache keys (16 hex digits). */
export function corpusFingerprint(config: CorpusConfig): string {
  const resolved = resolveCorpusConfig(config);
  const keys = Object.keys(resolved).sort() as (keyof ResolvedCorpusConfig)[];
  const canonical = `${DATASET_VERSION}|${keys.map((k) => `${k}=${JSON.stringify(resolved[k])}`).join(',')}`;
  const hex = (h: number): string => h.toString(16).padStart(8, '0');
  return hex(hashString(canonical)) + hex(hashString(`salt:${canonical}`));
}

/** Generates the corpus; the same config gives the same bytes. */
export function buildCorpus(config: CorpusConfig, world?: World): Corpus {
  const resolved = resolveCorpusConfig(config);
  const w = world ?? generateWorld(resolved);
  const demos = new DemoPool(w, resolved);
  const writer = new Writer(w);
  const rng = new Random(resolved.seed, 'corpus:train');
  const trainDocuments = [...coverageDocuments(writer, rng), ...demos.coverage(), ...recallDocuments(w, new Random(resolved.seed, 'corpus:recall'))];
  let bytes = totalBytes(trainDocuments);
  while (bytes < resolved.corpusBytes) {
    const roll = rng.next();
    const doc = roll < resolved.skillShare ? episodeDocument(rng) : (roll < resolved.skillShare + resolved.demoShare ? demos.random(rng) : null) ?? writer.filler(rng);
    trainDocuments.push(doc);
    bytes += byteLength(doc.text);
  }
  rng.shuffle(trainDocuments);
  const heldoutDocuments = heldout(writer, resolved, new Set(trainDocuments.map((d) => d.text)));
  return {
    config: resolved,
    fingerprint: corpusFingerprint(resolved),
    train: trainDocuments.map((d) => d.text),
    heldout: heldoutDocuments.map((d) => d.text),
    trainDocuments,
    heldoutDocuments,
    demoCharacters: demos.characterIds,
    stats: stats(w, trainDocuments, heldoutDocuments),
  };
}

function heldout(writer: Writer, config: ResolvedCorpusConfig, trainTexts: Set<string>): CorpusDocument[] {
  const rng = new Random(config.seed, 'corpus:heldout');
  const docs: CorpusDocument[] = [];
  let bytes = 0;
  // Bounded attempts: a tiny world could make every filler document a repeat of a training one.
  for (let attempt = 0; bytes < config.heldoutBytes && attempt < 100 * (config.heldoutBytes + 1); attempt++) {
    const doc = rng.next() < config.skillShare ? episodeDocument(rng) : writer.filler(rng);
    if (trainTexts.has(doc.text)) continue;
    docs.push(doc);
    bytes += byteLength(doc.text);
  }
  return docs;
}


function totalBytes(docs: readonly CorpusDocument[]): number {
  return docs.reduce((sum, d) => sum + byteLength(d.text), 0);
}

function stats(world: World, train: CorpusDocument[], held: CorpusDocument[]): CorpusStats {
  const mentions = new Map<string, number>(world.facts.map((f) => [f.id, 0]));
  for (const doc of train) if (doc.type !== 'demo') for (const id of new Set(doc.facts)) mentions.set(id, (mentions.get(id) ?? 0) + 1);
  const counts = [...mentions.values()];
  return {
    trainDocuments: train.length,
    trainBytes: totalBytes(train),
    heldoutDocuments: held.length,
    heldoutBytes: totalBytes(held),
    demoDocuments: train.filter((d) => d.type === 'demo').length,
    minFactMentions: counts.length === 0 ? 0 : Math.min(...counts),
    meanFactMentions: counts.length === 0 ? 0 : counts.reduce((a, b) => a + b, 0) / counts.length,
  };
}

/** Every fact at least once: a full profile per character (split if too long) and a document per town. */
function coverageDocuments(writer: Writer, rng: Random): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const c of writer.world.characters) docs.push(...pack(writer.profilePieces(rng, c, ALL_RELATIONS), 'profile'));
  for (const t of writer.world.towns) docs.push(...pack(writer.townPieces(rng, t), 'town'));
  return docs;
}

/** An in-context skill episode (lookup or versus, equally often) as one document. */
function episodeDocument(rng: Random): CorpusDocument {
  const lookup = rng.next() < 0.5;
  const skill = lookup ? SKILLS.lookup : SKILLS.versus;
  return { text: skillSentence(skill, lookup ? lookupItem(rng) : versusItem(rng), rng), facts: [], type: skill.name };
}

/** Every character's hat colour stated exactly `hatExposures` times, in a form drawn by trigger frequency. */
function recallDocuments(world: World, rng: Random): CorpusDocument[] {
  const statements = rng.shuffle(world.characters.flatMap((c) => Array.from({ length: c.hatExposures }, () => c)));
  const pieces = statements.map((c) => ({ text: skillSentence(SKILLS.recall, recallItem(c), rng), facts: [factId(c.id, 'hat')] }));
  return pack(pieces, 'recall');
}


/** Demonstrations per document (like a few-shot prompt), within MAX_DOCUMENT_BYTES. */
const DEMOS_PER_DOCUMENT = 3;

/** Task demonstrations about a fixed subset of train characters, in each task's exact format. */
class DemoPool {
  readonly characterIds: string[];
  private readonly pools: { format: (e: TaskExample) => string; examples: TaskExample[] }[];

  constructor(world: World, config: ResolvedCorpusConfig) {
    const train = partitionEntities(world).train;
    const rng = new Random(config.seed, 'corpus:demo');
    const count = Math.min(train.length, Math.round(config.demoFraction * world.characters.length));
    this.characterIds = rng.shuffle([...train]).slice(0, count).sort();
    this.pools = count === 0 ? [] : SYNTHETIC_TASKS.map((def) => ({
      format: def.format,
      examples: rng.shuffle(def.candidates(world, this.characterIds, new Random(config.seed, `corpus:demo:${def.name}`))),
    })).filter((p) => p.examples.length > 0);
  }

  /** About one demonstration per demo character and task, so every task's form is seen. */
  coverage(): CorpusDocument[] {
    const docs: CorpusDocument[] = [];
    for (const pool of this.pools) {
      const examples = pool.examples.slice(0, this.characterIds.length);
      for (let i = 0; i < examples.length; i += DEMOS_PER_DOCUMENT) docs.push(...this.document(pool.format, examples.slice(i, i + DEMOS_PER_DOCUMENT)));
    }
    return docs;
  }

  /** A demonstration document of one random task; null when there are no demonstrations (demoFraction 0). */
  random(rng: Random): CorpusDocument | null {
    if (this.pools.length === 0) return null;
    const pool = rng.pick(this.pools);
    const examples = Array.from({ length: DEMOS_PER_DOCUMENT }, () => rng.pick(pool.examples));
    return first(this.document(pool.format, examples));
  }

  private document(format: (e: TaskExample) => string, examples: TaskExample[]): CorpusDocument[] {
    return pack(examples.map((e) => ({ text: `${format(e)}${e.label}`, facts: e.facts })), 'demo', '\n\n');
  }
}
