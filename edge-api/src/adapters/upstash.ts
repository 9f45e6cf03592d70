import type { Redis } from '@upstash/redis';
import type { SqlDatabase } from '../db/database.ts';
import { SqlReservationCounters } from '../db/reservation-counters.ts';
import { RedisStockReservations } from './redis-stock-reservations.ts';

/**
 * The options every Upstash client on the checkout's path takes: no retries and a short deadline,
 * so a slow or dead Redis sends buyers to the SQL guard instead of keeping them waiting.
 */
export const FAIL_FAST = { retry: { retries: 0 }, signal: () => AbortSignal.timeout(1500) } as const;

export function upstashReservations(redis: Redis, database: SqlDatabase): RedisStockReservations {
  return new RedisStockReservations({ redis, counters: new SqlReservationCounters(database.db) });
}
