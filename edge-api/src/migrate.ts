/** `node edge-api/src/migrate.ts`: brings the configured database's schema up to date, then exits. */
import { loadNodeConfig } from './config.ts';
import { migrateToLatest } from './db/migrations.ts';
import { openConfiguredDatabase } from './node.ts';

const database = await openConfiguredDatabase(loadNodeConfig());
try {
  const applied = await migrateToLatest(database.db);
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'the schema is up to date');
} finally {
  await database.close();
}
