import { IngestVerifyResponse, newId, Show, ShowList, showMediaEventsPath, StreamKey, type RoomFeedEvent, type ShowMediaEvent } from '@mytaek1/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, signUpAs, TEST_SECRET, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('media events on %s', (backend) => {
  let t: TestApp;
  /** The same services with a room feed, as the Node and Worker entries assemble it. */
  let app: ReturnType<typeof createApp>;
  let told: Array<{ showId: string; event: RoomFeedEvent }> = [];
  beforeAll(async () => {
    t = await createTestApp({ backend });
    app = createApp(t.services, { roomFeed: { publish: async (showId, event) => void told.push({ showId, event }) } });
  });
  afterAll(() => t.close());
  beforeEach(() => {
    told = [];
  });

  const transcoder = { authorization: `Bearer ${TEST_SECRET}` };
  const report = (showId: string, event: unknown, headers: Record<string, string> = transcoder) =>
    app.request(showMediaEventsPath(showId), jsonRequest('POST', event, headers));
  const showOf = async (id: string) => Show.parse(await (await app.request(`/v1/shows/${id}`)).json());

  /** A seller with a stream key and one scheduled show. */
  async function sellerWithShow() {
    const seller = await signUpAs(app, 'seller');
    const key = StreamKey.parse(await (await app.request('/v1/stream-key/rotate', { method: 'POST', headers: seller.headers })).json());
    const show = Show.parse(await (await app.request('/v1/shows', jsonRequest('POST', { title: 'OBS night', scheduledAt: new Date().toISOString() }, seller.headers))).json());
    return { seller, key, show };
  }

  it('takes a scheduled show live on publish_started and ends it on publish_ended; repeats change nothing', async () => {
    const { show } = await sellerWithShow();
    const started: ShowMediaEvent = { type: 'publish_started', source: 'rtmp' };
    expect((await report(show.id, started)).status).toBe(204);
    const live = await showOf(show.id);
    expect(live.status).toBe('live');
    expect(live.startedAt).not.toBeNull();
    // The show's room hears of it, so open show pages switch to the player.
    expect(told).toEqual([{ showId: show.id, event: { type: 'refresh' } }]);

    expect((await report(show.id, started)).status).toBe(204);
    expect(await showOf(show.id)).toEqual(live);

    expect((await report(show.id, { type: 'publish_ended', source: 'rtmp' })).status).toBe(204);
    const ended = await showOf(show.id);
    expect(ended.status).toBe('ended');
    expect(ended.startedAt).toBe(live.startedAt);
    expect(ended.endedAt).not.toBeNull();
    expect((await report(show.id, { type: 'publish_ended', source: 'rtmp' })).status).toBe(204);
    expect(await showOf(show.id)).toEqual(ended);
  });

  it('still accepts the seller’s key while the show is live, so OBS can reconnect', async () => {
    const { seller, key, show } = await sellerWithShow();
    expect((await report(show.id, { type: 'publish_started', source: 'rtmp' })).status).toBe(204);
    const verdict = IngestVerifyResponse.parse(await (await app.request('/v1/internal/ingest/verify', jsonRequest('POST', { streamKey: key.streamKey }, transcoder))).json());
    expect(verdict).toEqual({ ok: true, showId: show.id, sellerId: seller.id });
  });

  it('refuses to bring an ended show back, and leaves a show that never went live as it is', async () => {
    const { show } = await sellerWithShow();
    expect((await report(show.id, { type: 'publish_ended', source: 'whip' })).status).toBe(204);
    expect((await showOf(show.id)).status).toBe('scheduled');

    await report(show.id, { type: 'publish_started', source: 'whip' });
    await report(show.id, { type: 'publish_ended', source: 'whip' });
    const response = await report(show.id, { type: 'publish_started', source: 'rtmp' });
    expect(response.status).toBe(409);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await showOf(show.id)).status).toBe('ended');
  });

  it('is for the media services only: no or another bearer is refused and changes nothing', async () => {
    const { seller, show } = await sellerWithShow();
    const started = { type: 'publish_started', source: 'rtmp' };
    expect((await report(show.id, started, {})).status).toBe(401);
    expect((await report(show.id, started, { authorization: 'Bearer not-the-secret' })).status).toBe(401);
    // A signed-in seller is not a media service, even for their own show.
    expect((await report(show.id, started, seller.headers)).status).toBe(401);
    expect((await showOf(show.id)).status).toBe('scheduled');
    expect(told).toEqual([]);
  });

  it('answers bad input with 400 and an unknown show with 404, changing nothing', async () => {
    const { show } = await sellerWithShow();
    for (const body of [{}, { type: 'publish_started' }, { type: 'publish_started', source: 'fax' }, { type: 'went_viral', source: 'rtmp' }, 'not json']) {
      const response = await report(show.id, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await report('not-a-show-id', { type: 'publish_started', source: 'rtmp' })).status).toBe(400);
    expect((await report(newId(), { type: 'publish_started', source: 'rtmp' })).status).toBe(404);
    expect((await showOf(show.id)).status).toBe('scheduled');
    expect(told).toEqual([]);
  });

  it('records the replay on recording_ready: the show and the ended list carry it, a longer recording replaces it, repeats change nothing', async () => {
    const { show } = await sellerWithShow();
    expect((await showOf(show.id)).replay).toBeNull();
    await report(show.id, { type: 'publish_started', source: 'webrtc' });
    await report(show.id, { type: 'publish_ended', source: 'webrtc' });
    const playlistUrl = `http://127.0.0.1:8080/replays/${show.id}/index.m3u8`;
    told = [];
    expect((await report(show.id, { type: 'recording_ready', playlistUrl, durationSeconds: 61.25 })).status).toBe(204);
    const ended = await showOf(show.id);
    expect(ended.replay).toEqual({ playlistUrl, durationSeconds: 61.25 });
    expect(ended.status).toBe('ended');
    // Open show pages reload and find the replay.
    expect(told).toEqual([{ showId: show.id, event: { type: 'refresh' } }]);
    const list = ShowList.parse(await (await app.request('/v1/shows')).json());
    expect(list.ended.find((listed) => listed.id === show.id)?.replay).toEqual({ playlistUrl, durationSeconds: 61.25 });

    // A retry of an older, shorter report arriving late does not shorten it.
    expect((await report(show.id, { type: 'recording_ready', playlistUrl, durationSeconds: 30 })).status).toBe(204);
    expect((await showOf(show.id)).replay?.durationSeconds).toBe(61.25);
    expect((await report(show.id, { type: 'recording_ready', playlistUrl, durationSeconds: 90.5 })).status).toBe(204);
    expect((await showOf(show.id)).replay).toEqual({ playlistUrl, durationSeconds: 90.5 });
    // Moved to another store (S3 configured later): the new URL wins.
    const moved = `https://cdn.example.test/replays/${show.id}/index.m3u8`;
    expect((await report(show.id, { type: 'recording_ready', playlistUrl: moved, durationSeconds: 90.5 })).status).toBe(204);
    expect((await showOf(show.id)).replay).toEqual({ playlistUrl: moved, durationSeconds: 90.5 });
  });

  it('refuses a recording_ready that is not an http(s) URL or has a negative duration, changing nothing', async () => {
    const { show } = await sellerWithShow();
    for (const event of [
      { type: 'recording_ready', playlistUrl: 'javascript:alert(1)', durationSeconds: 1 },
      { type: 'recording_ready', playlistUrl: 'http://127.0.0.1:8080/r.m3u8', durationSeconds: -1 },
      { type: 'recording_ready', durationSeconds: 1 },
    ]) {
      expect((await report(show.id, event)).status, JSON.stringify(event)).toBe(400);
    }
    expect((await report(show.id, { type: 'recording_ready', playlistUrl: 'http://127.0.0.1:8080/r.m3u8', durationSeconds: 1 }, {})).status).toBe(401);
    expect((await report(newId(), { type: 'recording_ready', playlistUrl: 'http://127.0.0.1:8080/r.m3u8', durationSeconds: 1 })).status).toBe(404);
    expect((await showOf(show.id)).replay).toBeNull();
  });
});
