import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';
import { issueToken, verifyToken } from './tokens.ts';

const secret = 'a-test-secret-that-is-long-enough-to-use';
const show = newId();

describe('admission tokens', () => {
  it('round-trips claims through sign and verify', async () => {
    const token = await issueToken({ aud: 'sfu', sub: 'u1', show, role: 'viewer' }, secret, { ttlSeconds: 60 });
    const result = await verifyToken(token, secret, { audience: 'sfu' });
    expect(result).toMatchObject({ ok: true, claims: { sub: 'u1', show, role: 'viewer', aud: 'sfu' } });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await issueToken({ aud: 'sfu', sub: 'u1', show, role: 'viewer' }, `${secret}-other`, { ttlSeconds: 60 });
    expect(await verifyToken(token, secret, { audience: 'sfu' })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a tampered payload', async () => {
    const token = await issueToken({ aud: 'sfu', sub: 'u1', show, role: 'viewer' }, secret, { ttlSeconds: 60 });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(atob(payload!.replaceAll('-', '+').replaceAll('_', '/')));
    const forged = btoa(JSON.stringify({ ...claims, role: 'publisher' })).replaceAll('=', '');
    expect(await verifyToken(`${header}.${forged}.${signature}`, secret, { audience: 'sfu' })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses an expired token and one for another audience', async () => {
    const now = Date.now();
    const token = await issueToken({ aud: 'sfu', sub: 'u1', show, role: 'viewer' }, secret, { ttlSeconds: 30, now: now - 60_000 });
    expect(await verifyToken(token, secret, { audience: 'sfu', now })).toEqual({ ok: false, reason: 'expired' });
    const fresh = await issueToken({ aud: 'realtime', sub: 'u1', show, role: 'viewer' }, secret, { ttlSeconds: 30 });
    expect(await verifyToken(fresh, secret, { audience: 'sfu' })).toEqual({ ok: false, reason: 'wrong_audience' });
  });

  it('calls garbage malformed', async () => {
    for (const junk of ['', 'a.b', 'x.y.z', 'a.b.c.d', '...']) {
      expect(await verifyToken(junk, secret, { audience: 'sfu' })).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
