import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely';
import { openDatabase, type SqlDatabase } from './database.ts';

/**
 * The embedded default for `npm start` and tests: Postgres compiled to WebAssembly, persisted to a
 * directory (or in memory when none is given). Node only; the Worker never imports this file.
 */
export async function openPGlite(dataDir?: string): Promise<SqlDatabase> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir ? { dataDir } : {});
  return openDatabase(new PGliteDialect({ pglite }), 'postgres');
}
