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
  source: {
    release: 'SuperGLUE v2 (https://dl.fbaipublicfiles.com/glue/superglue/data/v2/RTE.zip)',
    files: { train: 'train.jsonl', dev: 'val.jsonl' },
    hub: { name: 'aps/super_glue', config: 'rte', splits: { train: 'train', dev: 'validation' } },
  },
};
