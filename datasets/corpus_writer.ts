/**
 * The corpus's sentences and documents: paraphrase templates per fact type (the Writer), and packing of
 * sentences into documents of at most MAX_DOCUMENT_BYTES. What goes into the corpus, in which amounts, is
 * corpus.ts.
 */
import { Random } from '../src/util/random.js';
import { article, factId, townName, type Character, type Town, type World } from './world.js';

/** Longest document in bytes: with the trainer's <|endoftext|> it fills at most one 256-token context. */
export const MAX_DOCUMENT_BYTES = 255;

/**
 * A document and the ids of the facts it is about. Fact documents state each listed fact in words;
 * demonstrations list the facts their questions are about (a "no" answer does not state the value).
 */
export interface CorpusDocument {
  text: string;
  facts: string[];
  type: 'profile' | 'town' | 'list' | 'story' | 'demo' | 'lookup' | 'versus' | 'recall';
}

/** UTF-8 length of a text: its length in byte tokens. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A sentence and the facts it states. */
export interface Piece {
  text: string;
  facts: string[];
}

/** Greedily joins pieces into documents within MAX_DOCUMENT_BYTES (a piece is never cut). */
export function pack(pieces: Piece[], type: CorpusDocument['type'], separator = ' '): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  let current: Piece[] = [];
  const flush = (): void => {
    if (current.length === 0) return;
    docs.push({ text: current.map((p) => p.text).join(separator), facts: current.flatMap((p) => p.facts), type });
    current = [];
  };
  for (const piece of pieces) {
    const length = byteLength([...current, piece].map((p) => p.text).join(separator));
    if (length > MAX_DOCUMENT_BYTES) flush();
    current.push(piece);
  }
  flush();
  return docs;
}

export type CharacterRelation = 'kind' | 'colour' | 'town' | 'coins' | 'hobby' | 'friend';
export const ALL_RELATIONS: readonly CharacterRelation[] = ['kind', 'colour', 'town', 'coins', 'hobby', 'friend'];

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function coinsPhrase(k: number, words: boolean): string {
  return `${words ? NUMBER_WORDS[k] : String(k)} coin${k === 1 ? '' : 's'}`;
}

function plural(kind: string): string {
  return kind.endsWith('x') ? `${kind}es` : `${kind}s`;
}

function nameList(names: readonly string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Writes sentences and documents about the world with randomly chosen paraphrase templates. */
export class Writer {
  constructor(readonly world: World) {}

  private character(id: string): Character {
    const c = this.world.characterById.get(id);
    if (c === undefined) throw new Error(`unknown character ${id}`);
    return c;
  }

  /** One sentence stating `relation` of c, or null if c has no such fact. */
  sentence(rng: Random, c: Character, relation: CharacterRelation): Piece | null {
    const n = c.name;
    const fact = [factId(c.id, relation)];
    const one = (templates: string[]): Piece => ({ text: rng.pick(templates), facts: fact });
    switch (relation) {
      case 'kind':
        return one([`${n} is ${article(c.kind)} ${c.kind}.`, `${n} was born ${article(c.kind)} ${c.kind}.`,
          `Everyone knows that ${n} is ${article(c.kind)} ${c.kind}.`, `The ${c.kind} called ${n} is well known.`]);
      case 'colour':
        return one([`${n} is ${c.colour}.`, `${n} has a ${c.colour} coat.`, `The coat of ${n} is ${c.colour}.`,
          `You can tell ${n} by its ${c.colour} coat.`]);
      case 'town': {
        const t = townName(this.world, c);
        return one([`${n} lives in ${t}.`, `${n}'s home is in ${t}.`, `${n} has a house in ${t}.`, `In ${t} lives ${n}.`,
          `${n} lives in the town of ${t}.`]);
      }
      case 'coins':
        return one([`${n} has ${coinsPhrase(c.coins, false)}.`, `${n} owns ${coinsPhrase(c.coins, true)}.`,
          `There ${c.coins === 1 ? 'is' : 'are'} ${coinsPhrase(c.coins, rng.next() < 0.5)} in ${n}'s purse.`,
          `${n} keeps ${coinsPhrase(c.coins, true)} under the bed.`]);
      case 'hobby':
        if (c.hobby === null) return null;
        return one([`${n} likes to ${c.hobby}.`, `${n} loves to ${c.hobby}.`, `What ${n} likes best is to ${c.hobby}.`,
          `Every day ${n} goes out to ${c.hobby}.`]);
      case 'friend': {
        if (c.friend === null) return null;
        const m = this.character(c.friend);
        // Friendship is symmetric, so every friend sentence states both characters' friend facts.
        const facts = [fact[0], factId(m.id, 'friend')];
        const text = rng.pick([`${n}'s best friend is ${m.name}.`, `${n} and ${m.name} are best friends.`,
          `${n} is the best friend of ${m.name}.`, `${m.name} and ${n} have been best friends for years.`]);
        return { text, facts };
      }
    }
  }

  /** Sentences stating the given relations of c in random order; sometimes kind and colour in one. */
  profilePieces(rng: Random, c: Character, relations: readonly CharacterRelation[]): Piece[] {
    let rest = [...relations];
    const pieces: Piece[] = [];
    if (rest.includes('kind') && rest.includes('colour') && rng.next() < 0.4) {
      pieces.push({ text: `${c.name} is ${article(c.colour)} ${c.colour} ${c.kind}.`, facts: [factId(c.id, 'kind'), factId(c.id, 'colour')] });
      rest = rest.filter((r) => r !== 'kind' && r !== 'colour');
    }
    for (const r of rest) {
      const piece = this.sentence(rng, c, r);
      if (piece !== null) pieces.push(piece);
    }
    return rng.shuffle(pieces);
  }

  /** The town's terrain, then some of its residents. */
  townPieces(rng: Random, t: Town, residentCount = 0): Piece[] {
    const terrain = { text: rng.pick([`${t.name} lies ${t.terrain}.`, `${t.name} is a town ${t.terrain}.`,
      `The town of ${t.name} is ${t.terrain}.`]), facts: [factId(t.id, 'terrain')] };
    const residents = rng.shuffle(this.world.characters.filter((c) => c.town === t.id)).slice(0, residentCount);
    if (residents.length === 0) return [terrain];
    const names = nameList(residents.map((c) => c.name));
    const text = rng.pick([`${names} live${residents.length === 1 ? 's' : ''} there.`, `Among the folk of ${t.name} ${residents.length === 1 ? 'is' : 'are'} ${names}.`]);
    return [terrain, { text, facts: residents.map((c) => factId(c.id, 'town')) }];
  }

  /** A random training/held-out document other than a demonstration. */
  filler(rng: Random): CorpusDocument {
    const roll = rng.next();
    if (roll < 0.4) return this.partialProfile(rng);
    if (roll < 0.55) return first(pack(this.townPieces(rng, rng.pick(this.world.towns), 2 + rng.int(5)), 'town'));
    if (roll < 0.7) return this.list(rng);
    return this.story(rng);
  }

  private partialProfile(rng: Random): CorpusDocument {
    const c = rng.pick(this.world.characters);
    const relations = rng.shuffle([...ALL_RELATIONS]).slice(0, 2 + rng.int(4));
    return first(pack(this.profilePieces(rng, c, relations), 'profile'));
  }

  /** Several characters sharing a colour or a kind, named in one sentence. */
  private list(rng: Random): CorpusDocument {
    const byColour = rng.next() < 0.5;
    const key = (c: Character): string => (byColour ? c.colour : c.kind);
    const value = key(rng.pick(this.world.characters));
    const members = rng.shuffle(this.world.characters.filter((c) => key(c) === value)).slice(0, 2 + rng.int(5));
    const names = nameList(members.map((c) => c.name));
    const relation = byColour ? 'colour' : 'kind';
    const verb = members.length === 1 ? 'is' : 'are';
    const text = byColour
      ? rng.pick([`${names} ${verb} ${value}.`, `Coats come in many colours; the coat of ${names} is ${value}.`])
      : members.length === 1 ? `${names} is ${article(value)} ${value}.` : rng.pick([`${names} are ${plural(value)}.`, `The ${plural(value)} here include ${names}.`]);
    return { text, facts: members.map((c) => factId(c.id, relation)), type: 'list' };
  }

  /** A short story about a character and its friend, stating facts of both along the way. */
  private story(rng: Random): CorpusDocument {
    const a = rng.pick(this.world.characters);
    if (a.friend === null) return this.partialProfile(rng);
    const b = this.character(a.friend);
    const pieces: Piece[] = [{
      text: `One day ${a.name} the ${a.colour} ${a.kind} left ${townName(this.world, a)} to visit ${b.name}, ${a.name}'s best friend.`,
      facts: ['kind', 'colour', 'town', 'friend'].map((r) => factId(a.id, r as CharacterRelation)).concat(factId(b.id, 'friend')),
    }];
    for (const r of rng.shuffle(['town', 'kind', 'coins', 'hobby'] as CharacterRelation[]).slice(0, 1 + rng.int(3))) {
      const piece = this.sentence(rng, b, r);
      if (piece !== null) pieces.push(piece);
    }
    return first(pack(pieces, 'story'));
  }
}

export function first(docs: CorpusDocument[]): CorpusDocument {
  if (docs.length === 0) throw new Error('internal: a document generator produced nothing');
  return docs[0];
}
