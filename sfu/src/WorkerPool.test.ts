import './testing/workerBin.ts';
import { once } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from './logger.ts';
import { mediaCodecs } from './mediaCodecs.ts';
import { WorkerPool } from './WorkerPool.ts';

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const loopback: mediasoupTypes.TransportListenInfo[] = [{ protocol: 'udp', ip: '127.0.0.1', portRange: { min: 40000, max: 49999 } }];

describe('WorkerPool', () => {
  const pools: WorkerPool[] = [];
  async function createPool(size: number): Promise<WorkerPool> {
    const pool = await WorkerPool.create({ size });
    pools.push(pool);
    return pool;
  }

  beforeAll(() => setLogLevel('silent'));

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  it('runs the requested number of workers and picks the one carrying the fewest transports', async () => {
    const pool = await createPool(2);
    expect(pool.size).toBe(2);
    const first = pool.pick();
    const firstRouter = await first.createRouter({ mediaCodecs });
    await firstRouter.createWebRtcTransport({ listenInfos: loopback });

    const second = pool.pick();
    expect(second).not.toBe(first);
    const secondRouter = await second.createRouter({ mediaCodecs });
    await secondRouter.createWebRtcTransport({ listenInfos: loopback });
    const extra = await secondRouter.createWebRtcTransport({ listenInfos: loopback });
    expect(pool.pick()).toBe(first);
    expect(pool.loads().map(({ routers, transports }) => ({ routers, transports })).sort((a, b) => a.transports - b.transports)).toEqual([
      { routers: 1, transports: 1 },
      { routers: 1, transports: 2 },
    ]);

    // Load follows closes too.
    extra.close();
    secondRouter.close();
    expect(pool.pick()).toBe(second);
  });

  it('replaces a worker killed with SIGKILL, and says so once the replacement runs', async () => {
    const pool = await createPool(2);
    const victim = pool.pick();
    const pidsBefore = pool.loads().map((load) => load.pid);

    const died = once(pool, 'workerdied');
    process.kill(victim.pid, 'SIGKILL');
    const [deadWorker, error] = (await died) as [mediasoupTypes.Worker, Error];

    expect(deadWorker).toBe(victim);
    expect(error.message).toContain('SIGKILL');
    expect(pool.size).toBe(2);
    const pidsAfter = pool.loads().map((load) => load.pid);
    expect(pidsAfter).not.toContain(victim.pid);
    expect(pidsAfter.filter((pid) => !pidsBefore.includes(pid))).toHaveLength(1);
    for (const pid of pidsAfter) expect(isProcessAlive(pid)).toBe(true);
    expect(pool.pick().closed).toBe(false);
  });

  it('closes idempotently and leaves no worker process behind', async () => {
    const pool = await createPool(2);
    const pids = pool.loads().map((load) => load.pid);
    await Promise.all([pool.close(), pool.close()]);
    await pool.close();
    expect(pool.size).toBe(0);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
    expect(() => pool.pick()).toThrow('worker pool is closed');
  });
});
