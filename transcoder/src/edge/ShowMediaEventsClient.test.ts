import { newId, ShowMediaEvent } from '@mytaek1/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StandInServer } from '../testing/StandInServer.ts';
import { ShowMediaEventError, ShowMediaEventsClient } from './ShowMediaEventsClient.ts';

// Against a stand-in for the edge API on loopback: what the client sends, and that every way the
// answer can go wrong is a clear error. The edge API's own route is tested in edge-api.

const SECRET = 'a-test-secret-that-is-at-least-32-characters';

let edge: StandInServer;

beforeAll(async () => {
  edge = await StandInServer.start();
});

afterAll(() => edge.close());

beforeEach(() => edge.reset());

/** The error a report rejected with; a report that resolved fails the test. */
function notRejected(): never {
  throw new Error('the report was expected to fail');
}
function asMediaEventError(error: unknown): ShowMediaEventError {
  if (!(error instanceof ShowMediaEventError)) throw error;
  return error;
}

const client = (options: { edgeApiUrl?: string; timeoutMs?: number } = {}) =>
  ShowMediaEventsClient.create({ edgeApiUrl: options.edgeApiUrl ?? `${edge.url}/`, tokenSecret: SECRET, timeoutMs: options.timeoutMs ?? 2_000 });

describe('ShowMediaEventsClient', () => {
  it('POSTs the event as JSON with the shared secret as bearer, to the show’s media-events path', async () => {
    const showId = newId();
    await client().report(showId, { type: 'publish_started', source: 'rtmp' });
    await client().report(showId, { type: 'recording_ready', playlistUrl: 'http://127.0.0.1:8080/replays/x/index.m3u8', durationSeconds: 12.5 });
    expect(edge.seen).toHaveLength(2);
    expect(edge.seen[0]).toMatchObject({ method: 'POST', url: `/v1/internal/shows/${showId}/media-events`, authorization: `Bearer ${SECRET}`, contentType: 'application/json' });
    expect(ShowMediaEvent.parse(JSON.parse(edge.seen[0]!.body))).toEqual({ type: 'publish_started', source: 'rtmp' });
    expect(JSON.parse(edge.seen[1]!.body)).toEqual({ type: 'recording_ready', playlistUrl: 'http://127.0.0.1:8080/replays/x/index.m3u8', durationSeconds: 12.5 });
  });

  it('refuses an event that is not one, without sending anything', async () => {
    const bad = { type: 'publish_started', source: 'carrier-pigeon' } as unknown as ShowMediaEvent;
    await expect(client().report(newId(), bad)).rejects.toThrow(/not a show media event/);
    expect(edge.seen).toEqual([]);
  });

  it('reports a refusal with the edge API’s status and problem title; 4xx is not worth retrying', async () => {
    edge.answer = (response) =>
      response.writeHead(422, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'Not possible in the show’s state', status: 422 }));
    const error = await client().report(newId(), { type: 'publish_ended', source: 'rtmp' }).then(notRejected, asMediaEventError);
    expect(error.status).toBe(422);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/publish_ended for show .* answered 422 \(Not possible in the show’s state\)/);
  });

  it('says a 5xx and an unreachable edge API are worth retrying', async () => {
    edge.answer = (response) => response.writeHead(503).end();
    const failed = await client().report(newId(), { type: 'publish_started', source: 'rtmp' }).then(notRejected, asMediaEventError);
    expect(failed.status).toBe(503);
    expect(failed.retryable).toBe(true);

    // A port nothing listens on (the stand-in's, once closed, would do too; this one never opened).
    const unreachable = await client({ edgeApiUrl: 'http://127.0.0.1:9' })
      .report(newId(), { type: 'publish_started', source: 'rtmp' })
      .then(notRejected, asMediaEventError);
    expect(unreachable.status).toBeUndefined();
    expect(unreachable.retryable).toBe(true);
    expect(unreachable.message).toMatch(/could not be reached/);
  });

  it('gives up after its timeout', async () => {
    edge.answer = () => {}; // never answers
    const error = await client({ timeoutMs: 300 }).report(newId(), { type: 'publish_started', source: 'rtmp' }).then(notRejected, asMediaEventError);
    expect(error.message).toMatch(/no answer within 300 ms/);
    expect(error.retryable).toBe(true);
  });
});
