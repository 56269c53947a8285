import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { removeStaleTemporaries, temporaryPathFor, writeFileAtomic, writeFolderAtomic } from './atomic_file.js';

/** The pid of a process that has exited (a node child run to completion). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('atomic files', () => {
  it('writes through a temporary named with this host and pid, and leaves only the target', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peftscale-atomic-'));
    const target = path.join(dir, 'a.json');
    assert.match(path.basename(temporaryPathFor(target)), new RegExp(`^\\.a\\.json\\.[A-Za-z0-9_-]+~${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
    await writeFileAtomic(target, 'x');
    assert.equal(await readFile(target, 'utf8'), 'x');
    assert.deepEqual(await readdir(dir), ['a.json']);
  });

  it('replaces a folder whole, creating its parent; a fill that fails keeps the old folder and leaves no temporary', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peftscale-atomic-'));
    const target = path.join(dir, 'adapters', 'k');
    await writeFolderAtomic(target, async (temporary) => {
      await mkdir(temporary);
      await writeFile(path.join(temporary, 'old.txt'), 'old');
    });
    await writeFolderAtomic(target, async (temporary) => {
      await mkdir(temporary);
      await writeFile(path.join(temporary, 'new.txt'), 'new');
    });
    assert.deepEqual(await readdir(target), ['new.txt'], 'the new folder replaced the old one, nothing of it kept');
    await assert.rejects(
      writeFolderAtomic(target, async (temporary) => {
        await mkdir(temporary);
        await writeFile(path.join(temporary, 'half.txt'), 'half');
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.deepEqual(await readdir(path.join(dir, 'adapters')), ['k']);
    assert.deepEqual(await readdir(target), ['new.txt']);
  });

  it('removes the temporaries of dead processes of this host only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peftscale-atomic-'));
    const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    const dead = `.k.prompt.safetensors.${host}~${deadPid()}.0123456789ab.tmp`;
    const live = `.k.json.${host}~${process.pid}.0123456789ab.tmp`; // this process: still writing
    const otherHost = `.k.json.${host}x~${deadPid()}.0123456789ab.tmp`; // another machine sharing the folder
    const unrelated = ['k.json', 'notes.tmp', 'k.json.123.tmp']; // not ours to judge (old names included)
    for (const name of [dead, live, otherHost, ...unrelated]) await writeFile(path.join(dir, name), '');
    assert.deepEqual(await removeStaleTemporaries(dir), [path.join(dir, dead)]);
    assert.deepEqual((await readdir(dir)).sort(), [live, otherHost, ...unrelated].sort());
    assert.deepEqual(await removeStaleTemporaries(path.join(dir, 'missing')), []);
  });
});
