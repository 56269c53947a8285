/**
 * A method's card: what the method is for the comparison and how the suite runs and shows it (its role,
 * display name and colour, training defaults per profile, bench options, published counts), beside its
 * maths and adapter format in src/adapt/peft.ts. Each method's file in methods/ exports both; the cards
 * register here, in methods/index.ts's order (the order reports list methods in).
 *
 * Reports never read this registry: run.json records the card fields they use (cardRecords), so a
 * results folder can be drawn on its own.
 */
import { unknownNameMessage } from '../model/config.js';
import type { MethodCardRecord } from '../results/results_run.js';
import { getMethod } from './peft.js';

/**
 * What a method is for the comparison, as data: the baseline the gaps are measured against (exactly one
 * method), methods that learn input prompts or attention prefixes, reparameterisations of the weights
 * (low-rank deltas, rescaling vectors), selective tuning of existing weights, and hand-written prompts.
 */
export const METHOD_ROLES = ['baseline', 'prompt', 'prefix', 'reparameterisation', 'selective', 'hand-written'] as const;
export type MethodRole = (typeof METHOD_ROLES)[number];

/** The optimiser settings a method's trials get when the experiment file does not set them. */
export interface MethodTrainingSettings {
  optimizer: string;
  learningRate: number;
  weightDecay: number;
}

/** A method's training defaults, with their source, and per-profile changes (keys: the experiment profiles, quick, scaling, full). */
export interface MethodTraining extends MethodTrainingSettings {
  /** Where the values come from (paper, PEFT example, our measurement). */
  source: string;
  /** Settings that replace the defaults under one profile (short budgets want higher rates). */
  profiles?: Readonly<Record<string, Partial<MethodTrainingSettings>>>;
}

export interface MethodCard {
  /** The name of the method (src/adapt/peft.ts's PeftMethod.name) this card describes. */
  readonly name: string;
  /** One line for help texts and reports. */
  readonly summary: string;
  /** The paper the method comes from. */
  readonly reference: string;
  /** The method's place in the comparison (see {@link METHOD_ROLES}). */
  readonly role: MethodRole;
  /** How figures and tables show it: display name and the colour it has in every figure. */
  readonly display: { readonly name: string; readonly colour: string };
  /** Optimiser defaults for its trials. */
  readonly training: MethodTraining;
  /**
   * `peftscale bench`: the options it is benchmarked with (command-line strings), and whether the PyTorch
   * reference step (scripts/reference_step.py) implements it.
   */
  readonly benchmark: { readonly options: Readonly<Record<string, string>>; readonly referenceStep: boolean };
  /** Hugging Face PEFT's published trainable count on gpt2 for a setting of this method (its default options), when there is one. */
  readonly publishedGpt2?: { readonly setting: string; readonly trainable: number };
}

const cards = new Map<string, MethodCard>();

/** Adds a method's card; its method must be registered (src/adapt/peft.ts), and its role, colour and display name valid and its own. */
export function registerCard(card: MethodCard): void {
  getMethod(card.name); // a card without its method is a programming error (the message names the registered ones)
  if (cards.has(card.name)) throw new Error(`a card for method "${card.name}" is already registered`);
  if (!(METHOD_ROLES as readonly string[]).includes(card.role)) throw new Error(`method "${card.name}": role ${unknownNameMessage('role', card.role, METHOD_ROLES)}`);
  if (!/^#[0-9a-f]{6}$/.test(card.display.colour)) throw new Error(`method "${card.name}": display.colour = ${JSON.stringify(card.display.colour)}; allowed: a colour as #rrggbb (lower case)`);
  const clash = [...cards.values()].find((other) => other.display.name === card.display.name || other.display.colour === card.display.colour);
  if (clash !== undefined) throw new Error(`method "${card.name}": display ${JSON.stringify(card.display)} repeats the name or colour of "${clash.name}"; allowed: a name and colour of its own`);
  cards.set(card.name, card);
}

/** The card of a registered method; an unknown name suggests the nearest one. */
export function methodCard(name: string): MethodCard {
  const card = cards.get(name);
  if (card === undefined) throw new Error(unknownNameMessage('method', name, [...cards.keys()]));
  return card;
}

/** Every card, in registration order (methods/index.ts's order). */
export function registeredCards(): MethodCard[] {
  return [...cards.values()];
}

/** The card with role "baseline" (gaps are measured against it); none or several is an error. */
export function baselineMethod(): MethodCard {
  const found = [...cards.values()].filter((card) => card.role === 'baseline');
  if (found.length !== 1) {
    throw new Error(`exactly one registered method must have role "baseline", found ${found.length} (${found.map((m) => m.name).join(', ') || 'none'}; are the methods registered? import methods/index.js)`);
  }
  return found[0];
}

/** A method's training defaults under a profile: its defaults with the profile's changes applied. */
export function trainingDefaults(card: MethodCard, profile: string): MethodTrainingSettings {
  const { optimizer, learningRate, weightDecay } = card.training;
  return { optimizer, learningRate, weightDecay, ...(card.training.profiles?.[profile] ?? {}) };
}

/** What run.json records of every registered card (in order): the fields reports draw with. */
export function cardRecords(): MethodCardRecord[] {
  return registeredCards().map((card) => ({
    name: card.name,
    role: card.role,
    display: { name: card.display.name, colour: card.display.colour },
    learnedPrompt: getMethod(card.name).learnedPrompt !== undefined,
    ...(card.publishedGpt2 === undefined ? {} : { publishedGpt2: { setting: card.publishedGpt2.setting, trainable: card.publishedGpt2.trainable } }),
  }));
}
