import { randomBytes } from 'node:crypto';
import { Lock } from '@upstash/lock';
import { Redis } from '@upstash/redis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstashRestServer } from './upstash-rest-server.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
const TOKEN = 'local-test-token';
/** Every key this run writes starts with this, and is deleted afterwards. */
const prefix = `upstash-test:${process.pid}:${randomBytes(3).toString('hex')}:`;

let server: UpstashRestServer;
/** A direct Redis connection, outside the server, to check what really happened. */
let observer: ReturnType<typeof createClient>;

/** The vendor client as an application would create it (auto-pipelining on, base64 responses). */
function client(options: { enableAutoPipelining?: boolean; token?: string } = {}): Redis {
  return new Redis({ url: server.url, token: options.token ?? TOKEN, enableTelemetry: false, ...options });
}

/**
 * The same client for @upstash/lock, whose typings reach @upstash/redis's CommonJS declarations
 * while this file gets the ESM ones: two nominally different Redis classes for one runtime class.
 */
function lockClient(): ConstructorParameters<typeof Lock>[0]['redis'] {
  return client() as unknown as ConstructorParameters<typeof Lock>[0]['redis'];
}

/** How many pipelines the client's auto-pipelining has sent: a proxy property absent from the typings. */
function pipelinesSent(redis: Redis): number {
  return (redis as unknown as { pipelineCounter: number }).pipelineCounter;
}

beforeAll(async () => {
  server = await UpstashRestServer.create({ redis: REDIS, token: TOKEN });
  observer = createClient({ socket: REDIS });
  await observer.connect();
});

afterAll(async () => {
  const keys: string[] = [];
  for await (const batch of observer.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
  if (keys.length > 0) await observer.del(keys);
  observer.destroy();
  await server.close();
});

describe('UpstashRestServer with @upstash/redis', () => {
  it('sets and gets strings, with options, counters and missing keys', async () => {
    const redis = client();
    expect(await redis.set(`${prefix}greeting`, 'hello')).toBe('OK');
    expect(await redis.set(`${prefix}greeting`, 'again', { nx: true })).toBeNull();
    expect(await redis.get(`${prefix}greeting`)).toBe('hello');
    expect(await redis.incr(`${prefix}counter`)).toBe(1);
    expect(await redis.incrby(`${prefix}counter`, 41)).toBe(42);
    expect(await redis.get(`${prefix}missing`)).toBeNull();
    await redis.set(`${prefix}expiring`, 'soon', { px: 60_000 });
    const ttl = await redis.pttl(`${prefix}expiring`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    // Objects are JSON on the wire and parsed back by the client.
    await redis.set(`${prefix}object`, { stock: 3, tags: ['a'] });
    expect(await redis.get(`${prefix}object`)).toEqual({ stock: 3, tags: ['a'] });
    expect(await observer.get(`${prefix}object`)).toBe('{"stock":3,"tags":["a"]}');
  });

  it('serves hashes, HGETALL arriving as the flat array the client expects', async () => {
    const redis = client();
    expect(await redis.hset(`${prefix}product`, { title: 'Lamp', stock: 7 })).toBe(2);
    expect(await redis.hincrby(`${prefix}product`, 'stock', -2)).toBe(5);
    expect(await redis.hget(`${prefix}product`, 'title')).toBe('Lamp');
    expect(await redis.hgetall(`${prefix}product`)).toEqual({ title: 'Lamp', stock: 5 });
    expect(await redis.hgetall(`${prefix}no-such-hash`)).toBeNull();
  });

  it('runs explicit pipelines in order, each command with its own outcome', async () => {
    const redis = client({ enableAutoPipelining: false });
    const results = await redis
      .pipeline()
      .set(`${prefix}p`, 'text')
      .incr(`${prefix}p`)
      .append(`${prefix}p`, '!')
      .get(`${prefix}p`)
      .exec({ keepErrors: true });
    expect(results.map((entry) => entry.error ?? entry.result)).toEqual(['OK', 'ERR value is not an integer or out of range', 5, 'text!']);
  });

  it('runs multi-exec atomically on one connection', async () => {
    const redis = client({ enableAutoPipelining: false });
    const key = `${prefix}tx-counter`;
    // Interleaved on shared connections, some transaction would see a gap between its two INCRs.
    const pairs = await Promise.all(Array.from({ length: 20 }, () => redis.multi().incr(key).incr(key).exec()));
    for (const [first, second] of pairs) expect(second).toBe(Number(first) + 1);
    expect(await redis.get(key)).toBe(40);
  });

  it('discards the whole transaction when Redis refuses a queued command', async () => {
    const redis = client({ enableAutoPipelining: false });
    // HSET with no field is refused while queueing, so Redis discards the SET queued before it.
    const failure = redis.multi().set(`${prefix}tx-discarded`, 'written?').hset(`${prefix}tx-hash`, {}).exec();
    await expect(failure).rejects.toThrow(/EXECABORT.*wrong number of arguments for 'hset'/);
    expect(await observer.exists(`${prefix}tx-discarded`)).toBe(0);
  });

  it('lets a command fail inside EXEC without undoing the others', async () => {
    const redis = client({ enableAutoPipelining: false });
    const results = await redis
      .multi()
      .set(`${prefix}tx-partial`, 'word')
      .incr(`${prefix}tx-partial`)
      .set(`${prefix}tx-after`, 'done')
      .exec({ keepErrors: true });
    expect(results.map((entry) => entry.error ?? entry.result)).toEqual(['OK', 'ERR value is not an integer or out of range', 'OK']);
    expect(await observer.get(`${prefix}tx-after`)).toBe('done');
  });

  it('evaluates Lua scripts with EVAL, SCRIPT LOAD and EVALSHA, nested replies included', async () => {
    const redis = client();
    const script = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), {tonumber(ARGV[2]) * 2, 'nested'}}";
    expect(await redis.eval(script, [`${prefix}lua`], ['from lua', 21])).toEqual(['from lua', [42, 'nested']]);
    const sha = await redis.scriptLoad('return ARGV[1] .. KEYS[1]');
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, ['key'], ['the '])).toBe('the key');
  });

  it('base64-encodes every string of the reply, nested ones too, leaving numbers and null', async () => {
    // 'QUJD' is itself valid base64 (for 'ABC'): a server that skipped the encoding would have the
    // client decode it to 'ABC'. Non-ASCII text must survive the round trip byte for byte.
    const redis = client();
    const unicode = 'héllo wörld 🌍 日本語';
    await redis.mset({ [`${prefix}b64-a`]: 'QUJD', [`${prefix}b64-b`]: unicode });
    expect(await redis.get(`${prefix}b64-a`)).toBe('QUJD');
    expect(await redis.get(`${prefix}b64-b`)).toBe(unicode);
    expect(await redis.mget(`${prefix}b64-a`, `${prefix}nothing`, `${prefix}b64-b`)).toEqual(['QUJD', null, unicode]);
    const nested = await redis.eval('return {ARGV[1], {ARGV[2], 7}}', [], ['QUJD', unicode]);
    expect(nested).toEqual(['QUJD', [unicode, 7]]);
    expect(await observer.get(`${prefix}b64-b`)).toBe(unicode);
  });

  it('answers plain JSON when base64 is not asked for', async () => {
    const redis = new Redis({ url: server.url, token: TOKEN, enableTelemetry: false, responseEncoding: false });
    await redis.set(`${prefix}plain`, 'QUJD');
    expect(await redis.get(`${prefix}plain`)).toBe('QUJD');
    expect(await redis.lpush(`${prefix}plain-list`, 'x', 'y')).toBe(2);
    expect(await redis.lrange(`${prefix}plain-list`, 0, -1)).toEqual(['y', 'x']);
  });

  it('auto-pipelines concurrent commands into /pipeline requests', async () => {
    const redis = client();
    const before = pipelinesSent(redis);
    const [set, value, count] = await Promise.all([
      redis.set(`${prefix}auto`, 'batched'),
      redis.get(`${prefix}greeting`),
      redis.incr(`${prefix}auto-count`),
    ]);
    expect([set, value, count]).toEqual(['OK', 'hello', 1]);
    expect(pipelinesSent(redis) - before).toBeGreaterThanOrEqual(1);
    expect(pipelinesSent(redis) - before).toBeLessThanOrEqual(2); // one for reads, one for writes
  });

  it('turns Redis errors into UpstashError with HTTP 400 and Redis’s message', async () => {
    const redis = client({ enableAutoPipelining: false });
    await redis.set(`${prefix}not-a-number`, 'abc');
    await expect(redis.incr(`${prefix}not-a-number`)).rejects.toThrow(/^ERR value is not an integer or out of range, command was:/);
    await expect(redis.hget(`${prefix}not-a-number`, 'field')).rejects.toThrow(/^WRONGTYPE/);
    await expect(client().incr(`${prefix}not-a-number`)).rejects.toThrow(/ERR value is not an integer/);
  });

  it('refuses a wrong token with 401', async () => {
    await expect(client({ token: 'wrong', enableAutoPipelining: false }).get(`${prefix}greeting`)).rejects.toThrow(/^Unauthorized/);
  });

  it('echoes the read-your-writes sync token', async () => {
    const redis = client({ enableAutoPipelining: false });
    redis.readYourWritesSyncToken = 'sync-123';
    await redis.get(`${prefix}greeting`);
    expect(redis.readYourWritesSyncToken).toBe('sync-123');
  });
});

describe('UpstashRestServer with @upstash/lock', () => {
  it('acquires, contends, releases and extends a lock', async () => {
    const id = `${prefix}lock:checkout`;
    const holder = new Lock({ id, redis: lockClient(), lease: 5_000 });
    const rival = new Lock({ id, redis: lockClient(), lease: 5_000, retry: { attempts: 2, delay: 20 } });

    expect(await holder.acquire()).toBe(true);
    expect(await holder.getStatus()).toBe('ACQUIRED');
    expect(await rival.acquire()).toBe(false);
    expect(await rival.getStatus()).toBe('FREE');

    // extend() adds whole seconds to the TTL through a Lua script.
    expect(await holder.extend(3_000)).toBe(true);
    const ttl = await observer.pTTL(id);
    expect(ttl).toBeGreaterThan(6_000);
    expect(ttl).toBeLessThanOrEqual(8_000);

    expect(await rival.release()).toBe(false); // not its lock: the compare-and-delete script keeps it
    expect(await holder.release()).toBe(true);
    expect(await observer.exists(id)).toBe(0);
    expect(await rival.acquire()).toBe(true);
    expect(await rival.release()).toBe(true);
  });

  it('lets the lease expire so another holder can take over', async () => {
    const id = `${prefix}lock:lease`;
    const first = new Lock({ id, redis: lockClient(), lease: 100 });
    expect(await first.acquire()).toBe(true);
    const second = new Lock({ id, redis: lockClient(), lease: 1_000, retry: { attempts: 10, delay: 50 } });
    expect(await second.acquire()).toBe(true);
    expect(await first.getStatus()).toBe('FREE');
    expect(await second.release()).toBe(true);
  });
});

describe('UpstashRestServer lifecycle', () => {
  it('closes idempotently and refuses bad options', async () => {
    const temporary = await UpstashRestServer.create({ redis: REDIS, token: 'x' });
    await Promise.all([temporary.close(), temporary.close()]);
    await temporary.close();
    await expect(UpstashRestServer.create({ redis: REDIS, token: '' })).rejects.toThrow(/token/);
    await expect(UpstashRestServer.create({ redis: { ...REDIS, port: 1 }, token: 'x' })).rejects.toThrow();
  });
});
