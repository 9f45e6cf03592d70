import type { ShowMediaEvent } from '@mytaek1/contracts';
import type { Logger } from '../logger.ts';
import { ShowMediaEventError, type ShowMediaEventsClient } from './ShowMediaEventsClient.ts';

/** Waits before the second and third attempt: an edge API restarting is back within seconds. */
const RETRY_DELAYS_MS = [1_000, 4_000];

/**
 * Reports a show media event, trying again when the edge API could not be reached or failed itself
 * (repeats are harmless there). Never rejects: media keeps flowing whether or not the show's
 * status could be updated; a lost report is logged.
 */
export async function reportShowMediaEvent(client: ShowMediaEventsClient, showId: string, event: ShowMediaEvent, logger: Logger, delaysMs: readonly number[] = RETRY_DELAYS_MS): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.report(showId, event);
      logger.info(`show ${showId}: ${event.type} reported to the edge API`);
      return true;
    } catch (error) {
      const retryable = error instanceof ShowMediaEventError && error.retryable;
      const message = error instanceof Error ? error.message : String(error);
      const delay = delaysMs[attempt];
      if (!retryable || delay === undefined) {
        logger.error(`${message}; giving up`);
        return false;
      }
      logger.warn(`${message}; trying again in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
}
