import { Problem, Session, User } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ backend, loginLimit: 3 });
  });
  afterAll(() => t.close());

  const signUp = (email: string, extra: Record<string, unknown> = {}) =>
    t.app.request('/v1/auth/signup', jsonRequest('POST', { email, password: 'correct horse battery', displayName: 'Ada', ...extra }));

  describe('accounts', () => {
    it('signs up, answers with a session and sets an HttpOnly signed cookie', async () => {
      const response = await signUp('Ada@Example.com', { role: 'seller' });
      expect(response.status).toBe(201);
      const session = Session.parse(await response.json());
      expect(session.user).toMatchObject({ email: 'ada@example.com', displayName: 'Ada', role: 'seller' });
      const cookie = response.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^mytaek1_session=[^;]+\.[^;]+;/);
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Lax');

      const viaBearer = await t.app.request('/v1/auth/me', { headers: { authorization: `Bearer ${session.token}` } });
      expect(User.parse(await viaBearer.json()).id).toBe(session.user.id);
      const viaCookie = await t.app.request('/v1/auth/me', { headers: { cookie: cookie.split(';')[0]! } });
      expect(User.parse(await viaCookie.json()).id).toBe(session.user.id);
    });

    it('refuses a second account with the same email, whatever its case', async () => {
      await signUp('grace@example.com');
      const again = await signUp('GRACE@example.com');
      expect(again.status).toBe(409);
    });

    it('never lets sign-up make an admin', async () => {
      const response = await signUp('root@example.com', { role: 'admin' });
      expect(response.status).toBe(400);
      expect(Problem.parse(await response.json()).errors?.[0]?.path).toBe('role');
    });

    it('rejects malformed input with a message per field and creates nothing', async () => {
      const response = await t.app.request('/v1/auth/signup', jsonRequest('POST', { email: 'nope', password: 'short', displayName: '' }));
      expect(response.status).toBe(400);
      const paths = Problem.parse(await response.json()).errors?.map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['email', 'password', 'displayName']));
      const login = await t.app.request('/v1/auth/login', jsonRequest('POST', { email: 'nope@example.com', password: 'short' }));
      expect(login.status).toBe(401);
    });

    it('logs in with the right password only, then logs out', async () => {
      await signUp('lin@example.com');
      const wrong = await t.app.request('/v1/auth/login', jsonRequest('POST', { email: 'lin@example.com', password: 'wrong password!' }));
      expect(wrong.status).toBe(401);
      const right = await t.app.request('/v1/auth/login', jsonRequest('POST', { email: 'lin@example.com', password: 'correct horse battery' }));
      expect(right.status).toBe(200);
      const { token } = Session.parse(await right.json());
      const bearer = { authorization: `Bearer ${token}` };

      expect((await t.app.request('/v1/auth/logout', { method: 'POST', headers: bearer })).status).toBe(204);
      expect((await t.app.request('/v1/auth/me', { headers: bearer })).status).toBe(401);
    });

    it('limits sign-in attempts per account and says when to retry', async () => {
      await signUp('max@example.com');
      const attempt = () => t.app.request('/v1/auth/login', jsonRequest('POST', { email: 'max@example.com', password: 'guess guess guess' }));
      for (let i = 0; i < 3; i++) expect((await attempt()).status).toBe(401);
      const limited = await attempt();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('treats an unknown or forged token as signed out', async () => {
      expect((await t.app.request('/v1/auth/me', { headers: { authorization: 'Bearer not-a-session' } })).status).toBe(401);
      expect((await t.app.request('/v1/auth/me', { headers: { cookie: 'mytaek1_session=forged.value' } })).status).toBe(401);
    });
  });
});
