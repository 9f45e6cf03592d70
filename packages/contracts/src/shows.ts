import { z } from 'zod';
import { Id } from './ids.ts';

export const ShowStatus = z.enum(['scheduled', 'live', 'ended']);
export type ShowStatus = z.infer<typeof ShowStatus>;

/** Instants cross boundaries as ISO 8601 strings in UTC. */
export const Instant = z.iso.datetime({ offset: false });

/** A show's recording, once the media services finalised it: a VOD HLS playlist. */
export const ShowReplay = z.object({
  /** Absolute: the transcoder's public URL or the storage's CDN. */
  playlistUrl: z.url({ protocol: /^https?$/ }),
  durationSeconds: z.number().nonnegative(),
});
export type ShowReplay = z.infer<typeof ShowReplay>;

export const Show = z.object({
  id: Id,
  sellerId: Id,
  sellerName: z.string(),
  title: z.string(),
  description: z.string(),
  status: ShowStatus,
  scheduledAt: Instant,
  startedAt: Instant.nullable(),
  endedAt: Instant.nullable(),
  /** Null until the recording is finalised (a replay can exist while the show is still live, after a publish ended). */
  replay: ShowReplay.nullable(),
});
export type Show = z.infer<typeof Show>;

/** The home page's view: what is on now, what is coming, and what can be replayed. */
export const ShowList = z.object({
  live: z.array(Show),
  upcoming: z.array(Show),
  ended: z.array(Show),
});
export type ShowList = z.infer<typeof ShowList>;

export const ScheduleShowRequest = z.object({
  title: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(5000, 'must be at most 5000 characters').default(''),
  scheduledAt: Instant,
});
export type ScheduleShowRequest = z.input<typeof ScheduleShowRequest>;
