import { accessSync, constants } from 'node:fs';

/**
 * Imported first by every test that starts mediasoup workers. mediasoup reads MEDIASOUP_WORKER_BIN
 * once, when it is imported, so the check must run before that, and say what to do.
 */
const workerBin = process.env.MEDIASOUP_WORKER_BIN;
if (!workerBin) {
  throw new Error(
    'MEDIASOUP_WORKER_BIN is not set. The sfu tests run real mediasoup workers: build (or find) the binary with ' +
      '`node scripts/mediasoup-worker.mjs`, then run e.g. ' +
      '`MEDIASOUP_WORKER_BIN=$(node scripts/mediasoup-worker.mjs | tail -1) npx vitest run --project sfu` (or `npm test`).',
  );
}
try {
  accessSync(workerBin, constants.X_OK);
} catch {
  throw new Error(`MEDIASOUP_WORKER_BIN=${workerBin} is not an executable file.`);
}

export { workerBin };
