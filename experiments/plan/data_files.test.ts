import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import '../../methods/index.js';
import { resolveExperiment } from './spec.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-data-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

it('missing data files are named first among the problems, each with where it comes from; unused datasets are not looked at', () => {
  const file = path.join(root, 'exp.json');
  const document = {
    name: 'missing',
    presets: ['ps-nope'],
    tasks: ['rte', 'sst2', 'mine'],
    datasets: {
      rte: { recipe: 'rte', files: { train: 'nowhere/rte-train.jsonl', dev: 'nowhere/rte-val.jsonl' } },
      sst2: { recipe: 'sst2', files: { dev: 'nowhere/dev.tsv' } },
      mine: { recipe: 'generic', format: 'jsonl', textFields: ['text'], labelField: 'label', labelWords: { a: ' a', b: ' b' }, files: { train: 'nowhere/mine.jsonl' } },
      unused: { recipe: 'cb', files: { train: 'nowhere/cb-train.jsonl' } },
    },
    sweeps: [{ name: 'main', methods: [{ method: 'prompt-design' }] }],
  };
  writeFileSync(file, JSON.stringify(document));
  let message = '';
  assert.throws(() => resolveExperiment(file, 'quick'), (error: Error) => ((message = error.message), true));
  const lines = message.split('\n');
  assert.match(lines[0], /exp\.json \(profile quick\): 5 problem\(s\):$/);
  const at = (p: string): string => JSON.stringify(path.join(root, 'nowhere', p)).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  assert.match(lines[1], new RegExp(`^  datasets\\.rte\\.files\\.train = ${at('rte-train.jsonl')}: not found; it is the training file train\\.jsonl of SuperGLUE v2 \\(https://dl\\.fbaipublicfiles\\.com/glue/superglue/data/v2/RTE\\.zip\\), or Hugging Face datasets "aps/super_glue" config "rte" split "train"`));
  assert.match(lines[2], /^ {2}datasets\.rte\.files\.dev = .*rte-val\.jsonl": not found; it is the validation file val\.jsonl of SuperGLUE v2 .* split "validation"/);
  assert.match(lines[3], /^ {2}datasets\.sst2\.files\.dev = .*dev\.tsv": not found; it is the validation file dev\.tsv of GLUE \(https:\/\/dl\.fbaipublicfiles\.com\/glue\/data\/SST-2\.zip\), or Hugging Face datasets "nyu-mll\/glue" config "sst2" split "validation"/);
  assert.match(lines[4], /^ {2}datasets\.mine\.files\.train = .*mine\.jsonl": not found; it is your own file \(recipe "generic"\)$/);
  // The other problems are still listed; the unused cb dataset is not named, nor the missing files twice.
  assert.match(lines[5], /^ {2}sweeps\[0\] \("main"\)\.presets: unknown preset or checkpoint "ps-nope"/);
  assert.equal(lines.length, 6);
});
