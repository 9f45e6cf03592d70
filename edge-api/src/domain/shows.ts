import { DomainError } from './errors.ts';

export type ShowStatus = 'scheduled' | 'live' | 'ended';

export interface ShowRecord {
  id: string;
  sellerId: string;
  title: string;
  description: string;
  status: ShowStatus;
  scheduledAt: number;
  startedAt: number | null;
  endedAt: number | null;
  /** The finalised recording, once the transcoder reported it. */
  replay: { playlistUrl: string; durationMs: number } | null;
  /** Optimistic concurrency: a transition is stored only if nobody wrote the show since it was read. */
  version: number;
}

/** A show as listed: the record plus what a viewer sees of its seller. */
export interface ShowSummary extends ShowRecord {
  sellerName: string;
}

export interface ShowStore {
  get(id: string): Promise<ShowSummary | null>;
  listByStatus(status: ShowStatus, limit: number): Promise<ShowSummary[]>;
  /** The seller's live show, else their scheduled show that starts soonest: what an RTMP publish feeds. */
  liveOrNextFor(sellerId: string): Promise<ShowRecord | null>;
  insert(show: ShowRecord): Promise<void>;
  /** Writes `show` if the stored version is still `show.version - 1`; false when someone got there first. */
  update(show: ShowRecord): Promise<boolean>;
}

export interface ScheduleShowInput {
  sellerId: string;
  title: string;
  description: string;
  scheduledAt: number;
}

export function scheduleShow(input: ScheduleShowInput, id: string): ShowRecord {
  if (!input.title.trim()) throw new DomainError('invalid', 'a show needs a title');
  return { id, ...input, title: input.title.trim(), status: 'scheduled', startedAt: null, endedAt: null, replay: null, version: 0 };
}

export function goLive(show: ShowRecord, actorId: string, now: number): ShowRecord {
  assertSeller(show, actorId);
  if (show.status !== 'scheduled') throw new DomainError('conflict', `a show that is ${show.status} cannot go live`);
  return { ...show, status: 'live', startedAt: now, version: show.version + 1 };
}

export function endShow(show: ShowRecord, actorId: string, now: number): ShowRecord {
  assertSeller(show, actorId);
  if (show.status !== 'live') throw new DomainError('conflict', `a show that is ${show.status} cannot end`);
  return { ...show, status: 'ended', endedAt: now, version: show.version + 1 };
}

function assertSeller(show: ShowRecord, actorId: string): void {
  if (show.sellerId !== actorId) throw new DomainError('forbidden', 'only the show’s seller may do this');
}
