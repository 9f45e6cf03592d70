import './testing/workerBin.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newId, SfuMediaNotice, sfuMediaNoticePath } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Room } from './Room.ts';
import { startFfmpegOpusProducer, startFfmpegVp8Producer, type FfmpegProducer } from './testing/rtp.ts';
import { SfuMediaNotifier } from './SfuMediaNotifier.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET } from './testing/tokens.ts';

// A stand-in transcoder (a real HTTP server) records what the sfu tells it. Producers are real
// mediasoup producers fed by FFmpeg; those tagged `{ peerId }` are a publisher's, as Room.produce
// tags a WebRTC or WHIP publisher's, and untagged ones are what plain ingest and origin pipes add.

const GRACE_MS = 400;
const VIDEO_ONLY_MS = 300;
type Received = { path: string; authorization: string | undefined; notice: SfuMediaNotice };
const received: Received[] = [];
let transcoder: Server;
let sfu: TestSfu;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  transcoder = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', authorization: request.headers.authorization, notice: SfuMediaNotice.parse(JSON.parse(body)) });
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => transcoder.listen(0, '127.0.0.1', resolve));
  sfu = await startSfu({ transcoderUrl: `http://127.0.0.1:${(transcoder.address() as AddressInfo).port}/`, mediaNoticeGraceMs: GRACE_MS, mediaNoticeVideoOnlyMs: VIDEO_ONLY_MS });
});
afterAll(async () => {
  await sfu?.close();
  transcoder?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  received.length = 0;
});

async function openRoom(): Promise<{ showId: string; room: Room }> {
  const showId = newId();
  const room = await sfu.server.rooms.getOrCreate(showId);
  cleanups.push(room.retain());
  return { showId, room };
}

async function produce(room: Room, kind: 'audio' | 'video', owner: string | undefined): Promise<FfmpegProducer> {
  const options = { seconds: 20, appData: owner ? { peerId: owner } : {} };
  const producer = kind === 'video' ? await startFfmpegVp8Producer(room.originRouter, options) : await startFfmpegOpusProducer(room.originRouter, options);
  room.addExternalProducer(producer.producer, owner ?? 'plain-ingest');
  cleanups.push(async () => {
    await producer.stop();
    producer.transport.close();
  });
  return producer;
}

/** What the transcoder heard about one show. */
const statesOf = (showId: string) => received.filter((r) => r.path === sfuMediaNoticePath(showId)).map((r) => r.notice.state);

const settle = async (ms = 150) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await sfu.server.mediaNotifier?.idle();
};

describe('SfuMediaNotifier', () => {
  it('tells the transcoder `live` once a publisher sends audio and video, and `ended` after the grace once they are gone', async () => {
    const { showId, room } = await openRoom();
    const audio = await produce(room, 'audio', 'peer-1');
    await settle();
    expect(statesOf(showId)).toEqual([]);

    const video = await produce(room, 'video', 'peer-1');
    await settle();
    expect(received.filter((r) => r.path === sfuMediaNoticePath(showId))).toEqual([
      { path: sfuMediaNoticePath(showId), authorization: `Bearer ${TEST_TOKEN_SECRET}`, notice: { state: 'live', sfuUrl: sfu.server.url } },
    ]);

    video.producer.close();
    audio.producer.close();
    await settle(GRACE_MS / 2);
    expect(statesOf(showId)).toEqual(['live']);
    await settle(GRACE_MS);
    expect(statesOf(showId)).toEqual(['live', 'ended']);
  });

  it('tells `live` for video alone once no audio came for a moment (a camera without a microphone), not before', async () => {
    const { showId, room } = await openRoom();
    await produce(room, 'video', 'peer-1');
    await settle(VIDEO_ONLY_MS / 3);
    expect(statesOf(showId)).toEqual([]);
    await settle(VIDEO_ONLY_MS);
    expect(statesOf(showId)).toEqual(['live']);
    // Audio joining later changes nothing: the show is live already.
    await produce(room, 'audio', 'peer-1');
    await settle();
    expect(statesOf(showId)).toEqual(['live']);
  });

  it('keeps its defaults for options passed as undefined (no zero grace)', async () => {
    const { showId, room } = await openRoom();
    const base = `http://127.0.0.1:${(transcoder.address() as AddressInfo).port}/defaults`;
    const notifier = SfuMediaNotifier.create({ transcoderUrl: base, secret: TEST_TOKEN_SECRET, sfuUrl: () => sfu.server.url, endedGraceMs: undefined, videoOnlyAfterMs: undefined });
    cleanups.push(() => notifier.close());
    notifier.watch(room);
    const producers = [await produce(room, 'audio', 'peer-1'), await produce(room, 'video', 'peer-1')];
    await settle();
    await notifier.idle();
    const heard = () => received.filter((r) => r.path === `/defaults${sfuMediaNoticePath(showId)}`).map((r) => r.notice.state);
    expect(heard()).toEqual(['live']);
    for (const producer of producers) producer.producer.close();
    await settle(GRACE_MS);
    await notifier.idle();
    expect(heard()).toEqual(['live']);
  });

  it('keeps the show live across a publisher that reconnects within the grace', async () => {
    const { showId, room } = await openRoom();
    const first = [await produce(room, 'audio', 'peer-1'), await produce(room, 'video', 'peer-1')];
    await settle();
    for (const producer of first) producer.producer.close();
    await produce(room, 'audio', 'peer-2');
    await produce(room, 'video', 'peer-2');
    await settle(GRACE_MS * 2);
    expect(statesOf(showId)).toEqual(['live']);
  });

  it('says `ended` when the room closes', async () => {
    const { showId, room } = await openRoom();
    await produce(room, 'audio', 'peer-1');
    await produce(room, 'video', 'peer-1');
    await settle();
    room.close('show_ended');
    await settle();
    expect(statesOf(showId)).toEqual(['live', 'ended']);
  });

  it('says nothing about media no publisher of this sfu sends (plain ingest, origin pipes)', async () => {
    const { showId, room } = await openRoom();
    await produce(room, 'audio', undefined);
    await produce(room, 'video', undefined);
    await settle();
    room.close('show_ended');
    await settle();
    expect(statesOf(showId)).toEqual([]);
  });
});
