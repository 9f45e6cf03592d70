/**
 * The transcoder's entry: `npm start -w @mytaek1/transcoder` (or `node src/index.ts`).
 * Configuration comes from the environment (see config.ts).
 */
import { loadConfig } from './config.ts';
import { INGEST_VERIFY_PATH } from '@mytaek1/contracts';
import { createConsoleLogger } from './logger.ts';
import { TranscoderService } from './TranscoderService.ts';

/** After a signal, how long the pipelines get to finish their files before the process just exits. */
const SHUTDOWN_DEADLINE_MS = 15_000;

const config = loadConfig();
const logger = createConsoleLogger(config.logLevel);
if (config.usingDevTokenSecret) logger.warn('TOKEN_SECRET is not set: using the development secret');

const service = await TranscoderService.create(config, { logger });
logger.info(`RTMP ingest: ${service.ingest.publishUrl}/<streamKey> (keys checked at ${config.edgeApiUrl}${INGEST_VERIFY_PATH})`);
logger.info(`HLS: ${service.http.url}/live/<showId>/index.m3u8, replays at ${service.http.url}/replays/<showId>/index.m3u8`);
logger.info(`health: ${service.http.url}/healthz; media in ${config.mediaDir}`);

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(`${signal}: finishing live shows and stopping`);
    // A stuck shutdown must not hang a deploy; every FFmpeg has been SIGKILLed well before this.
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  });
}
