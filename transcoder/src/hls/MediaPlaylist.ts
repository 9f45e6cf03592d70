/**
 * HLS media playlists (RFC 8216 section 4.3): just enough parsing to continue a live playlist
 * after an FFmpeg restart and to stitch recorded parts into one replay, and the writer for that
 * replay. Media playlists only; master playlists are not handled.
 */

export interface MediaSegment {
  uri: string;
  /** EXTINF seconds. */
  duration: number;
  /** The EXT-X-MAP URI in effect for this segment (fMP4 init section), if any. */
  map: string | undefined;
  /** Segment-scoped tags seen since the previous segment, kept verbatim (PROGRAM-DATE-TIME, ...). */
  tags: string[];
  discontinuity: boolean;
}

export interface MediaPlaylist {
  version: number | undefined;
  /** The raw EXT-X-TARGETDURATION value (a decimal-integer by the specification). */
  targetDuration: string | undefined;
  mediaSequence: number;
  playlistType: 'EVENT' | 'VOD' | undefined;
  independentSegments: boolean;
  segments: MediaSegment[];
  endList: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist: first line is not #EXTM3U');
  const playlist: MediaPlaylist = {
    version: undefined,
    targetDuration: undefined,
    mediaSequence: 0,
    playlistType: undefined,
    independentSegments: false,
    segments: [],
    endList: false,
  };
  let map: string | undefined;
  let duration: number | undefined;
  let tags: string[] = [];
  let discontinuity = false;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (!line.startsWith('#')) {
      if (duration === undefined) throw new Error(`segment ${line} has no #EXTINF`);
      playlist.segments.push({ uri: line, duration, map, tags, discontinuity });
      duration = undefined;
      tags = [];
      discontinuity = false;
      continue;
    }
    const [tag, value = ''] = splitTag(line);
    switch (tag) {
      case '#EXT-X-VERSION':
        playlist.version = Number(value);
        break;
      case '#EXT-X-TARGETDURATION':
        playlist.targetDuration = value;
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        playlist.mediaSequence = Number(value);
        break;
      case '#EXT-X-PLAYLIST-TYPE':
        if (value === 'EVENT' || value === 'VOD') playlist.playlistType = value;
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        playlist.independentSegments = true;
        break;
      case '#EXT-X-ENDLIST':
        playlist.endList = true;
        break;
      case '#EXT-X-MAP':
        map = /URI="([^"]*)"/.exec(value)?.[1];
        break;
      case '#EXTINF':
        duration = Number.parseFloat(value);
        if (!Number.isFinite(duration)) throw new Error(`bad #EXTINF: ${line}`);
        break;
      case '#EXT-X-DISCONTINUITY':
        discontinuity = true;
        break;
      default:
        // Unknown tags before a segment travel with it; playlist-level ones are dropped.
        if (tag.startsWith('#EXT')) tags.push(line);
    }
  }
  return playlist;
}

/** The media sequence number the next segment after this playlist's last one would carry. */
export function nextMediaSequence(playlist: MediaPlaylist): number {
  return playlist.mediaSequence + playlist.segments.length;
}

/** A recorded part of a replay: one FFmpeg run's event playlist, under `dir` beside the replay's index. */
export interface RecordingPart {
  dir: string;
  playlist: MediaPlaylist;
}

export interface StitchedReplay {
  text: string;
  segmentCount: number;
  durationSeconds: number;
}

/**
 * One VOD playlist over every recorded part, in order. Each part is a separate FFmpeg run (a
 * restart, or a later publish of the same show), so each starts with a discontinuity and its own
 * init section. Returns null when nothing was recorded.
 */
export function stitchReplayPlaylist(parts: readonly RecordingPart[]): StitchedReplay | null {
  const body: string[] = [];
  let longest = 0;
  let segmentCount = 0;
  let durationSeconds = 0;
  let first = true;
  for (const part of parts) {
    let currentMap: string | undefined;
    let partStarted = false;
    for (const segment of part.playlist.segments) {
      if (!first && (!partStarted || segment.discontinuity)) body.push('#EXT-X-DISCONTINUITY');
      if (segment.map !== undefined && (segment.map !== currentMap || !partStarted)) {
        body.push(`#EXT-X-MAP:URI="${joinUri(part.dir, segment.map)}"`);
        currentMap = segment.map;
      }
      body.push(...segment.tags, `#EXTINF:${segment.duration.toFixed(6)},`, joinUri(part.dir, segment.uri));
      longest = Math.max(longest, segment.duration);
      segmentCount += 1;
      durationSeconds += segment.duration;
      first = false;
      partStarted = true;
    }
  }
  if (segmentCount === 0) return null;
  const header = [
    '#EXTM3U',
    // 6 allows EXT-X-MAP in a playlist without I-frames-only (RFC 8216 section 7).
    '#EXT-X-VERSION:7',
    // An integer no smaller than any EXTINF: rounding up satisfies every reading of section 4.3.3.1.
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longest))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  const recorded = parts.filter((part) => part.playlist.segments.length > 0);
  if (recorded.every((part) => part.playlist.independentSegments)) header.push('#EXT-X-INDEPENDENT-SEGMENTS');
  return { text: [...header, ...body, '#EXT-X-ENDLIST', ''].join('\n'), segmentCount, durationSeconds };
}

function splitTag(line: string): [string, string | undefined] {
  const colon = line.indexOf(':');
  return colon === -1 ? [line, undefined] : [line.slice(0, colon), line.slice(colon + 1)];
}

function joinUri(dir: string, uri: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/') ? uri : `${dir}/${uri}`;
}
