/**
 * What the web app's end-to-end tests share: the production build (rebuilt when its sources are
 * newer), the real edge API in the test's own process on a fresh PGlite directory (demo data
 * seeded), the web server as `npm start` runs it (`node serve.js`, the build behind it) in a child
 * process, and Debian's Chromium.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request as forward } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, launchChromium, startProcess, type RunningProcess } from '@mytaek1/test-support';
import type { Browser } from 'playwright-core';
// The edge API's package exports only the app and the client; its Node entry is reached by path.
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';

export const webDir = fileURLToPath(new URL('../..', import.meta.url));
const serverEntry = join(webDir, 'build', 'index.js');
/** What `npm start` runs: adapter-node's handler, told each request's scheme (see serve.js). */
const serveEntry = join(webDir, 'serve.js');

export type EdgeApi = Awaited<ReturnType<typeof startEdgeApi>>;

export interface E2eStack {
  edgeApi: EdgeApi;
  /** Where the browser reaches the web app, e.g. http://127.0.0.1:41234 (no trailing slash): the proxy in front of it. */
  webUrl: string;
  browser: Browser;
  /** Stops everything started, in reverse order, and deletes the data directory. */
  close(): Promise<void>;
}

/** Builds web if stale, then starts the edge API, the web server behind a reverse proxy, and Chromium. */
export async function startE2eStack(): Promise<E2eStack> {
  await buildWebIfStale();
  const dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-web-e2e-'));
  let edgeApi: EdgeApi | undefined;
  let web: RunningProcess | undefined;
  let proxy: ReverseProxy | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await proxy?.close();
    await web?.stop();
    await edgeApi?.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0' }));
    const server = await startWebServer(edgeApi.url, { PROTOCOL_HEADER: 'x-forwarded-proto' });
    web = server.process;
    proxy = await startReverseProxy(new URL(server.url));
    browser = await launchChromium();
    return { edgeApi, webUrl: proxy.url, browser, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Starts `node serve.js` on a free port, as `npm start` does, and resolves once it prints its
 * listening line. `env` adds settings such as SFU_PUBLIC_URL.
 */
export async function startWebServer(edgeApiUrl: string, env: Record<string, string> = {}): Promise<{ process: RunningProcess; url: string }> {
  const port = await freePort();
  const server = startProcess(process.execPath, [serveEntry], {
    cwd: webDir,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), EDGE_API_URL: edgeApiUrl, ...env },
  });
  try {
    await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/, 30_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { process: server, url: `http://127.0.0.1:${port}` };
}

interface ReverseProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy in front of the web server that says which scheme the visitor used
 * (X-Forwarded-Proto), as a deployment's TLS terminator does. It is needed: adapter-node 6 takes
 * the scheme from PROTOCOL_HEADER and assumes https without one, so a plain-http visitor's form
 * posts would look cross-site to kit's CSRF check and be refused with 403.
 */
async function startReverseProxy(target: URL): Promise<ReverseProxy> {
  const server = createServer((incoming, outgoing) => {
    const upstream = forward(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, 'x-forwarded-proto': 'http' } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(outgoing);
      },
    );
    upstream.once('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What the production build is made from. Tests and this folder are left out: editing them must not force a rebuild. */
const BUILD_INPUTS = ['src', 'static', 'vite.config.ts', 'package.json'];
const NOT_BUILD_INPUTS = [join(webDir, 'src', 'testing')];

/**
 * Runs `vite build` when web/build is missing or older than any of its inputs. Test files run in
 * parallel processes, so the check and the build happen under a lock: one builds, the others wait
 * and then find the build fresh.
 */
export async function buildWebIfStale(): Promise<void> {
  await withBuildLock(async () => {
    const builtAt = await stat(serverEntry).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    const newestInput = Math.max(...(await Promise.all(BUILD_INPUTS.map((input) => newestMtime(join(webDir, input))))));
    if (builtAt > newestInput) return;

    const viteBin = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    const child = spawn(process.execPath, [viteBin, 'build', '--logLevel', 'warn'], { cwd: webDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (exitCode !== 0) throw new Error(`vite build failed (exit ${exitCode}):\n${output}`);
  });
}

async function newestMtime(path: string): Promise<number> {
  if (NOT_BUILD_INPUTS.includes(path)) return 0;
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return path.endsWith('.test.ts') ? 0 : info.mtimeMs;
  const entries = await readdir(path);
  return Math.max(0, ...(await Promise.all(entries.map((entry) => newestMtime(join(path, entry))))));
}

/** Longer than a cold `vite build` on a slow machine; a holder that takes longer is reported, not waited for forever. */
const BUILD_LOCK_TIMEOUT_MS = 5 * 60_000;

/**
 * Runs `task` while holding a lock file (created exclusively, holding the holder's pid) in the
 * system's temp directory, one per checkout. A lock whose holder has died is taken over.
 */
async function withBuildLock(task: () => Promise<void>): Promise<void> {
  const lockPath = join(tmpdir(), `mytaek1-web-build-${createHash('sha256').update(webDir).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + BUILD_LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(lockPath, 'utf8').catch(() => ''));
      // An empty file is a holder between creating and writing it: give it a moment.
      if (holder && !isAlive(holder)) await rm(lockPath, { force: true });
      else if (Date.now() > deadline) throw new Error(`gave up waiting for the web build lock ${lockPath} (held by pid ${holder || 'unknown'})`);
      else await sleep(250);
    }
  }
  try {
    await task();
  } finally {
    await rm(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
