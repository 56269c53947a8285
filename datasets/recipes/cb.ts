/** SuperGLUE CommitmentBank (de Marneffe et al. 2019): three-way entailment, JSONL {premise, hypothesis, label, idx}. */
import type { Recipe } from '../recipe.js';

export const CB: Recipe = {
  name: 'cb',
  description: 'SuperGLUE CB: entailment/contradiction/neutral as " yes"/" no"/" maybe"',
  officialFiles: 'train.jsonl, val.jsonl (test.jsonl has no labels)',
  fields: {
    format: 'jsonl',
    textFields: ['premise', 'hypothesis'],
    labelField: 'label',
    idField: 'idx',
    labelWords: { entailment: ' yes', contradiction: ' no', neutral: ' maybe' },
    classLabels: ['entailment', 'contradiction', 'neutral'],
    template: '{premise}\nQuestion: Does this mean that "{hypothesis}" is true? Yes, no or maybe?\nAnswer:',
  },
  truncateField: 'premise',
};
