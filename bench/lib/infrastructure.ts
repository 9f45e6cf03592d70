/**
 * What the benchmarks share: the databases behind each backend pair (scratch databases on the real
 * servers, the cloud protocols' local endpoints in a process of their own), and the edge API
 * started as its own process, as in production.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodeConfig, openConfiguredDatabase } from '@mytaek1/edge-api/node';
import { freePort } from '@mytaek1/test-support';
import mysql from 'mysql2/promise';
import pg from 'pg';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const BACKENDS = ['pglite', 'planetscale-mariadb+upstash', 'neon-postgres+upstash'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface Infrastructure {
  /** Environment for the edge API process: its database. */
  sql: Record<string, string>;
  /** Environment for the edge API process: Upstash Redis. */
  upstash: Record<string, string>;
  /** The database as the bench sees it, for setup and for counting after the burst. */
  open(): ReturnType<typeof openConfiguredDatabase>;
  close(): Promise<void>;
}

export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
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

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(killer), resolve()));
    child.kill('SIGTERM');
  });
}

export async function infrastructure(backend: BackendName): Promise<Infrastructure> {
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

/** The edge API in a process of its own on a free port, with `env` on top of the bench's. */
export async function startEdgeApi(env: Record<string, string>): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const api = spawn(process.execPath, ['edge-api/src/node.ts'], {
    cwd: repoRoot,
    env: { ...process.env, SEED_DEMO_DATA: 'false', ...env, EDGE_API_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(api, /listening on/);
  return { port, process: api };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
