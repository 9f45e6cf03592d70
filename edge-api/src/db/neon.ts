import { neonConfig, Pool } from '@neondatabase/serverless';
import { PostgresDialect, type PostgresPool } from 'kysely';
import { openDatabase, type SqlDatabase } from './database.ts';

/**
 * Neon over its WebSocket protocol: Neon's Pool speaks the node-postgres interface, so Kysely's own
 * Postgres dialect drives it (transactions included). On Node, set `neonConfig.webSocketConstructor`
 * before the first query; Workers have WebSocket built in.
 */
export function openNeon(connectionString: string, { maxConnections = 10 } = {}): SqlDatabase {
  const pool = new Pool({ connectionString, max: maxConnections });
  // Neon's Pool is node-postgres' Pool at run time; its typings differ only in Client's overloads.
  return openDatabase(new PostgresDialect({ pool: pool as unknown as PostgresPool }), 'postgres');
}

/**
 * Node only: gives Neon's driver a WebSocket class, and points it at a Neon-protocol endpoint on
 * plain HTTP and WebSocket (packages/local-cloud) instead of Neon's cloud when `endpoint` is given.
 */
export async function configureNeonForNode(endpoint?: URL): Promise<void> {
  neonConfig.webSocketConstructor = (await import('ws')).default;
  if (!endpoint) return;
  neonConfig.fetchEndpoint = () => new URL('/sql', endpoint).href;
  neonConfig.wsProxy = (host, port) => `${endpoint.host}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}
