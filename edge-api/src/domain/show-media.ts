import { DomainError } from './errors.ts';
import { endShow, goLive, type ShowRecord } from './shows.ts';

/**
 * What a seller's media does to their show, as the media services report it (the transcoder for
 * RTMP, the sfu for WHIP). Repeats change nothing: a service may report again after a timeout, or
 * report a publish that the seller already started or ended by hand in the studio.
 *
 * Returns the show as it must be stored, or null when it is already where the event leaves it.
 */
export function onPublishStarted(show: ShowRecord, now: number): ShowRecord | null {
  switch (show.status) {
    case 'scheduled':
      // The media service acts for the show's seller: their stream key opened this show.
      return goLive(show, show.sellerId, now);
    case 'live':
      return null;
    case 'ended':
      throw new DomainError('conflict', 'the show has ended: a new publish cannot bring it back', { reason: 'show-ended' });
  }
}

/**
 * The transcoder finalised the show's recording. Each publish of a show adds to the same replay, so
 * a later report (a longer recording) replaces an earlier one; a repeat, or a retry that arrives
 * after a longer report, changes nothing. Any status: a replay exists once a publish ended, even if
 * the show is still live.
 */
export function onRecordingReady(show: ShowRecord, replay: { playlistUrl: string; durationMs: number }): ShowRecord | null {
  const current = show.replay;
  if (current && current.playlistUrl === replay.playlistUrl && current.durationMs >= replay.durationMs) return null;
  return { ...show, replay, version: show.version + 1 };
}

/** The publisher is gone for good: a live show ends; a show that never went live, or already ended, stays as it is. */
export function onPublishEnded(show: ShowRecord, now: number): ShowRecord | null {
  return show.status === 'live' ? endShow(show, show.sellerId, now) : null;
}
