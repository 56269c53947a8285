/**
 * Pure helpers behind the dataset commands (the CLI wiring lives elsewhere): describe a suite, print it
 * as a table, and show sample examples exactly as the model sees them. Nothing here prints or exits.
 */
import { Random } from '../src/util/random.js';
import { byteLength } from './corpus.js';
import { SPLIT_NAMES, type Task, type TaskSplits } from './types.js';

/** One task's summary. */
export interface TaskDescription {
  name: string;
  kind: string;
  description: string;
  labels: string[];
  sizes: Record<keyof TaskSplits, number>;
  majority: Record<keyof TaskSplits, { label: string; accuracy: number }>;
  /** Longest `format(example) + label` over all splits, in UTF-8 bytes (= byte-tokenizer tokens). */
  maxExampleBytes: number;
}

/** Summaries of the tasks: name, kind, labels, split sizes, majority baseline per split, longest example. */
export function describeTasks(tasks: readonly Task[]): TaskDescription[] {
  return tasks.map((task) => ({
    name: task.name,
    kind: task.kind,
    description: task.description,
    labels: [...task.labels],
    sizes: splitRecord((split) => task.splits[split].length),
    majority: splitRecord((split) => task.majorityBaseline(split)),
    maxExampleBytes: Math.max(0, ...SPLIT_NAMES.flatMap((s) => task.splits[s].map((e) => byteLength(task.format(e) + e.label)))),
  }));
}

function splitRecord<T>(value: (split: keyof TaskSplits) => T): Record<keyof TaskSplits, T> {
  return { train: value('train'), dev: value('dev'), test: value('test') };
}


/** Label words are shown quoted so their leading space is visible. */
function showLabels(labels: readonly string[], max = 6): string {
  const shown = labels.slice(0, max).map((l) => JSON.stringify(l));
  return labels.length > max ? `${shown.join(' ')} (+${labels.length - max})` : shown.join(' ');
}

/** A console table of task descriptions (pass tasks or the output of describeTasks). */
export function formatTaskTable(tasksOrDescriptions: readonly Task[] | readonly TaskDescription[]): string {
  const descriptions = tasksOrDescriptions.map((t) => ('sizes' in t ? t : describeTasks([t])[0]));
  const header = ['task', 'kind', 'labels', 'train', 'dev', 'test', 'majority (test)', 'max bytes'];
  const rows = descriptions.map((d) => [
    d.name,
    d.kind,
    showLabels(d.labels),
    String(d.sizes.train),
    String(d.sizes.dev),
    String(d.sizes.test),
    `${(100 * d.majority.test.accuracy).toFixed(1)}% ${JSON.stringify(d.majority.test.label)}`,
    String(d.maxExampleBytes),
  ]);
  return renderTable(header, rows);
}

function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** An example as the model sees it. */
export interface SampledExample {
  id: string;
  /** `task.format(example)`: the text the model reads, ending right before the label word. */
  text: string;
  /** The label word (with its leading space). */
  label: string;
  facts: string[];
}

/** n examples of a split, drawn at random (deterministic in seed), as the model sees them. */
export function sampleExamples(task: Task, split: keyof TaskSplits, n: number, seed: number): SampledExample[] {
  if (!SPLIT_NAMES.includes(split)) throw new Error(`unknown split "${String(split)}"; allowed: ${SPLIT_NAMES.join(', ')}`);
  if (!Number.isInteger(n) || n < 0) throw new Error(`n = ${JSON.stringify(n)}: must be a non-negative integer`);
  const picked = new Random(seed, `sample:${task.name}:${split}`).shuffle([...task.splits[split]]).slice(0, n);
  return picked.map((e) => ({ id: e.id, text: task.format(e), label: e.label, facts: [...e.facts] }));
}

/** A printable form of sampled examples: the model's text, then the label word it should score highest. */
export function formatSamples(task: Task, split: keyof TaskSplits, samples: readonly SampledExample[]): string {
  const blocks = samples.map((s, i) => {
    const facts = s.facts.length > 0 ? `  facts: ${s.facts.join(', ')}` : '';
    return `#${i + 1} ${s.id}${facts}\n${s.text}[${JSON.stringify(s.label)}]`;
  });
  const title = `${task.name} / ${split}: ${samples.length} example${samples.length === 1 ? '' : 's'}; the label word follows the text in ["..."]`;
  return [title, ...blocks].join('\n\n');
}
