import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@mytaek1/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import type { ReplaySummary } from '../hls/HlsPipeline.ts';
import { parseMediaPlaylist } from '../hls/MediaPlaylist.ts';
import { createConsoleLogger } from '../logger.ts';
import { childProcessesNamed } from '../testing/processes.ts';
import { startSyntheticObs } from '../testing/syntheticObs.ts';
import { waitFor } from '../testing/waitFor.ts';
import { TranscoderService } from '../TranscoderService.ts';
import { InMemoryStreamKeyVerifier } from './InMemoryStreamKeyVerifier.ts';
import type { StreamKeyVerifier } from './StreamKeyVerifier.ts';

// The publish lifecycle with a resume window, as OBS reconnecting after a network blip needs it.
// A separate file from TranscoderService.test.ts: node-media-server allows one ingest per process.

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const GRACE_MS = 3_000;
const VERIFY_DELAY_MS = 300;
const grants = InMemoryStreamKeyVerifier.create();
/** The edge API is not instant: answers come after a short delay. */
const slowVerifier: StreamKeyVerifier = {
  verify: async (streamKey) => {
    await new Promise((resolve) => setTimeout(resolve, VERIFY_DELAY_MS));
    return grants.verify(streamKey);
  },
};
let mediaDir: string;
let service: TranscoderService;
let events: string[];

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'transcoder-ingest-'));
  const config = loadConfig({ RTMP_PORT: '0', TRANSCODER_HTTP_PORT: '0', MEDIA_DIR: mediaDir, FFMPEG_PATH: ffmpegPath, PUBLISH_RESUME_GRACE_MS: String(GRACE_MS) });
  service = await TranscoderService.create(config, { streamKeyVerifier: slowVerifier, logger: createConsoleLogger('warn', 'ingest-test') });
  for (const name of ['publishAccepted', 'publishResumed', 'publishEnded', 'publishRefused'] as const) {
    service.ingest.on(name, () => events.push(name));
  }
  service.pipelines.on('ffmpegStarted', () => events.push('ffmpegStarted'));
});

beforeEach(() => {
  events = [];
});

afterAll(async () => {
  await service?.close();
  if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
});

function grantShow(): { streamKey: string; showId: string } {
  const streamKey = `sk_${newId().replaceAll('-', '')}`;
  const showId = newId();
  grants.grant(streamKey, { showId, sellerId: newId() });
  return { streamKey, showId };
}

describe('RtmpIngest publish lifecycle', () => {
  it('lets a publisher that reconnects within the grace window carry on: one FFmpeg run, one recorded part, one unbroken live sequence', async () => {
    const { streamKey, showId } = grantShow();
    const liveEnded = once(service.pipelines, 'liveEnded');
    const first = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 4, ffmpegPath });
    expect((await first.exited).code).toBe(0);
    const reconnected = Date.now();
    const second = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 4, ffmpegPath });
    expect((await second.exited).code).toBe(0);
    const secondStopped = Date.now();

    const [{ replay }] = (await liveEnded) as [{ replay: ReplaySummary | null }];
    // The show ended only once the grace window passed with nobody back.
    expect(Date.now() - secondStopped).toBeGreaterThanOrEqual(GRACE_MS - 200);
    expect(events).toEqual(['publishAccepted', 'ffmpegStarted', 'publishResumed', 'publishEnded']);
    expect(replay?.partCount).toBe(1);
    // Both publishes are in the one recording (less the first keyframe interval).
    expect(replay?.durationSeconds).toBeGreaterThan(6);
    const live = parseMediaPlaylist(await (await fetch(`${service.http.url}/live/${showId}/index.m3u8`)).text());
    expect(live.endList).toBe(true);
    expect(live.mediaSequence + live.segments.length).toBeGreaterThanOrEqual(6);
    expect(Date.now() - reconnected).toBeLessThan(15_000);
  });

  it('turns away a second publisher on a stream key that is already live, and the show carries on', async () => {
    const { streamKey, showId } = grantShow();
    const liveEnded = once(service.pipelines, 'liveEnded');
    const owner = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 6, ffmpegPath });
    await waitFor('the first publish to be accepted', () => events.includes('ffmpegStarted'));

    const intruder = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 3, ffmpegPath });
    const turnedAway = await intruder.exited;
    expect(turnedAway.code).not.toBe(0);
    expect((await owner.exited).code).toBe(0);
    const [{ replay }] = (await liveEnded) as [{ replay: ReplaySummary | null }];
    expect(events.filter((event) => event === 'publishAccepted')).toHaveLength(1);
    expect(events.filter((event) => event === 'ffmpegStarted')).toHaveLength(1);
    expect(replay?.durationSeconds).toBeGreaterThan(4);
    expect(service.pipelines.pipelineFor(showId)).toBeUndefined();
    await waitFor('no FFmpeg child left', () => childProcessesNamed('ffmpeg').length === 0);
  });
});
