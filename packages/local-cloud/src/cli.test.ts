import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@planetscale/database';
import { Redis } from '@upstash/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { localCloudOptionsFromArgs } from './cli.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Runs the CLI with every port picked by the OS and resolves once it prints its summary. */
function startCli(extraArgs: string[] = []): Promise<{ process: ChildProcess; output: () => string }> {
  const started = spawn(process.execPath, [CLI, '--planetscale-port', '0', '--neon-port', '0', '--upstash-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Stop with Ctrl-C.')) resolve({ process: started, output: () => output });
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', onData);
    started.once('exit', (code) => reject(new Error(`cli exited with ${code}:\n${output}`)));
  });
}

function variable(output: string, name: string, occurrence = 0): string {
  const values = [...output.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((match) => match[1] ?? '');
  const value = values[occurrence];
  if (value === undefined) throw new Error(`${name} not printed:\n${output}`);
  return value;
}

describe('local-cloud CLI', () => {
  it('prints working URLs and environment variables, and stops cleanly on SIGINT', async () => {
    const { process: cli, output } = await startCli(['--token', 'cli-token']);
    const planetscaleUrl = variable(output(), 'DATABASE_URL', 0);
    expect(planetscaleUrl).toMatch(/^http:\/\/local:local-password@127\.0\.0\.1:\d+$/);
    expect(variable(output(), 'DATABASE_URL', 1)).toBe('postgresql://postgres@127.0.0.1:5432/test');
    expect(variable(output(), 'NEON_LOCAL_ENDPOINT')).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(variable(output(), 'UPSTASH_REDIS_REST_TOKEN')).toBe('cli-token');

    expect((await connect({ url: planetscaleUrl }).execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    const redis = new Redis({ url: variable(output(), 'UPSTASH_REDIS_REST_URL'), token: 'cli-token', enableTelemetry: false });
    expect(await redis.ping()).toBe('PONG');

    const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve));
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output()).toContain('local-cloud: SIGINT, stopping');
  });

  it('parses backend URLs into endpoint options', () => {
    const options = localCloudOptionsFromArgs([
      '--mysql',
      'mysql://app:s%40cret@db.local:3307/shop',
      '--redis',
      'redis://:pw@[::1]:6380/2',
      '--neon-port',
      '0',
    ]);
    expect(options).not.toBe('help');
    if (options === 'help') return;
    expect(options.planetscale?.mysql).toEqual({ host: 'db.local', port: 3307, user: 'app', password: 's@cret', database: 'shop' });
    expect(options.upstash?.redis).toEqual({ host: '::1', port: 6380, username: '', password: 'pw', database: 2 });
    expect(options.neon?.port).toBe(0);
    expect(options.neon?.postgres).toEqual({ host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' });
    expect(localCloudOptionsFromArgs(['--help'])).toBe('help');
  });

  it('rejects bad arguments with a clear message', () => {
    expect(() => localCloudOptionsFromArgs(['--mysql', 'postgresql://x@y/z'])).toThrow('--mysql: expected a mysql: URL, got postgresql:');
    expect(() => localCloudOptionsFromArgs(['--upstash-port', '70000'])).toThrow('--upstash-port: not a port number: 70000');
    expect(() => localCloudOptionsFromArgs(['--bogus'])).toThrow(/Unknown option '--bogus'/);
  });
});
