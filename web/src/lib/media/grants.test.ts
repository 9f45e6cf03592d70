import type { AdmissionGrant } from '@mytaek1/contracts';
import { describe, expect, it } from 'vitest';
import { firstGrantThen } from './grants.ts';

describe('firstGrantThen', () => {
  const now = Date.parse('2026-11-24T12:00:00.000Z');
  const rendered = (secondsLeft: number): AdmissionGrant => ({ token: 'from-the-render', role: 'viewer', expiresAt: new Date(now + secondsLeft * 1000).toISOString() });
  const fetched = async () => ({ token: `fetched-${++fetches}`, role: 'viewer' as const });
  let fetches = 0;

  it('uses the render’s grant for the first connection only, then fetches', async () => {
    fetches = 0;
    const provide = firstGrantThen(rendered(120), fetched, () => now);
    expect(await provide()).toEqual({ token: 'from-the-render', role: 'viewer' });
    expect(await provide()).toEqual({ token: 'fetched-1', role: 'viewer' });
    expect(await provide()).toEqual({ token: 'fetched-2', role: 'viewer' });
  });

  it('fetches at once when the render’s grant is about to expire, or there is none', async () => {
    fetches = 0;
    expect(await firstGrantThen(rendered(10), fetched, () => now)()).toEqual({ token: 'fetched-1', role: 'viewer' });
    expect(await firstGrantThen(null, fetched, () => now)()).toEqual({ token: 'fetched-2', role: 'viewer' });
  });
});
