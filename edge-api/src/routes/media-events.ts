import { Id, ShowMediaEvent } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.ts';
import { onPublishEnded, onPublishStarted, onRecordingReady } from '../domain/show-media.ts';
import type { ShowRecord, ShowStore } from '../domain/shows.ts';
import type { AuthEnv } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, problem } from './openapi-helpers.ts';
import { isServiceSecret } from './stream-keys.ts';

const report = createRoute({
  method: 'post',
  path: '/internal/shows/{id}/media-events',
  summary: 'For the transcoder and the sfu: what happened to a show’s media (publish started or ended, replay ready)',
  security: [{ serviceSecret: [] }],
  request: { params: z.object({ id: Id }), ...jsonBody(ShowMediaEvent) },
  responses: {
    204: { description: 'Recorded (a repeat changes nothing)' },
    400: problem('Invalid input'),
    401: problem('Not a media service'),
    404: problem('No such show'),
    409: problem('Not possible in the show’s state (a publish to an ended show)'),
  },
});

export interface MediaEventRouteDeps {
  shows: ShowStore;
  secret: string;
  now: () => number;
}

/** A transition lost to a concurrent write (the seller pressing "end" meanwhile) is tried again on the fresh show. */
const ATTEMPTS = 3;

/**
 * `POST /v1/internal/shows/{id}/media-events` (packages/contracts/src/ingest.ts): the media services,
 * authenticated with the shared TOKEN_SECRET, tell the edge API, the only writer of show state.
 * One handler per event type below.
 */
export function mediaEventRoutes({ shows, secret, now }: MediaEventRouteDeps) {
  /** Applies a transition to the stored show, again on the fresh show when someone wrote it meanwhile. */
  const transition = async (showId: string, next: (show: ShowRecord) => ShowRecord | null): Promise<void> => {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const show = await shows.get(showId);
      if (!show) throw new DomainError('not_found', 'no show has that id');
      const after = next(show);
      if (!after || (await shows.update(after))) return;
    }
    throw new DomainError('conflict', 'the show kept changing meanwhile; report again');
  };

  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook }).openapi(report, async (c) => {
    if (!(await isServiceSecret(c.req.header('authorization'), secret))) throw new DomainError('unauthenticated', 'this endpoint is for the media services');
    const { id } = c.req.valid('param');
    const event = c.req.valid('json');
    switch (event.type) {
      case 'publish_started':
        await transition(id, (show) => onPublishStarted(show, now()));
        return c.body(null, 204);
      case 'publish_ended':
        await transition(id, (show) => onPublishEnded(show, now()));
        return c.body(null, 204);
      case 'recording_ready':
        await transition(id, (show) => onRecordingReady(show, { playlistUrl: event.playlistUrl, durationMs: Math.round(event.durationSeconds * 1000) }));
        return c.body(null, 204);
    }
  });
}
