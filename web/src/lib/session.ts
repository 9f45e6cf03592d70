/**
 * The visitor's session lives in the edge API's signed, HttpOnly cookie. Sign-up, sign-in and
 * sign-out run as form actions on this server, which calls the API directly; the API's Set-Cookie
 * headers are passed on to the browser exactly as sent (hooks.server.ts appends them to the page's
 * response), so this server never has to know the cookie's name, signature or attributes.
 */
import type { User } from '@mytaek1/contracts';
import type { ApiClient } from './api.ts';

/** Queues the Set-Cookie headers of an edge API response for the browser. */
export function passCookiesOn(locals: App.Locals, response: { headers: Headers }): void {
  locals.edgeApiSetCookies.push(...response.headers.getSetCookie());
}

/** Appends the queued Set-Cookie headers to the response the browser gets. */
export function withPassedCookies(locals: App.Locals, response: Response): Response {
  for (const cookie of locals.edgeApiSetCookies) response.headers.append('set-cookie', cookie);
  return response;
}

/**
 * Who is signed in, per the edge API: a User, or null when nobody is (401). When the API cannot
 * be asked, the visitor is treated as signed out rather than shown an error: every page's layout
 * asks, and pages that need no account should still work (or show their own error).
 */
export async function signedInUser(api: ApiClient): Promise<User | null> {
  try {
    const response = await api.v1.auth.me.$get();
    if (response.status === 200) return await response.json();
    // Widened on purpose: the route declares 200 and 401, but a proxy or a crash can answer anything.
    const status: number = response.status;
    if (status !== 401) console.error(`web: GET /v1/auth/me answered ${status}; treating the visitor as signed out`);
    return null;
  } catch (cause) {
    console.error('web: could not ask the edge API who is signed in; treating the visitor as signed out:', cause);
    return null;
  }
}

/**
 * Where to go after signing in: the `redirectTo` the sign-in page was given when it is a path on
 * this site, else `fallback`. Anything else (`//evil.test`, `https://…`, `/\evil.test`) could send
 * a freshly signed-in visitor to another site.
 */
export function safeRedirectTarget(redirectTo: string | null, fallback: string): string {
  if (!redirectTo || !redirectTo.startsWith('/') || redirectTo.startsWith('//') || redirectTo.startsWith('/\\')) return fallback;
  return redirectTo;
}
