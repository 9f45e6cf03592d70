import { join } from 'node:path';

/**
 * Where media lives under MEDIA_DIR, and the URL paths that mirror it:
 *   live/<showId>/index.m3u8, init.mp4, <publish>-<n>.m4s     the sliding live window
 *   replays/<showId>/index.m3u8                                the finalised VOD playlist
 *   replays/<showId>/part-<n>/index.m3u8, init.mp4, seg-<n>.m4s  one recorded part per FFmpeg run
 */
export const LIVE_AREA = 'live';
export const REPLAYS_AREA = 'replays';
export const PLAYLIST_FILE = 'index.m3u8';
export const INIT_FILE = 'init.mp4';

/**
 * A name safe as one path segment on disk and in a URL: no separators, no leading dot (so no `.`,
 * `..` or hidden files). Show ids are UUIDs; this also guards what the HTTP server accepts.
 */
export function isSafePathSegment(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name);
}

export function liveDirOf(mediaDir: string, showId: string): string {
  return join(mediaDir, LIVE_AREA, checked(showId));
}

export function replayDirOf(mediaDir: string, showId: string): string {
  return join(mediaDir, REPLAYS_AREA, checked(showId));
}

export function recordingPartName(index: number): string {
  return `part-${String(index).padStart(3, '0')}`;
}

/** The index of a recording part directory, or undefined for any other name. */
export function recordingPartIndex(name: string): number | undefined {
  const match = /^part-(\d+)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function checked(showId: string): string {
  if (!isSafePathSegment(showId)) throw new Error(`show id is not a safe path segment: ${JSON.stringify(showId)}`);
  return showId;
}
