/**
 * `npm run bench -- read-latency`: the p50 and p95 of a simple read (GET /v1/shows/{id}, one indexed
 * join) through each driver path: PGlite embedded, PlanetScale's driver over HTTP to MariaDB, Neon's
 * driver over its WebSocket protocol to PostgreSQL. The edge API runs as its own process; requests
 * are sequential, so each figure is one request's full path. Writes bench/results/read-latency.json.
 */
import { Agent, get } from 'node:http';
import { cpus, totalmem } from 'node:os';
import { type BackendName, BACKENDS, infrastructure, percentile, startEdgeApi, stop } from './lib/infrastructure.ts';
import { writeBenchResult } from './lib/results.ts';

const REQUESTS = Number(process.env.REQUESTS ?? 500);
const WARM_UP = 50;
const DRIVER: Record<BackendName, string> = {
  pglite: 'PGlite (embedded)',
  'planetscale-mariadb+upstash': '@planetscale/database → HTTP → MariaDB',
  'neon-postgres+upstash': '@neondatabase/serverless → WebSocket → PostgreSQL',
};

function read(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.once('end', () => (res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`GET ${path} answered ${res.statusCode}`))));
    }).once('error', reject);
  });
}

const runs = [];
for (const backend of BACKENDS) {
  process.stderr.write(`read-latency: ${DRIVER[backend]}…\n`);
  const infra = await infrastructure(backend);
  const api = await startEdgeApi({ ...infra.sql, SEED_DEMO_DATA: 'true' });
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const list = await fetch(`http://127.0.0.1:${api.port}/v1/shows`).then((r) => r.json() as Promise<{ upcoming: { id: string }[] }>);
    const path = `/v1/shows/${list.upcoming[0]!.id}`;
    for (let i = 0; i < WARM_UP; i++) await read(agent, api.port, path);
    const samples: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const started = performance.now();
      await read(agent, api.port, path);
      samples.push(performance.now() - started);
    }
    agent.destroy();
    samples.sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    runs.push({ backend: backend.replace('+upstash', ''), driver: DRIVER[backend], requests: REQUESTS, p50_ms: round(percentile(samples, 50)), p95_ms: round(percentile(samples, 95)) });
  } finally {
    await stop(api.process);
    await infra.close();
  }
}

const result = { benchmark: 'read-latency', date: new Date().toISOString(), machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`, path: 'GET /v1/shows/{id}', runs };
writeBenchResult('read-latency', result);
console.log(`\nread-latency: ${REQUESTS} sequential GET /v1/shows/{id} per driver path\n`);
for (const run of runs) console.log(`${run.driver.padEnd(52)}  p50 ${String(run.p50_ms).padStart(6)} ms   p95 ${String(run.p95_ms).padStart(6)} ms`);
