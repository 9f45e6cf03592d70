import type { Redis } from '@upstash/redis';
import type { DealLimits, ReservationOutcome, ReservationRequest, StockReservations } from '../domain/checkout.ts';

/** Where the counters start from when Redis has none (first use, expiry, a flush): the SQL truth. */
export interface ReservationCounterSource {
  stock(productId: string): Promise<number>;
  /** Units sold at a show's deal price: by everyone (`buyerId` null) or by one buyer. */
  dealUnits(showId: string, productId: string, buyerId: string | null): Promise<number>;
}

/**
 * Redis scripts share one helper: a hold's record is `units|total key|buyer key` (the deal keys empty
 * when the hold is not at a deal price), and giving it back restores each counter that still exists:
 * a counter that expired or was flushed is rebuilt from SQL instead, so it must not be resurrected here.
 */
const GIVE_BACK = `
local function giveBack(avail, record)
  local units, totalKey, buyerKey = string.match(record, '^(%d+)|([^|]*)|([^|]*)$')
  units = tonumber(units)
  if redis.call('EXISTS', avail) == 1 then redis.call('INCRBY', avail, units) end
  if totalKey ~= '' and redis.call('EXISTS', totalKey) == 1 then redis.call('DECRBY', totalKey, units) end
  if buyerKey ~= '' and redis.call('EXISTS', buyerKey) == 1 then redis.call('DECRBY', buyerKey, units) end
end
`;

/**
 * One round trip decides a buyer: give back lapsed holds, check stock and the deal's limits, take
 * the units and record a hold that lapses by itself. 'seed' asks the caller to load the counters.
 * KEYS: available, holds (zset by lapse time), hold records (hash), deal total, deal per buyer.
 * ARGV: now, units, lapse time, hold id, at deal price (1/0), total limit, per-buyer limit (-1: none).
 */
const RESERVE = `${GIVE_BACK}
local avail, holds, records, dealTotal, dealBuyer = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, units, lapsesAt, holdId = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local atDeal, totalLimit, buyerLimit = ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
for _, lapsed in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 100)) do
  local record = redis.call('HGET', records, lapsed)
  if record then giveBack(avail, record) end
  redis.call('HDEL', records, lapsed)
  redis.call('ZREM', holds, lapsed)
end
if redis.call('EXISTS', avail) == 0 then return 'seed' end
if atDeal and (redis.call('EXISTS', dealTotal) == 0 or redis.call('EXISTS', dealBuyer) == 0) then return 'seed' end
if tonumber(redis.call('GET', avail)) < units then return 'sold_out' end
if atDeal then
  if totalLimit >= 0 and tonumber(redis.call('GET', dealTotal)) + units > totalLimit then return 'deal_sold_out' end
  if buyerLimit >= 0 and tonumber(redis.call('GET', dealBuyer)) + units > buyerLimit then return 'buyer_limit' end
  redis.call('INCRBY', dealTotal, units)
  redis.call('INCRBY', dealBuyer, units)
end
redis.call('DECRBY', avail, units)
redis.call('ZADD', holds, lapsesAt, holdId)
redis.call('HSET', records, holdId, units .. '|' .. (atDeal and dealTotal or '') .. '|' .. (atDeal and dealBuyer or ''))
return 'held'
`;

/** KEYS: available, deal total, deal per buyer. ARGV: stock, deal total units, buyer's deal units, ttl seconds, at deal price. */
const SEED = `
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[4])
if ARGV[5] == '1' then
  redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[4])
  redis.call('SET', KEYS[3], ARGV[3], 'NX', 'EX', ARGV[4])
end
return 1
`;

/** KEYS: available, holds, hold records. ARGV: hold id, rebuild (1: drop the counters so SQL reseeds them). */
const RELEASE = `${GIVE_BACK}
local record = redis.call('HGET', KEYS[3], ARGV[1])
if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 and record then giveBack(KEYS[1], record) end
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
  if record then
    local _, totalKey, buyerKey = string.match(record, '^(%d+)|([^|]*)|([^|]*)$')
    if totalKey ~= '' then redis.call('DEL', totalKey, buyerKey) end
  end
end
return 1
`;

/** KEYS: holds, hold records. ARGV: hold id. The units stay taken: they are sold. */
const CONFIRM = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`;

/** KEYS: available, deal total, deal per buyer. ARGV: units, at deal price. */
const RESTOCK = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
if ARGV[2] == '1' then
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], ARGV[1]) end
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('DECRBY', KEYS[3], ARGV[1]) end
end
return 1
`;

export interface RedisStockReservationsOptions {
  redis: Redis;
  counters: ReservationCounterSource;
  /** How long a hold waits for its SQL commit before its units go back by themselves. */
  holdTtlMs?: number;
  /** Counters expire and are rebuilt from SQL this often, so any drift (a lost release) heals. */
  counterTtlSeconds?: number;
}

/**
 * The checkout's fast path on Redis (Upstash over REST, or the local endpoint): an atomic Lua
 * reservation per buyer, so a rush of buyers is decided in Redis and only winners reach SQL. Every key
 * of a product shares the hash tag {productId}, so a script's keys live on one shard.
 */
export class RedisStockReservations implements StockReservations {
  readonly #redis: Redis;
  readonly #counters: ReservationCounterSource;
  readonly #holdTtlMs: number;
  readonly #counterTtlSeconds: number;
  readonly #scripts;

  constructor({ redis, counters, holdTtlMs = 30_000, counterTtlSeconds = 60 }: RedisStockReservationsOptions) {
    this.#redis = redis;
    this.#counters = counters;
    this.#holdTtlMs = holdTtlMs;
    this.#counterTtlSeconds = counterTtlSeconds;
    this.#scripts = {
      reserve: redis.createScript<string>(RESERVE),
      seed: redis.createScript<number>(SEED),
      release: redis.createScript<number>(RELEASE),
      confirm: redis.createScript<number>(CONFIRM),
      restock: redis.createScript<number>(RESTOCK),
    };
  }

  async reserve(request: ReservationRequest): Promise<ReservationOutcome> {
    const holdId = `${request.productId}:${crypto.randomUUID()}`;
    const keys = keysFor(request.productId, request.showId, request.buyerId);
    const args = [request.now, request.quantity, request.now + this.#holdTtlMs, holdId, ...dealArgs(request.deal)];
    const reserveKeys = [keys.available, keys.holds, keys.records, keys.dealTotal, keys.dealBuyer];
    let outcome = await this.#scripts.reserve.exec(reserveKeys, args.map(String));
    if (outcome === 'seed') {
      await this.#seed(request, keys);
      outcome = await this.#scripts.reserve.exec(reserveKeys, args.map(String));
    }
    if (outcome === 'held') return { status: 'held', holdId };
    if (outcome === 'sold_out' || outcome === 'deal_sold_out' || outcome === 'buyer_limit') return { status: 'refused', reason: outcome };
    throw new Error(`unexpected reservation answer from Redis: ${String(outcome)}`);
  }

  async confirm(holdId: string): Promise<void> {
    const keys = keysFor(productOf(holdId), '', '');
    await this.#scripts.confirm.exec([keys.holds, keys.records], [holdId]);
  }

  async release(holdId: string, { resync = false }: { resync?: boolean } = {}): Promise<void> {
    const keys = keysFor(productOf(holdId), '', '');
    await this.#scripts.release.exec([keys.available, keys.holds, keys.records], [holdId, resync ? '1' : '0']);
  }

  async restock({ productId, showId, buyerId, quantity, deal }: { productId: string; showId: string; buyerId: string; quantity: number; deal: boolean }): Promise<void> {
    const keys = keysFor(productId, showId, buyerId);
    await this.#scripts.restock.exec([keys.available, keys.dealTotal, keys.dealBuyer], [String(quantity), deal ? '1' : '0']);
  }

  async #seed(request: ReservationRequest, keys: ReservationKeys): Promise<void> {
    const [stock, dealTotal, dealBuyer] = await Promise.all([
      this.#counters.stock(request.productId),
      request.deal ? this.#counters.dealUnits(request.showId, request.productId, null) : 0,
      request.deal ? this.#counters.dealUnits(request.showId, request.productId, request.buyerId) : 0,
    ]);
    await this.#scripts.seed.exec(
      [keys.available, keys.dealTotal, keys.dealBuyer],
      [stock, dealTotal, dealBuyer, this.#counterTtlSeconds, request.deal ? 1 : 0].map(String),
    );
  }

}

interface ReservationKeys {
  available: string;
  holds: string;
  records: string;
  dealTotal: string;
  dealBuyer: string;
}

function keysFor(productId: string, showId: string, buyerId: string): ReservationKeys {
  const tag = `stock:{${productId}}`;
  return {
    available: `${tag}:available`,
    holds: `${tag}:holds`,
    records: `${tag}:hold-records`,
    dealTotal: `${tag}:deal:${showId}:total`,
    dealBuyer: `${tag}:deal:${showId}:buyer:${buyerId}`,
  };
}

function dealArgs(deal: DealLimits | null): [number, number, number] {
  return deal ? [1, deal.totalLimit ?? -1, deal.perBuyerLimit ?? -1] : [0, -1, -1];
}

/** Hold ids carry their product, so confirm and release need nothing else. */
function productOf(holdId: string): string {
  return holdId.slice(0, holdId.indexOf(':'));
}
