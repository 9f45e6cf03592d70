#!/usr/bin/env node
// Makes the mediasoup worker binary available without internet access.
//
// mediasoup's own postinstall downloads a prebuilt worker from its release page and otherwise
// builds it with pip-installed meson and wrap subprojects fetched from the internet, so on an
// offline machine it can do neither. This script finds or produces a working worker, in order:
//   1. $MEDIASOUP_WORKER_BIN, if it names an executable file;
//   2. the prebuilt binary mediasoup's postinstall leaves in the package on a connected machine;
//   3. our cache, keyed by mediasoup version, platform, arch, patches, recipe and library versions;
//   4. mediasoup's prebuilt download, tried once with short timeouts;
//   5. an offline build from the worker sources in the npm package against Debian 12's libraries,
//      with the patches in scripts/mediasoup-worker/<version>/ (see their headers for why).
//
// Usage: node scripts/mediasoup-worker.mjs [--mediasoup-dir DIR]
// Progress goes to stderr; the binary's absolute path is printed alone on stdout's last line.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT_PATH = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SCRIPT_PATH), '..');
const PATCHES_ROOT = path.join(path.dirname(SCRIPT_PATH), 'mediasoup-worker');

// Part of the cache key: bump it whenever the build steps or flags below change, so that binaries
// built by an older recipe are not reused.
const BUILD_RECIPE_VERSION = 1;

// Debian packages whose libraries end up linked into the worker: their versions are part of the
// cache key, because a binary built against one version may not run against another.
const LINKED_PACKAGES = [
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'libflatbuffers-dev',
];
const BUILD_PACKAGES = [
  'build-essential',
  'pkg-config',
  'meson',
  'ninja-build',
  'patch',
  'python3',
  ...LINKED_PACKAGES,
  'flatbuffers-compiler',
];

// A clean build measured about 290 CPU seconds (140 s wall time on 2 cores).
const BUILD_CPU_SECONDS = 290;
const DOWNLOAD_CONNECT_TIMEOUT_MS = 10_000;
const DOWNLOAD_TRANSFER_TIMEOUT_MS = 120_000;
const WORKER_CHECK_TIMEOUT_MS = 10_000;
// A lock older than this belongs to a build that died without cleaning up (e.g. on another host
// sharing the cache, where its pid cannot be checked).
const STALE_LOCK_MS = 60 * 60_000;
const APT_OPTIONS = ['-o', 'DPkg::Lock::Timeout=600'];

/** The folder holding cached worker binaries, one sub-folder per cache key. */
export function workerCacheDir() {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const cacheRoot = process.env.MYTAEK1_CACHE_DIR || path.join(cacheHome, 'mytaek1');
  return path.join(cacheRoot, 'mediasoup-worker');
}

/** Returns the absolute path of a working mediasoup-worker binary, building it if need be. */
export async function ensureMediasoupWorker({ mediasoupDir, log = console.log } = {}) {
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return path.resolve(fromEnv);
    log(`ignoring MEDIASOUP_WORKER_BIN=${fromEnv}: not an executable file`);
  }

  const msDir = path.resolve(mediasoupDir ?? findMediasoupDir());
  const version = readJson(path.join(msDir, 'package.json')).version;

  const packaged = path.join(msDir, 'worker', 'out', 'Release', 'mediasoup-worker');
  if (isExecutableFile(packaged)) return packaged;

  const cached = cachedWorkerPath(version);
  if (isExecutableFile(cached)) return cached;

  const lockPath = path.join(workerCacheDir(), `${version}-${process.platform}-${process.arch}.lock`);
  return withLock(lockPath, log, async () => {
    // Another process may have produced it while we waited for the lock.
    if (isExecutableFile(cached)) return cached;

    if (await downloadPrebuiltWorker({ msDir, version, target: cached, log })) return cached;

    await ensureBuildPackages(log);
    // Installing packages changes the library versions, hence the key.
    const target = cachedWorkerPath(version);
    if (!isExecutableFile(target)) await buildWorker({ msDir, version, target, log });
    return target;
  });
}

// ---------------------------------------------------------------------------------------------
// Locating things

function findMediasoupDir() {
  // mediasoup's "exports" does not expose package.json, so walk Node's lookup paths ourselves.
  const require = createRequire(path.join(REPO_ROOT, 'package.json'));
  for (const nodeModules of require.resolve.paths('mediasoup') ?? []) {
    const candidate = path.join(nodeModules, 'mediasoup');
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`mediasoup is not installed under ${REPO_ROOT}; run npm install or pass --mediasoup-dir`);
}

function cachedWorkerPath(version) {
  return path.join(workerCacheDir(), cacheKey(version), 'mediasoup-worker');
}

/** `<version>-<platform>-<arch>-<12 hex chars>`, e.g. `3.19.3-linux-x64-0123456789ab`. */
function cacheKey(version) {
  const hash = createHash('sha256');
  hash.update(`recipe ${BUILD_RECIPE_VERSION}\n`);
  for (const file of patchFiles(version)) {
    hash.update(`patch ${path.basename(file)} ${sha256(fs.readFileSync(file))}\n`);
  }
  const versions = debianVersions(LINKED_PACKAGES) ?? new Map();
  for (const pkg of LINKED_PACKAGES) hash.update(`deb ${pkg} ${versions.get(pkg) ?? 'none'}\n`);
  return `${version}-${process.platform}-${process.arch}-${hash.digest('hex').slice(0, 12)}`;
}

function patchFiles(version) {
  const dir = path.join(PATCHES_ROOT, version);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Installed versions of Debian packages (missing ones are absent), or null without dpkg. */
function debianVersions(packages) {
  const format = '${Package}\t${Version}\t${db:Status-Status}\n';
  const result = spawnSync('dpkg-query', ['-W', '-f', format, ...packages], { encoding: 'utf8' });
  if (result.error) return null;
  const versions = new Map();
  for (const line of result.stdout.split('\n')) {
    const [pkg, version, status] = line.split('\t');
    if (status === 'installed') versions.set(pkg, version);
  }
  return versions;
}

// ---------------------------------------------------------------------------------------------
// Step 4: mediasoup's prebuilt download

/**
 * Same URL as mediasoup's npm-scripts.mjs (downloadPrebuiltWorker), whose code cannot be invoked
 * to only download: its postinstall falls back to the internet build. The host comes from the
 * package's own repository field, as there.
 */
function prebuiltWorkerUrl(pkg) {
  const releaseBase =
    process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
    `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/releases/download`;
  let name = `mediasoup-worker-${pkg.version}-${os.platform()}-${os.arch()}`;
  // Linux prebuilts exist per kernel major version (io_uring needs kernel >= 6).
  if (os.platform() === 'linux') name += `-kernel${Number(os.release().split('.')[0])}`;
  return `${releaseBase}/${pkg.version}/${name}.tgz`;
}

async function downloadPrebuiltWorker({ msDir, version, target, log }) {
  // mediasoup's own switch for "do not download, build locally".
  if (process.env.MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD) {
    log('MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD is set: not trying the prebuilt download');
    return false;
  }

  const url = prebuiltWorkerUrl(readJson(path.join(msDir, 'package.json')));
  const workDir = `${path.dirname(target)}.download`;
  log(`trying mediasoup's prebuilt worker: ${url}`);
  try {
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.mkdirSync(workDir, { recursive: true });
    const tarball = path.join(workDir, 'worker.tgz');
    if (!(await fetchToFile(url, tarball))) {
      log('no prebuilt worker for this platform');
      return false;
    }
    await runLogged('tar', ['-xzf', tarball, '-C', workDir], { logPath: path.join(workDir, 'tar.log') });
    const bin = path.join(workDir, 'mediasoup-worker');
    await checkWorker(bin, version);
    installIntoCache(bin, target, { origin: url });
    log('using the downloaded prebuilt worker');
    return true;
  } catch (error) {
    log(`prebuilt worker unavailable (${error.cause?.code ?? error.message}); building offline instead`);
    return false;
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** Downloads url into file; false on 404. Times out quickly when the host is unreachable. */
async function fetchToFile(url, file) {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), DOWNLOAD_CONNECT_TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (response.status === 404) return false;
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), DOWNLOAD_TRANSFER_TIMEOUT_MS);
    await pipeline(Readable.fromWeb(response.body), fs.createWriteStream(file));
    return true;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Step 5: offline build

async function ensureBuildPackages(log) {
  const versions = debianVersions(BUILD_PACKAGES);
  if (!versions) {
    throw new Error(
      'cannot build the mediasoup worker offline: this needs Debian/Ubuntu (dpkg-query not found). ' +
        'Set MEDIASOUP_WORKER_BIN to a mediasoup-worker binary instead.',
    );
  }
  const missing = BUILD_PACKAGES.filter((pkg) => !versions.has(pkg));
  if (missing.length === 0) return;

  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (process.getuid?.() !== 0 || !commandExists('apt-get')) {
    throw new Error(
      `building the mediasoup worker needs these Debian packages: ${missing.join(' ')}\n` +
        `Install them as root, then run this again:\n  apt-get update && apt-get ${install.join(' ')}`,
    );
  }
  log(`installing build packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runToStderr('apt-get', [...APT_OPTIONS, 'update'], env);
  await runToStderr('apt-get', [...APT_OPTIONS, ...install], env);
}

async function buildWorker({ msDir, version, target, log }) {
  const patches = patchFiles(version);
  if (patches.length === 0) {
    const known = fs.existsSync(PATCHES_ROOT) ? fs.readdirSync(PATCHES_ROOT).join(', ') : 'none';
    throw new Error(
      `no offline build recipe for mediasoup ${version}: ${path.join(PATCHES_ROOT, version)} ` +
        `does not exist (recipes exist for: ${known}). Port the patches to this version first.`,
    );
  }

  const buildDir = `${path.dirname(target)}.build`;
  const sourceDir = path.join(buildDir, 'worker');
  const outDir = path.join(buildDir, 'out');
  const logPath = path.join(buildDir, 'build.log');
  const cores = os.availableParallelism();
  const minutes = Math.max(0.5, Math.round(BUILD_CPU_SECONDS / cores / 30) / 2);
  log(`building mediasoup worker ${version} offline (about ${minutes} minutes on ${cores} cores) in ${buildDir}`);

  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });
  try {
    copyWorkerSources(path.join(msDir, 'worker'), sourceDir);
    for (const patch of patches) {
      log(`applying ${path.relative(REPO_ROOT, patch)}`);
      const args = ['-p1', '--forward', '--batch', '--fuzz=0', '--no-backup-if-mismatch', '-i', patch];
      await runLogged('patch', args, { cwd: sourceDir, logPath });
    }

    log('configuring with meson');
    const options = ['--buildtype', 'release', '-Db_ndebug=true', '-Dms_disable_liburing=true'];
    // nodownload: fail instead of fetching a wrap subproject if the patches missed one.
    await runLogged('meson', ['setup', outDir, sourceDir, ...options, '--wrap-mode=nodownload'], { logPath });

    const started = Date.now();
    await runLogged('ninja', ['-C', outDir, 'mediasoup-worker'], { logPath, onLine: ninjaProgress(log, started) });
    log(`compiled in ${Math.round((Date.now() - started) / 1000)} s`);

    const stripped = path.join(outDir, 'mediasoup-worker.stripped');
    await runLogged('strip', ['-o', stripped, path.join(outDir, 'mediasoup-worker')], { logPath });
    await checkWorker(stripped, version);
    const patchNames = patches.map((patch) => path.basename(patch));
    installIntoCache(stripped, target, { origin: 'offline build', patches: patchNames });
  } catch (error) {
    error.message += `\n(build directory kept for inspection: ${buildDir}; full log: ${logPath})`;
    throw error;
  }
  fs.rmSync(buildDir, { recursive: true, force: true });
  log(`worker built and cached: ${target}`);
}

function copyWorkerSources(from, to) {
  // Skip build output a previous postinstall attempt may have left in the package.
  const skipped = path.join(from, 'out');
  fs.cpSync(from, to, { recursive: true, filter: (src) => src !== skipped });
}

/** Logs ninja's "[done/total]" status every 10% instead of one line per file. */
function ninjaProgress(log, started) {
  let lastDecile = 0;
  return (line) => {
    const match = /^\[(\d+)\/(\d+)\]/.exec(line);
    if (!match) return;
    const [done, total] = [Number(match[1]), Number(match[2])];
    const decile = Math.floor((done / total) * 10);
    if (decile <= lastDecile) return;
    lastDecile = decile;
    log(`  ${done}/${total} build steps (${decile * 10}%), ${Math.round((Date.now() - started) / 1000)} s`);
  };
}

// ---------------------------------------------------------------------------------------------
// Checking and caching the binary

/**
 * Starts the worker the way mediasoup does (channel on fds 3 and 4) and waits for its "running"
 * notification, which it only sends after initialising OpenSSL, libsrtp, usrsctp and libwebrtc and
 * generating its DTLS certificate; then closes the channel and expects a clean exit.
 */
function checkWorker(bin, version) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], {
      env: { ...process.env, MEDIASOUP_VERSION: version },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let received = Buffer.alloc(0);
    let running = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_CHECK_TIMEOUT_MS);
    const collect = (chunk) => (output += chunk);
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.stdio[4].on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // The notification is addressed to the worker's pid, as a string.
      if (!running && received.includes(String(child.pid))) {
        running = true;
        child.stdio[3].end();
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (running && code === 0) return resolve();
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const stage = running ? 'after starting' : 'before reporting it was running';
      reject(new Error(`${bin} does not work: ${how} ${stage}\n${output.trim()}`));
    });
  });
}

/** Atomically puts bin at target: a reader sees either no binary or a complete one. */
function installIntoCache(bin, target, details) {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.mediasoup-worker.${process.pid}.${randomBytes(4).toString('hex')}`);
  fs.copyFileSync(bin, temp);
  fs.chmodSync(temp, 0o755);
  // Provenance for humans wondering where a cached binary came from.
  const info = { ...details, key: path.basename(dir), date: new Date().toISOString() };
  fs.writeFileSync(path.join(dir, 'info.json'), `${JSON.stringify(info, null, 2)}\n`);
  fs.renameSync(temp, target);
}

/** Runs fn while holding an exclusive lock file, so concurrent runs do not build twice. */
async function withLock(lockPath, log, fn) {
  await acquireLock(lockPath, log);
  try {
    return await fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

async function acquireLock(lockPath, log) {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const owner = `${process.pid}@${os.hostname()}`;
  const started = Date.now();
  let lastLog = 0;
  for (;;) {
    try {
      // O_EXCL: exactly one process creates the lock.
      fs.writeFileSync(lockPath, owner, { flag: 'wx' });
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = readLockHolder(lockPath);
    if (holder?.stale) {
      log(`removing stale lock ${lockPath} (held by ${holder.owner})`);
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (holder && Date.now() - lastLog > 30_000) {
      const waited = Math.round((Date.now() - started) / 1000);
      log(`waiting for ${holder.owner}, which is already getting the worker (${waited} s; lock: ${lockPath})`);
      lastLog = Date.now();
    }
    await sleep(1000);
  }
}

/** The lock's owner and whether it is stale, or null if the lock just disappeared. */
function readLockHolder(lockPath) {
  let owner;
  let ageMs;
  try {
    // Empty only for an instant after creation; then the age check still applies.
    owner = fs.readFileSync(lockPath, 'utf8').trim() || 'a starting process';
    ageMs = Date.now() - fs.statSync(lockPath).mtimeMs;
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    throw error;
  }
  const [pid, host] = owner.split('@');
  const deadHere = host === os.hostname() && !processExists(Number(pid));
  return { owner, stale: deadHere || ageMs > STALE_LOCK_MS };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function commandExists(command) {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs a command with its output on our stderr, keeping stdout for the result. */
function runToStderr(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) return resolve();
      reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/**
 * Runs a command, appending its output to logPath and passing each stdout line to onLine; on
 * failure the error carries the end of the output, which is where compilers put the reason.
 */
function runLogged(command, args, { cwd, logPath, onLine }) {
  return new Promise((resolve, reject) => {
    const logFile = fs.createWriteStream(logPath, { flags: 'a' });
    logFile.write(`$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let partial = '';
    const record = (chunk) => {
      logFile.write(chunk);
      tail = (tail + chunk).slice(-4000);
    };
    child.stdout.on('data', (chunk) => {
      record(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      if (onLine) lines.forEach(onLine);
    });
    child.stderr.on('data', record);
    // 'close' also follows a failure to spawn, so settle there only.
    let spawnError;
    child.on('error', (error) => (spawnError = error));
    child.on('close', (code, signal) =>
      logFile.end(() => {
        if (spawnError) return reject(spawnError);
        if (code === 0) return resolve();
        const lastLines = tail.trimEnd().split('\n').slice(-30).join('\n');
        reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${code}`}):\n${lastLines}`));
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main() {
  const log = (message) => process.stderr.write(`mediasoup-worker: ${message}\n`);
  try {
    const { values } = parseArgs({ options: { 'mediasoup-dir': { type: 'string' } } });
    const bin = await ensureMediasoupWorker({ mediasoupDir: values['mediasoup-dir'], log });
    process.stdout.write(`${bin}\n`);
  } catch (error) {
    log(`error: ${error.message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(SCRIPT_PATH)) {
  await main();
}
