/**
 * The synthetic tasks as data: for each, its label words, how to write an example and which candidate
 * examples a group of characters yields. tasks.ts samples splits from these; corpus.ts uses the very
 * same builders and formats for its task demonstrations, so the demonstrations have exactly the task's form.
 */
import { Random } from '../src/util/random.js';
import type { TaskExample } from './types.js';
import { SKILL_NAMES, SKILLS, skillExamples, skillTaskName, TEMPLATE_DISTANCES, TRIGGER_FREQUENCIES } from './skills.js';
import { COLOURS, HOBBIES, KINDS, MAX_COINS, article, factId, townName, type Character, type Relation, type World } from './world.js';

/** A synthetic task definition (the Task object is assembled in tasks.ts). */
export interface SyntheticTaskDef {
  name: string;
  kind: string;
  description: string;
  labels(world: World): string[];
  format(example: TaskExample): string;
  /** Tasks of one family (a skill at several distances) sample the same examples: only the template differs. */
  family?: string;
  /** Every candidate example about the given characters (facts only about those characters). */
  candidates(world: World, characterIds: readonly string[], rng: Random): TaskExample[];
}

const YES = ' yes';
const NO = ' no';

/** "Question: ...\nAnswer:" framing shared by the question tasks. */
function question(example: TaskExample): string {
  return `Question: ${example.input}\nAnswer:`;
}

function characters(world: World, ids: readonly string[]): Character[] {
  return ids.map((id) => {
    const c = world.characterById.get(id);
    if (c === undefined) throw new Error(`unknown character id ${id}`);
    return c;
  });
}

/** A different value from the list than `value` (for false statements). */
function otherValue(rng: Random, values: readonly string[], value: string): string {
  const others = values.filter((v) => v !== value);
  return rng.pick(others);
}

/** The relations a yes/no or claim can be about, with their value lists and phrasing. */
interface Statement {
  relation: Relation;
  values(world: World): readonly string[];
  value(world: World, c: Character): string | null;
  /** A plain sentence stating the value ("Bazo is a cat."). */
  sentence(name: string, value: string): string;
  /** A yes/no question asking about the value ("Is Bazo a cat?"). */
  question(name: string, value: string): string;
}

const STATEMENTS: Record<'kind' | 'colour' | 'town' | 'hobby' | 'coins', Statement> = {
  kind: {
    relation: 'kind',
    values: () => KINDS,
    value: (_, c) => c.kind,
    sentence: (n, v) => `${n} is ${article(v)} ${v}.`,
    question: (n, v) => `Is ${n} ${article(v)} ${v}?`,
  },
  colour: {
    relation: 'colour',
    values: () => COLOURS,
    value: (_, c) => c.colour,
    sentence: (n, v) => `${n} is ${v}.`,
    question: (n, v) => `Is ${n} ${v}?`,
  },
  town: {
    relation: 'town',
    values: (w) => w.towns.map((t) => t.name),
    value: (w, c) => townName(w, c),
    sentence: (n, v) => `${n} lives in ${v}.`,
    question: (n, v) => `Does ${n} live in ${v}?`,
  },
  hobby: {
    relation: 'hobby',
    values: () => HOBBIES,
    value: (_, c) => c.hobby,
    sentence: (n, v) => `${n} likes to ${v}.`,
    question: (n, v) => `Does ${n} like to ${v}?`,
  },
  coins: {
    relation: 'coins',
    values: () => Array.from({ length: MAX_COINS }, (_, i) => String(i + 1)),
    value: (_, c) => String(c.coins),
    sentence: (n, v) => `${n} has ${v} coin${v === '1' ? '' : 's'}.`,
    question: (n, v) => `Does ${n} have ${v} coin${v === '1' ? '' : 's'}?`,
  },
};

/** Yes/no fact verification (BoolQ-like): a true or a corrupted statement about one character. */
const verify: SyntheticTaskDef = {
  name: 'verify',
  kind: 'yes/no fact verification',
  description: 'Is a statement about a character true? (kind, colour, town or hobby; half are corrupted)',
  labels: () => [YES, NO],
  format: question,
  candidates(world, ids, rng) {
    const out: TaskExample[] = [];
    for (const c of characters(world, ids)) {
      for (const s of [STATEMENTS.kind, STATEMENTS.colour, STATEMENTS.town, STATEMENTS.hobby]) {
        const value = s.value(world, c);
        if (value === null) continue; // no hobby stated: the answer is unknown, not "no"
        const facts = [factId(c.id, s.relation)];
        const wrong = otherValue(rng, s.values(world), value);
        out.push({ id: `verify:${facts[0]}=${value}`, input: s.question(c.name, value), label: YES, facts });
        out.push({ id: `verify:${facts[0]}=${wrong}`, input: s.question(c.name, wrong), label: NO, facts });
      }
    }
    return out;
  },
};

/** Multi-class attribute classification: the colour of a character. */
const colour: SyntheticTaskDef = {
  name: 'colour',
  kind: 'multi-class attribute classification',
  description: `What colour is a character? (${COLOURS.length} colours)`,
  labels: () => COLOURS.map((c) => ` ${c}`),
  format: question,
  candidates: (world, ids) =>
    characters(world, ids).map((c) => ({
      id: `colour:${c.id}`,
      input: `What colour is ${c.name}?`,
      label: ` ${c.colour}`,
      facts: [factId(c.id, 'colour')],
    })),
};

/** Multi-class relation classification: the home town of a character (town names as labels). */
const town: SyntheticTaskDef = {
  name: 'town',
  kind: 'multi-class relation classification',
  description: 'Where does a character live? (the towns as labels)',
  labels: (world) => world.towns.map((t) => ` ${t.name}`),
  format: question,
  candidates: (world, ids) =>
    characters(world, ids).map((c) => ({
      id: `town:${c.id}`,
      input: `Where does ${c.name} live?`,
      label: ` ${townName(world, c)}`,
      facts: [factId(c.id, 'town')],
    })),
};

/** Comparisons per character: each is paired with this many others of its group. */
const COMPARE_PARTNERS = 4;

/** Comparison of numbers (two facts and a comparison): does one character have more coins than another? */
const compare: SyntheticTaskDef = {
  name: 'compare',
  kind: 'numeric comparison of two facts',
  description: 'Does one character have more coins than another? (ties never asked)',
  labels: () => [YES, NO],
  format: question,
  candidates(world, ids, rng) {
    const group = characters(world, ids);
    const out: TaskExample[] = [];
    const seen = new Set<string>();
    for (const a of group) {
      for (let k = 0; k < COMPARE_PARTNERS && group.length > 1; k++) {
        const b = rng.pick(group);
        const id = `compare:${a.id}>${b.id}`;
        if (b === a || a.coins === b.coins || seen.has(id)) continue;
        seen.add(id);
        const facts = [factId(a.id, 'coins'), factId(b.id, 'coins')];
        out.push({ id, input: `Does ${a.name} have more coins than ${b.name}?`, label: a.coins > b.coins ? YES : NO, facts });
      }
    }
    return out;
  },
};

const TRUE = ' true';
const FALSE = ' false';
const UNKNOWN = ' unknown';

/** Three-way entailment (CB-like) label words. */
export const ENTAIL_LABELS = [TRUE, FALSE, UNKNOWN] as const;

/**
 * Three-way entailment (CB-like). The premise states a true fact about a character; the claim is about
 * another of its attributes. Given the premise and the world: true if the world states it, false if the
 * world states another value, unknown if the world states none (hobbies exist for only half of the
 * characters, so "unknown" also needs knowledge: knowing that nothing was said).
 */
const entail: SyntheticTaskDef = {
  name: 'entail',
  kind: 'three-way entailment',
  description: 'Premise and claim about a character: true, false or unknown given the world',
  labels: () => [...ENTAIL_LABELS],
  format: (e) => `${e.input}\nAnswer:`,
  candidates(world, ids, rng) {
    const out: TaskExample[] = [];
    const premises = [STATEMENTS.kind, STATEMENTS.colour, STATEMENTS.town, STATEMENTS.coins];
    const claims = [STATEMENTS.kind, STATEMENTS.colour, STATEMENTS.town];
    for (const c of characters(world, ids)) {
      for (const p of premises) {
        const premiseValue = p.value(world, c) as string;
        const premiseFact = factId(c.id, p.relation);
        const make = (s: Statement, value: string, label: string): TaskExample => {
          const facts = s.value(world, c) === null ? [premiseFact] : [premiseFact, factId(c.id, s.relation)];
          return {
            id: `entail:${premiseFact}|${factId(c.id, s.relation)}=${value}`,
            input: `${p.sentence(c.name, premiseValue)}\nClaim: ${s.sentence(c.name, value)}`,
            label,
            facts,
          };
        };
        const other = rng.pick(claims.filter((s) => s !== p));
        const otherValueTrue = other.value(world, c) as string;
        out.push(make(other, otherValueTrue, TRUE), make(other, otherValue(rng, other.values(world), otherValueTrue), FALSE));
        if (c.hobby === null) out.push(make(STATEMENTS.hobby, rng.pick(HOBBIES), UNKNOWN));
        else out.push(make(STATEMENTS.hobby, c.hobby, TRUE), make(STATEMENTS.hobby, otherValue(rng, HOBBIES, c.hobby), FALSE));
      }
    }
    return out; // ids combine premise, claim and value, so they are unique already
  },
};

/**
 * In-context entailment (RTE/CB-like, as in SuperGLUE): the premise alone decides. The premise states a
 * true fact about a character; the claim restates it (true), states another value of the same relation
 * (false) or is about a relation the premise does not mention (unknown). Unlike `entail`, nothing has to
 * be recalled from pretraining: the model must compare the claim with the text it is given, which small
 * models do poorly and larger ones better. Its "Premise:/Hypothesis:" framing keeps it apart from
 * `entail`, whose claims are judged against the world.
 */
const infer: SyntheticTaskDef = {
  name: 'infer',
  kind: 'in-context entailment',
  description: 'Does the premise make the claim true, false, or say nothing about it? (the text alone decides)',
  labels: () => [...ENTAIL_LABELS],
  format: (e) => `${e.input}\nAnswer:`,
  candidates(world, ids, rng) {
    const out: TaskExample[] = [];
    const relations = [STATEMENTS.kind, STATEMENTS.colour, STATEMENTS.town, STATEMENTS.coins];
    for (const c of characters(world, ids)) {
      for (const p of relations) {
        const value = p.value(world, c) as string;
        const premise = p.sentence(c.name, value);
        const fact = factId(c.id, p.relation);
        const make = (claim: string, label: string, tag: string): TaskExample => ({ id: `infer:${fact}|${tag}`, input: `Premise: ${premise}\nHypothesis: ${claim}`, label, facts: [fact] });
        const other = rng.pick(relations.filter((s) => s !== p));
        const unrelatedValue = rng.pick(other.values(world));
        out.push(
          make(p.sentence(c.name, value), TRUE, 'same'),
          make(p.sentence(c.name, otherValue(rng, p.values(world), value)), FALSE, 'other-value'),
          make(other.sentence(c.name, unrelatedValue), UNKNOWN, `${other.relation}=${unrelatedValue}`),
        );
      }
    }
    return out;
  },
};

/** The world-fact tasks (demonstrated in the corpus on some train characters), in suite order. */
export const SYNTHETIC_TASKS: readonly SyntheticTaskDef[] = [verify, entail, infer, colour, town, compare];

/**
 * The skill tasks (datasets/skills.ts): each skill at each template distance, "lookup-d0" .. "recall-d4".
 * Never demonstrated in the corpus: the corpus practises the skill in its own wording, and the distance
 * says how rare the task's final words were there.
 */
export const SKILL_TASKS: readonly SyntheticTaskDef[] = SKILL_NAMES.flatMap((skill) =>
  TEMPLATE_DISTANCES.map((distance): SyntheticTaskDef => ({
    name: skillTaskName(skill, distance),
    kind: `${SKILLS[skill].kind}, template distance ${distance}`,
    description: `${SKILLS[skill].description} Template distance ${distance}: its final words are ${(TRIGGER_FREQUENCIES[distance] * 100).toString()}% of the skill's restatements in pretraining.`,
    labels: () => [...SKILLS[skill].labels],
    family: skill,
    format: (e) => e.input,
    candidates: (world, ids, rng) => skillExamples(skill, distance, world, ids, rng),
  })),
);

/** Every task definition, in suite order: the world-fact tasks, then the skill tasks. */
export const ALL_TASK_DEFS: readonly SyntheticTaskDef[] = [...SYNTHETIC_TASKS, ...SKILL_TASKS];

