/**
 * Skills that pretraining builds and downstream tasks ask for, with the distance between the pretraining
 * wording and the downstream template as a declared knob.
 *
 * Three skills of different kinds:
 * - `lookup` (in-context binding and restating): "Bipo is white. Vini is pink. Dax is red. So Vini is pink."
 *   1-6 distractor bindings, so that the capacity to hold many bindings shows.
 * - `versus` (in-context comparison): "Bipo has 3 coins. Vini has 7 coins. Dax has 5 coins. So, of Dax and
 *   Vini, Vini has more coins." Two bound numbers to find and compare, 1-3 distractors (so that 100 prompt tokens still fit).
 * - `recall` (fact recall from the weights): "Bazo wears a red hat." The hat colour of each world character
 *   is stated exactly `hatExposures` times (2, 8 or 32) in the corpus and nowhere in the task contexts.
 *
 * The knob. Each skill has five *triggers*, the words that end right before the answer (the label word).
 * Trigger d appears in the corpus with frequency TRIGGER_FREQUENCIES[d] among that skill's restatements
 * (50%, 10%, 1%, 0.1%, 0%); the rest (38.9%) use varied natural forms that no task uses. The downstream
 * task `<skill>-d<d>` ends with trigger d: distance 0 is the pretraining wording itself, distance 4 a
 * wording never seen (its bytes all are). Why triggers at controlled frequencies: a pilot (notes,
 * frozen-models.md) showed that one pretrained trigger makes distance a switch (the template either ends
 * with a learned trigger or not); several at graded frequencies make it a dial, and each template's real
 * distance is then read off the frozen model's zero-shot accuracy (the capability gates).
 *
 * Label words are colour words and " more"/" fewer", which the corpus spells constantly; they differ in
 * their first letter, so after the shared leading space one byte decides.
 */
import { Random } from '../src/util/random.js';
import type { TaskExample } from './types.js';
import { COLOURS, factId, randomName, type Character, type World } from './world.js';

/** Frequency of trigger d among a skill's restatements in the corpus; the index is the template distance. */
export const TRIGGER_FREQUENCIES = [0.5, 0.1, 0.01, 0.001, 0] as const;
/** The template distances a task can ask for (0 = the pretraining wording, 4 = never in pretraining). */
export const TEMPLATE_DISTANCES = [0, 1, 2, 3, 4] as const;
export type TemplateDistance = (typeof TEMPLATE_DISTANCES)[number];

export const SKILL_NAMES = ['lookup', 'versus', 'recall'] as const;
export type SkillName = (typeof SKILL_NAMES)[number];

/** One question of a skill: the context (possibly empty), the words around the answer, the answer. */
export interface SkillItem {
  /** Sentences the answer is read from ('' for recall: the answer is in the weights). */
  context: string;
  /** Fills a trigger or form ("So ${a} is"). */
  a: string;
  b: string;
  /** The label word, with its leading space. */
  label: string;
  /** World facts the item is about (recall only). */
  facts: string[];
  /** Distractors in the context (in-context skills), or the exposures of the fact (recall). */
  difficulty: number;
}

/** A phrase that ends right before the label word, and what follows the label in running text. */
interface Form {
  before: (item: SkillItem) => string;
  after: string;
}

/** A skill: its labels, triggers by distance, varied forms, and how to draw items. */
export interface Skill {
  name: SkillName;
  kind: string;
  description: string;
  labels: readonly string[];
  /** Index = template distance. */
  triggers: readonly Form[];
  /** The other natural forms of the corpus (38.9% of restatements); no task uses them. */
  varied: readonly Form[];
}

const COLOUR_LABELS = COLOURS.map((c) => ` ${c}`);
const MORE = ' more';
const FEWER = ' fewer';

const LOOKUP: Skill = {
  name: 'lookup',
  kind: 'in-context lookup',
  description: 'Names bound to colours, 1-6 distractors; which colour was a name bound to?',
  labels: COLOUR_LABELS,
  triggers: [
    { before: (i) => `So ${i.a} is`, after: '.' },
    { before: (i) => `So ${i.a} looks`, after: '.' },
    { before: (i) => `So the coat of ${i.a} is`, after: '.' },
    { before: (i) => `We saw that ${i.a} was`, after: '.' },
    { before: (i) => `Colour of ${i.a}:`, after: '.' },
  ],
  varied: [
    { before: (i) => `Then ${i.a} is`, after: '.' },
    { before: (i) => `Yes, ${i.a} is`, after: '.' },
    { before: (i) => `Recall that ${i.a} is`, after: '.' },
    { before: (i) => `As we said, ${i.a} is`, after: '.' },
    { before: (i) => `Remember, ${i.a} is`, after: ' indeed.' },
  ],
};

const VERSUS: Skill = {
  name: 'versus',
  kind: 'in-context comparison',
  description: 'Names bound to coin counts, 1-3 distractors; does one of two named have more or fewer coins?',
  labels: [MORE, FEWER],
  triggers: [
    { before: (i) => `So, of ${i.b} and ${i.a}, ${i.a} has`, after: ' coins.' },
    { before: (i) => `So, next to ${i.b}, ${i.a} has`, after: ' coins.' },
    { before: (i) => `So, compared with ${i.b}, ${i.a} has`, after: ' coins.' },
    { before: (i) => `In short, against ${i.b}, ${i.a} owns`, after: ' coins.' },
    { before: (i) => `${i.a} vs ${i.b}: ${i.a} has`, after: '.' },
  ],
  varied: [
    { before: (i) => `Then, of ${i.b} and ${i.a}, ${i.a} has`, after: ' coins.' },
    { before: (i) => `Thus, of ${i.a} and ${i.b}, ${i.a} has`, after: ' coins.' },
    { before: (i) => `Of ${i.b} and ${i.a}, it is ${i.a} who has`, after: ' coins.' },
    { before: (i) => `Between ${i.a} and ${i.b}, ${i.a} has`, after: ' coins.' },
  ],
};

const RECALL: Skill = {
  name: 'recall',
  kind: 'fact recall',
  description: 'The hat colour of a world character, stated 2, 8 or 32 times in pretraining and never in the question',
  labels: COLOUR_LABELS,
  triggers: [
    { before: (i) => `${i.a} wears a`, after: ' hat.' },
    { before: (i) => `The hat of ${i.a} is`, after: '.' },
    { before: (i) => `${i.a} has a hat that is`, after: '.' },
    { before: (i) => `On its head ${i.a} has a`, after: ' hat.' },
    { before: (i) => `Hat of ${i.a}:`, after: '.' },
  ],
  varied: [
    { before: (i) => `${i.a} likes to wear a`, after: ' hat.' },
    { before: (i) => `Every day ${i.a} puts on a`, after: ' hat.' },
    { before: (i) => `You will often see ${i.a} in a`, after: ' hat.' },
  ],
};

export const SKILLS: Readonly<Record<SkillName, Skill>> = { lookup: LOOKUP, versus: VERSUS, recall: RECALL };

/** The task name of a skill at a distance ("lookup-d2"). */
export function skillTaskName(skill: SkillName, distance: TemplateDistance): string {
  return `${skill}-d${distance}`;
}

/** The downstream text at a distance, ending right before the label word. */
export function skillPrompt(skill: Skill, item: SkillItem, distance: TemplateDistance): string {
  const trigger = skill.triggers[distance].before(item);
  return item.context === '' ? trigger : `${item.context} ${trigger}`;
}

/** A restatement form drawn with the trigger frequencies (else one of the varied forms). */
export function drawForm(skill: Skill, rng: Random): Form {
  let u = rng.next();
  for (let d = 0; d < TRIGGER_FREQUENCIES.length; d++) {
    if (u < TRIGGER_FREQUENCIES[d]) return skill.triggers[d];
    u -= TRIGGER_FREQUENCIES[d];
  }
  return rng.pick(skill.varied);
}

/** Up to n distinct fresh names. */
function freshNames(rng: Random, n: number): string[] {
  const names = new Set<string>();
  while (names.size < n) names.add(randomName(rng));
  return [...names];
}

/** An in-context lookup episode: 2-7 bindings, one asked about. */
export function lookupItem(rng: Random): SkillItem {
  const distractors = 1 + rng.int(6);
  const names = freshNames(rng, distractors + 1);
  const colours = names.map(() => rng.pick(COLOURS));
  const asked = rng.int(names.length);
  return {
    context: names.map((n, i) => `${n} is ${colours[i]}.`).join(' '),
    a: names[asked],
    b: '',
    label: ` ${colours[asked]}`,
    facts: [],
    difficulty: distractors,
  };
}

/** An in-context comparison episode: 3-5 names with coin counts; two with different counts compared. */
export function versusItem(rng: Random): SkillItem {
  const distractors = 1 + rng.int(3);
  const names = freshNames(rng, distractors + 2);
  const coins = names.map(() => 1 + rng.int(9));
  const [i, j] = rng.shuffle(names.map((_, k) => k)).slice(0, 2);
  if (coins[i] === coins[j]) coins[j] = 1 + ((coins[j] + rng.int(8)) % 9); // never a tie: (c + 0..7) mod 9 + 1 ≠ c
  return {
    context: names.map((n, k) => `${n} has ${coins[k]} coin${coins[k] === 1 ? '' : 's'}.`).join(' '),
    a: names[i],
    b: names[j],
    label: coins[i] > coins[j] ? MORE : FEWER,
    facts: [],
    difficulty: distractors,
  };
}

/** The recall question about a world character. */
export function recallItem(c: Character): SkillItem {
  return { context: '', a: c.name, b: '', label: ` ${c.hat}`, facts: [factId(c.id, 'hat')], difficulty: c.hatExposures };
}

/** Running text of an item in the corpus: context, then a restatement in a form drawn by frequency. */
export function skillSentence(skill: Skill, item: SkillItem, rng: Random): string {
  const form = drawForm(skill, rng);
  const restated = `${form.before(item)}${item.label}${form.after}`;
  return item.context === '' ? restated : `${item.context} ${restated}`;
}

/** Items per character id of a split: in-context tasks draw fresh episodes, as many per id as this. */
export const EPISODES_PER_ID = 16;

/** The candidate items of a skill for a group of world characters (the split's characters). */
export function skillItems(skill: SkillName, world: World, ids: readonly string[], rng: Random): { id: string; item: SkillItem }[] {
  if (skill === 'recall') {
    return ids.map((id) => {
      const c = world.characterById.get(id);
      if (c === undefined) throw new Error(`unknown character id ${id}`);
      return { id: `recall:${id}@${c.hatExposures}`, item: recallItem(c) };
    });
  }
  const draw = skill === 'lookup' ? lookupItem : versusItem;
  return Array.from({ length: ids.length * EPISODES_PER_ID }, (_, k) => {
    const item = draw(rng);
    return { id: `${skill}:${ids[0] ?? ''}:${k}:${item.difficulty}`, item };
  });
}

/** Task examples of a skill at a distance (the text the model reads is the example's input). */
export function skillExamples(skill: SkillName, distance: TemplateDistance, world: World, ids: readonly string[], rng: Random): TaskExample[] {
  return skillItems(skill, world, ids, rng).map(({ id, item }) => ({ id, input: skillPrompt(SKILLS[skill], item, distance), label: item.label, facts: item.facts }));
}
