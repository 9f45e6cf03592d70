// `npm test`: makes sure the machine has what the suite needs (dependencies, FFmpeg, Chromium, the
// mediasoup worker, the PostgreSQL, MariaDB and Redis servers), then runs every workspace's tests
// in one vitest run. Arguments go to vitest: `npm test -- --project edge-api`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { elapsed, log } from './lib/log.mjs';
import { ensureServices } from './services.mjs';
import { repoRoot, setup } from './setup.mjs';

const startedAt = performance.now();
const report = join(repoRoot, 'test-results', 'vitest.json');
const mediaReport = join(repoRoot, 'test-results', 'vitest-media.json');

try {
  const took = await setup({ browser: true });
  await ensureServices();
  log.ok(`machine ready for the suite (${took}); worker: ${process.env.MEDIASOUP_WORKER_BIN}`);
} catch (error) {
  log.fail(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

const vitestArgs = ['run', ...process.argv.slice(2)];
const runVitest = (command, args, env, cwd = repoRoot) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

// Everything that talks to the real servers runs on the host; the WebRTC browser tests run in a
// network namespace of their own (a loopback only they see), where those servers are unreachable.
rmSync(report, { force: true });
rmSync(mediaReport, { force: true });
const vitestBin = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
// web's tsconfig extends the one kit generates (node_modules/$app/tsconfig.json): make it first.
await runVitest(process.execPath, [join(repoRoot, 'node_modules', '@sveltejs', 'kit', 'svelte-kit.js'), 'sync'], {}, join(repoRoot, 'web'));
const hostExit = await runVitest(process.execPath, [vitestBin, ...vitestArgs], {});
const mediaProjects = ['edge-api', 'sfu', 'transcoder', 'web'].filter((w) => existsSync(join(repoRoot, w, 'vitest.media.config.ts')));
const projectFilters = process.argv.slice(2).flatMap((arg, i, args) => (arg === '--project' ? [args[i + 1] ?? ''] : arg.startsWith('--project=') ? [arg.slice(10)] : []));
const wantsMedia = mediaProjects.length > 0 && (projectFilters.length === 0 || projectFilters.some((p) => p.includes('media') || p.includes('*')));
let mediaExit = 0;
if (wantsMedia) {
  log.step('WebRTC browser tests, in a private network namespace');
  mediaExit = await runVitest('sh', [join(repoRoot, 'scripts', 'netns-run.sh'), process.execPath, vitestBin, ...vitestArgs], { MYTAEK1_MEDIA_TESTS: '1' });
}

// A plain closing line that any CI can read, whatever the runner's own output looks like.
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of wantsMedia ? [report, mediaReport] : [report]) {
  try {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(file, 'utf8'));
    totals.passed += numPassedTests;
    totals.failed += numFailedTests;
    totals.skipped += numPendingTests + numTodoTests;
  } catch {
    log.warn(`vitest wrote no report at ${file}`);
  }
}
const exitCode = hostExit || mediaExit;
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
log[exitCode === 0 ? 'ok' : 'fail'](`npm test finished in ${elapsed(startedAt)}`);
process.exit(exitCode);
