import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hubCacheDir, parseHubReference, resolveHubModel } from './hf_cache.js';
import { loadPretrained } from './pretrained.js';
import { HF_FIXTURES } from '../../test/golden.js';
import { useBackend } from '../../test/helpers.js';

/** test/fixtures/hf/hub-cache: tiny-gpt2 laid out as huggingface_hub writes it (scripts/golden/make_fixtures.py). */
const CACHE = path.join(HF_FIXTURES, 'hub-cache');
const MAIN = readFileSync(path.join(CACHE, 'models--tiny-gpt2', 'refs', 'main'), 'utf8');

describe('models by Hub name from the local Hugging Face cache', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'peftscale-hf-home-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('finds the cache as huggingface_hub does: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' }), '/a');
    assert.equal(hubCacheDir({ HF_HOME: '/b' }), path.join('/b', 'hub'));
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'huggingface', 'hub'));
    assert.deepEqual(parseHubReference('hf:gpt2@abc'), { repoId: 'gpt2', revision: 'abc' });
    assert.deepEqual(parseHubReference('hf:openai-community/gpt2'), { repoId: 'openai-community/gpt2', revision: 'main' });
    assert.equal(parseHubReference('../models/gpt2'), null);
  });

  it('resolves refs/main and a pinned commit to their snapshots, and the model loads with its logits', async () => {
    await useBackend('wasm');
    const main = resolveHubModel('tiny-gpt2', undefined, { HF_HUB_CACHE: CACHE });
    assert.equal(main, path.join(CACHE, 'models--tiny-gpt2', 'snapshots', MAIN));
    cpSync(CACHE, path.join(home, 'hub'), { recursive: true, verbatimSymlinks: true });
    const viaHome = resolveHubModel('tiny-gpt2', 'main', { HF_HOME: home });
    assert.equal(viaHome, path.join(home, 'hub', 'models--tiny-gpt2', 'snapshots', MAIN));
    const snapshots = ['67576a48b327b6b491ba460d45f3aee852d1d1c0', 'fef8045a4a370f78dcf1661cdd752c700e453225'];
    const pinned = snapshots.find((commit) => commit !== MAIN) as string;
    assert.equal(resolveHubModel('tiny-gpt2', pinned, { HF_HUB_CACHE: CACHE }), path.join(CACHE, 'models--tiny-gpt2', 'snapshots', pinned));
    // Snapshot files are symlinks into blobs/: the model behind them is the fixture's.
    const fromCache = await loadPretrained(main);
    const fromFolder = await loadPretrained(path.join(HF_FIXTURES, 'tiny-gpt2'));
    assert.deepEqual(fromCache.config, fromFolder.config);
    assert.deepEqual(fromCache.model.parameter('h.1.mlp.c_fc.weight').dataSync(), fromFolder.model.parameter('h.1.mlp.c_fc.weight').dataSync());
    assert.deepEqual(fromCache.tokenizer.encode('The quick brown fox'), fromFolder.tokenizer.encode('The quick brown fox'));
    fromCache.model.dispose();
    fromFolder.model.dispose();
  });

  it('a model or revision not in the cache is an error naming every path looked at', () => {
    assert.throws(
      () => resolveHubModel('gpt2', 'main', { HF_HUB_CACHE: CACHE }),
      (error: unknown) => error instanceof Error && error.message.includes(`HF_HUB_CACHE: ${CACHE}`) && error.message.includes(path.join(CACHE, 'models--gpt2', 'refs', 'main')) && /huggingface-cli download gpt2/.test(error.message),
    );
    const commit = 'a'.repeat(40);
    assert.throws(() => resolveHubModel('tiny-gpt2', commit, { HF_HUB_CACHE: CACHE }), new RegExp(`looked at:\\n  .*refs/${commit}\\n  .*snapshots/${commit}`));
    assert.throws(() => resolveHubModel('../etc', 'main', { HF_HUB_CACHE: CACHE }), /allowed: a repository id/);
  });

});
