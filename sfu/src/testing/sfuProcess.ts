/**
 * The sfu as its own process (`node sfu/src/index.ts`) for other workspaces' tests and the
 * benchmarks (web's and the transcoder's media tests, the latency benches): a test can kill it and
 * start it again on the same port. Plus the checks that a run happens where loopback WebRTC works.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SfuStats } from '@mytaek1/contracts';
import { freePort, startProcess, type RunningProcess } from '@mytaek1/test-support';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * WebRTC between Chromium and the sfu on 127.0.0.1 works only inside a private network namespace
 * (scripts/netns-run.sh), and the sfu needs its worker binary: say what to do when either is missing.
 */
export function assertMediaEnvironment(): string {
  if (process.env.MYTAEK1_IN_NETNS !== '1') {
    throw new Error(
      'The WebRTC browser tests run inside a private network namespace: from the repository root, ' +
        '`MYTAEK1_MEDIA_TESTS=1 sh scripts/netns-run.sh node node_modules/vitest/vitest.mjs run --project web-media` (or `npm test`).',
    );
  }
  const workerBin = process.env.MEDIASOUP_WORKER_BIN;
  if (!workerBin) {
    throw new Error('MEDIASOUP_WORKER_BIN is not set: `export MEDIASOUP_WORKER_BIN=$(node scripts/mediasoup-worker.mjs | tail -1)` first (or use `npm test`).');
  }
  accessSync(workerBin, constants.X_OK);
  return workerBin;
}

export type SfuProcessOptions = {
  tokenSecret: string;
  /** Defaults to a free port; it stays the same across restarts, as a real deployment's would. */
  port?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** More environment for the sfu, e.g. TRANSCODER_URL. */
  env?: Record<string, string>;
};

export type SfuProcess = {
  /** `http://127.0.0.1:port` (stats, health). */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:port`: what browsers are given as the sfu's public URL. */
  readonly wsUrl: string;
  readonly process: RunningProcess;
  /** Everything every incarnation printed. */
  output(): string;
  stats(): Promise<SfuStats>;
  /** Stops the process with `signal` (SIGKILL: a crash; SIGTERM: a graceful restart), then starts a new one on the same port. */
  restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Kills the process without starting another. */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts it again after kill(). */
  start(): Promise<void>;
  stop(): Promise<void>;
};

export async function startSfuProcess({ tokenSecret, port, logLevel = 'warn', env = {} }: SfuProcessOptions): Promise<SfuProcess> {
  if (!process.env.MEDIASOUP_WORKER_BIN) {
    throw new Error('MEDIASOUP_WORKER_BIN is not set: `export MEDIASOUP_WORKER_BIN=$(node scripts/mediasoup-worker.mjs | tail -1)` first (or use `npm test`).');
  }
  const sfuPort = port ?? (await freePort());
  const httpUrl = `http://127.0.0.1:${sfuPort}`;
  let earlier = '';
  let current: RunningProcess | undefined;

  const spawnOne = async (): Promise<RunningProcess> => {
    const child = startProcess(process.execPath, [join(repoRoot, 'sfu', 'src', 'index.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        SFU_HOST: '127.0.0.1',
        SFU_PORT: String(sfuPort),
        SFU_LISTEN_IP: '127.0.0.1',
        SFU_WORKERS: '1',
        SFU_LOG_LEVEL: logLevel,
        TOKEN_SECRET: tokenSecret,
        ...env,
      },
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.child.exitCode !== null || child.child.signalCode !== null) break;
      try {
        const response = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return child;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await child.stop();
    throw new Error(`the sfu did not become healthy on ${httpUrl}:\n${child.output()}`);
  };

  const kill = async (signal: 'SIGKILL' | 'SIGTERM') => {
    const running = current;
    if (!running) return;
    current = undefined;
    earlier += running.output();
    if (running.child.exitCode === null && running.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
      running.child.kill(signal);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    // A graceful stop that hung, or a SIGKILL's mediasoup workers: nothing of it may outlive the test.
    await running.stop(1_000);
  };

  current = await spawnOne();
  return {
    httpUrl,
    wsUrl: `ws://127.0.0.1:${sfuPort}`,
    get process() {
      if (!current) throw new Error('the sfu is not running');
      return current;
    },
    output: () => earlier + (current?.output() ?? ''),
    async stats() {
      const response = await fetch(`${httpUrl}/stats`);
      return SfuStats.parse(await response.json());
    },
    async restart(signal) {
      await kill(signal);
      current = await spawnOne();
    },
    kill,
    async start() {
      if (!current) current = await spawnOne();
    },
    async stop() {
      await kill('SIGTERM');
    },
  };
}
