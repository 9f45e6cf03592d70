import type { Context, MiddlewareHandler } from 'hono';
import { getSignedCookie } from 'hono/cookie';
import type { Accounts, Role, UserRecord } from '../domain/accounts.ts';
import { DomainError } from '../domain/errors.ts';

export const SESSION_COOKIE = 'mytaek1_session';

export type AuthEnv = { Variables: { user: UserRecord | null } };

/** The session token of a request: a bearer for API consumers, the signed session cookie for the web. */
export async function sessionToken(c: Context, secret: string): Promise<string | null> {
  const authorization = c.req.header('authorization');
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim() || null;
  const cookie = await getSignedCookie(c, secret, SESSION_COOKIE);
  return cookie || null;
}

/** Sets `c.var.user` to the signed-in user, or null; never refuses a request by itself. */
export function authenticate(accounts: Accounts, secret: string): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const token = await sessionToken(c, secret);
    c.set('user', token ? await accounts.authenticate(token) : null);
    await next();
  };
}

/** The signed-in user, who must hold one of `roles` when any are given. */
export function requireUser(c: Context<AuthEnv>, ...roles: Role[]): UserRecord {
  const user = c.get('user');
  if (!user) throw new DomainError('unauthenticated', 'sign in first');
  if (roles.length && !roles.includes(user.role)) throw new DomainError('forbidden', `only a ${roles.join(' or ')} may do this`);
  return user;
}
