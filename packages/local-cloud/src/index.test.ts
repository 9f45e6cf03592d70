import { type AddressInfo, connect, createServer } from 'node:net';
import { neon, neonConfig } from '@neondatabase/serverless';
import { connect as connectPlanetScale } from '@planetscale/database';
import { Redis } from '@upstash/redis';
import { describe, expect, it } from 'vitest';
import { localCloudEnvironment, neonLocalConfig, startLocalCloud } from './index.ts';

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' };
const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const REDIS = { host: '127.0.0.1', port: 6379 };

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.once('connect', () => socket.destroy());
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('startLocalCloud', () => {
  it('starts the three endpoints, each answering its vendor client, and stops them', async () => {
    const cloud = await startLocalCloud({
      planetscale: { mysql: MYSQL, username: 'u', password: 'p' },
      neon: { postgres: POSTGRES },
      upstash: { redis: REDIS, token: 't' },
    });
    try {
      expect(cloud.urls).toEqual({ planetscale: cloud.planetscale?.url, neon: cloud.neon?.url, upstash: cloud.upstash?.url });
      const environment = localCloudEnvironment(cloud);
      expect(environment.planetscale).toEqual({ DATABASE_DRIVER: 'planetscale', DATABASE_URL: cloud.urls.planetscale });
      expect(environment.neon).toEqual({
        DATABASE_DRIVER: 'neon',
        DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/test',
        NEON_LOCAL_ENDPOINT: cloud.urls.neon,
      });
      expect(environment.upstash).toEqual({ UPSTASH_REDIS_REST_URL: cloud.urls.upstash, UPSTASH_REDIS_REST_TOKEN: 't' });

      const planetscale = connectPlanetScale({ url: environment.planetscale?.DATABASE_URL });
      expect((await planetscale.execute('SELECT 6 * 7 AS answer')).rows).toEqual([{ answer: 42 }]);
      if (!cloud.neon) throw new Error('neon endpoint missing');
      Object.assign(neonConfig, neonLocalConfig(cloud.neon).neonConfig);
      expect(await neon(cloud.neon.connectionString)`SELECT 6 * 7 AS answer`).toEqual([{ answer: 42 }]);
      const redis = new Redis({ url: environment.upstash?.UPSTASH_REDIS_REST_URL ?? '', token: 't', enableTelemetry: false });
      expect(await redis.ping()).toBe('PONG');
    } finally {
      await cloud.close();
      await cloud.close();
    }
    for (const server of [cloud.planetscale, cloud.neon, cloud.upstash]) expect(await isListening(server?.port ?? 0)).toBe(false);
  });

  it('starts only what is asked for', async () => {
    const cloud = await startLocalCloud({ upstash: { redis: REDIS, token: 't' } });
    try {
      expect(Object.keys(cloud.urls)).toEqual(['upstash']);
      expect(cloud.planetscale).toBeUndefined();
      expect(Object.keys(localCloudEnvironment(cloud))).toEqual(['upstash']);
    } finally {
      await cloud.close();
    }
  });

  it('stops the endpoints that started when another fails, and reports the failure', async () => {
    const neonPort = await freePort();
    const failing = startLocalCloud({
      neon: { postgres: POSTGRES, port: neonPort },
      upstash: { redis: { host: '127.0.0.1', port: 1 }, token: 't' },
    });
    await expect(failing).rejects.toThrow(/ECONNREFUSED/);
    expect(await isListening(neonPort)).toBe(false);
    await expect(startLocalCloud({})).rejects.toThrow(/at least one/);
  });
});
