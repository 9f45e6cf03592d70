/**
 * `<input type="datetime-local">` speaks wall-clock time ("2026-11-25T17:30") with no zone, while
 * the API takes UTC instants. Form actions run on the server, which does not know the visitor's
 * zone, so the forms send it along (a hidden field the browser fills in; UTC without JavaScript)
 * and the conversion happens here.
 */
import { dateTimeFormat } from './intl.ts';

/** The zone forms assume when the browser did not say (no JavaScript), and say so next to the field. */
export const FALLBACK_TIME_ZONE = 'UTC';

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** `zone` when it is a time zone this runtime knows, otherwise the fallback. */
export function knownTimeZone(zone: string | null | undefined): string {
  if (!zone) return FALLBACK_TIME_ZONE;
  try {
    dateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return FALLBACK_TIME_ZONE;
  }
}

/** The wall time `zone` shows at `epochMs`, as epoch milliseconds of that same wall time in UTC. */
function wallClockOf(epochMs: number, zone: string): number {
  const parts = dateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(epochMs));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
}

/**
 * "2026-11-25T17:30" in `zone` → "2026-11-25T16:30:00.000Z" (for Europe/Paris); null when the text
 * is not a datetime-local value. A wall time that a DST change skips moves forward by the gap (02:30
 * becomes 03:30, as clocks read it); one that occurs twice resolves to its first occurrence.
 */
export function wallTimeToInstant(wallTime: string, zone: string): string | null {
  const match = WALL_TIME.exec(wallTime.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((field) => Number(field ?? 0)) as [number, number, number, number, number, number];
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC wraps out-of-range fields (Feb 31 → Mar 3); such a date was not a real one.
  const check = new Date(asUtc);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return null;
  // The zone's offset at a first guess, then at the corrected instant: two steps settle it, DST included.
  const firstGuess = asUtc - (wallClockOf(asUtc, zone) - asUtc);
  const offset = wallClockOf(firstGuess, zone) - firstGuess;
  let instant = asUtc - offset;
  // Of two instants that show this wall time (the hour a DST change repeats), take the earlier one.
  const earlier = instant - 60 * 60 * 1000;
  if (wallClockOf(earlier, zone) === asUtc) instant = earlier;
  return new Date(instant).toISOString();
}

/** An instant as the datetime-local value `zone` shows for it: "2026-11-25T17:30". */
export function instantToWallTime(instant: string | number, zone: string): string {
  return new Date(wallClockOf(typeof instant === 'number' ? instant : Date.parse(instant), zone)).toISOString().slice(0, 16);
}
