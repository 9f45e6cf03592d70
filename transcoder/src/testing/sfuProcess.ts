import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, type RunningProcess } from '@mytaek1/test-support';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface SfuProcess {
  /** `http://127.0.0.1:port`. */
  url: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/**
 * The real sfu (`node sfu/src/index.ts`) as a child process on loopback, for the transcoder's tests of
 * plain-RTP egress. Needs MEDIASOUP_WORKER_BIN, as every test that runs mediasoup does.
 */
export async function startSfuProcess({ tokenSecret, env = {} }: { tokenSecret: string; env?: Record<string, string> }): Promise<SfuProcess> {
  if (!process.env['MEDIASOUP_WORKER_BIN']) {
    throw new Error('MEDIASOUP_WORKER_BIN is not set: `export MEDIASOUP_WORKER_BIN=$(node scripts/mediasoup-worker.mjs | tail -1)` first (or use `npm test`).');
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = startProcess(process.execPath, [join(repoRoot, 'sfu', 'src', 'index.ts')], {
    cwd: repoRoot,
    env: { ...process.env, SFU_HOST: '127.0.0.1', SFU_PORT: String(port), SFU_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', SFU_LOG_LEVEL: 'warn', TOKEN_SECRET: tokenSecret, ...env },
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.child.exitCode === null) {
    const healthy = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((response) => response.ok, () => false);
    if (healthy) return { url, process: child, stop: () => child.stop() };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await child.stop();
  throw new Error(`the sfu did not become healthy on ${url}:\n${child.output()}`);
}
