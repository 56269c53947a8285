/** SuperGLUE BoolQ (Clark et al. 2019): yes/no questions about a passage, JSONL {question, passage, label, idx}. */
import type { Recipe } from '../recipe.js';

export const BOOLQ: Recipe = {
  name: 'boolq',
  description: 'SuperGLUE BoolQ: a yes/no question about a passage, true/false as " yes"/" no"',
  officialFiles: 'train.jsonl, val.jsonl (test.jsonl has no labels)',
  fields: {
    format: 'jsonl',
    textFields: ['passage', 'question'],
    labelField: 'label',
    idField: 'idx',
    labelWords: { true: ' yes', false: ' no' },
    template: '{passage}\nQuestion: {question}?\nAnswer:',
  },
  truncateField: 'passage',
};
