/**
 * `npm run bench -- checkout-burst`: one product with 100 units, 5,000 buyers released at once over
 * HTTP against the running edge API (its own process), on each backend pair, for the reservation
 * design and, in the same run, the seed project's lock-per-product design as the baseline.
 * Writes bench/results/checkout-burst.json and prints a table.
 *
 * Options (environment): BUYERS (5000), UNITS (100), BACKENDS (comma-separated subset).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@mytaek1/contracts';
import { migrateToLatest } from '@mytaek1/edge-api/migrations';
import { loadNodeConfig, openConfiguredDatabase } from '@mytaek1/edge-api/node';
import { freePort } from '@mytaek1/test-support';
import mysql from 'mysql2/promise';
import pg from 'pg';

const BUYERS = Number(process.env.BUYERS ?? 5000);
const UNITS = Number(process.env.UNITS ?? 100);
const repoRoot = join(import.meta.dirname, '..');
const BACKENDS = ['pglite', 'planetscale-mariadb+upstash', 'neon-postgres+upstash'] as const;
type BackendName = (typeof BACKENDS)[number];
const DESIGNS = ['reservation', 'lock-per-product'] as const;
type Design = (typeof DESIGNS)[number];
const selected = (process.env.BACKENDS?.split(',') ?? BACKENDS) as BackendName[];

interface RunResult {
  backend: BackendName;
  design: Design;
  /** Where the baseline takes its lock. */
  lock: 'redis' | 'in-process';
  buyers: number;
  units: number;
  orders: number;
  units_sold: number;
  oversold: number;
  sold_out: number;
  errors: number;
  error_kinds: Record<string, number>;
  duration_ms: number;
  throughput_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

// ---------------------------------------------------------------- infrastructure per backend

interface Infrastructure {
  /** Environment for the edge API process: its database. */
  sql: Record<string, string>;
  /** Environment for the edge API process: Upstash Redis. */
  upstash: Record<string, string>;
  /** The database as the bench sees it, for setup and for counting after the burst. */
  open(): ReturnType<typeof openConfiguredDatabase>;
  close(): Promise<void>;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (pattern.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ${pattern}:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(killer), resolve()));
    child.kill('SIGTERM');
  });
}

async function infrastructure(backend: BackendName): Promise<Infrastructure> {
  const dbName = `mytaek1_bench_${randomBytes(4).toString('hex')}`;
  const mariadb = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const postgres = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await postgres.connect();
  // The endpoints' process serves both SQL protocols, so both servers get the scratch database.
  await mariadb.query(`CREATE DATABASE ${dbName}`);
  await postgres.query(`CREATE DATABASE ${dbName}`);
  // The cloud protocol endpoints run in a process of their own, as the cloud services would.
  const cloud = spawn(
    process.execPath,
    ['packages/local-cloud/src/cli.ts', '--mysql', `mysql://root@127.0.0.1:3306/${dbName}`, '--postgres', `postgresql://postgres@127.0.0.1:5432/${dbName}`, '--planetscale-port', '0', '--neon-port', '0', '--upstash-port', '0'],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const printed = await waitForLine(cloud, /Stop with Ctrl-C/);
  const value = (name: string, after = 0) => {
    const match = new RegExp(`^${name}=(.+)$`, 'm').exec(printed.slice(after));
    if (!match) throw new Error(`local-cloud did not print ${name}`);
    return match[1]!;
  };
  const pgliteDir = mkdtempSync(join(tmpdir(), 'mytaek1-bench-'));
  const sql: Record<string, string> =
    backend === 'pglite'
      ? { DATABASE_DRIVER: 'pglite', DATA_DIR: pgliteDir }
      : backend === 'planetscale-mariadb+upstash'
        ? { DATABASE_DRIVER: 'planetscale', DATABASE_URL: value('DATABASE_URL') }
        : { DATABASE_DRIVER: 'neon', DATABASE_URL: value('DATABASE_URL', printed.indexOf('# edge-api over Neon')), NEON_LOCAL_ENDPOINT: value('NEON_LOCAL_ENDPOINT') };
  return {
    sql,
    upstash: { UPSTASH_REDIS_REST_URL: value('UPSTASH_REDIS_REST_URL'), UPSTASH_REDIS_REST_TOKEN: value('UPSTASH_REDIS_REST_TOKEN') },
    open: () => openConfiguredDatabase(loadNodeConfig(sql)),
    async close() {
      await stop(cloud);
      rmSync(pgliteDir, { recursive: true, force: true });
      await mariadb.query(`DROP DATABASE ${dbName}`);
      await postgres.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
      await mariadb.end();
      await postgres.end();
    },
  };
}

// ---------------------------------------------------------------- the stage: one product, a live show, 5,000 signed-in buyers

interface Stage {
  showId: string;
  productId: string;
  tokens: string[];
}

async function setStage(database: Awaited<ReturnType<typeof openConfiguredDatabase>>): Promise<Stage> {
  const { db } = database;
  await migrateToLatest(db);
  const now = Date.now();
  const sellerId = newId(now);
  const productId = newId(now);
  const showId = newId(now);
  // Accounts are written directly: 5,000 sign-ups would spend minutes hashing passwords nobody types.
  const unusablePassword = 'pbkdf2-sha256$1$AAAA$AAAA';
  await db.insertInto('users').values({ id: sellerId, email: `seller-${sellerId}@bench.test`, display_name: 'Bench seller', role: 'seller', password_hash: unusablePassword, created_at: now }).execute();
  await db
    .insertInto('products')
    .values({ id: productId, seller_id: sellerId, title: 'Flash item', description: '', image_urls: '[]', price_amount: 1000, currency: 'USD', stock: UNITS, status: 'active', created_at: now, updated_at: now })
    .execute();
  await db.insertInto('shows').values({ id: showId, seller_id: sellerId, title: 'Burst', description: '', status: 'live', scheduled_at: now, started_at: now, ended_at: null, created_at: now, version: 1 }).execute();
  await db.insertInto('show_pins').values({ show_id: showId, slot: 1, product_id: productId, pinned_at: now, deal_price_amount: null, deal_currency: null, deal_starts_at: null, deal_ends_at: null, deal_total_limit: null, deal_per_buyer_limit: null }).execute();

  const tokens: string[] = [];
  for (let start = 0; start < BUYERS; start += 500) {
    const users = [];
    const sessions = [];
    for (let i = start; i < Math.min(BUYERS, start + 500); i++) {
      const id = newId(now);
      const token = randomBytes(24).toString('base64url');
      tokens.push(token);
      users.push({ id, email: `buyer-${i}-${id}@bench.test`, display_name: `Buyer ${i}`, role: 'shopper' as const, password_hash: unusablePassword, created_at: now });
      sessions.push({ id: createHash('sha256').update(token).digest('hex'), user_id: id, created_at: now, expires_at: now + 3_600_000 });
    }
    await db.insertInto('users').values(users).execute();
    await db.insertInto('sessions').values(sessions).execute();
  }
  return { showId, productId, tokens };
}

// ---------------------------------------------------------------- the burst

function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(-1));
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The seed took its lock in Redis (Redisson) whatever the database: the baseline does the same with
 * @upstash/lock on every pair. The reservation design uses Redis only where the pair has it: PGlite
 * runs alone. `lock: 'in-process'` is a supplementary single-node variant of the baseline.
 */
async function run(backend: BackendName, design: Design, lock: 'redis' | 'in-process' = 'redis'): Promise<RunResult> {
  const infra = await infrastructure(backend);
  let api: ChildProcess | undefined;
  try {
    const setup = await infra.open();
    const stage = await setStage(setup);
    await setup.close();

    const port = await freePort();
    api = spawn(process.execPath, ['edge-api/src/node.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...infra.sql,
        ...((design === 'reservation' && backend !== 'pglite') || (design === 'lock-per-product' && lock === 'redis') ? infra.upstash : {}),
        EDGE_API_PORT: String(port),
        SEED_DEMO_DATA: 'false',
        CHECKOUT_DESIGN: design,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await waitForLine(api, /listening on/);

    const agent = new Agent({ keepAlive: true, maxSockets: 512 });
    const body = JSON.stringify({ showId: stage.showId, productId: stage.productId, quantity: 1 });
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const released = performance.now();
    await Promise.all(
      stage.tokens.map(async (token) => {
        const status = await post(agent, port, '/v1/checkout', { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() }, body);
        latencies.push(performance.now() - released);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
    );
    const durationMs = performance.now() - released;
    agent.destroy();

    const check = await infra.open();
    const sold = await check.db
      .selectFrom('orders')
      .select((eb) => [eb.fn.countAll<number>().as('orders'), eb.fn.sum<number>('quantity').as('units')])
      .where('product_id', '=', stage.productId)
      .where('status', 'in', ['pending', 'paid'])
      .executeTakeFirstOrThrow();
    await check.close();
    latencies.sort((a, b) => a - b);
    const unitsSold = Number(sold.units ?? 0);
    const soldOut = statuses.get(409) ?? 0;
    const decided = (statuses.get(201) ?? 0) + soldOut;
    const errorKinds = Object.fromEntries([...statuses].filter(([status]) => status !== 201 && status !== 409).map(([status, n]) => [String(status), n]));
    return {
      backend,
      design,
      buyers: BUYERS,
      units: UNITS,
      orders: Number(sold.orders),
      units_sold: unitsSold,
      oversold: Math.max(0, unitsSold - UNITS),
      sold_out: soldOut,
      errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
      error_kinds: errorKinds,
      duration_ms: Math.round(durationMs),
      lock,
      throughput_per_s: Math.round((decided / durationMs) * 1000),
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
    };
  } finally {
    if (api) await stop(api);
    await infra.close();
  }
}

// ---------------------------------------------------------------- main

const runs: RunResult[] = [];
for (const backend of selected) {
  for (const design of DESIGNS) {
    process.stderr.write(`checkout-burst: ${backend}, ${design}, ${BUYERS} buyers for ${UNITS} units…\n`);
    runs.push(await run(backend, design));
  }
}
const supplementary: RunResult[] = [];
if (selected.includes('pglite')) {
  process.stderr.write('checkout-burst: pglite, lock-per-product with an in-process lock (supplementary)…\n');
  supplementary.push(await run('pglite', 'lock-per-product', 'in-process'));
}
const ratios = selected.map((backend) => {
  const fast = runs.find((r) => r.backend === backend && r.design === 'reservation')!;
  const slow = runs.find((r) => r.backend === backend && r.design === 'lock-per-product')!;
  return { backend, ratio: Math.round((fast.throughput_per_s / slow.throughput_per_s) * 10) / 10 };
});
const result = {
  benchmark: 'checkout-burst',
  date: new Date().toISOString(),
  machine: `${(await import('node:os')).cpus().length} cores, ${Math.round((await import('node:os')).totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  buyers: BUYERS,
  units: UNITS,
  runs,
  supplementary,
  throughput_ratio_by_backend: ratios,
  min_throughput_ratio: Math.min(...ratios.map((r) => r.ratio)),
};
mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
writeFileSync(join(repoRoot, 'bench', 'results', 'checkout-burst.json'), `${JSON.stringify(result, null, 2)}\n`);

const rows = [...runs, ...supplementary].map((r) => [r.backend, r.design === 'lock-per-product' ? `lock (${r.lock})` : r.design, r.orders, r.oversold, r.sold_out, r.errors, r.throughput_per_s, r.p50_ms, r.p99_ms, r.duration_ms]);
const header = ['backend', 'design', 'orders', 'oversold', 'sold out', 'errors', 'decided/s', 'p50 ms', 'p99 ms', 'total ms'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
console.log(`\ncheckout-burst: ${BUYERS} buyers released at once for ${UNITS} units\n`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`\nthroughput, reservation over lock-per-product: ${ratios.map((r) => `${r.backend} ${r.ratio}x`).join(', ')}; worst ${result.min_throughput_ratio}x`);
