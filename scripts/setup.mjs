// Everything the platform needs on this machine before it can start or be tested, installed once
// and cached: npm dependencies (under Node 24), Debian's media tools, and the mediasoup worker.
// `npm start` and `npm test` run this first; `npm run setup` runs it alone.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './lib/apt.mjs';
import { elapsed, log } from './lib/log.mjs';
import { run } from './lib/run.mjs';

export const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Whether node_modules holds what package-lock.json asks for, read from npm's own record of the
 * tree (node_modules/.package-lock.json), so a developer's `npm install` counts as much as ours.
 * Optional packages for other platforms are never installed and are not asked for.
 */
function installedTreeMatchesLock() {
  const installedRecord = join(repoRoot, 'node_modules', '.package-lock.json');
  if (!existsSync(installedRecord)) return false;
  const wanted = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')).packages;
  const installed = JSON.parse(readFileSync(installedRecord, 'utf8')).packages;
  return Object.entries(wanted).every(([path, entry]) => {
    if (path === '' || entry.optional) return true;
    const present = installed[path];
    return present !== undefined && present.version === entry.version && Boolean(present.link) === Boolean(entry.link);
  });
}

/** `npm ci` when node_modules is missing or does not match the lockfile. */
export async function ensureNpmDependencies() {
  if (installedTreeMatchesLock()) return;
  const startedAt = performance.now();
  log.step(`installing npm dependencies with Node ${process.version} (npm ci)`);
  // The mediasoup postinstall would try to download a prebuilt worker and then build one with
  // sources fetched from the internet; skip it here and let ensureWorker() below do it, with a
  // download first and an offline build from Debian's libraries when there is no internet.
  await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: repoRoot,
    env: { ...process.env, MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN || 'provided-by-scripts/mediasoup-worker.mjs' },
  });
  log.ok(`npm dependencies installed (${elapsed(startedAt)})`);
}

export async function ensureMediaTools() {
  await ensureDebianPackages(['ffmpeg'], 'RTMP ingest, LL-HLS and replays (FFmpeg)');
}

export async function ensureBrowser() {
  await ensureDebianPackages(['chromium'], 'the browser tests (Debian’s Chromium, driven by playwright-core)');
}

/** Finds, downloads or builds the mediasoup worker, and points MEDIASOUP_WORKER_BIN at it for every child process. */
export async function ensureWorker() {
  const { ensureMediasoupWorker } = await import('./mediasoup-worker.mjs');
  const path = await ensureMediasoupWorker({ log: (line) => log.step(line) });
  process.env.MEDIASOUP_WORKER_BIN = path;
  return path;
}

export async function setup({ browser = false } = {}) {
  const startedAt = performance.now();
  await ensureNpmDependencies();
  await ensureMediaTools();
  if (browser) await ensureBrowser();
  await ensureWorker();
  return elapsed(startedAt);
}

if (import.meta.main) {
  try {
    const took = await setup({ browser: process.argv.includes('--browser') });
    if (!process.argv.includes('--quiet')) log.ok(`setup complete (${took}); MEDIASOUP_WORKER_BIN=${process.env.MEDIASOUP_WORKER_BIN}`);
  } catch (error) {
    log.fail(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
