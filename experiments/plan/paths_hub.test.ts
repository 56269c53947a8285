import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HF_FIXTURES } from '../../test/golden.js';
import { resolveDocumentPaths } from './paths.js';

const CACHE = path.join(HF_FIXTURES, 'hub-cache');
const MAIN = readFileSync(path.join(CACHE, 'models--tiny-gpt2', 'refs', 'main'), 'utf8');

describe('checkpoint paths from the Hugging Face cache', () => {
  it('an experiment checkpoint path "hf:NAME[@REVISION]" is resolved from the cache when the file is read', () => {
    const saved = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = CACHE;
    try {
      const doc = resolveDocumentPaths({ checkpoints: { tiny: { path: 'hf:tiny-gpt2' }, missing: { path: 'hf:gpt2@v1' } } }, '/x/e.json');
      assert.fail(`expected an error, got ${JSON.stringify(doc)}`);
    } catch (error) {
      assert.match((error as Error).message, /\/x\/e\.json: checkpoints\.missing\.path = "hf:gpt2@v1": Hub model "gpt2" at revision "v1" is not in the local Hugging Face cache/);
    }
    try {
      const doc = resolveDocumentPaths({ checkpoints: { tiny: { path: 'hf:tiny-gpt2' } } }, '/x/e.json') as { checkpoints: { tiny: { path: string } } };
      assert.equal(doc.checkpoints.tiny.path, path.join(CACHE, 'models--tiny-gpt2', 'snapshots', MAIN));
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved;
    }
  });
});
