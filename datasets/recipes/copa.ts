/** SuperGLUE COPA (Roemmele et al. 2011): choice of plausible alternatives, JSONL {premise, choice1, choice2, question, label, idx}. */
import type { Recipe } from '../recipe.js';

export const COPA: Recipe = {
  name: 'copa',
  description: 'SuperGLUE COPA: which of two alternatives is the cause/effect of the premise; both shown, label 0/1 as " 1"/" 2"',
  officialFiles: 'train.jsonl, val.jsonl (test.jsonl has no labels)',
  fields: {
    format: 'jsonl',
    textFields: ['premise', 'question', 'choice1', 'choice2'],
    labelField: 'label',
    idField: 'idx',
    labelWords: { 0: ' 1', 1: ' 2' },
    template: '{premise}\nWhat was the {question}?\nOption 1: {choice1}\nOption 2: {choice2}\nAnswer: Option',
  },
  truncateField: 'premise',
  note:
    'COPA is a choice between two texts that differ per example, while label-word scoring ranks one fixed set of label words. ' +
    'Both alternatives are put in the input as numbered options and the label words are the option numbers (" 1", " 2"), ' +
    'as T5 and Lester et al. cast it as text to text; scoring each alternative as a continuation (GPT-3\'s way) would need per-example candidates.',
  source: {
    release: 'SuperGLUE v2 (https://dl.fbaipublicfiles.com/glue/superglue/data/v2/COPA.zip)',
    files: { train: 'train.jsonl', dev: 'val.jsonl' },
    hub: { name: 'aps/super_glue', config: 'copa', splits: { train: 'train', dev: 'validation' } },
  },
};
