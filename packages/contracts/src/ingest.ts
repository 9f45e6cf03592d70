import { z } from 'zod';
import { Id } from './ids.ts';
import { Instant } from './shows.ts';

/** A seller's RTMP credentials, shown in the studio so they can be pasted into OBS. */
export const StreamKey = z.object({
  rtmpUrl: z.string(),
  streamKey: z.string(),
  createdAt: Instant,
});
export type StreamKey = z.infer<typeof StreamKey>;

/**
 * The transcoder (and the SFU's WHIP endpoint) ask the edge API whether a publish may start, before
 * accepting any media: POST INGEST_VERIFY_PATH with the shared TOKEN_SECRET as bearer. Both
 * verdicts answer 200; any other status means the check itself failed, and the publish is refused.
 */
export const INGEST_VERIFY_PATH = '/v1/internal/ingest/verify';

export const IngestVerifyRequest = z.object({ streamKey: z.string().min(1).max(128) });
export type IngestVerifyRequest = z.infer<typeof IngestVerifyRequest>;

export const IngestVerifyResponse = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), showId: Id, sellerId: Id }),
  // Today the edge API says `unknown_key` or `no_scheduled_show`; verifiers must accept any reason.
  z.object({ ok: z.literal(false), reason: z.string().min(1).max(200) }),
]);
export type IngestVerifyResponse = z.infer<typeof IngestVerifyResponse>;
