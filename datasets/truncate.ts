/**
 * Fitting an input into the model's context: a text longer than its token budget is shortened in its
 * text fields (the end of the field is cut, as Hugging Face's `truncation="only_first"` does), never in the
 * template's scaffolding or in the label. The field cut first is the task's `truncateField` (the premise or
 * passage), then the longest remaining one. Token counts are those of the model's own tokenizer.
 */
import type { Tokenizer } from '../src/io/tokenizer.js';
import type { Task, TaskExample } from './types.js';

export interface FittedInput {
  /** Token ids of the (possibly shortened) input. */
  ids: number[];
  /** Whether the text was shortened. */
  truncated: boolean;
}

/** The example's input as token ids of at most `maxTokens`; throws when even empty fields do not fit. */
export function fitInput(task: Task, example: TaskExample, maxTokens: number, tokenizer: Tokenizer, truncateField?: string): FittedInput {
  const ids = tokenizer.encode(task.format(example));
  if (ids.length <= maxTokens) return { ids, truncated: false };
  const template = task.template;
  if (template === undefined || example.fields === undefined) {
    throw new Error(`task "${task.name}": example ${example.id} takes ${ids.length} tokens, more than the ${maxTokens} the context leaves, and the task has no text fields to shorten`);
  }
  const fields = { ...example.fields };
  const render = (): string => template.replace(/\{([^{}]+)\}/g, (_, name: string) => fields[name] ?? `{${name}}`);
  const order = [...Object.keys(fields)].sort((a, b) => (a === truncateField ? -1 : b === truncateField ? 1 : fields[b].length - fields[a].length));
  let current = ids;
  for (const name of order) {
    let fieldIds = tokenizer.encode(fields[name]);
    // Each round cuts at least the overflow from the field's ids (strictly fewer each time, so it ends);
    // re-encoding the rendered text settles merges across the cut.
    while (current.length > maxTokens && fieldIds.length > 0) {
      fieldIds = fieldIds.slice(0, Math.max(0, fieldIds.length - (current.length - maxTokens)));
      fields[name] = tokenizer.decode(fieldIds).replace(/\uFFFD+$/, '');
      current = tokenizer.encode(render());
    }
    if (current.length <= maxTokens) return { ids: current, truncated: true };
  }
  throw new Error(`task "${task.name}": example ${example.id} takes ${current.length} tokens with every text field emptied, more than the ${maxTokens} the context leaves: shorten the template or use a model with a longer context`);
}
