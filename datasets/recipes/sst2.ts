/** GLUE SST-2 (Socher et al. 2013): binary sentiment of movie-review sentences, TSV "sentence\tlabel". */
import type { Recipe } from '../recipe.js';

export const SST2: Recipe = {
  name: 'sst2',
  description: 'GLUE SST-2: sentence sentiment, labels 0/1 as " negative"/" positive"',
  officialFiles: 'train.tsv, dev.tsv (test.tsv has no labels)',
  fields: {
    format: 'tsv',
    textFields: ['sentence'],
    labelField: 'label',
    labelWords: { 0: ' negative', 1: ' positive' },
    classLabels: ['negative', 'positive'],
    // `datasets` writes {sentence, label, idx}: idx i is dev.tsv's line i+2, so both split alike.
    rowIndexField: 'idx',
    template: 'Review: {sentence}\nSentiment:',
  },
  source: {
    release: 'GLUE (https://dl.fbaipublicfiles.com/glue/data/SST-2.zip)',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    hub: { name: 'nyu-mll/glue', config: 'sst2', splits: { train: 'train', dev: 'validation' } },
  },
};
