/**
 * A seeded, deterministic toy world for the benchmark: animal characters living in towns.
 *
 * Each character has a short made-up name, a kind (cat, fox, ...), a coat colour, a home town, a number
 * of coins, a best friend (symmetric), and half of them a hobby. Towns have names and a terrain. Every
 * attribute is one *fact* with a stable id ("c17.colour"), so tasks can say which facts an example is
 * about and tests can check where each fact appears.
 *
 * Why this design: the facts are arbitrary (nothing in a name predicts its colour), so a model can know
 * them only by memorising the corpus; a character carries ~25 bits of facts (the friend alone ~log2(n)),
 * so the default 2,000 characters (~50K bits, ~11K facts) are more than the ~42K-parameter presets can
 * store (at most ~2 bits per parameter, far less after short training) while the ~6M-parameter presets
 * can hold most of them: scale matters. Raise `worldSize` to make memorisation harder.
 */
import { Random } from '../src/util/random.js';

/** Bumped whenever a generator change alters the bytes produced for the same config (cache keys). */
export const DATASET_VERSION = 'peftscale-world-v3';

/** Animal kinds (not label words of any task). */
export const KINDS = ['cat', 'dog', 'fox', 'owl', 'hen', 'bear', 'goat', 'frog'] as const;
/** Coat colours (also the labels of the colour task); distinct first letters. */
export const COLOURS = ['red', 'blue', 'green', 'white', 'pink', 'yellow'] as const;
/** Hobbies, stated for only part of the characters (the rest have none: "unknown" in the entail task). */
export const HOBBIES = ['sing', 'swim', 'read', 'dance', 'paint', 'cook'] as const;
/** Town terrains, written as they read in a sentence ("Lumby lies by the sea"). */
export const TERRAINS = ['by the sea', 'in the hills', 'by a river', 'in the woods'] as const;
/** Coins range over 1..MAX_COINS (single digits, so numbers stay one byte). */
export const MAX_COINS = 9;

/**
 * How many times the corpus states each character's hat colour (the recall skill): every character gets
 * one of these counts, in equal shares, so recall can be read against exposures per fact.
 */
export const RECALL_EXPOSURES = [2, 8, 32] as const;

/** Fraction of characters that have a hobby. */
const HOBBY_FRACTION = 0.5;
/** Names are drawn from a finite syllable space; beyond this size generation would slow and collide. */
export const MAX_WORLD_SIZE = 50_000;

export type Relation = 'kind' | 'colour' | 'town' | 'coins' | 'hobby' | 'friend' | 'terrain' | 'hat';

/** One atomic statement about an entity. */
export interface Fact {
  /** Stable id: `${subject}.${relation}`, e.g. "c17.colour". */
  id: string;
  /** Entity id of the subject ("c17" for a character, "t3" for a town). */
  subject: string;
  relation: Relation;
  /** The object as it reads in text: a colour word, a town name, a friend's name, a digit, ... */
  value: string;
}

/** An animal character. */
export interface Character {
  id: string;
  name: string;
  kind: string;
  colour: string;
  /** Town id. */
  town: string;
  coins: number;
  hobby: string | null;
  /** Character id of the best friend (symmetric); null only for the odd one out. */
  friend: string | null;
  /** Hat colour (one of COLOURS): the fact of the recall skill, stated only in recall documents. */
  hat: string;
  /** How many times the corpus states the hat colour (one of RECALL_EXPOSURES). */
  hatExposures: number;
}

/** A town. */
export interface Town {
  id: string;
  name: string;
  terrain: string;
}

/** The generated world. */
export interface World {
  seed: number;
  characters: Character[];
  towns: Town[];
  facts: Fact[];
  /** Lookups, built once. */
  characterById: Map<string, Character>;
  townById: Map<string, Town>;
  factById: Map<string, Fact>;
}

/** Generator settings. */
export interface WorldConfig {
  seed: number;
  /** Number of characters (entities the tasks ask about). */
  worldSize: number;
  /** Number of towns (labels of the town task); default 8. */
  townCount?: number;
}

/** Default town count. */
export const DEFAULT_TOWN_COUNT = 8;

const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';
const TOWN_ENDINGS = ['by', 'ton', 'vik', 'ham', 'dal'];

/** Words used in templates and labels: names must never equal one of them. */
const RESERVED = new Set<string>([
  ...KINDS, ...COLOURS, ...HOBBIES, 'the', 'and', 'has', 'is', 'in', 'to', 'a', 'an', 'of', 'by', 'yes', 'no',
  'true', 'false', 'unknown', 'sea', 'hills', 'river', 'woods', 'town', 'coin', 'coins', 'more', 'than', 'does',
  'live', 'lives', 'like', 'likes', 'what', 'where', 'who', 'one', 'two', 'six', 'ten', 'nine', 'five', 'four',
  'bed', 'bad', 'dog', 'god', 'sun', 'son', 'man', 'men', 'pen', 'bin', 'top', 'pot', 'not', 'bit', 'sit', 'set',
]);

/** Throws if a config value is out of range, naming the field, the value and what is allowed. */
export function validateWorldConfig(config: WorldConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.seed)) problems.push(`seed = ${JSON.stringify(config.seed)}: must be an integer`);
  const size = config.worldSize;
  if (!Number.isInteger(size) || size < 2 || size > MAX_WORLD_SIZE) {
    problems.push(`worldSize = ${JSON.stringify(size)}: must be an integer in [2, ${MAX_WORLD_SIZE}]`);
  }
  const towns = config.townCount ?? DEFAULT_TOWN_COUNT;
  if (!Number.isInteger(towns) || towns < 2 || towns > 40) {
    problems.push(`townCount = ${JSON.stringify(towns)}: must be an integer in [2, 40]`);
  }
  if (problems.length > 0) throw new Error(`invalid world config:\n  ${problems.join('\n  ')}`);
}

/** Builds the world; the same config always gives the same world. */
export function generateWorld(config: WorldConfig): World {
  validateWorldConfig(config);
  const townCount = config.townCount ?? DEFAULT_TOWN_COUNT;
  const used = new Set<string>();
  const towns = makeTowns(new Random(config.seed, 'world:towns'), townCount, used);
  const characters = makeCharacters(new Random(config.seed, 'world:characters'), config.worldSize, towns, used);
  pairFriends(new Random(config.seed, 'world:friends'), characters);
  giveHats(new Random(config.seed, 'world:hats'), characters);
  const facts = [...characters.flatMap((c) => characterFacts(c, towns, characters)), ...towns.map(townFact)];
  return {
    seed: config.seed,
    characters,
    towns,
    facts,
    characterById: new Map(characters.map((c) => [c.id, c])),
    townById: new Map(towns.map((t) => [t.id, t])),
    factById: new Map(facts.map((f) => [f.id, f])),
  };
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A pronounceable 3-5 letter name: CVC, CVCV or CVCVC. */
function drawName(rng: Random): string {
  const c = (): string => CONSONANTS.charAt(rng.int(CONSONANTS.length));
  const v = (): string => VOWELS.charAt(rng.int(VOWELS.length));
  const pattern = rng.int(10);
  if (pattern === 0) return c() + v() + c();
  if (pattern < 6) return c() + v() + c() + v();
  return c() + v() + c() + v() + c();
}

/** A capitalised made-up name that is no template word (it may repeat across calls: in-context skills bind fresh names per episode). */
export function randomName(rng: Random): string {
  for (;;) {
    const name = drawName(rng);
    if (!RESERVED.has(name)) return capitalise(name);
  }
}

/** Draws until the name is new and not a template word. */
function uniqueName(rng: Random, used: Set<string>, draw: (r: Random) => string): string {
  for (;;) {
    const name = draw(rng);
    if (!used.has(name) && !RESERVED.has(name)) {
      used.add(name);
      return capitalise(name);
    }
  }
}

function makeTowns(rng: Random, count: number, used: Set<string>): Town[] {
  const draw = (r: Random): string =>
    CONSONANTS.charAt(r.int(CONSONANTS.length)) + VOWELS.charAt(r.int(VOWELS.length)) +
    CONSONANTS.charAt(r.int(CONSONANTS.length)) + r.pick(TOWN_ENDINGS);
  return Array.from({ length: count }, (_, i) => ({
    id: `t${i}`,
    name: uniqueName(rng, used, draw),
    // Round-robin keeps every terrain present even with few towns.
    terrain: TERRAINS[i % TERRAINS.length],
  }));
}

function makeCharacters(rng: Random, count: number, towns: Town[], used: Set<string>): Character[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `c${i}`,
    name: uniqueName(rng, used, drawName),
    kind: rng.pick(KINDS),
    colour: rng.pick(COLOURS),
    town: rng.pick(towns).id,
    coins: 1 + rng.int(MAX_COINS),
    hobby: rng.next() < HOBBY_FRACTION ? rng.pick(HOBBIES) : null,
    friend: null,
    hat: '',
    hatExposures: 0,
  }));
}

/** Hats from their own random stream (the other attributes stay as in earlier versions); exposures in equal shares. */
function giveHats(rng: Random, characters: Character[]): void {
  for (const c of characters) c.hat = rng.pick(COLOURS);
  rng.shuffle(characters.map((_, i) => i)).forEach((index, rank) => {
    characters[index].hatExposures = RECALL_EXPOSURES[rank % RECALL_EXPOSURES.length];
  });
}

/** Random perfect matching: friendship is symmetric, so "A and B are best friends" states two facts. */
function pairFriends(rng: Random, characters: Character[]): void {
  const order = rng.shuffle(characters.map((_, i) => i));
  for (let i = 0; i + 1 < order.length; i += 2) {
    const a = characters[order[i]];
    const b = characters[order[i + 1]];
    a.friend = b.id;
    b.friend = a.id;
  }
}

function characterFacts(c: Character, towns: Town[], characters: Character[]): Fact[] {
  const fact = (relation: Relation, value: string): Fact => ({ id: factId(c.id, relation), subject: c.id, relation, value });
  const facts = [
    fact('kind', c.kind),
    fact('colour', c.colour),
    fact('town', towns[Number(c.town.slice(1))].name),
    fact('coins', String(c.coins)),
  ];
  if (c.hobby !== null) facts.push(fact('hobby', c.hobby));
  if (c.friend !== null) facts.push(fact('friend', characters[Number(c.friend.slice(1))].name));
  facts.push(fact('hat', c.hat));
  return facts;
}

function townFact(t: Town): Fact {
  return { id: factId(t.id, 'terrain'), subject: t.id, relation: 'terrain', value: t.terrain };
}

/** The id of the fact stating `relation` of `subject`. */
export function factId(subject: string, relation: Relation): string {
  return `${subject}.${relation}`;
}

/** The subject entity id of a fact id ("c17.colour" → "c17"). */
export function factSubject(id: string): string {
  return id.slice(0, id.indexOf('.'));
}

/** Name of a character's home town. */
export function townName(world: World, character: Character): string {
  const town = world.townById.get(character.town);
  if (town === undefined) throw new Error(`character ${character.id} has unknown town ${character.town}`);
  return town.name;
}

/** "a" or "an" for a word (only our own vocabulary, so the first letter decides). */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** Which split's characters each character belongs to, shared by every task and the corpus demonstrations. */
export interface EntityPartition {
  train: string[];
  dev: string[];
  test: string[];
  /** Character id → split name. */
  splitOf: Map<string, 'train' | 'dev' | 'test'>;
}

/**
 * Fractions of characters per split. Fixed (not derived from split sizes) so the corpus, which only
 * demonstrates tasks on train characters, agrees with every task whatever sizes are asked for.
 */
export const ENTITY_SPLIT_FRACTIONS = { train: 0.6, dev: 0.15, test: 0.25 } as const;

/** Splits the characters by entity: a test example's facts are never about a train character. */
export function partitionEntities(world: World): EntityPartition {
  const ids = new Random(world.seed, 'world:partition').shuffle(world.characters.map((c) => c.id));
  const nTest = Math.round(ids.length * ENTITY_SPLIT_FRACTIONS.test);
  const nDev = Math.round(ids.length * ENTITY_SPLIT_FRACTIONS.dev);
  const test = ids.slice(0, nTest);
  const dev = ids.slice(nTest, nTest + nDev);
  const train = ids.slice(nTest + nDev);
  const splitOf = new Map<string, 'train' | 'dev' | 'test'>();
  for (const [name, group] of [['train', train], ['dev', dev], ['test', test]] as const) {
    for (const id of group) splitOf.set(id, name);
  }
  return { train, dev, test, splitOf };
}

/** Counts for reports: entities, facts, and a rough information content of the facts in bits. */
export interface WorldStats {
  characters: number;
  towns: number;
  facts: number;
  /** Sum over facts of log2(number of possible values): what a model must store to know them all. */
  factBits: number;
}

/** Summary numbers of a world. */
export function worldStats(world: World): WorldStats {
  const choices: Record<Relation, number> = {
    kind: KINDS.length,
    colour: COLOURS.length,
    town: world.towns.length,
    coins: MAX_COINS,
    hobby: HOBBIES.length + 1,
    friend: Math.max(2, world.characters.length - 1),
    terrain: TERRAINS.length,
    hat: COLOURS.length,
  };
  const factBits = world.facts.reduce((sum, f) => sum + Math.log2(choices[f.relation]), 0);
  return { characters: world.characters.length, towns: world.towns.length, facts: world.facts.length, factBits: Math.round(factBits) };
}
