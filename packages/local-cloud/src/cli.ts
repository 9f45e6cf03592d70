/**
 * Starts the three local cloud endpoints against local MariaDB, PostgreSQL and Redis servers, prints
 * their URLs and the environment variables that point the app at them, and runs until SIGINT or
 * SIGTERM:
 *
 *   node packages/local-cloud/src/cli.ts [--mysql URL] [--postgres URL] [--redis URL]
 *       [--host 127.0.0.1] [--planetscale-port 8791] [--neon-port 8792] [--upstash-port 8793]
 */
import { parseArgs } from 'node:util';
import { type LocalCloud, type LocalCloudOptions, localCloudEnvironment, startLocalCloud } from './index.ts';

const USAGE = `Usage: node packages/local-cloud/src/cli.ts [options]
  --mysql URL              MySQL/MariaDB behind PlanetScale's API   (mysql://root@127.0.0.1:3306/test)
  --postgres URL           PostgreSQL behind Neon's API             (postgresql://postgres@127.0.0.1:5432/test)
  --redis URL              Redis behind Upstash's API               (redis://127.0.0.1:6379)
  --host HOST              address to listen on                     (127.0.0.1)
  --planetscale-port N     PlanetScale HTTP port, 0 for any         (8791)
  --neon-port N            Neon HTTP + WebSocket port, 0 for any    (8792)
  --upstash-port N         Upstash REST port, 0 for any             (8793)
  --username NAME          PlanetScale username clients must send   (local)
  --password SECRET        PlanetScale password clients must send   (local-password)
  --token SECRET           Upstash token clients must send          (local-token)`;

const CLI_OPTIONS = {
  mysql: { type: 'string', default: 'mysql://root@127.0.0.1:3306/test' },
  postgres: { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/test' },
  redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  host: { type: 'string', default: '127.0.0.1' },
  'planetscale-port': { type: 'string', default: '8791' },
  'neon-port': { type: 'string', default: '8792' },
  'upstash-port': { type: 'string', default: '8793' },
  username: { type: 'string', default: 'local' },
  password: { type: 'string', default: 'local-password' },
  token: { type: 'string', default: 'local-token' },
  help: { type: 'boolean', default: false },
} as const;

type CliValues = ReturnType<typeof parseArgs<{ options: typeof CLI_OPTIONS }>>['values'];

export function localCloudOptionsFromArgs(args: string[]): LocalCloudOptions | 'help' {
  const { values } = parseArgs({ args, options: CLI_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) return 'help';
  return optionsFromValues(values);
}

function optionsFromValues(values: CliValues): LocalCloudOptions {
  const mysql = serverUrl(values.mysql, 'mysql', ['mysql:']);
  const postgres = serverUrl(values.postgres, 'postgres', ['postgres:', 'postgresql:']);
  const redis = serverUrl(values.redis, 'redis', ['redis:']);
  return {
    planetscale: {
      mysql: { host: hostOf(mysql), port: portOf(mysql, 3306), user: userOf(mysql, 'root'), password: passwordOf(mysql), database: databaseOf(mysql, 'test') },
      username: values.username,
      password: values.password,
      host: values.host,
      port: listenPort(values['planetscale-port'], '--planetscale-port'),
    },
    neon: {
      postgres: { host: hostOf(postgres), port: portOf(postgres, 5432), user: userOf(postgres, 'postgres'), password: passwordOf(postgres), database: databaseOf(postgres, 'postgres') },
      host: values.host,
      port: listenPort(values['neon-port'], '--neon-port'),
    },
    upstash: {
      redis: { host: hostOf(redis), port: portOf(redis, 6379), username: userOf(redis, ''), password: passwordOf(redis), database: Number(databaseOf(redis, '0')) },
      token: values.token,
      host: values.host,
      port: listenPort(values['upstash-port'], '--upstash-port'),
    },
  };
}

function serverUrl(text: string, option: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--${option}: not a URL: ${text}`);
  }
  if (!protocols.includes(url.protocol)) throw new Error(`--${option}: expected a ${protocols.join(' or ')} URL, got ${url.protocol}`);
  return url;
}

// URL keeps IPv6 hosts in brackets; the drivers want them bare.
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');
const portOf = (url: URL, fallback: number) => (url.port ? Number(url.port) : fallback);
const userOf = (url: URL, fallback: string) => (url.username ? decodeURIComponent(url.username) : fallback);
const passwordOf = (url: URL) => decodeURIComponent(url.password);
const databaseOf = (url: URL, fallback: string) => decodeURIComponent(url.pathname.slice(1)) || fallback;

function listenPort(text: string, option: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${option}: not a port number: ${text}`);
  return port;
}

export function describeLocalCloud(cloud: LocalCloud): string {
  const environment = localCloudEnvironment(cloud);
  const group = (title: string, variables: Record<string, string> | undefined) =>
    variables ? [`# ${title}`, ...Object.entries(variables).map(([name, value]) => `${name}=${value}`), ''] : [];
  return [
    'local-cloud: listening',
    `  PlanetScale HTTP (over MySQL):     ${cloud.urls.planetscale ?? '-'}`,
    `  Neon HTTP + WebSocket (over PG):   ${cloud.urls.neon ?? '-'}`,
    `  Upstash Redis REST (over Redis):   ${cloud.urls.upstash ?? '-'}`,
    '',
    ...group('edge-api over PlanetScale (choose one DATABASE_* group)', environment.planetscale),
    ...group('edge-api over Neon', environment.neon),
    ...group('Upstash Redis', environment.upstash),
    'Stop with Ctrl-C.',
  ].join('\n');
}

async function main(): Promise<void> {
  let options: LocalCloudOptions | 'help';
  try {
    options = localCloudOptionsFromArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`local-cloud: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  const cloud = await startLocalCloud(options);
  console.log(describeLocalCloud(cloud));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`local-cloud: ${signal}, stopping`);
      void cloud.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('local-cloud: error while stopping', error);
          process.exit(1);
        },
      );
    });
  }
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`local-cloud: could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
