import { IngestVerifyRequest, IngestVerifyResponse, StreamKey } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.ts';
import type { ShowStore } from '../domain/shows.ts';
import type { StreamKeyRecord, StreamKeyStore } from '../domain/stream-keys.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, ok, problem } from './openapi-helpers.ts';

const sellerProblems = { 401: problem('Not signed in'), 403: problem('Not a seller') } as const;

const read = createRoute({ method: 'get', path: '/stream-key', summary: 'The seller’s RTMP URL and stream key', responses: { 200: ok('The key', StreamKey), ...sellerProblems, 404: problem('No key yet') } });
const rotate = createRoute({ method: 'post', path: '/stream-key/rotate', summary: 'Issue a new stream key, revoking the old one', responses: { 200: ok('The new key', StreamKey), ...sellerProblems } });
const revoke = createRoute({ method: 'delete', path: '/stream-key', summary: 'Revoke the stream key: publishing stops being accepted', responses: { 204: { description: 'Revoked' }, ...sellerProblems } });
const verify = createRoute({
  method: 'post',
  path: '/internal/ingest/verify',
  summary: 'For the transcoder: may this stream key publish now, and to which show?',
  security: [{ serviceSecret: [] }],
  request: jsonBody(IngestVerifyRequest),
  responses: { 200: ok('The verdict', IngestVerifyResponse), 400: problem('Invalid input'), 401: problem('Not the transcoder') },
});

export interface StreamKeyRouteDeps {
  streamKeys: StreamKeyStore;
  shows: ShowStore;
  secret: string;
  rtmpUrl: string;
  now: () => number;
}

export function streamKeyRoutes({ streamKeys, shows, secret, rtmpUrl, now }: StreamKeyRouteDeps) {
  const toStreamKey = (record: StreamKeyRecord): StreamKey => ({ rtmpUrl, streamKey: record.streamKey, createdAt: new Date(record.createdAt).toISOString() });
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(read, async (c) => {
      const key = await streamKeys.activeFor(requireUser(c, 'seller').id);
      if (!key) throw new DomainError('not_found', 'no stream key yet: rotate to create one');
      return c.json(toStreamKey(key), 200);
    })
    .openapi(rotate, async (c) => {
      const seller = requireUser(c, 'seller');
      const key: StreamKeyRecord = { streamKey: newStreamKey(), sellerId: seller.id, createdAt: now(), revokedAt: null };
      await streamKeys.replace(seller.id, key, key.createdAt);
      return c.json(toStreamKey(key), 200);
    })
    .openapi(revoke, async (c) => {
      await streamKeys.replace(requireUser(c, 'seller').id, null, now());
      return c.body(null, 204);
    })
    .openapi(verify, async (c) => {
      if (!(await isServiceSecret(c.req.header('authorization'), secret))) throw new DomainError('unauthenticated', 'this endpoint is for the transcoder');
      const key = await streamKeys.find(c.req.valid('json').streamKey);
      if (!key || key.revokedAt !== null) return c.json({ ok: false as const, reason: 'unknown_key' as const }, 200);
      const show = await shows.liveOrNextFor(key.sellerId);
      if (!show) return c.json({ ok: false as const, reason: 'no_scheduled_show' as const }, 200);
      return c.json({ ok: true as const, showId: show.id, sellerId: key.sellerId }, 200);
    });
}

function newStreamKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `live_${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_')}`;
}

/** Compares SHA-256 digests: how soon a comparison stops reveals nothing about the secret itself. */
export async function isServiceSecret(authorization: string | undefined, secret: string): Promise<boolean> {
  if (!authorization?.startsWith('Bearer ')) return false;
  const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const [given, expected] = await Promise.all([digest(authorization.slice('Bearer '.length)), digest(secret)]);
  return given.every((byte, i) => byte === expected[i]);
}
