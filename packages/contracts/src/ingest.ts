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

/**
 * The media services report what happens to a show's media to the edge API, the only writer of show
 * state: `POST /v1/internal/shows/{showId}/media-events` with the shared TOKEN_SECRET as bearer; 204
 * when recorded (repeats are harmless: a `publish_started` for a live show changes nothing).
 * - `publish_started`: an OBS (RTMP or WHIP) publish was accepted; a scheduled show goes live.
 * - `publish_ended`: the publisher is gone for good (after the ingest's resume grace); a live show ends.
 * - `recording_ready`: the replay is finalised; the show lists it from then on.
 */
export const showMediaEventsPath = (showId: string): string => `/v1/internal/shows/${encodeURIComponent(showId)}/media-events`;

export const MediaSource = z.enum(['rtmp', 'whip', 'webrtc']);
export type MediaSource = z.infer<typeof MediaSource>;

export const ShowMediaEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('publish_started'), source: MediaSource }),
  z.object({ type: z.literal('publish_ended'), source: MediaSource }),
  z.object({
    type: z.literal('recording_ready'),
    /** Where the VOD playlist is served, absolute (the transcoder's public URL or the storage's CDN). */
    playlistUrl: z.url({ protocol: /^https?$/ }),
    durationSeconds: z.number().nonnegative(),
  }),
]);
export type ShowMediaEvent = z.infer<typeof ShowMediaEvent>;
