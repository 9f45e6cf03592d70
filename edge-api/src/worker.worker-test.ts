import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

// Runs inside workerd: the Worker entry, its bindings from wrangler.toml, and the real drivers.
describe('the edge API as a Worker', () => {
  it('answers its health check', async () => {
    const response = await SELF.fetch('http://api.test/healthz');
    expect(await response.json()).toEqual({ ok: true });
  });

  it('reads shows from MariaDB through PlanetScale’s driver', async () => {
    const response = await SELF.fetch('http://api.test/v1/shows');
    expect(response.status).toBe(200);
    const list = (await response.json()) as { upcoming: { title: string; sellerName: string }[] };
    expect(list.upcoming).toEqual([expect.objectContaining({ title: 'Autumn layers, live', sellerName: 'Mina’s Closet' })]);
  });

  it('signs in the demo seller and knows who they are', async () => {
    const login = await SELF.fetch('http://api.test/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'seller@demo.mytaek1.test', password: 'demo-seller-1' }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const me = await SELF.fetch('http://api.test/v1/auth/me', { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ email: 'seller@demo.mytaek1.test', role: 'seller' });
  });

  it('answers validation failures with problem details', async () => {
    const response = await SELF.fetch('http://api.test/v1/shows/not-an-id');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
  // The realtime room itself (viewers, chat, resume, moderation) is proven by show-room.worker-test.ts.
});
