import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../logger.ts';
import { childProcessesNamed, isRunning } from '../testing/processes.ts';
import { FfmpegProcess } from './FfmpegProcess.ts';

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const logger = createConsoleLogger('silent');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffmpeg-process-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real-time test pattern into an HLS playlist: runs until stopped. */
function startPatternToHls(): FfmpegProcess {
  return FfmpegProcess.start(
    {
      ffmpegPath,
      input: 'testsrc2=size=320x180:rate=30',
      inputOptions: ['-hide_banner', '-loglevel', 'warning', '-re', '-f', 'lavfi'],
      outputs: [{ target: join(dir, 'index.m3u8'), options: ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'hls', '-hls_time', '1'] }],
    },
    logger,
  );
}

describe('FfmpegProcess', () => {
  it('stops FFmpeg gracefully: it exits by itself and writes its trailer (the playlist ends)', async () => {
    const ffmpeg = startPatternToHls();
    const pid = await ffmpeg.spawned;
    expect(pid).toBeTypeOf('number');
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const stopping = Date.now();
    const exit = await ffmpeg.stop(10_000);
    // Well inside the SIGKILL timeout, and not by a signal.
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(await readFile(join(dir, 'index.m3u8'), 'utf8')).toMatch(/#EXT-X-ENDLIST\s*$/);
    expect(isRunning(pid!)).toBe(false);
  });

  it('SIGKILLs an FFmpeg that cannot finish (blocked on a silent input) once the timeout passes', async () => {
    // A TCP source that accepts and never sends: FFmpeg waits in a read that `q` cannot interrupt.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const ffmpeg = FfmpegProcess.start(
        {
          ffmpegPath,
          input: `tcp://127.0.0.1:${port}`,
          inputOptions: ['-hide_banner', '-loglevel', 'warning', '-f', 's16le', '-ar', '48000', '-ac', '1'],
          outputs: [{ target: join(dir, 'out.wav'), options: [] }],
        },
        logger,
      );
      const pid = await ffmpeg.spawned;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stopping = Date.now();
      const exit = await ffmpeg.stop(700);
      expect(exit.signal).toBe('SIGKILL');
      expect(Date.now() - stopping).toBeGreaterThanOrEqual(650);
      expect(isRunning(pid!)).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('stopped before FFmpeg was even spawned, still leaves no process behind', async () => {
    const ffmpeg = startPatternToHls();
    // fluent-ffmpeg spawns asynchronously (it first asks FFmpeg for its encoders).
    expect(ffmpeg.pid).toBeUndefined();
    const exit = await ffmpeg.stop(5_000);
    expect(exit.signal).toBeNull();
    expect(childProcessesNamed('ffmpeg')).toEqual([]);
  });

  it('checks at start-up that FFmpeg can be run', async () => {
    await expect(FfmpegProcess.checkInstalled(ffmpegPath)).resolves.toMatch(/^ffmpeg version /);
    await expect(FfmpegProcess.checkInstalled(join(dir, 'no-such-ffmpeg'))).rejects.toThrow(/FFMPEG_PATH.*ENOENT/);
  });
});
