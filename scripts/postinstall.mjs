#!/usr/bin/env node
/**
 * npm's `postinstall` (after `npm install` and `npm ci`): makes the native `tensorflow` backend available
 * wherever it can be had, never fails the install, and ends with one line saying which backend the user
 * gets and why.
 *
 * - Online, @tensorflow/tfjs-node's own install script has already downloaded libtensorflow and its addon:
 *   this checks that it loads and says so.
 * - Offline that script fails and npm deletes the optional package; this then runs the `setup:native` path
 *   (scripts/setup-native.mjs: the package back with --ignore-scripts, a TensorFlow C library from a wheel
 *   pip finds, the addon compiled locally), its output going to .cache/peftscale/native/setup.log.
 * - Whatever fails, the install succeeds and the suite runs on wasm; the line says why and how to retry.
 *
 * No recursion: setup-native's `npm install --no-save --ignore-scripts` runs no lifecycle scripts (ours
 * included), and PEFTSCALE_NATIVE_SETUP_RUNNING makes a nested call return at once anyway.
 * PEFTSCALE_SKIP_NATIVE=1 skips the build (a minute or more of compiling); `npm run setup:native` does it later.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GUARD = 'PEFTSCALE_NATIVE_SETUP_RUNNING';
const logDir = path.join(root, '.cache', 'peftscale', 'native');
const logFile = path.join(logDir, 'setup.log');
const marker = path.join(root, 'node_modules', '@tensorflow', 'tfjs-node', 'deps', 'peftscale-native.json');
const say = (line) => console.log(`peftscale: ${line}`);

/** Loads tfjs-node in a fresh process and multiplies; the TensorFlow version, or null with the reason. */
function probeNative() {
  const probe = `
    const tf = require('@tensorflow/tfjs-node');
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
    if (tf.getBackend() !== 'tensorflow' || y[0] !== 17 || y[1] !== 39) throw new Error('wrong result ' + Array.from(y));
    console.log(tf.backend().binding.TF_Version);`;
  const result = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (result.status === 0) return { version: result.stdout.trim().split('\n').pop(), reason: null };
  const lines = (result.stderr || '').trim().split('\n');
  const reason = lines.find((l) => /Cannot find module|Error:/.test(l)) ?? lines.pop() ?? `exit ${result.status}`;
  return { version: null, reason: reason.trim() };
}

function main() {
  if (process.env[GUARD]) return; // called from inside setup:native's own npm install
  if (process.env.PEFTSCALE_SKIP_NATIVE === '1') {
    const native = probeNative();
    say(native.version === null ? 'backend wasm: the native build was skipped (PEFTSCALE_SKIP_NATIVE=1); `npm run setup:native` builds it' : `backend tensorflow (TensorFlow ${native.version}, already installed; PEFTSCALE_SKIP_NATIVE=1 skipped the check for a rebuild)`);
    return;
  }
  const before = probeNative();
  if (before.version !== null) {
    const how = fs.existsSync(marker) ? 'built offline earlier by `npm run setup:native`' : "installed by @tensorflow/tfjs-node's own install script";
    say(`backend tensorflow (TensorFlow ${before.version}, ${how})`);
    return;
  }
  // The online install did not give a working addon (offline: npm deleted the package): build it here.
  fs.mkdirSync(logDir, { recursive: true });
  process.stderr.write(`peftscale: the native backend is not installed (${before.reason}); building it offline with scripts/setup-native.mjs (1-3 minutes; log ${path.relative(root, logFile)}; PEFTSCALE_SKIP_NATIVE=1 skips)\n`);
  const started = Date.now();
  const setup = spawnSync(process.execPath, [path.join(root, 'scripts', 'setup-native.mjs')], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, [GUARD]: '1' } });
  const output = `${setup.stdout ?? ''}${setup.stderr ?? ''}${setup.error ? `\n${setup.error.message}` : ''}`;
  fs.writeFileSync(logFile, output);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const after = setup.status === 0 ? probeNative() : { version: null, reason: null };
  if (after.version !== null) {
    say(`backend tensorflow (TensorFlow ${after.version}; tfjs-node's download was not possible, so \`setup:native\` built it offline in ${seconds} s; log ${path.relative(root, logFile)})`);
    return;
  }
  const failure = output.split('\n').find((l) => l.includes('FAILED:'))?.replace(/^\[setup:native\] FAILED: /, '') ?? after.reason ?? `setup-native exited ${setup.status}`;
  say(`backend wasm: the native backend could not be built here (${failure.trim()}); the install is fine, the suite runs on wasm. Full log ${path.relative(root, logFile)}; retry with \`npm run setup:native\``);
}

try {
  main();
} catch (error) {
  say(`backend wasm (the native set-up step itself failed: ${error instanceof Error ? error.message : String(error)}); retry with \`npm run setup:native\``);
}
process.exit(0);
