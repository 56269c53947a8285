#!/usr/bin/env node
/**
 * `npm run setup:native [-- --wheel FILE | --libtensorflow DIR] [--force]`: builds the native `tensorflow`
 * backend (the @tensorflow/tfjs-node addon) offline, against a TensorFlow C library already on this machine
 * or reachable through its own package clients.
 *
 * Why it is needed: tfjs-node's install script downloads libtensorflow 2.9.1 from Google's servers. Without
 * internet that fails, npm treats the optional package as failed and deletes it, and the suite runs on wasm.
 * This script instead:
 *   1. puts the package onto disk from the npm registry with its install script off
 *      (`npm install --no-save --ignore-scripts`: exactly the lockfile's versions, package.json untouched);
 *   2. finds a TensorFlow C library, first found wins:
 *      - `--libtensorflow DIR` or LIBTENSORFLOW_DIR: an official libtensorflow folder (lib/libtensorflow.so.2,
 *        include/) or an unpacked TensorFlow wheel's `tensorflow/` folder (libtensorflow_cc.so.2, include/);
 *      - `--wheel FILE` or TENSORFLOW_WHEEL: a TensorFlow (CPU) wheel file;
 *      - a wheel already fetched into .cache/peftscale/native/;
 *      - `pip download --no-deps tensorflow-cpu` from the machine's configured pip index (a local mirror here);
 *   3. copies the C library and the C API headers into the package's deps/ folder, links
 *      deps/lib/libtensorflow.so to it, and compiles the addon with node-pre-gyp against Node's local headers;
 *   4. loads the result in a fresh process and runs one product on it.
 * Nothing else is downloaded. On failure it says what it found and why it failed, removes the half-built
 * addon, and exits 1: the backend chooser then skips `tensorflow` quietly and wasm keeps working.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-node');
const depsDir = path.join(pkgDir, 'deps');
const cacheDir = path.join(root, '.cache', 'peftscale', 'native');
/** Written into deps/ after a verified build; src/model/backend.ts reports it in the backend's versions. */
const MARKER = 'peftscale-native.json';
/** The header folders of a wheel's tensorflow/include that the addon's sources reach (the C API and its few includes). */
const WHEEL_HEADERS = ['tensorflow/c', 'tensorflow/core/platform', 'tsl/platform', 'xla/tsl/c', 'xla/tsl/platform'];

const started = Date.now();
const log = (message) => console.log(`[setup:native ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`);

class SetupError extends Error {}

function parseArgs(argv) {
  const options = { wheel: process.env.TENSORFLOW_WHEEL || undefined, libDir: process.env.LIBTENSORFLOW_DIR || undefined, force: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--force') options.force = true;
    else if (arg === '--wheel' || arg === '--libtensorflow') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new SetupError(`${arg}: a path is required`);
      if (arg === '--wheel') options.wheel = path.resolve(value);
      else options.libDir = path.resolve(value);
    } else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run setup:native [-- --wheel FILE | --libtensorflow DIR] [--force]');
      process.exit(0);
    } else throw new SetupError(`unknown argument "${arg}"; allowed: --wheel FILE, --libtensorflow DIR, --force`);
  }
  return options;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.error) throw new SetupError(`${command} could not start: ${result.error.message}`);
  return result;
}

function tail(text, lines = 25) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Step 1: the tfjs-node package on disk, at the lockfile's version. */
function ensurePackage() {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const wanted = lock.packages?.['node_modules/@tensorflow/tfjs-node']?.version;
  if (wanted === undefined) throw new SetupError('package-lock.json names no node_modules/@tensorflow/tfjs-node');
  const manifest = path.join(pkgDir, 'package.json');
  const present = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')).version : null;
  if (present === wanted) {
    log(`@tensorflow/tfjs-node ${present} is on disk`);
    return wanted;
  }
  log(`@tensorflow/tfjs-node ${wanted} is not on disk (npm deletes it when its install script cannot download libtensorflow); fetching it from the npm registry with install scripts off`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = run(npm, ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root });
  if (result.status !== 0) throw new SetupError(`npm install --no-save --ignore-scripts failed:\n${tail(result.stdout + result.stderr)}`);
  const now = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')).version : null;
  if (now !== wanted) throw new SetupError(`after npm install, node_modules/@tensorflow/tfjs-node is ${now ?? 'missing'}, expected ${wanted}`);
  log(`@tensorflow/tfjs-node ${now} fetched`);
  return wanted;
}

/** A libtensorflow folder: the main library, the framework library and the include folder, or null. */
function inspectLibDir(dir) {
  const candidates = [
    { lib: path.join(dir, 'lib', 'libtensorflow.so.2'), framework: path.join(dir, 'lib', 'libtensorflow_framework.so.2') },
    { lib: path.join(dir, 'libtensorflow_cc.so.2'), framework: path.join(dir, 'libtensorflow_framework.so.2') },
    { lib: path.join(dir, 'lib', 'libtensorflow_cc.so.2'), framework: path.join(dir, 'lib', 'libtensorflow_framework.so.2') },
  ];
  const include = path.join(dir, 'include');
  for (const c of candidates) {
    if (fs.existsSync(c.lib) && fs.existsSync(c.framework) && fs.existsSync(path.join(include, 'tensorflow', 'c', 'c_api.h'))) {
      return { ...c, include };
    }
  }
  return null;
}

function wheelVersion(file) {
  const match = /^tensorflow(?:_cpu)?-([0-9][^-]*)-/.exec(path.basename(file));
  return match ? match[1] : 'unknown';
}

/** Step 2: where the C library comes from. */
function findSource(options) {
  if (options.libDir !== undefined) {
    const found = inspectLibDir(options.libDir);
    if (found === null) {
      throw new SetupError(
        `LIBTENSORFLOW_DIR / --libtensorflow = ${options.libDir}: no TensorFlow C library there; expected lib/libtensorflow.so.2 + ` +
          'lib/libtensorflow_framework.so.2 + include/tensorflow/c/c_api.h (the official C tarball), or libtensorflow_cc.so.2 + ' +
          'libtensorflow_framework.so.2 + include/ (a TensorFlow wheel\'s tensorflow/ folder)',
      );
    }
    log(`using the C library in ${options.libDir} (LIBTENSORFLOW_DIR / --libtensorflow)`);
    return { kind: 'dir', ...found, description: options.libDir, version: 'unknown' };
  }
  if (options.wheel !== undefined) {
    if (!fs.existsSync(options.wheel)) throw new SetupError(`TENSORFLOW_WHEEL / --wheel = ${options.wheel}: no such file`);
    log(`using the wheel ${options.wheel} (TENSORFLOW_WHEEL / --wheel)`);
    return { kind: 'wheel', wheel: options.wheel, description: options.wheel, version: wheelVersion(options.wheel) };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const cached = fs.readdirSync(cacheDir).filter((f) => /^tensorflow(_cpu)?-.*\.whl$/.test(f)).sort();
  if (cached.length > 0) {
    const wheel = path.join(cacheDir, cached[cached.length - 1]);
    log(`using the wheel fetched earlier: ${path.relative(root, wheel)}`);
    return { kind: 'wheel', wheel, description: wheel, version: wheelVersion(wheel) };
  }
  log('no LIBTENSORFLOW_DIR or TENSORFLOW_WHEEL given; asking pip for the tensorflow-cpu wheel (pip download --no-deps)');
  const python = ['python3', 'python'].find((p) => run(p, ['-m', 'pip', '--version']).status === 0);
  if (python === undefined) throw new SetupError('no LIBTENSORFLOW_DIR, no TENSORFLOW_WHEEL, and no python3 with pip to fetch the tensorflow-cpu wheel');
  const result = run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', cacheDir, 'tensorflow-cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) {
    throw new SetupError(`pip download --no-deps tensorflow-cpu failed (no reachable index has a wheel for this Python and platform?):\n${tail(result.stdout + result.stderr, 8)}`);
  }
  const fetched = fs.readdirSync(cacheDir).filter((f) => /^tensorflow(_cpu)?-.*\.whl$/.test(f)).sort();
  if (fetched.length === 0) throw new SetupError(`pip download reported success but left no tensorflow wheel in ${cacheDir}`);
  const wheel = path.join(cacheDir, fetched[fetched.length - 1]);
  log(`pip fetched ${path.basename(wheel)} (${(fs.statSync(wheel).size / 2 ** 20).toFixed(0)} MiB)`);
  return { kind: 'wheel', wheel, description: wheel, version: wheelVersion(wheel) };
}

/** Step 3a: the library and headers into deps/ (deps/lib/libtensorflow.so -> the C API library). */
function stageLibrary(source) {
  fs.rmSync(depsDir, { recursive: true, force: true });
  const lib = path.join(depsDir, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  let libName;
  if (source.kind === 'wheel') {
    const staging = path.join(depsDir, 'wheel');
    const patterns = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2', ...WHEEL_HEADERS.map((h) => `tensorflow/include/${h}/*`)];
    const unzip = run('unzip', ['-q', '-o', source.wheel, ...patterns, '-d', staging]);
    // unzip exits 11 when a pattern matches nothing (a header folder missing from this TensorFlow version).
    if (unzip.status !== 0 && unzip.status !== 11) {
      throw new SetupError(`unzip of ${source.wheel} failed (exit ${unzip.status}): ${tail(unzip.stderr, 5)}`);
    }
    const found = inspectLibDir(path.join(staging, 'tensorflow'));
    if (found === null) throw new SetupError(`${source.wheel} holds no tensorflow/libtensorflow_cc.so.2 + libtensorflow_framework.so.2 + include/tensorflow/c/c_api.h: not a TensorFlow 2.x Linux wheel?`);
    fs.renameSync(found.lib, path.join(lib, 'libtensorflow_cc.so.2'));
    fs.renameSync(found.framework, path.join(lib, 'libtensorflow_framework.so.2'));
    fs.renameSync(found.include, path.join(depsDir, 'include'));
    fs.rmSync(staging, { recursive: true, force: true });
    libName = 'libtensorflow_cc.so.2';
  } else {
    libName = path.basename(source.lib);
    fs.copyFileSync(source.lib, path.join(lib, libName));
    fs.copyFileSync(source.framework, path.join(lib, 'libtensorflow_framework.so.2'));
    fs.cpSync(source.include, path.join(depsDir, 'include'), { recursive: true });
  }
  // binding.gyp links -ltensorflow -ltensorflow_framework; the addon then records the libraries' sonames.
  if (libName !== 'libtensorflow.so') fs.symlinkSync(libName, path.join(lib, 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, 'libtensorflow_framework.so'));
  const bytes = fs.readdirSync(lib).reduce((sum, f) => sum + fs.lstatSync(path.join(lib, f)).size, 0);
  log(`staged ${libName} + libtensorflow_framework.so.2 (${(bytes / 2 ** 20).toFixed(0)} MiB) and the C API headers in ${path.relative(root, depsDir)}`);
}

/** Node's own headers, so that node-gyp does not try to download them. */
function nodeHeadersDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  for (const dir of candidates) if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  throw new SetupError(
    `no Node.js headers (include/node/node_api.h) under ${candidates.join(' or ')}; node-gyp would download them. ` +
      'Install the headers that match this node (Debian: nodejs-dev / libnode-dev) or set npm_config_nodedir.',
  );
}

/** Step 3b: compile the addon (only the Node-API version this node loads). */
function buildAddon() {
  for (const tool of ['make', 'g++', 'python3']) {
    if (run('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new SetupError(`${tool} is not installed; node-gyp needs make, g++ and python3`);
  }
  const nodedir = nodeHeadersDir();
  const preGyp = path.join(root, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
  if (!fs.existsSync(preGyp)) throw new SetupError(`${path.relative(root, preGyp)} is missing: tfjs-node's dependencies did not install`);
  log(`compiling the addon with node-pre-gyp against ${nodedir}/include/node (about a minute)`);
  const result = run(process.execPath, [preGyp, 'install', '--build-from-source', `--nodedir=${nodedir}`], { cwd: pkgDir });
  if (result.status !== 0) throw new SetupError(`the addon did not compile:\n${tail(result.stdout + result.stderr)}`);
}

/** Step 4: load it in a fresh process; returns the TensorFlow version the addon reports. */
function verify() {
  const probe = `
    const tf = require('@tensorflow/tfjs-node');
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
    if (tf.getBackend() !== 'tensorflow' || y[0] !== 17 || y[1] !== 39) throw new Error('wrong result ' + Array.from(y));
    console.log(JSON.stringify({ tensorflow: tf.backend().binding.TF_Version }));`;
  const result = run(process.execPath, ['-e', probe], { cwd: root, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (result.status !== 0) throw new SetupError(`the built addon does not load or computes wrongly:\n${tail(result.stderr, 12)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()).tensorflow;
}

function removeBuild() {
  for (const dir of ['lib', 'build', 'deps']) fs.rmSync(path.join(pkgDir, dir), { recursive: true, force: true });
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  // A source named by the user is checked before anything on disk changes, and always rebuilds.
  const explicit = options.libDir !== undefined || options.wheel !== undefined;
  let source = explicit ? findSource(options) : null;
  const tfjsNode = ensurePackage();
  const markerFile = path.join(depsDir, MARKER);
  if (!explicit && !options.force && fs.existsSync(markerFile)) {
    try {
      const version = verify();
      log(`already built (${fs.readFileSync(markerFile, 'utf8').trim()}); TensorFlow ${version} loads. --force rebuilds.`);
      return;
    } catch (error) {
      log(`an earlier build is there but does not load (${error.message.split('\n')[0]}); rebuilding`);
    }
  }
  source ??= findSource(options);
  try {
    stageLibrary(source);
    buildAddon();
    const version = verify();
    const marker = { tfjsNode, tensorflow: version, source: source.description, builtAt: new Date().toISOString() };
    fs.writeFileSync(markerFile, JSON.stringify(marker) + '\n');
    log(`done: @tensorflow/tfjs-node ${tfjsNode} runs on TensorFlow ${version} (from ${source.description}). \`peftscale info\` now selects tensorflow.`);
  } catch (error) {
    removeBuild();
    throw error;
  }
}

try {
  main();
} catch (error) {
  if (!(error instanceof SetupError)) throw error;
  console.error(`[setup:native] FAILED: ${error.message}`);
  console.error('[setup:native] the native backend was not (re)built; the suite runs on wasm (then cpu) wherever tensorflow cannot load (`peftscale info` says which).');
  process.exit(1);
}
