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
  source: {
    release: 'SuperGLUE v2 (https://dl.fbaipublicfiles.com/glue/superglue/data/v2/CB.zip)',
    files: { train: 'train.jsonl', dev: 'val.jsonl' },
    hub: { name: 'aps/super_glue', config: 'cb', splits: { train: 'train', dev: 'validation' } },
  },
};
