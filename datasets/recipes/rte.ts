/** SuperGLUE RTE (recognising textual entailment): JSONL {premise, hypothesis, label, idx}. */
import type { Recipe } from '../recipe.js';

export const RTE: Recipe = {
  name: 'rte',
  description: 'SuperGLUE RTE: does the premise entail the hypothesis? entailment/not_entailment as " yes"/" no"',
  officialFiles: 'train.jsonl, val.jsonl (test.jsonl has no labels)',
  fields: {
    format: 'jsonl',
    textFields: ['premise', 'hypothesis'],
    labelField: 'label',
    idField: 'idx',
    labelWords: { entailment: ' yes', not_entailment: ' no' },
    classLabels: ['entailment', 'not_entailment'],
    template: '{premise}\nQuestion: Does this mean that "{hypothesis}" is true?\nAnswer:',
  },
  truncateField: 'premise',
};
