/** SuperGLUE BoolQ (Clark et al. 2019): yes/no questions about a passage, JSONL {question, passage, label, idx}
 * (SuperGLUE) or {question, title, answer, passage} (the original release). */
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
    classLabels: ['false', 'true'],
    // The original release (Clark et al.) writes {question, title, answer, passage}, without idx.
    labelFieldAliases: ['answer'],
    template: '{passage}\nQuestion: {question}?\nAnswer:',
  },
  truncateField: 'passage',
  source: {
    release: 'SuperGLUE v2 (https://dl.fbaipublicfiles.com/glue/superglue/data/v2/BoolQ.zip)',
    files: { train: 'train.jsonl', dev: 'val.jsonl' },
    hub: { name: 'aps/super_glue', config: 'boolq', splits: { train: 'train', dev: 'validation' } },
  },
};
