import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { configureNativeThreads, describeBackend, initBackend, NATIVE_THREAD_ENV, nativeAddonInstalled } from './backend.js';

describe('native backend set-up', () => {
  it('configureNativeThreads sets one pool per context and the thread count, keeps what the user set, refuses 0', () => {
    const saved = { ...process.env };
    try {
      for (const name of [NATIVE_THREAD_ENV, 'TF_NUM_INTEROP_THREADS', 'TF_OVERRIDE_GLOBAL_THREADPOOL']) delete process.env[name];
      assert.equal(configureNativeThreads(2), 2);
      assert.deepEqual([process.env[NATIVE_THREAD_ENV], process.env.TF_NUM_INTEROP_THREADS, process.env.TF_OVERRIDE_GLOBAL_THREADPOOL], ['2', '1', '1']);
      process.env[NATIVE_THREAD_ENV] = '3';
      assert.equal(configureNativeThreads(1), 3, 'a value the user set wins');
      assert.throws(() => configureNativeThreads(0), /threads = 0; allowed: an integer ≥ 1/);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('setup:native refuses a bad source by name and value before touching anything, and the backend still loads', async () => {
    const run = spawnSync(process.execPath, ['scripts/setup-native.mjs', '--libtensorflow', '/nonexistent/libtensorflow'], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /LIBTENSORFLOW_DIR \/ --libtensorflow = \/nonexistent\/libtensorflow: no TensorFlow C library there; expected lib\/libtensorflow\.so\.2/);
    const wheel = spawnSync(process.execPath, ['scripts/setup-native.mjs'], { encoding: 'utf8', env: { ...process.env, TENSORFLOW_WHEEL: '/nonexistent.whl' } });
    assert.equal(wheel.status, 1);
    assert.match(wheel.stderr, /TENSORFLOW_WHEEL \/ --wheel = \/nonexistent\.whl: no such file/);
    const before = nativeAddonInstalled();
    const info = await initBackend('auto');
    assert.equal(info.name, before ? 'tensorflow' : 'wasm', describeBackend(info));
    if (info.name === 'tensorflow') {
      assert.match(info.versions.libtensorflow ?? '', /^\d+\.\d+/, 'the C library reports its version');
      assert.equal(info.threads, 1, 'one intra-op thread by default');
    } else {
      assert.ok(info.skipped.some((s) => s.name === 'tensorflow' && /tfjs-node/.test(s.reason)), 'says why tensorflow was passed over');
    }
  });
});
