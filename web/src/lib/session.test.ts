import { describe, expect, it } from 'vitest';
import { passCookiesOn, safeRedirectTarget, withPassedCookies } from './session.ts';

describe('safeRedirectTarget', () => {
  it('follows paths on this site only', () => {
    expect(safeRedirectTarget('/studio', '/')).toBe('/studio');
    expect(safeRedirectTarget('/shows/abc?x=1', '/')).toBe('/shows/abc?x=1');
    for (const elsewhere of ['//evil.test/', '/\\evil.test', 'https://evil.test/', 'javascript:alert(1)', '', null]) {
      expect(safeRedirectTarget(elsewhere, '/studio')).toBe('/studio');
    }
  });
});

describe('passCookiesOn and withPassedCookies', () => {
  it('passes each Set-Cookie of the API’s answer to the browser as it was sent', () => {
    const locals = { edgeApiSetCookies: [] } as unknown as App.Locals;
    const signed = 'mytaek1_session=abc.def%3D; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; SameSite=Lax';
    const upstream = new Headers();
    upstream.append('set-cookie', signed);
    upstream.append('set-cookie', 'other=1; Path=/');
    passCookiesOn(locals, { headers: upstream });
    const page = withPassedCookies(locals, new Response('<html></html>', { headers: { 'set-cookie': 'kit=own; Path=/' } }));
    expect(page.headers.getSetCookie()).toEqual(['kit=own; Path=/', signed, 'other=1; Path=/']);
  });
});
