import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPlaylistViolations, segmentUris } from '../testing/hlsSpec.ts';
import { hlsInputOptions, hlsOutputs, SILENT_AUDIO, type HlsRunPlan } from './hlsArguments.ts';

// Runs FFmpeg on a short file (no RTMP): the arguments are what decide whether the playlists obey
// the specification, so they are checked against what FFmpeg 5.1 really writes.

const run = promisify(execFile);
const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
let dir: string;
/** Three seconds as OBS might send them, with a keyframe every half second. */
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hls-arguments-'));
  source = join(dir, 'source.flv');
  await run(ffmpegPath, [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '15', '-keyint_min', '15', '-sc_threshold', '0',
    '-c:a', 'aac', '-f', 'flv', source,
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function plan(name: string, overrides: Partial<HlsRunPlan> = {}): HlsRunPlan {
  return {
    liveDir: join(dir, name, 'live'),
    liveSegmentPrefix: 'p1-',
    liveStartNumber: 0,
    liveSegmentSeconds: 1,
    liveWindowSegments: 6,
    recordingDir: join(dir, name, 'recording'),
    recordingSegmentSeconds: 2,
    ...overrides,
  };
}

async function runFfmpeg(runPlan: HlsRunPlan): Promise<void> {
  await mkdir(runPlan.liveDir, { recursive: true });
  await mkdir(runPlan.recordingDir, { recursive: true });
  // The pull's own input options (-nostdin only because nothing here types q).
  const args = [...hlsInputOptions(), '-nostdin', '-i', source, '-y', ...hlsOutputs(runPlan).flatMap((output) => [...output.options, output.target])];
  await run(ffmpegPath, args);
}

describe('hlsOutputs', () => {
  it('writes a live window and a recording that both follow the specification', async () => {
    const runPlan = plan('valid', { liveStartNumber: 41 });
    await runFfmpeg(runPlan);
    const live = await readFile(join(runPlan.liveDir, 'index.m3u8'), 'utf8');
    const recording = await readFile(join(runPlan.recordingDir, 'index.m3u8'), 'utf8');
    for (const playlist of [live, recording]) {
      expect(mediaPlaylistViolations(playlist)).toEqual([]);
      expect(playlist).toMatch(/^#EXT-X-MAP:URI="init.mp4"$/m);
      expect(playlist).toMatch(/^#EXT-X-PROGRAM-DATE-TIME:/m);
    }
    // Half-second keyframes, whole-second segments: TARGETDURATION is 1, never 0.
    expect(live).toMatch(/^#EXT-X-TARGETDURATION:1$/m);
    // The sequence continues from the given number, under this publish's own segment names.
    expect(live).toMatch(/^#EXT-X-MEDIA-SEQUENCE:41$/m);
    expect(segmentUris(live)[0]).toBe('p1-00041.m4s');
    expect(recording).toMatch(/^#EXT-X-PLAYLIST-TYPE:EVENT$/m);
    // temp_file leaves nothing behind under a temporary name once FFmpeg finishes.
    expect((await readdir(runPlan.liveDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('re-encoded, makes segments of one keyframe interval, and refuses one that would round TARGETDURATION to 0', () => {
    const encoding = { mode: 'h264', width: 640, height: 360, fps: 30, keyframeFrames: 16, videoBitrateKbps: 1000, audioBitrateKbps: 128 } as const;
    const [tee, ...others] = hlsOutputs(plan('encoded', { encoding }));
    expect(others).toEqual([]);
    // One encode, both playlists through the tee muxer, cutting at every keyframe (15.5 frames at 30 fps).
    expect(tee?.options).toEqual(expect.arrayContaining(['-c:v', 'libx264', '-g', '16', '-f', 'tee']));
    expect(tee?.target).toMatch(/^\[f=hls:hls_time=0\.5167:.*\]\S+\/live\/index\.m3u8\|\[f=hls:hls_time=2:hls_playlist_type=event:.*\]\S+\/recording\/index\.m3u8$/);
    expect(() => hlsOutputs(plan('x', { encoding: { ...encoding, keyframeFrames: 15 } }))).toThrow(/longer than 0\.5 s/);
    expect(() => hlsOutputs(plan('x:y', { encoding }))).toThrow(/tee muxer/);
  });

  it('gives a source without audio a silent track, and still ends with its video', async () => {
    const encoding = { mode: 'h264', width: 320, height: 180, fps: 30, keyframeFrames: 16, videoBitrateKbps: 300, audioBitrateKbps: 64 } as const;
    const cameraOnly = join(dir, 'camera-only.mkv');
    await run(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', cameraOnly]);
    const silent = plan('silent', { encoding, silentAudio: true });
    await mkdir(silent.liveDir, { recursive: true });
    await mkdir(silent.recordingDir, { recursive: true });
    const [tee] = hlsOutputs(silent);
    expect(tee?.options).toEqual(expect.arrayContaining(['-map', '1:a:0', '-shortest']));
    // Silence is endless: without -shortest this would never return.
    await run(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', cameraOnly, ...SILENT_AUDIO.options, '-i', SILENT_AUDIO.input, '-y', ...tee!.options, tee!.target], { timeout: 30_000 });
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'csv=p=0', join(silent.recordingDir, 'init.mp4')]);
    expect(probe.stdout.trim().split('\n').sort()).toEqual(['aac,audio', 'h264,video']);
    // Copying (RTMP) has the seller's own audio: silence is for re-encoded runs only.
    expect(() => hlsOutputs(plan('copy', { silentAudio: true }))).toThrow(/re-encoded runs only/);
  });

  it('refuses fractional segment durations', () => {
    expect(() => hlsOutputs(plan('x', { liveSegmentSeconds: 0.5 }))).toThrow(/whole number/);
    expect(() => hlsOutputs(plan('x', { recordingSegmentSeconds: 0 }))).toThrow(/whole number/);
  });

  it('(why) FFmpeg 5.1 with hls_time 0.5 writes TARGETDURATION:0, which the specification check rejects', async () => {
    const runPlan = plan('half-second');
    await mkdir(runPlan.liveDir, { recursive: true });
    const output = hlsOutputs(runPlan)[0];
    const options = [...(output?.options ?? [])];
    options[options.indexOf('-hls_time') + 1] = '0.5';
    await run(ffmpegPath, [...hlsInputOptions(), '-nostdin', '-i', source, '-y', ...options, join(runPlan.liveDir, 'index.m3u8')]);
    const live = await readFile(join(runPlan.liveDir, 'index.m3u8'), 'utf8');
    expect(live).toMatch(/^#EXT-X-TARGETDURATION:0$/m);
    expect(mediaPlaylistViolations(live)).toContain('EXT-X-TARGETDURATION is not a positive integer: 0');
  });
});
