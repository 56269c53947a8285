/**
 * Models by Hub name from the local Hugging Face cache, offline: what `huggingface_hub` downloaded is under
 * `$HF_HUB_CACHE` (else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`) as
 * `models--<org>--<name>/snapshots/<commit>/` (files are symlinks into `blobs/`), with `refs/<branch>`
 * holding the commit a branch points at. Nothing is downloaded; a model that is not there is an error that
 * names every path looked at.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The hub cache folder, as huggingface_hub chooses it. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE !== undefined && env.HF_HUB_CACHE !== '') return env.HF_HUB_CACHE;
  if (env.HF_HOME !== undefined && env.HF_HOME !== '') return path.join(env.HF_HOME, 'hub');
  const xdg = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface', 'hub');
}

const COMMIT = /^[0-9a-f]{40}$/;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/**
 * The snapshot folder of a model repository (e.g. "gpt2", "openai-community/gpt2") at a revision: a
 * branch or tag (through refs/, default "main") or a commit hash (a snapshot folder of that name).
 */
export function resolveHubModel(repoId: string, revision = 'main', env: NodeJS.ProcessEnv = process.env): string {
  if (!REPO_ID.test(repoId)) throw new Error(`Hub model ${JSON.stringify(repoId)}: allowed: a repository id such as "gpt2" or "openai-community/gpt2"`);
  const cache = hubCacheDir(env);
  const repo = path.join(cache, `models--${repoId.replace('/', '--')}`);
  const looked: string[] = [];
  const snapshot = (commit: string): string | null => {
    const dir = path.join(repo, 'snapshots', commit);
    looked.push(dir);
    return existsSync(path.join(dir, 'config.json')) && statSync(dir).isDirectory() ? dir : null;
  };
  const ref = path.join(repo, 'refs', revision);
  looked.push(ref);
  if (existsSync(ref) && statSync(ref).isFile()) {
    const commit = readFileSync(ref, 'utf8').trim();
    if (!COMMIT.test(commit)) throw new Error(`${ref}: holds ${JSON.stringify(commit.slice(0, 60))}; allowed: a 40-digit commit hash, as huggingface_hub writes it`);
    const found = snapshot(commit);
    if (found !== null) return found;
  } else if (COMMIT.test(revision)) {
    const found = snapshot(revision);
    if (found !== null) return found;
  }
  const source = env.HF_HUB_CACHE ? 'HF_HUB_CACHE' : env.HF_HOME ? 'HF_HOME/hub' : 'the default cache';
  throw new Error(
    `Hub model "${repoId}" at revision "${revision}" is not in the local Hugging Face cache (${source}: ${cache}); looked at:\n  ${looked.join('\n  ')}\n` +
      `download it where the network is reachable (huggingface-cli download ${repoId}${revision === 'main' ? '' : ` --revision ${revision}`}) with the same HF_HOME or HF_HUB_CACHE, or give the folder as a path`,
  );
}

/** `hf:NAME` or `hf:NAME@REVISION` (an experiment's checkpoint path): the repository and revision, else null. */
export function parseHubReference(value: string): { repoId: string; revision: string } | null {
  if (!value.startsWith('hf:')) return null;
  const [repoId, revision] = value.slice(3).split('@');
  return { repoId, revision: revision === undefined || revision === '' ? 'main' : revision };
}
