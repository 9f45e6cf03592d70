import { type Dialect, Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** Which SQL family a database speaks: the few statements that differ (upserts, locking) branch on it. */
export type SqlFamily = 'mysql' | 'postgres';

export interface SqlDatabase {
  readonly db: Kysely<Database>;
  readonly family: SqlFamily;
  close(): Promise<void>;
}

export function openDatabase(dialect: Dialect, family: SqlFamily): SqlDatabase {
  const db = new Kysely<Database>({ dialect });
  let closed: Promise<void> | undefined;
  return {
    db,
    family,
    close: () => (closed ??= db.destroy()),
  };
}
