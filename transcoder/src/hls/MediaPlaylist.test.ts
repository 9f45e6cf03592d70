import { describe, expect, it } from 'vitest';
import { mediaPlaylistViolations } from '../testing/hlsSpec.ts';
import { nextMediaSequence, parseMediaPlaylist, stitchReplayPlaylist, type RecordingPart } from './MediaPlaylist.ts';

/** As FFmpeg 5.1 writes a recording part (EVENT, fMP4, program date-time). */
function ffmpegEventPlaylist(durations: number[], { ended = true, firstSegment = 0 } = {}): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${Math.round(Math.max(...durations, 1))}`, `#EXT-X-MEDIA-SEQUENCE:${firstSegment}`];
  lines.push('#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-INDEPENDENT-SEGMENTS', '#EXT-X-MAP:URI="init.mp4"');
  durations.forEach((duration, i) => {
    lines.push(`#EXTINF:${duration.toFixed(6)},`, `#EXT-X-PROGRAM-DATE-TIME:2026-11-24T16:27:${String(48 + i).padStart(2, '0')}.377+0000`);
    lines.push(`seg-${String(firstSegment + i).padStart(5, '0')}.m4s`);
  });
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

function part(dir: string, durations: number[], ended = true): RecordingPart {
  return { dir, playlist: parseMediaPlaylist(ffmpegEventPlaylist(durations, { ended })) };
}

describe('parseMediaPlaylist', () => {
  it('reads what FFmpeg writes: sequence, init section, segments with their own tags, end', () => {
    const playlist = parseMediaPlaylist(ffmpegEventPlaylist([1, 1, 0.990234], { firstSegment: 40 }));
    expect(playlist.mediaSequence).toBe(40);
    expect(playlist.targetDuration).toBe('1');
    expect(playlist.playlistType).toBe('EVENT');
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.endList).toBe(true);
    expect(playlist.segments.map((segment) => [segment.uri, segment.duration, segment.map])).toEqual([
      ['seg-00040.m4s', 1, 'init.mp4'],
      ['seg-00041.m4s', 1, 'init.mp4'],
      ['seg-00042.m4s', 0.990234, 'init.mp4'],
    ]);
    expect(playlist.segments[0]?.tags).toEqual(['#EXT-X-PROGRAM-DATE-TIME:2026-11-24T16:27:48.377+0000']);
    expect(nextMediaSequence(playlist)).toBe(43);
  });

  it('refuses text that is not a playlist', () => {
    expect(() => parseMediaPlaylist('<html>')).toThrow(/EXTM3U/);
    expect(() => parseMediaPlaylist('#EXTM3U\nseg.m4s\n')).toThrow(/EXTINF/);
  });
});

describe('stitchReplayPlaylist', () => {
  it('joins recorded parts into one VOD playlist: a discontinuity and an init section per part', () => {
    const replay = stitchReplayPlaylist([part('part-000', [4, 4, 2.5]), part('part-001', [4, 1.2], false)]);
    expect(replay).not.toBeNull();
    expect(replay?.segmentCount).toBe(5);
    expect(replay?.durationSeconds).toBeCloseTo(15.7);
    const text = replay?.text ?? '';
    expect(mediaPlaylistViolations(text)).toEqual([]);
    expect(text).toMatch(/^#EXT-X-PLAYLIST-TYPE:VOD$/m);
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(text.match(/#EXT-X-ENDLIST/g)).toHaveLength(1);
    expect(text.match(/#EXT-X-DISCONTINUITY/g)).toHaveLength(1);
    const reparsed = parseMediaPlaylist(text);
    expect(reparsed.segments.map((segment) => `${segment.map} ${segment.uri}`)).toEqual([
      'part-000/init.mp4 part-000/seg-00000.m4s',
      'part-000/init.mp4 part-000/seg-00001.m4s',
      'part-000/init.mp4 part-000/seg-00002.m4s',
      'part-001/init.mp4 part-001/seg-00000.m4s',
      'part-001/init.mp4 part-001/seg-00001.m4s',
    ]);
    expect(reparsed.segments[3]?.discontinuity).toBe(true);
    // Program date-times survive, so a replay can still be lined up with the show's chat.
    expect(reparsed.segments[0]?.tags[0]).toMatch(/^#EXT-X-PROGRAM-DATE-TIME:/);
  });

  it('rounds the target duration up to a whole number no smaller than any segment', () => {
    expect(stitchReplayPlaylist([part('part-000', [4.2, 3.9])])?.text).toMatch(/^#EXT-X-TARGETDURATION:5$/m);
    // Sub-second segments still give 1, never 0.
    expect(stitchReplayPlaylist([part('part-000', [0.5, 0.5])])?.text).toMatch(/^#EXT-X-TARGETDURATION:1$/m);
  });

  it('skips parts that recorded nothing, and gives no playlist when no part did', () => {
    const empty = part('part-000', []);
    const replay = stitchReplayPlaylist([empty, part('part-001', [4])]);
    expect(replay?.text).not.toMatch(/#EXT-X-DISCONTINUITY/);
    expect(stitchReplayPlaylist([empty])).toBeNull();
    expect(stitchReplayPlaylist([])).toBeNull();
  });
});
