// `npm start`: the whole platform on this machine with embedded defaults (PGlite under ./data,
// single-node ports for locks and realtime, no cloud account, no database server). Installs what
// is missing, builds what is stale, starts the four services, prints where they are, and stops
// them all on Ctrl-C.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildWebIfStale } from './lib/web-build.mjs';
import { elapsed, log } from './lib/log.mjs';
import { repoRoot, setup } from './setup.mjs';

const startedAt = performance.now();
const env = process.env;
const dataDir = resolve(repoRoot, env.DATA_DIR ?? 'data');
const host = env.MYTAEK1_HOST ?? '127.0.0.1';
const ports = {
  web: Number(env.WEB_PORT ?? 3000),
  edgeApi: Number(env.EDGE_API_PORT ?? 8787),
  sfu: Number(env.SFU_PORT ?? 4443),
  rtmp: Number(env.RTMP_PORT ?? 1935),
  transcoderHttp: Number(env.TRANSCODER_HTTP_PORT ?? 8080),
};
const colors = { 'edge-api': '35', sfu: '34', transcoder: '33', web: '32' };

/** One secret shared by the edge API (which signs) and the sfu and transcoder (which verify), kept with the data. */
function localTokenSecret() {
  if (env.TOKEN_SECRET) return env.TOKEN_SECRET;
  const file = join(dataDir, 'token-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

function startService(name, args, serviceEnv) {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...env, ...serviceEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = process.stdout.isTTY && !env.NO_COLOR ? `\x1b[${colors[name]}m${name.padEnd(10)}\x1b[0m│ ` : `${name.padEnd(10)}│ `;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  return { name, child };
}

async function waitForHttp(name, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s`);
}

const services = [];
let stopping = false;

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  log.step('stopping every service…');
  await Promise.all(
    services.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => (clearTimeout(killer), resolve()));
          child.kill('SIGTERM');
        }),
    ),
  );
  log.ok('stopped');
  process.exit(exitCode);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  await setup();
  mkdirSync(dataDir, { recursive: true });
  await buildWebIfStale();

  const shared = { TOKEN_SECRET: localTokenSecret(), EDGE_API_URL: `http://${host}:${ports.edgeApi}` };
  const watchForCrash = ({ name, child }) =>
    child.once('exit', (code, signal) => {
      if (stopping) return;
      log.fail(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping the rest`);
      void stopAll(1);
    });
  // The edge API first: the others ask it for shows, tokens and stream keys as soon as they are up.
  const edgeApi = startService('edge-api', ['edge-api/src/node.ts'], { ...shared, EDGE_API_HOST: host, EDGE_API_PORT: String(ports.edgeApi), DATA_DIR: dataDir });
  services.push(edgeApi);
  watchForCrash(edgeApi);
  await waitForHttp('edge-api', `${shared.EDGE_API_URL}/healthz`);

  const transcoderPublicUrl = env.TRANSCODER_PUBLIC_URL ?? `http://${host === '127.0.0.1' ? 'localhost' : host}:${ports.transcoderHttp}`;
  const others = [
    // The sfu tells the transcoder when a browser or WHIP show has media: that show's LL-HLS and replay.
    startService('sfu', ['sfu/src/index.ts'], { ...shared, SFU_HOST: host, SFU_PORT: String(ports.sfu), TRANSCODER_URL: `http://${host}:${ports.transcoderHttp}` }),
    startService('transcoder', ['transcoder/src/index.ts'], {
      ...shared,
      TRANSCODER_HOST: host,
      RTMP_PORT: String(ports.rtmp),
      TRANSCODER_HTTP_PORT: String(ports.transcoderHttp),
      MEDIA_DIR: join(dataDir, 'media'),
      SFU_URL: `http://${host}:${ports.sfu}`,
      // Replay URLs handed to browsers through the edge API.
      TRANSCODER_PUBLIC_URL: transcoderPublicUrl,
    }),
    // The player's HLS fallback: by default the page's own host on port 8080, so only a moved port needs saying.
    startService('web', ['web/serve.js'], {
      ...shared,
      HOST: host,
      PORT: String(ports.web),
      ...(env.TRANSCODER_PUBLIC_URL || ports.transcoderHttp !== 8080 ? { TRANSCODER_PUBLIC_URL: transcoderPublicUrl } : {}),
    }),
  ];
  services.push(...others);
  others.forEach(watchForCrash);
  await Promise.all([
    waitForHttp('sfu', `http://${host}:${ports.sfu}/healthz`),
    waitForHttp('transcoder', `http://${host}:${ports.transcoderHttp}/healthz`),
    waitForHttp('web', `http://${host}:${ports.web}/`),
  ]);

  const { DEMO_LOGINS, DEMO_STREAM_KEY } = await import('../edge-api/src/seed.ts');
  const shown = host === '127.0.0.1' ? 'localhost' : host;
  console.log(`
MyTaek1 is up (${elapsed(startedAt)}). Data: ${dataDir}

  Web app        http://${shown}:${ports.web}
  Edge API       http://${shown}:${ports.edgeApi}   (OpenAPI: /openapi.json)
  SFU            ws://${shown}:${ports.sfu}/ws   (stats: http://${shown}:${ports.sfu}/stats)
  RTMP ingest    rtmp://${shown}:${ports.rtmp}/live/<stream key>
  HLS, replays   http://${shown}:${ports.transcoderHttp}

  Demo logins    seller   ${DEMO_LOGINS.seller.email} / ${DEMO_LOGINS.seller.password}
                 shopper  ${DEMO_LOGINS.shopper.email} / ${DEMO_LOGINS.shopper.password}
  OBS (seller)   server rtmp://${shown}:${ports.rtmp}/live   stream key ${DEMO_STREAM_KEY}

Press Ctrl-C to stop everything.
`);
} catch (error) {
  log.fail(error instanceof Error ? error.message : String(error));
  await stopAll(1);
}
