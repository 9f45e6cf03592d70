import { AdmissionGrant, type AdmissionClaims, Id, issueToken, type TokenAudience } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { UserRecord } from '../domain/accounts.ts';
import { DomainError } from '../domain/errors.ts';
import type { ShowRecord, ShowStore } from '../domain/shows.ts';
import type { AuthEnv } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { ok, problem } from './openapi-helpers.ts';

/** Admission only: a connection, once admitted, outlives its token. Short, so a leaked token is soon useless. */
export const ADMISSION_TTL_SECONDS = 120;

const grant = <P extends string>(path: P, summary: string) =>
  createRoute({
    method: 'post',
    path,
    summary,
    request: { params: z.object({ id: Id }) },
    responses: { 200: ok('A signed admission token', AdmissionGrant), 400: problem('Invalid id'), 404: problem('No such show'), 409: problem('The show has ended') },
  });
const sfuToken = grant('/{id}/sfu-token', 'A token for the SFU: publisher for the show’s seller, viewer for everyone else');
const realtimeToken = grant('/{id}/realtime-token', 'A token for the show’s realtime room: moderator for its seller and admins');

/** Who someone is in a show's media session and its room. */
function roleIn(audience: TokenAudience, show: ShowRecord, user: UserRecord | null): AdmissionClaims['role'] {
  const isSeller = user?.id === show.sellerId;
  if (audience === 'sfu') return isSeller ? 'publisher' : 'viewer';
  return isSeller || user?.role === 'admin' ? 'moderator' : 'viewer';
}

export function admissionRoutes({ shows, secret, now }: { shows: ShowStore; secret: string; now: () => number }) {
  const issue = async (audience: TokenAudience, showId: string, user: UserRecord | null): Promise<AdmissionGrant> => {
    const show = await shows.get(showId);
    if (!show) throw new DomainError('not_found', 'no show has that id');
    if (show.status === 'ended') throw new DomainError('conflict', 'the show has ended; watch its replay');
    const role = roleIn(audience, show, user);
    // Anonymous viewers get a random subject: they can watch and read, never chat or publish.
    const sub = user?.id ?? `anon:${crypto.randomUUID()}`;
    const issuedAt = now();
    const token = await issueToken({ aud: audience, sub, show: show.id, role, ...(user ? { name: user.displayName } : {}) }, secret, { ttlSeconds: ADMISSION_TTL_SECONDS, now: issuedAt });
    return { token, role, expiresAt: new Date(Math.floor(issuedAt / 1000) * 1000 + ADMISSION_TTL_SECONDS * 1000).toISOString() };
  };
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(sfuToken, async (c) => c.json(await issue('sfu', c.req.valid('param').id, c.get('user')), 200))
    .openapi(realtimeToken, async (c) => c.json(await issue('realtime', c.req.valid('param').id, c.get('user')), 200));
}
