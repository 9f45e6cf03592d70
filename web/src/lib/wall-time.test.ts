import { describe, expect, it } from 'vitest';
import { instantToWallTime, knownTimeZone, wallTimeToInstant } from './wall-time.ts';

describe('wallTimeToInstant', () => {
  it('reads a datetime-local value in the visitor’s zone', () => {
    expect(wallTimeToInstant('2026-11-25T17:30', 'UTC')).toBe('2026-11-25T17:30:00.000Z');
    expect(wallTimeToInstant('2026-11-25T17:30', 'Europe/Paris')).toBe('2026-11-25T16:30:00.000Z');
    expect(wallTimeToInstant('2026-07-01T09:00', 'Europe/Paris')).toBe('2026-07-01T07:00:00.000Z');
    expect(wallTimeToInstant('2026-11-26T02:30', 'Asia/Seoul')).toBe('2026-11-25T17:30:00.000Z');
    expect(wallTimeToInstant('2026-11-25T09:30:15', 'America/Los_Angeles')).toBe('2026-11-25T17:30:15.000Z');
  });

  it('settles the wall times a DST change skips or repeats', () => {
    // Paris skips 02:00–03:00 on 2026-03-29: 02:30 reads as 03:30 summer time.
    expect(wallTimeToInstant('2026-03-29T02:30', 'Europe/Paris')).toBe('2026-03-29T01:30:00.000Z');
    // ...and shows 02:00–03:00 twice on 2026-10-25: the first one (summer time) is meant.
    expect(wallTimeToInstant('2026-10-25T02:30', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
  });

  it('refuses what is not a datetime-local value or not a real date', () => {
    for (const text of ['', 'tomorrow', '2026-11-25', '2026-02-31T10:00', '2026-11-25T24:00', '2026-11-25 17:30']) {
      expect(wallTimeToInstant(text, 'UTC'), text).toBeNull();
    }
  });
});

describe('instantToWallTime and knownTimeZone', () => {
  it('round-trips with wallTimeToInstant', () => {
    expect(instantToWallTime('2026-11-25T16:30:00.000Z', 'Europe/Paris')).toBe('2026-11-25T17:30');
    expect(wallTimeToInstant(instantToWallTime(Date.parse('2026-07-01T07:00:00Z'), 'Asia/Seoul'), 'Asia/Seoul')).toBe('2026-07-01T07:00:00.000Z');
  });

  it('falls back to UTC for a zone the runtime does not know', () => {
    expect(knownTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(knownTimeZone('Mars/Olympus_Mons')).toBe('UTC');
    expect(knownTimeZone(null)).toBe('UTC');
  });
});
