import { describe, expect, it } from 'vitest';
import { compactCount, describeModeration, formatDuration, problemMessage } from './chat-display.ts';

describe('chat display', () => {
  it('says how long in words a person reads, rounding up', () => {
    expect(formatDuration(0)).toBe('1 second');
    expect(formatDuration(4_200)).toBe('5 seconds');
    expect(formatDuration(60_000)).toBe('1 minute');
    expect(formatDuration(599_000)).toBe('10 minutes');
    expect(formatDuration(90 * 60_000)).toBe('1 hour 30 minutes');
    expect(formatDuration(24 * 3_600_000)).toBe('1 day');
    expect(formatDuration(50 * 3_600_000)).toBe('2 days 2 hours');
  });

  it('words every refusal a viewer can meet, with when to try again', () => {
    expect(problemMessage({ code: 'rate_limited', message: '', retryAfterMs: 3_100 })).toBe('You are sending messages too fast. Try again in 4 seconds.');
    expect(problemMessage({ code: 'muted', message: '', retryAfterMs: 600_000 })).toBe('A moderator muted you. You can chat again in 10 minutes.');
    expect(problemMessage({ code: 'banned', message: '' })).toBe('A moderator removed you from this chat.');
    expect(problemMessage({ code: 'chat_too_long', message: '' })).toBe('Messages are at most 500 characters.');
    expect(problemMessage({ code: 'invalid_message', message: 'text: bad' })).toBe('The chat could not take that (text: bad).');
  });

  it('writes the moderation log with the names seen in chat', () => {
    const names = new Map([['u1', 'Ana']]);
    const nameOf = (id: string) => names.get(id);
    const base = { at: '2026-01-01T10:00:00.000Z', by: 's', byName: 'Studio Sol' };
    expect(describeModeration({ ...base, action: 'mute', userId: 'u1', seconds: 600 }, nameOf)).toBe('Studio Sol muted Ana for 10 minutes');
    expect(describeModeration({ ...base, action: 'ban', userId: 'u2' }, nameOf)).toBe('Studio Sol banned a viewer');
    expect(describeModeration({ ...base, action: 'unban', userId: 'u1' }, nameOf)).toBe('Studio Sol let Ana back in');
    expect(describeModeration({ ...base, action: 'delete', messageId: 'm1' }, nameOf, (id) => (id === 'm1' ? 'Ana' : undefined))).toBe('Studio Sol deleted a message by Ana');
  });

  it('shortens big counts', () => {
    expect([compactCount(0), compactCount(999), compactCount(1_000), compactCount(1_234), compactCount(12_500)]).toEqual(['0', '999', '1K', '1.2K', '12.5K']);
  });
});
