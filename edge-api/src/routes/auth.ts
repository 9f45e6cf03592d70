import { LoginRequest, Problem, Session, SignUpRequest, User } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, setSignedCookie } from 'hono/cookie';
import type { Accounts, SignedIn, UserRecord } from '../domain/accounts.ts';
import { DomainError } from '../domain/errors.ts';
import type { RateLimiter } from '../domain/rate-limit.ts';
import { type AuthEnv, requireUser, SESSION_COOKIE, sessionToken } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });
const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

const signUp = createRoute({
  method: 'post',
  path: '/signup',
  summary: 'Create an account and sign in',
  request: { body: { required: true, content: json(SignUpRequest) } },
  responses: { 201: { description: 'Signed in', content: json(Session) }, 400: problem('Invalid input'), 409: problem('Email taken') },
});

const logIn = createRoute({
  method: 'post',
  path: '/login',
  summary: 'Sign in',
  request: { body: { required: true, content: json(LoginRequest) } },
  responses: { 200: { description: 'Signed in', content: json(Session) }, 401: problem('Wrong email or password'), 429: problem('Too many attempts') },
});

const logOut = createRoute({ method: 'post', path: '/logout', summary: 'Sign out', responses: { 204: { description: 'Signed out' } } });

const me = createRoute({
  method: 'get',
  path: '/me',
  summary: 'The signed-in user',
  responses: { 200: { description: 'The user', content: json(User) }, 401: problem('Not signed in') },
});

export interface AuthRouteDeps {
  accounts: Accounts;
  loginLimiter: RateLimiter;
  secret: string;
}

export function authRoutes({ accounts, loginLimiter, secret }: AuthRouteDeps) {
  const startSession = async (c: Context<AuthEnv>, signedIn: SignedIn) => {
    await setSignedCookie(c, SESSION_COOKIE, signedIn.token, secret, {
      httpOnly: true,
      sameSite: 'Lax',
      // Behind the web app's proxy or a TLS terminator the request URL is plain http: trust the forwarded scheme.
      secure: (c.req.header('x-forwarded-proto') ?? new URL(c.req.url).protocol.replace(':', '')) === 'https',
      path: '/',
      expires: new Date(signedIn.expiresAt),
    });
    return { user: toUser(signedIn.user), token: signedIn.token, expiresAt: new Date(signedIn.expiresAt).toISOString() };
  };

  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(signUp, async (c) => c.json(await startSession(c, await accounts.signUp(c.req.valid('json'))), 201))
    .openapi(logIn, async (c) => {
      const { email, password } = c.req.valid('json');
      // Limited per account: guessing one account's password is what this stops.
      const decision = await loginLimiter.take(`login:${email}`);
      if (!decision.allowed) throw new DomainError('rate_limited', 'too many sign-in attempts; try again later', { retryAfterMs: decision.retryAfterMs });
      return c.json(await startSession(c, await accounts.logIn(email, password)), 200);
    })
    .openapi(logOut, async (c) => {
      const token = await sessionToken(c, secret);
      if (token) await accounts.logOut(token);
      deleteCookie(c, SESSION_COOKIE, { path: '/' });
      return c.body(null, 204);
    })
    .openapi(me, (c) => c.json(toUser(requireUser(c)), 200));
}

export function toUser(user: UserRecord): User {
  return { id: user.id, email: user.email, displayName: user.displayName, role: user.role };
}
