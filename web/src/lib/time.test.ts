import type { Show } from '@mytaek1/contracts';
import { describe, expect, it } from 'vitest';
import { formatInstant, formatRelative, showMoment } from './time.ts';

const scheduled: Show = {
  id: '019ab5f0-0000-7000-8000-000000000001',
  sellerId: '019ab5f0-0000-7000-8000-000000000002',
  sellerName: 'Mina’s Closet',
  title: 'Autumn layers, live',
  description: '',
  status: 'scheduled',
  scheduledAt: '2026-11-25T17:30:00.000Z',
  startedAt: null,
  endedAt: null,
  replay: null,
};

describe('formatInstant', () => {
  it('names the zone when it is given one, so a server-rendered UTC time is not mistaken for local time', () => {
    expect(formatInstant('2026-11-25T17:30:00.000Z', 'UTC')).toBe('Wed, Nov 25, 5:30\u00a0PM\u00a0UTC');
    expect(formatInstant('2026-11-25T17:30:00.000Z', 'Asia/Seoul')).toBe('Thu, Nov 26, 2:30\u00a0AM\u00a0GMT+9');
  });
});

describe('formatRelative', () => {
  const at = Date.parse('2026-11-25T17:30:00.000Z');
  it('uses the largest whole unit, in both directions', () => {
    expect(formatRelative('2026-11-25T17:30:00.000Z', at - 59 * 60_000)).toBe('in 59 minutes');
    expect(formatRelative('2026-11-25T17:30:00.000Z', at + 3 * 3_600_000 + 5 * 60_000)).toBe('3 hours ago');
    expect(formatRelative('2026-11-25T17:30:00.000Z', at - 2 * 86_400_000)).toBe('in 2 days');
    expect(formatRelative('2026-11-25T17:30:00.000Z', at - 86_400_000)).toBe('tomorrow');
    expect(formatRelative('2026-11-25T17:30:00.000Z', at - 30_000)).toBe('in less than a minute');
    expect(formatRelative('2026-11-25T17:30:00.000Z', at + 30_000)).toBe('just now');
  });
});

describe('showMoment', () => {
  it('picks the start for upcoming and live shows and the end for ended ones', () => {
    expect(showMoment(scheduled)).toEqual({ label: 'Starts', instant: scheduled.scheduledAt });
    const live: Show = { ...scheduled, status: 'live', startedAt: '2026-11-25T17:32:00.000Z' };
    expect(showMoment(live)).toEqual({ label: 'Started', instant: '2026-11-25T17:32:00.000Z' });
    const ended: Show = { ...live, status: 'ended', endedAt: '2026-11-25T18:40:00.000Z' };
    expect(showMoment(ended)).toEqual({ label: 'Ended', instant: '2026-11-25T18:40:00.000Z' });
  });
});
