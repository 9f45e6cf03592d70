import { randomBytes } from 'node:crypto';
import { NeonLocalServer, neonLocalConfig, PlanetScaleHttpServer } from '@mytaek1/local-cloud';
import { neonConfig } from '@neondatabase/serverless';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SqlDatabase } from '../db/database.ts';
import { openNeon } from '../db/neon.ts';
import { openPGlite } from '../db/pglite.ts';
import { openPlanetScale } from '../db/planetscale.ts';

/**
 * The three databases every query is tested on: the embedded default, and the two production
 * drivers against real servers through the local endpoints that speak their cloud protocols.
 * Each backend gets a database of its own, dropped when it closes, so test files run in parallel.
 */
export const BACKENDS = ['pglite', 'planetscale-mariadb', 'neon-postgres'] as const;
export type BackendName = (typeof BACKENDS)[number];

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
export const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '' };

export interface Backend {
  name: BackendName;
  database: SqlDatabase;
  /** The endpoint's URL, for a backend reached over a local cloud endpoint. */
  url?: string;
  close(): Promise<void>;
}

const scratchName = () => `mytaek1_t_${randomBytes(6).toString('hex')}`;

export async function openBackend(name: BackendName): Promise<Backend> {
  switch (name) {
    case 'pglite': {
      const database = await openPGlite();
      return { name, database, close: () => database.close() };
    }
    case 'planetscale-mariadb': {
      const dbName = scratchName();
      const admin = await mysql.createConnection(MARIADB);
      await admin.query(`CREATE DATABASE ${dbName}`);
      const server = await PlanetScaleHttpServer.create({ mysql: { ...MARIADB, database: dbName }, username: 'test', password: randomBytes(12).toString('hex') });
      const database = openPlanetScale(server.url);
      return {
        name,
        database,
        url: server.url,
        async close() {
          await database.close();
          await server.close();
          await admin.query(`DROP DATABASE ${dbName}`);
          await admin.end();
        },
      };
    }
    case 'neon-postgres': {
      const dbName = scratchName();
      const admin = new pg.Client({ ...POSTGRES, database: 'postgres' });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      const server = await NeonLocalServer.create({ postgres: { ...POSTGRES, database: dbName } });
      Object.assign(neonConfig, neonLocalConfig(server).neonConfig);
      const database = openNeon(server.connectionString);
      return {
        name,
        database,
        url: server.url,
        async close() {
          await database.close();
          await server.close();
          await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
          await admin.end();
        },
      };
    }
  }
}
