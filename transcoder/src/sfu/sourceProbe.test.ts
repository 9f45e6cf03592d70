import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rtpForwardJob, rtpUrl } from './rtpForwardArguments.ts';
import { planVideo, probeSource, profileLevelIdOf, REENCODED_PROFILE_LEVEL_ID } from './sourceProbe.ts';

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
let dir: string;

/** One second of what an encoder configured like this sends over RTMP (FLV: H.264 + AAC); veryfast, as OBS (ultrafast would fall back to baseline by itself). */
async function flvFrom(name: string, x264: string[]): Promise<string> {
  const file = join(dir, `${name}.flv`);
  await promisify(execFile)(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', '1',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', ...x264, '-c:a', 'aac', '-f', 'flv', '-y', file,
  ]);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-probe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('what the forwarder does with a source', () => {
  it.each([
    ['the documented OBS settings (baseline, zerolatency)', ['-profile:v', 'baseline', '-tune', 'zerolatency'], { reencode: false, profileLevelId: '42e01f' }],
    ['main with zerolatency', ['-profile:v', 'main', '-tune', 'zerolatency'], { reencode: false, profileLevelId: '4d401f' }],
    ['main with B-frames (no zerolatency)', ['-profile:v', 'main', '-bf', '2'], { reencode: true, sourceProfileLevelId: '4d401f', reason: expect.stringMatching(/B-frames/) }],
    ['x264’s default profile (high)', ['-tune', 'zerolatency'], { reencode: true, sourceProfileLevelId: '64001f', reason: expect.stringMatching(/^High profile/) }],
  ])('probes %s', async (_name, x264, expected) => {
    const streams = await probeSource(await flvFrom(x264.join(''), x264), { ffmpegPath, timeoutMs: 5_000 });
    expect(streams.audio).toEqual({ codec: 'aac' });
    expect(planVideo(streams.video!)).toMatchObject(expected);
  });

  it('re-encodes what is not H.264 or has no profile it can name, to constrained baseline', () => {
    expect(planVideo({ codec: 'hevc', profile: 'Main', level: 93, reorderFrames: 0 })).toMatchObject({ reencode: true, profileLevelId: REENCODED_PROFILE_LEVEL_ID, reason: expect.stringMatching(/^hevc/) });
    expect(planVideo({ codec: 'h264', profile: undefined, level: 31, reorderFrames: 0 })).toMatchObject({ reencode: true, sourceProfileLevelId: undefined });
    expect(profileLevelIdOf({ codec: 'h264', profile: 'High', level: 40, reorderFrames: 0 })).toBe('640028');
  });

  it('fails clearly, without the URL, when the stream cannot be read', async () => {
    await expect(probeSource('rtmp://127.0.0.1:9/live/sk_secret', { ffmpegPath, timeoutMs: 1_000 })).rejects.toThrow(/^ffprobe could not read the stream: ffprobe exited with code 1$/);
  });

  it('copies the video into RTP with start codes, or re-encodes it with a keyframe every second; Opus audio', () => {
    const endpoints = { video: { ip: '127.0.0.1', port: 40000, rtcpPort: 40001 }, audio: { ip: '::1', port: 40002, rtcpPort: 40003 } };
    const ids = { video: { payloadType: 102, ssrc: 11 }, audio: { payloadType: 111, ssrc: 22 } };
    const copy = rtpForwardJob({ ffmpegPath, sourceUrl: 'rtmp://x/live/k', video: { reencode: false, sourceProfileLevelId: '42e01f', profileLevelId: '42e01f' }, hasAudio: true, ids, endpoints });
    expect(copy.outputs.map((output) => output.target)).toEqual(['rtp://127.0.0.1:40000?rtcpport=40001&pkt_size=1200', 'rtp://[::1]:40002?rtcpport=40003&pkt_size=1200']);
    expect(copy.outputs[0]!.options.join(' ')).toMatch(/-c:v copy -bsf:v h264_mp4toannexb -f rtp -ssrc 11 -payload_type 102/);
    expect(copy.outputs[1]!.options.join(' ')).toMatch(/-c:a libopus -ar 48000 -ac 2 .*-ssrc 22 -payload_type 111/);

    const reencode = rtpForwardJob({ ffmpegPath, sourceUrl: 'rtmp://x/live/k', video: { reencode: true, sourceProfileLevelId: '640028', profileLevelId: '42e01f', reason: 'High' }, hasAudio: false, ids, endpoints });
    expect(reencode.outputs).toHaveLength(1);
    expect(reencode.outputs[0]!.options.join(' ')).toMatch(/-c:v libx264 .*-tune zerolatency -profile:v baseline .*-force_key_frames expr:gte\(t,n_forced\*1\)/);
    expect(rtpUrl({ ip: '10.0.0.5', port: 5004, rtcpPort: 5005 })).toBe('rtp://10.0.0.5:5004?rtcpport=5005&pkt_size=1200');
  });
});
