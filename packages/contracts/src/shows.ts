import { z } from 'zod';
import { Id } from './ids.ts';

export const ShowStatus = z.enum(['scheduled', 'live', 'ended']);
export type ShowStatus = z.infer<typeof ShowStatus>;

/** Instants cross boundaries as ISO 8601 strings in UTC. */
export const Instant = z.iso.datetime({ offset: false });

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
