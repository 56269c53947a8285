/**
 * The methods as a results folder's run.json records them (each method's card, copied when the run was
 * written): display names, colours and order, the baseline, the learned-prompt method and published
 * counts. Reports read methods from here, never from the method registry, so any results folder can be
 * drawn in a process that has loaded no method.
 */
import { BARE_ROW } from '../src/results/bench.js';
import { unknownNameMessage } from '../src/model/config.js';
import type { MethodCardRecord } from '../src/results/results.js';

export class MethodCards {
  private readonly byName: Map<string, MethodCardRecord>;

  /** `source` names where the cards came from, for errors (run.json, or today's registry for older folders). */
  constructor(
    readonly records: readonly MethodCardRecord[],
    readonly source: string,
  ) {
    this.byName = new Map(records.map((card) => [card.name, card]));
    const baselines = records.filter((card) => card.role === 'baseline');
    if (baselines.length !== 1) throw new Error(`${source}: methods: exactly one must have role "baseline", found ${baselines.length} (${baselines.map((c) => c.name).join(', ') || 'none'})`);
    const prompts = records.filter((card) => card.learnedPrompt);
    if (prompts.length > 1) throw new Error(`${source}: methods: at most one may have learnedPrompt, found ${prompts.map((c) => c.name).join(', ')}`);
  }

  /**
   * A method's card: a method the run's cards do not name is an error, so a results folder naming a
   * removed or misspelt method fails loudly instead of drawing it grey.
   */
  card(method: string): MethodCardRecord {
    const card = this.byName.get(method);
    if (card === undefined) throw new Error(`${this.source}: ${unknownNameMessage('method', method, [...this.byName.keys()])}`);
    return card;
  }

  /** A method's display name (the bench's bare-model row is not a method and keeps its name). */
  name(method: string): string {
    return method === BARE_ROW ? method : this.card(method).display.name;
  }

  /** A method's colour in every figure. */
  colour(method: string): string {
    return this.card(method).display.colour;
  }

  /** Position in the cards' list (the registry's order when the run was written), the order reports list methods in. */
  rank(method: string): number {
    return this.records.indexOf(this.card(method));
  }

  compare(a: string, b: string): number {
    return this.rank(a) - this.rank(b) || a.localeCompare(b);
  }

  /** The method gaps are measured against. */
  baseline(): MethodCardRecord {
    return this.records.find((card) => card.role === 'baseline') as MethodCardRecord;
  }

  /** The method whose adapter is one learned prompt (Lester et al.'s claims are about it), or null. */
  learnedPrompt(): string | null {
    return this.records.find((card) => card.learnedPrompt)?.name ?? null;
  }

  /** Hugging Face PEFT's published trainable counts for gpt2, in the cards' order. */
  publishedGpt2(): { method: string; setting: string; trainable: number }[] {
    return this.records.flatMap((card) => (card.publishedGpt2 === undefined ? [] : [{ method: card.name, ...card.publishedGpt2 }]));
  }
}
