import * as mediasoup from 'mediasoup';
import { loadConfig } from './config.ts';
import { createLogger, setLogLevel } from './logger.ts';
import { SfuServer } from './SfuServer.ts';
import { WorkerPool } from './WorkerPool.ts';

/** A shutdown that hangs (a worker that will not exit) must not keep a deploy waiting for ever. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const logger = createLogger('main');
const config = loadConfig();
setLogLevel(config.logLevel);

// mediasoup logs through the `debug` package, silent unless DEBUG is set: route its warnings and
// errors (a worker's stderr on a crash among them) to our log instead.
const mediasoupLogger = createLogger('mediasoup');
mediasoup.setLogEventListeners({
  onwarn: (namespace, log) => mediasoupLogger.warn(log, { namespace }),
  onerror: (namespace, log, error) => mediasoupLogger.error(log, { namespace, error }),
});

const pool = await WorkerPool.create({ size: config.workerCount });
let server: SfuServer;
try {
  server = await SfuServer.create({ config, pool });
} catch (error) {
  await pool.close();
  throw error;
}
logger.info(`listening on ${server.url}`, {
  workers: pool.size,
  signaling: `${server.url.replace(/^http/, 'ws')}/ws`,
  whip: `${server.url}/whip/:show`,
  whep: `${server.url}/whep/:show`,
  maxConsumersPerRouter: config.maxConsumersPerRouter,
  ...(config.originUrl ? { origin: config.originUrl } : {}),
});

let shuttingDown = false;
async function shutDown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info(`${signal}: shutting down`);
  setTimeout(() => {
    logger.error('shutdown timed out; exiting anyway');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
  await server.close();
  await pool.close();
  logger.info('stopped');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    shutDown(signal).catch((error: unknown) => {
      logger.error('shutdown failed', { error });
      process.exitCode = 1;
    });
  });
}
