import { newId } from '@mytaek1/contracts';
import type { AppServices } from './app.ts';
import { hashPassword, verifyPassword } from './auth/password.ts';
import { webCryptoSessionTokens } from './auth/session-tokens.ts';
import type { SqlDatabase } from './db/database.ts';
import { SqlPinStore } from './db/pin-store.ts';
import { SqlProductStore } from './db/product-store.ts';
import { SqlSessionStore } from './db/session-store.ts';
import { SqlShowStore } from './db/show-store.ts';
import { SqlStreamKeyStore } from './db/stream-key-store.ts';
import { SqlUserStore } from './db/user-store.ts';
import { Accounts } from './domain/accounts.ts';
import type { RateLimiter } from './domain/rate-limit.ts';

export interface ServiceOptions {
  /** The deployment's shared secret: signs session cookies here and admission tokens for the sfu and realtime rooms. */
  secret: string;
  loginLimiter: RateLimiter;
  rtmpUrl?: string;
  now?: () => number;
}

/** Wires the domain to SQL stores and Web Crypto; the same on Workers, on Node and in tests. */
export function sqlServices(database: SqlDatabase, { secret, loginLimiter, rtmpUrl = 'rtmp://localhost:1935/live', now = Date.now }: ServiceOptions): AppServices {
  const { db } = database;
  const makeId = () => newId(now());
  return {
    shows: new SqlShowStore(db),
    products: new SqlProductStore(db),
    streamKeys: new SqlStreamKeyStore(db),
    pins: new SqlPinStore(db),
    accounts: new Accounts({
      users: new SqlUserStore(db),
      sessions: new SqlSessionStore(db),
      passwords: { hash: hashPassword, verify: verifyPassword },
      tokens: webCryptoSessionTokens,
      now,
      newId: makeId,
    }),
    loginLimiter,
    secret,
    rtmpUrl,
    now,
    newId: makeId,
  };
}
