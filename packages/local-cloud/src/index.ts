import { NeonLocalServer, type NeonLocalServerOptions } from './neon-local-server.ts';
import { PlanetScaleHttpServer, type PlanetScaleHttpServerOptions } from './planetscale-http-server.ts';
import { UpstashRestServer, type UpstashRestServerOptions } from './upstash-rest-server.ts';

export { type NeonLocalConfig, NeonLocalServer, type NeonLocalServerOptions, neonLocalConfig, type PostgresServerOptions } from './neon-local-server.ts';
export { type MysqlServerOptions, PlanetScaleHttpServer, type PlanetScaleHttpServerOptions } from './planetscale-http-server.ts';
export { type RedisServerOptions, UpstashRestServer, type UpstashRestServerOptions } from './upstash-rest-server.ts';
export { S3LocalServer, type S3LocalServerOptions } from './s3-local-server.ts';

/** Which endpoints to start; each is left out unless its options are given. */
export interface LocalCloudOptions {
  planetscale?: PlanetScaleHttpServerOptions;
  neon?: NeonLocalServerOptions;
  upstash?: UpstashRestServerOptions;
}

export interface LocalCloud {
  planetscale?: PlanetScaleHttpServer;
  neon?: NeonLocalServer;
  upstash?: UpstashRestServer;
  urls: { planetscale?: string; neon?: string; upstash?: string };
  /** Stops every endpoint started; safe to call more than once. */
  close(): Promise<void>;
}

type AnyServer = PlanetScaleHttpServer | NeonLocalServer | UpstashRestServer;

/** Starts the endpoints asked for, in parallel; if one fails, those already started are stopped. */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  if (!options.planetscale && !options.neon && !options.upstash) {
    throw new Error('startLocalCloud: ask for at least one of planetscale, neon, upstash');
  }
  const [planetscale, neon, upstash] = await Promise.allSettled([
    options.planetscale ? PlanetScaleHttpServer.create(options.planetscale) : undefined,
    options.neon ? NeonLocalServer.create(options.neon) : undefined,
    options.upstash ? UpstashRestServer.create(options.upstash) : undefined,
  ]);
  const started = [planetscale, neon, upstash].flatMap((outcome) => (outcome.status === 'fulfilled' && outcome.value ? [outcome.value] : []));
  const closeAll = (servers: AnyServer[]) => Promise.all(servers.map((server) => server.close())).then(() => undefined);
  if (planetscale.status === 'rejected' || neon.status === 'rejected' || upstash.status === 'rejected') {
    await closeAll(started);
    const failures = [planetscale, neon, upstash].flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'startLocalCloud: several endpoints failed to start');
  }
  let closing: Promise<void> | undefined;
  return {
    ...(planetscale.value ? { planetscale: planetscale.value } : {}),
    ...(neon.value ? { neon: neon.value } : {}),
    ...(upstash.value ? { upstash: upstash.value } : {}),
    urls: {
      ...(planetscale.value ? { planetscale: planetscale.value.url } : {}),
      ...(neon.value ? { neon: neon.value.url } : {}),
      ...(upstash.value ? { upstash: upstash.value.url } : {}),
    },
    close: () => (closing ??= closeAll(started)),
  };
}

/**
 * The environment variables that point the edge API (and anything reading Upstash's standard
 * variables) at the endpoints, one group per endpoint: the two SQL groups both set DATABASE_URL,
 * so pick one of them.
 */
export function localCloudEnvironment(cloud: LocalCloud): Partial<Record<'planetscale' | 'neon' | 'upstash', Record<string, string>>> {
  return {
    ...(cloud.planetscale ? { planetscale: { DATABASE_DRIVER: 'planetscale', DATABASE_URL: cloud.planetscale.url } } : {}),
    ...(cloud.neon
      ? { neon: { DATABASE_DRIVER: 'neon', DATABASE_URL: cloud.neon.connectionString, NEON_LOCAL_ENDPOINT: cloud.neon.url } }
      : {}),
    ...(cloud.upstash ? { upstash: { UPSTASH_REDIS_REST_URL: cloud.upstash.url, UPSTASH_REDIS_REST_TOKEN: cloud.upstash.token } } : {}),
  };
}
