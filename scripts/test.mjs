// `npm test`: makes sure the machine has what the suite needs (dependencies, FFmpeg, Chromium, the
// mediasoup worker, the PostgreSQL, MariaDB and Redis servers), then runs every workspace's tests
// in one vitest run. Arguments go to vitest: `npm test -- --project edge-api`.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { elapsed, log } from './lib/log.mjs';
import { ensureServices } from './services.mjs';
import { repoRoot, setup } from './setup.mjs';

const startedAt = performance.now();
const report = join(repoRoot, 'test-results', 'vitest.json');

try {
  const took = await setup({ browser: true });
  await ensureServices();
  log.ok(`machine ready for the suite (${took}); worker: ${process.env.MEDIASOUP_WORKER_BIN}`);
} catch (error) {
  log.fail(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

rmSync(report, { force: true });
const vitest = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
});
const exitCode = await new Promise((resolve) => vitest.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

// A plain closing line that any CI can read, whatever the runner's own output looks like.
try {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'));
  console.log(`\n${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped`);
} catch {
  log.warn('vitest wrote no JSON report');
}
log[exitCode === 0 ? 'ok' : 'fail'](`npm test finished in ${elapsed(startedAt)}`);
process.exit(exitCode);
