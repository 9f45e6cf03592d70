import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../db/migrations.ts';
import { seedDemoData } from '../seed.ts';
import { openBackend } from './backends.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    planetscaleUrl: string;
  }
}

/**
 * Runs on Node before the Worker tests: a scratch MariaDB database behind the local PlanetScale
 * endpoint, migrated and seeded, whose URL the Worker gets as its DATABASE_URL secret.
 */
export default async function setup(project: TestProject) {
  const backend = await openBackend('planetscale-mariadb');
  await migrateToLatest(backend.database.db);
  await seedDemoData(backend.database.db);
  project.provide('planetscaleUrl', backend.url!);
  return () => backend.close();
}
