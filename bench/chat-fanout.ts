/**
 * `npm run bench -- chat-fanout` (or `node bench/chat-fanout.ts`): one show's realtime room, as many
 * WebSockets as the machine carries up to 5,000 (steps of 500, 1,000, 2,000, 5,000, stopping at the
 * first step that fails), 50 chat messages a second for ~10 s per step from signed-in chatters, and
 * the delivery latency from send to every receiver (p50, p99). First against the Node hub (the edge
 * API as its own process over PGlite), then, as far as it goes locally, against the ShowRoom Durable
 * Object under `wrangler dev` (workerd, the Worker over MariaDB through the local PlanetScale endpoint).
 * Tokens come from the API. Writes bench/results/chat-fanout.json and prints a table.
 *
 * Options (environment): STEPS (500,1000,2000,5000), DO_STEPS (150,250,500,1000,2000,5000: the local
 * Durable Object saturates far sooner), RATE (50 messages/s), SECONDS (10 per step), CHATTERS (150:
 * each sends one message every 3 s, inside the room's 5-per-10-s limit), TARGETS (node,durable-object).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest } from '@mytaek1/edge-api/migrations';
import { loadNodeConfig, openConfiguredDatabase } from '@mytaek1/edge-api/node';
import { freePort, type RunningProcess, startProcess } from '@mytaek1/test-support';
import mysql from 'mysql2/promise';
import { LeanWebSocket } from './lib/LeanWebSocket.ts';
import { writeBenchResult } from './lib/results.ts';

const STEPS = (process.env.STEPS ?? '500,1000,2000,5000').split(',').map(Number);
const DO_STEPS = (process.env.DO_STEPS ?? '150,250,500,1000,2000,5000').split(',').map(Number);
const RATE = Number(process.env.RATE ?? 50);
const SECONDS = Number(process.env.SECONDS ?? 10);
const CHATTERS = Number(process.env.CHATTERS ?? 150);
const TARGETS = (process.env.TARGETS ?? 'node,durable-object').split(',');
const repoRoot = join(import.meta.dirname, '..');
const TOKEN_SECRET = randomBytes(24).toString('hex');
/** The whole run stays under four minutes: steps that would not fit are skipped. */
const deadline = Date.now() + 225_000;

interface StepResult {
  sockets: number;
  connect_failures: number;
  connect_ms: number;
  msgs_sent: number;
  msgs_per_s: number;
  deliveries_expected: number;
  deliveries: number;
  delivered_ratio: number;
  rate_limited: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** The machine's 1-minute load average when the step ended: other work on it skews the figures. */
  load_average: number;
  ok: boolean;
  failure?: string;
}

// ---------------------------------------------------------------------------------------------------
// Processes: every one started here is stopped here, even on failure or Ctrl-C.
// ---------------------------------------------------------------------------------------------------

const running = new Set<RunningProcess>();
function start(command: string, args: string[], env: Record<string, string>): RunningProcess {
  const child = startProcess(command, args, { cwd: repoRoot, env: { ...process.env, ...env } });
  running.add(child);
  return child;
}
async function stop(child: RunningProcess | undefined): Promise<void> {
  if (!child) return;
  await child.stop(10_000);
  running.delete(child);
}
process.once('exit', () => {
  for (const child of running) if (child.child.pid && child.child.exitCode === null) child.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([...running].map((c) => c.stop(3000))).finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------
// HTTP against the API
// ---------------------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, agent, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: { text } });
          }
        });
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}
async function ok(port: number, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  const response = await call(port, method, path, body, headers);
  if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.json)}`);
  return response.json;
}
async function inBatches<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** A live show, its seller, and `CHATTERS` signed-in shoppers with realtime tokens. */
async function stage(port: number) {
  const signUp = async (role: 'seller' | 'shopper', name: string) => {
    const body = await ok(port, 'POST', '/v1/auth/signup', { email: `${role}-${randomBytes(6).toString('hex')}@bench.test`, password: 'a long enough password', displayName: name, role });
    return { authorization: `Bearer ${body.token as string}` };
  };
  const seller = await signUp('seller', 'Bench studio');
  const show = await ok(port, 'POST', '/v1/shows', { title: 'Chat fan-out', scheduledAt: new Date().toISOString() }, seller);
  const showId = show.id as string;
  await ok(port, 'POST', `/v1/shows/${showId}/live`, undefined, seller);
  const product = await ok(port, 'POST', '/v1/products', { title: 'Mug', price: { amount: 1500, currency: 'USD' }, stock: 100 }, seller);
  await ok(port, 'PUT', `/v1/shows/${showId}/pins/${product.id as string}`, {}, seller);
  const chatters = await inBatches(CHATTERS, 4, async (i) => signUp('shopper', `Chatter ${i}`));
  return { showId, chatters };
}
const realtimeToken = async (port: number, showId: string, headers: Record<string, string> = {}) => (await ok(port, 'POST', `/v1/shows/${showId}/realtime-token`, undefined, headers)).token as string;

// ---------------------------------------------------------------------------------------------------
// The fleet of sockets and the measurement
// ---------------------------------------------------------------------------------------------------

const CHAT_PREFIX = Buffer.from('{"type":"chat"');
const WELCOME_PREFIX = Buffer.from('{"type":"welcome"');
const TEXT_MARK = Buffer.from('"text":"b:');
const RATE_LIMITED = Buffer.from('"code":"rate_limited"');

class Measurement {
  latencies: Float64Array;
  count = 0;
  received: Uint32Array;
  firstIndex: number;
  rateLimited = 0;
  constructor(firstIndex: number, messages: number, sockets: number) {
    this.firstIndex = firstIndex;
    this.received = new Uint32Array(messages);
    this.latencies = new Float64Array(messages * sockets);
  }
}
let measuring: Measurement | null = null;

/** Reads a chat frame without parsing JSON: the bench's own messages carry `b:<sent at>:<index>`. */
function onFrame(data: Buffer): void {
  if (!measuring) return;
  if (data.compare(CHAT_PREFIX, 0, CHAT_PREFIX.length, 0, CHAT_PREFIX.length) !== 0) {
    if (data.indexOf(RATE_LIMITED) >= 0) measuring.rateLimited++;
    return;
  }
  const mark = data.indexOf(TEXT_MARK);
  if (mark < 0) return;
  const start = mark + TEXT_MARK.length;
  const colon = data.indexOf(0x3a, start);
  const quote = data.indexOf(0x22, colon);
  const sentAt = Number(data.toString('latin1', start, colon));
  const index = Number(data.toString('latin1', colon + 1, quote)) - measuring.firstIndex;
  if (index < 0 || index >= measuring.received.length) return;
  measuring.received[index]!++;
  if (measuring.count < measuring.latencies.length) measuring.latencies[measuring.count++] = performance.now() - sentAt;
}

interface Fleet {
  sockets: LeanWebSocket[];
  chatters: LeanWebSocket[];
  failures: number;
}

/**
 * One admitted socket: says hello, and resolves once welcomed (null if refused or silent). The
 * receivers are LeanWebSocket, not `ws`: with thousands of them in this one process, `ws`'s per-frame
 * cost made the generator, not the room, the bottleneck (see bench/lib/LeanWebSocket.ts).
 */
function connect(url: string, token: string): Promise<LeanWebSocket | null> {
  return new Promise((resolve) => {
    let welcomed = false;
    let ws: LeanWebSocket | undefined;
    const timer = setTimeout(() => (ws?.terminate(), resolve(null)), 30_000);
    const onMessage = (data: Buffer) => {
      if (welcomed) return onFrame(data);
      if (data.compare(WELCOME_PREFIX, 0, WELCOME_PREFIX.length, 0, WELCOME_PREFIX.length) !== 0) return;
      welcomed = true;
      clearTimeout(timer);
      resolve(ws!);
    };
    LeanWebSocket.open(url, onMessage).then(
      (opened) => {
        ws = opened;
        opened.send(JSON.stringify({ type: 'hello', token }));
      },
      () => (clearTimeout(timer), resolve(null)),
    );
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);
const round = (n: number) => Math.round(n * 10) / 10;
let nextIndex = 0;

async function runSteps(label: string, port: number, steps: number[], stepDurationMs: number): Promise<StepResult[]> {
  const { showId, chatters } = await stage(port);
  const url = `ws://127.0.0.1:${port}/v1/shows/${showId}/room`;
  const fleet: Fleet = { sockets: [], chatters: [], failures: 0 };
  const chatterTokens = await inBatches(chatters.length, 16, (i) => realtimeToken(port, showId, chatters[i]));
  const results: StepResult[] = [];
  for (const target of steps.filter((s) => s <= maxSockets())) {
    // Connecting and running a step takes roughly this long; a step that would overrun is not started.
    const estimateMs = stepDurationMs + 8_000 + target * 4;
    if (Date.now() + estimateMs > deadline) {
      process.stderr.write(`chat-fanout: ${label}: skipping ${target} sockets (time budget)\n`);
      break;
    }
    const connectStarted = performance.now();
    const failuresBefore = fleet.failures;
    if (fleet.chatters.length === 0) {
      const opened = await inBatches(chatterTokens.length, 50, (i) => connect(url, chatterTokens[i]!));
      for (const ws of opened) ws ? (fleet.chatters.push(ws), fleet.sockets.push(ws)) : fleet.failures++;
    }
    const more = Math.max(0, target - fleet.sockets.length - (fleet.failures - failuresBefore));
    const tokens = await inBatches(more, 32, () => realtimeToken(port, showId));
    const opened = await inBatches(more, 100, (i) => connect(url, tokens[i]!));
    for (const ws of opened) ws ? fleet.sockets.push(ws) : fleet.failures++;
    const connectMs = performance.now() - connectStarted;
    const failures = fleet.failures - failuresBefore;
    await sleep(1500);

    const messages = Math.round((RATE * stepDurationMs) / 1000);
    const receivers = fleet.sockets.filter((ws) => ws.isOpen).length;
    const measurement = new Measurement(nextIndex, messages, receivers);
    measuring = measurement;
    const started = performance.now();
    for (let k = 0; k < messages; k++) {
      const due = started + (k * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const sender = fleet.chatters[k % fleet.chatters.length]!;
      if (sender.isOpen) sender.send(JSON.stringify({ type: 'chat', text: `b:${performance.now().toFixed(3)}:${nextIndex + k}` }));
    }
    const sendMs = performance.now() - started;
    nextIndex += messages;
    const expected = messages * receivers;
    const drainUntil = performance.now() + 15_000;
    while (measurement.count < expected && performance.now() < drainUntil) await sleep(100);
    measuring = null;
    const sorted = measurement.latencies.slice(0, measurement.count).sort();
    const delivered = measurement.count / expected;
    const p99 = percentile(sorted, 99);
    const failure =
      failures > target * 0.01 ? `${failures} of ${target} sockets failed to connect` : delivered < 0.99 ? `only ${(delivered * 100).toFixed(1)}% delivered within 15 s` : p99 > 5_000 ? `p99 ${Math.round(p99)} ms` : undefined;
    const result: StepResult = {
      sockets: receivers,
      connect_failures: failures,
      connect_ms: Math.round(connectMs),
      msgs_sent: messages,
      msgs_per_s: round((messages / sendMs) * 1000),
      deliveries_expected: expected,
      deliveries: measurement.count,
      delivered_ratio: Math.round(delivered * 10_000) / 10_000,
      rate_limited: measurement.rateLimited,
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(p99),
      max_ms: round(sorted.at(-1) ?? 0),
      load_average: round(loadavg()[0]!),
      ok: !failure,
      ...(failure ? { failure } : {}),
    };
    results.push(result);
    process.stderr.write(`chat-fanout: ${label}: ${JSON.stringify(result)}\n`);
    if (failure) break;
    await sleep(500);
  }
  for (const ws of fleet.sockets) ws.terminate();
  await sleep(500);
  return results;
}

/** Sockets this process may open: its open-files limit, less a margin. */
function maxSockets(): number {
  try {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
    return Number.isFinite(limit) ? limit - 256 : 5000;
  } catch {
    return 5000;
  }
}

// ---------------------------------------------------------------------------------------------------
// The two targets
// ---------------------------------------------------------------------------------------------------

async function nodeHub(): Promise<StepResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mytaek1-chat-fanout-'));
  let api: RunningProcess | undefined;
  try {
    const port = await freePort();
    api = start(process.execPath, ['edge-api/src/node.ts'], { DATA_DIR: dataDir, DATABASE_DRIVER: 'pglite', EDGE_API_PORT: String(port), SEED_DEMO_DATA: 'false', TOKEN_SECRET });
    await api.waitForOutput(/listening on/, 60_000);
    return await runSteps('node hub', port, STEPS, SECONDS * 1000);
  } finally {
    await stop(api);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function durableObject(): Promise<StepResult[]> {
  const dbName = `mytaek1_bench_${randomBytes(4).toString('hex')}`;
  const mariadb = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const state = mkdtempSync(join(tmpdir(), 'mytaek1-chat-fanout-do-'));
  let cloud: RunningProcess | undefined;
  let wrangler: RunningProcess | undefined;
  try {
    await mariadb.query(`CREATE DATABASE ${dbName}`);
    // The PlanetScale endpoint over MariaDB, in a process of its own as the cloud service would be.
    cloud = start(process.execPath, ['packages/local-cloud/src/cli.ts', '--mysql', `mysql://root@127.0.0.1:3306/${dbName}`, '--planetscale-port', '0', '--neon-port', '0', '--upstash-port', '0'], {});
    await cloud.waitForOutput(/Stop with Ctrl-C/);
    const databaseUrl = /^DATABASE_URL=(.+)$/m.exec(cloud.output())?.[1];
    if (!databaseUrl) throw new Error(`local-cloud printed no DATABASE_URL:\n${cloud.output()}`);
    const database = await openConfiguredDatabase(loadNodeConfig({ DATABASE_DRIVER: 'planetscale', DATABASE_URL: databaseUrl }));
    await migrateToLatest(database.db);
    await database.close();

    const port = await freePort();
    const inspector = await freePort();
    wrangler = start(
      process.execPath,
      [
        'node_modules/.bin/wrangler',
        'dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--inspector-port',
        String(inspector),
        '--persist-to',
        state,
        '--show-interactive-dev-session=false',
        '--var',
        `DATABASE_URL:${databaseUrl}`,
        '--var',
        `TOKEN_SECRET:${TOKEN_SECRET}`,
      ],
      { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: '1' },
    );
    await wrangler.waitForOutput(/Ready on http/, 90_000);
    return await runSteps('durable object', port, DO_STEPS, SECONDS * 1000);
  } finally {
    await stop(wrangler);
    await stop(cloud);
    await mariadb.query(`DROP DATABASE IF EXISTS ${dbName}`).catch(() => {});
    await mariadb.end();
    rmSync(state, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------

const best = (steps: StepResult[]) => [...steps].reverse().find((s) => s.ok) ?? steps.at(-1);
const summary = (steps: StepResult[]) => {
  const top = best(steps);
  return top
    ? { sockets: top.sockets, msgs_per_s: top.msgs_per_s, p50_ms: top.p50_ms, p99_ms: top.p99_ms, delivered_ratio: top.delivered_ratio, max_ok_sockets: [...steps].reverse().find((s) => s.ok)?.sockets ?? 0 }
    : { sockets: 0, msgs_per_s: 0, p50_ms: 0, p99_ms: 0, delivered_ratio: 0, max_ok_sockets: 0 };
};

let nodeSteps: StepResult[] = [];
let doSteps: StepResult[] = [];
let doError: string | undefined;
try {
  if (TARGETS.includes('node')) {
    process.stderr.write('chat-fanout: Node hub (edge API process over PGlite)…\n');
    nodeSteps = await nodeHub();
  }
  if (TARGETS.includes('durable-object')) {
    process.stderr.write('chat-fanout: Durable Object under wrangler dev (MariaDB through the PlanetScale endpoint)…\n');
    try {
      doSteps = await durableObject();
    } catch (error) {
      doError = error instanceof Error ? error.message.slice(0, 2000) : String(error);
      process.stderr.write(`chat-fanout: the Durable Object run failed: ${doError}\n`);
    }
  }
} finally {
  agent.destroy();
  await Promise.all([...running].map((c) => c.stop(5000)));
}

const result = {
  benchmark: 'chat-fanout',
  date: new Date().toISOString(),
  machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; clients and server share the machine`,
  rate_target_per_s: RATE,
  seconds_per_step: SECONDS,
  chatters: CHATTERS,
  ...summary(nodeSteps),
  steps: nodeSteps,
  durable_object: { ...summary(doSteps), steps: doSteps, ...(doError ? { error: doError } : {}), runtime: 'wrangler dev (workerd, local), one Durable Object' },
};
writeBenchResult('chat-fanout', result);

const rows = [...nodeSteps.map((s) => ['node hub', s] as const), ...doSteps.map((s) => ['durable object', s] as const)].map(([target, s]) => [
  target,
  s.sockets,
  s.msgs_per_s,
  s.p50_ms,
  s.p99_ms,
  s.max_ms,
  `${(s.delivered_ratio * 100).toFixed(2)}%`,
  s.connect_failures,
  s.rate_limited,
  s.load_average,
  s.ok ? 'ok' : (s.failure ?? 'failed'),
]);
const header = ['target', 'sockets', 'msgs/s', 'p50 ms', 'p99 ms', 'max ms', 'delivered', 'conn fail', 'limited', 'load', 'step'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
console.log(`\nchat-fanout: ${RATE} chat messages/s for ${SECONDS} s per step, latency from send to every receiver\n`);
console.log(line(header));
for (const row of rows) console.log(line(row));
if (doError) console.log(`\ndurable object: ${doError.split('\n')[0]}`);
console.log(`\nnode hub: ${result.sockets} sockets, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms; durable object: ${result.durable_object.sockets} sockets, p50 ${result.durable_object.p50_ms} ms, p99 ${result.durable_object.p99_ms} ms`);
process.exit(0);
