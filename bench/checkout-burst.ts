/**
 * `npm run bench -- checkout-burst`: one product with 100 units, 5,000 buyers released at once over
 * HTTP against the running edge API (its own process), on each backend pair, for the reservation
 * design and, in the same run, the seed project's lock-per-product design as the baseline.
 * Writes bench/results/checkout-burst.json and prints a table.
 *
 * Options (environment): BUYERS (5000), UNITS (100), BACKENDS (comma-separated subset).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { newId } from '@mytaek1/contracts';
import { migrateToLatest } from '@mytaek1/edge-api/migrations';
import type { openConfiguredDatabase } from '@mytaek1/edge-api/node';
import { BACKENDS, type BackendName, infrastructure, percentile, startEdgeApi, stop } from './lib/infrastructure.ts';
import { writeBenchResult } from './lib/results.ts';

const BUYERS = Number(process.env.BUYERS ?? 5000);
const UNITS = Number(process.env.UNITS ?? 100);
const DESIGNS = ['reservation', 'lock-per-product'] as const;
type Design = (typeof DESIGNS)[number];
const selected = (process.env.BACKENDS?.split(',') ?? BACKENDS) as BackendName[];
const designs = (process.env.DESIGNS?.split(',') ?? DESIGNS) as Design[];

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

/** The status of the answer, or the client-side error's code (ECONNRESET…) when there was none. */
function post(agent: Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(body);
  });
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

    const usesRedis = (design === 'reservation' && backend !== 'pglite') || (design === 'lock-per-product' && lock === 'redis');
    const started = await startEdgeApi({ ...infra.sql, ...(usesRedis ? infra.upstash : {}), CHECKOUT_DESIGN: design });
    api = started.process;
    const { port } = started;

    // One connection per buyer: all of them really are released at once.
    const agent = new Agent({ keepAlive: true, maxSockets: BUYERS });
    const body = JSON.stringify({ showId: stage.showId, productId: stage.productId, quantity: 1 });
    const latencies: number[] = [];
    const statuses = new Map<number | string, number>();
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
      throughput_per_s: Math.round((decided / durationMs) * 10_000) / 10,
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
  for (const design of designs) {
    process.stderr.write(`checkout-burst: ${backend}, ${design}, ${BUYERS} buyers for ${UNITS} units…\n`);
    runs.push(await run(backend, design));
  }
}
const supplementary: RunResult[] = [];
if (selected.includes('pglite') && designs.includes('lock-per-product')) {
  process.stderr.write('checkout-burst: pglite, lock-per-product with an in-process lock (supplementary)…\n');
  supplementary.push(await run('pglite', 'lock-per-product', 'in-process'));
}
const ratios = selected.flatMap((backend) => {
  const fast = runs.find((r) => r.backend === backend && r.design === 'reservation');
  const slow = runs.find((r) => r.backend === backend && r.design === 'lock-per-product');
  return fast && slow ? [{ backend, ratio: Math.round((fast.throughput_per_s / slow.throughput_per_s) * 10) / 10 }] : [];
});
const result = {
  benchmark: 'checkout-burst',
  date: new Date().toISOString(),
  machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  buyers: BUYERS,
  units: UNITS,
  runs,
  supplementary,
  throughput_ratio_by_backend: ratios,
  min_throughput_ratio: Math.min(...ratios.map((r) => r.ratio)),
};
writeBenchResult('checkout-burst', result);

const rows = [...runs, ...supplementary].map((r) => [r.backend, r.design === 'lock-per-product' ? `lock (${r.lock})` : r.design, r.orders, r.oversold, r.sold_out, r.errors, r.throughput_per_s, r.p50_ms, r.p99_ms, r.duration_ms]);
const header = ['backend', 'design', 'orders', 'oversold', 'sold out', 'errors', 'decided/s', 'p50 ms', 'p99 ms', 'total ms'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(widths[i]!)).join('  ');
console.log(`\ncheckout-burst: ${BUYERS} buyers released at once for ${UNITS} units\n`);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`\nthroughput, reservation over lock-per-product: ${ratios.map((r) => `${r.backend} ${r.ratio}x`).join(', ')}; worst ${result.min_throughput_ratio}x`);
