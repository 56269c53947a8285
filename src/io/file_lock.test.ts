import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { withFileLock } from './file_lock.js';

const root = mkdtempSync(path.join(tmpdir(), 'peftscale-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('withFileLock', () => {
  it('runs holders one at a time, and removes the lock after each (also when the work throws)', async () => {
    const lock = path.join(root, 'serial.lock');
    const events: string[] = [];
    const holder = (name: string, ms: number) => () =>
      withFileLock(
        lock,
        async () => {
          events.push(`${name} in`);
          await sleep(ms);
          events.push(`${name} out`);
          if (name === 'b') throw new Error('b failed');
        },
        { pollMilliseconds: 20 },
      );
    const results = await Promise.allSettled([holder('a', 150)(), sleep(10).then(holder('b', 50)), sleep(20).then(holder('c', 10))]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i + 1], events[i].replace(' in', ' out'), `no overlap: ${events.join(', ')}`);
    assert.equal(events.length, 6);
    assert.equal(events[0], 'a in');
    assert.ok(!existsSync(lock));
  });

  it('breaks at once a lock whose holder on this host is gone', async () => {
    const lock = path.join(root, 'dead.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(lock, JSON.stringify({ host: hostname(), pid: Number(dead.stdout), since: new Date().toISOString(), token: 'x' }));
    const said: string[] = [];
    const started = Date.now();
    assert.equal(await withFileLock(lock, async () => 42, { onWait: (m) => said.push(m), pollMilliseconds: 20 }), 42);
    assert.ok(Date.now() - started < 1000);
    assert.match(said.join('\n'), new RegExp(`broke the lock .*: its holder \\(pid ${dead.stdout} on this host\\) is gone`));
    assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('dead')), [], 'neither the lock nor its broken copy is left');
  });

  it('waits for a holder on another host while its heartbeat is fresh, and breaks the lock once it is stale', async () => {
    const lock = path.join(root, 'remote.lock');
    writeFileSync(lock, JSON.stringify({ host: 'another-node', pid: 1, since: '2026-01-01T00:00:00.000Z', token: 'x' }));
    const old = new Date(Date.now() - 400);
    utimesSync(lock, old, old);
    const said: string[] = [];
    const started = Date.now();
    await withFileLock(lock, async () => undefined, { staleSeconds: 1, pollMilliseconds: 50, onWait: (m) => said.push(m) });
    const waited = Date.now() - started;
    assert.ok(waited >= 500 && waited < 3000, `waited ${waited} ms for a heartbeat 0.4 s old to pass 1 s`);
    assert.match(said[0], /^waiting for pid 1 on another-node \(since 2026-01-01T00:00:00.000Z\), which holds /);
    assert.match(said.at(-1) ?? '', /broke the lock .*: its heartbeat is \d+ s old \(stale after 1 s\)/);
  });
});
