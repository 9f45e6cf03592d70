import { spawn } from 'node:child_process';

export interface SyntheticObs {
  readonly pid: number | undefined;
  /** Resolves when the publisher exits, with its exit code and what it printed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

/**
 * What OBS sends, made by FFmpeg: a test pattern and a tone, x264 with zerolatency and a keyframe
 * every second (baseline unless told otherwise: `high` is what x264 makes when the profile is left
 * unset), AAC, published over RTMP for a bounded time.
 */
export function startSyntheticObs(
  url: string,
  { seconds, ffmpegPath = 'ffmpeg', profile = 'baseline' }: { seconds: number; ffmpegPath?: string; profile?: 'baseline' | 'main' | 'high' },
): SyntheticObs {
  const child = spawn(
    ffmpegPath,
    [
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
      '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', profile, '-pix_fmt', 'yuv420p',
      '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
      '-c:a', 'aac', '-b:a', '96k',
      '-f', 'flv', url,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { pid: child.pid, exited, kill: () => child.kill('SIGKILL') };
}
