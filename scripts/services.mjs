// The real servers the integration tests use: PostgreSQL, MariaDB and Redis on their standard
// loopback ports. A machine of ours starts them before each session; elsewhere this starts them,
// installing Debian's packages first where they are missing and apt is usable.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { canUseApt, ensureDebianPackages, isInstalled } from './lib/apt.mjs';
import { log } from './lib/log.mjs';

const SERVICES = [
  {
    name: 'PostgreSQL',
    port: 5432,
    packages: ['postgresql'],
    start: () => sh(`pg_ctlcluster --skip-systemctl-redirect ${postgresVersion()} main start`),
    firstInstall: () => {
      // Tests connect as postgres over TCP without a password, as on our machines (trust auth).
      const hba = `/etc/postgresql/${postgresVersion()}/main/pg_hba.conf`;
      writeFileSync(hba, `host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n${readFileSync(hba, 'utf8')}`);
    },
    ready: () => sh(`runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 || runuser -u postgres -- createdb test`),
  },
  {
    name: 'MariaDB',
    port: 3306,
    packages: ['mariadb-server'],
    start: () => sh('mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld; start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd'),
    ready: () => sh(`mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test"`),
  },
  {
    name: 'Redis',
    port: 6379,
    packages: ['redis-server'],
    start: () => sh(`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /tmp --logfile /tmp/mytaek1-redis.log`),
  },
];

function sh(command) {
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command}\n${result.stderr || result.stdout}`);
}

function postgresVersion() {
  return readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1);
}

function isListening(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function waitUntilListening(service, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isListening(service.port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service.name} did not start listening on 127.0.0.1:${service.port} within ${timeoutMs / 1000} s`);
}

export async function ensureServices() {
  for (const service of SERVICES) {
    if (await isListening(service.port)) continue;
    const freshInstall = !service.packages.every(isInstalled);
    if (freshInstall && !canUseApt()) {
      throw new Error(`${service.name} is not running on 127.0.0.1:${service.port} and is not installed; install it (apt-get install ${service.packages.join(' ')}) or start it`);
    }
    await ensureDebianPackages(service.packages, `the integration tests (${service.name})`);
    if (freshInstall) service.firstInstall?.();
    log.step(`starting ${service.name} on 127.0.0.1:${service.port}`);
    service.start();
    await waitUntilListening(service);
    service.ready?.();
    log.ok(`${service.name} is up`);
  }
}

if (import.meta.main) {
  try {
    await ensureServices();
    log.ok('PostgreSQL, MariaDB and Redis are listening');
  } catch (error) {
    log.fail(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
