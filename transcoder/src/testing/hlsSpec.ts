/**
 * What a test checks in an fMP4 media playlist, after RFC 8216: the rules players trip over.
 * Returns the violations found (empty when the playlist is fine).
 */
export function mediaPlaylistViolations(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  if (lines[0] !== '#EXTM3U') problems.push('first line is not #EXTM3U');
  const targets = lines.filter((line) => line.startsWith('#EXT-X-TARGETDURATION:'));
  const targetValue = targets[0]?.slice('#EXT-X-TARGETDURATION:'.length);
  if (targets.length !== 1) problems.push(`expected one EXT-X-TARGETDURATION, found ${targets.length}`);
  // 4.3.3.1: a decimal-integer; a player cannot use 0 to pace its reloads.
  if (targetValue !== undefined && !/^[1-9]\d*$/.test(targetValue)) problems.push(`EXT-X-TARGETDURATION is not a positive integer: ${targetValue}`);
  const target = Number(targetValue);
  const version = Number(lines.find((line) => line.startsWith('#EXT-X-VERSION:'))?.slice('#EXT-X-VERSION:'.length) ?? 1);
  let mapSeen = false;
  let segments = 0;
  let pendingDuration: number | undefined;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-MAP:')) {
      mapSeen = true;
      if (!/URI="[^"]+"/.test(line)) problems.push(`EXT-X-MAP without URI: ${line}`);
    } else if (line.startsWith('#EXTINF:')) {
      pendingDuration = Number.parseFloat(line.slice('#EXTINF:'.length));
      // 4.3.3.1: each EXTINF, rounded to the nearest integer, must not exceed the target duration.
      if (!(Math.round(pendingDuration) <= target)) problems.push(`EXTINF ${pendingDuration} exceeds TARGETDURATION ${target}`);
    } else if (!line.startsWith('#')) {
      segments += 1;
      if (pendingDuration === undefined) problems.push(`segment ${line} has no EXTINF`);
      if (!mapSeen) problems.push(`fMP4 segment ${line} comes before any EXT-X-MAP`);
      pendingDuration = undefined;
    }
  }
  if (mapSeen && version < 6) problems.push(`EXT-X-MAP needs EXT-X-VERSION 6 or later, found ${version}`);
  if (segments === 0) problems.push('no segments');
  return problems;
}

/** Segment URIs of a media playlist, in order. */
export function segmentUris(text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
}

export function mapUris(text: string): string[] {
  return [...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((match) => match[1] ?? '');
}
