import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { createClient, createClientPool, ErrorReply, RESP_TYPES } from 'redis';
import {
  closeServer,
  errorMessage,
  HttpRequestError,
  listen,
  readJsonBody,
  secretsEqual,
  sendJson,
  trackSockets,
  urlHost,
} from './http.ts';

export interface RedisServerOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** The logical database number (SELECT), 0 by default. */
  database?: number;
}

export interface UpstashRestServerOptions {
  /** The Redis server that runs the commands. */
  redis: RedisServerOptions;
  /** The bearer token clients must present (UPSTASH_REDIS_REST_TOKEN). */
  token: string;
  /** Where to listen; loopback by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Redis connections at most; each request (a command, pipeline or transaction) uses one. */
  maxConnections?: number;
}

/** A command as Redis receives it: the name, then its arguments, all as text. */
type RedisCommand = string[];

/** What node-redis answers over RESP2 with bulk strings kept as bytes. */
type RedisReply = string | number | null | Buffer | ErrorReply | RedisReply[];

type JsonReply = string | number | null | JsonReply[];

type CommandOutcome = { result: JsonReply } | { error: string };

/** The slice of a pooled node-redis client this server uses. */
interface CommandSender {
  sendCommand(args: RedisCommand, options: typeof BYTES): Promise<unknown>;
}

// Bulk strings as Buffers: values stay bytes until encoded for the reply (UTF-8 or base64).
const BYTES = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

// Commands that change the connection itself (transactions, subscriptions, the selected database,
// authentication): over REST each request may get another pooled connection, so they are refused.
// Transactions go through /multi-exec instead.
const CONNECTION_STATE_COMMANDS = new Set([
  'AUTH',
  'DISCARD',
  'EXEC',
  'HELLO',
  'MONITOR',
  'MULTI',
  'PSUBSCRIBE',
  'PSYNC',
  'PUNSUBSCRIBE',
  'QUIT',
  'RESET',
  'SELECT',
  'SSUBSCRIBE',
  'SUBSCRIBE',
  'SUNSUBSCRIBE',
  'SYNC',
  'UNSUBSCRIBE',
  'UNWATCH',
  'WATCH',
]);
const CONNECTION_STATE_CLIENT_SUBCOMMANDS = new Set(['REPLY', 'TRACKING', 'SETNAME', 'CACHING', 'NO-EVICT', 'NO-TOUCH']);

const DEFAULT_MAX_CONNECTIONS = 20;

/**
 * Upstash's Redis REST API (the one @upstash/redis speaks) over a Redis server:
 * POST / runs one command, /pipeline several in order, /multi-exec several in MULTI/EXEC on one
 * connection. Replies are Redis's own (RESP2 shapes: HGETALL is a flat array), as JSON, with every
 * string base64-encoded when the request says `Upstash-Encoding: base64`.
 */
export class UpstashRestServer {
  /** `http://host:port`, for `new Redis({ url, token })` (UPSTASH_REDIS_REST_URL). */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #pool: ReturnType<typeof createRedisPool>;
  #closing: Promise<void> | undefined;

  private constructor(init: {
    server: Server;
    sockets: Set<Socket>;
    pool: ReturnType<typeof createRedisPool>;
    token: string;
    host: string;
    port: number;
  }) {
    this.#server = init.server;
    this.#sockets = init.sockets;
    this.#pool = init.pool;
    this.token = init.token;
    this.port = init.port;
    this.url = `http://${urlHost(init.host)}:${init.port}`;
    this.#server.on('request', (request: IncomingMessage, response: ServerResponse) => void this.#handle(request, response));
  }

  static async create(options: UpstashRestServerOptions): Promise<UpstashRestServer> {
    validateOptions(options);
    await probeRedis(options.redis);
    const pool = createRedisPool(options.redis, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    try {
      await pool.connect();
      const host = options.host ?? '127.0.0.1';
      const server = createServer();
      const sockets = trackSockets(server);
      const port = await listen(server, host, options.port ?? 0);
      return new UpstashRestServer({ server, sockets, pool, token: options.token, host, port });
    } catch (error) {
      pool.destroy();
      throw error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await closeServer(this.#server, this.#sockets);
    // destroy, not close: close waits for commands that a dead Redis will never answer.
    this.#pool.destroy();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // Read-your-writes token: one Redis is always consistent with itself, so echoing it suffices.
    const syncToken = request.headers['upstash-sync-token'];
    const headers: Record<string, string> = typeof syncToken === 'string' && syncToken ? { 'upstash-sync-token': syncToken } : {};
    try {
      if (request.method !== 'POST') throw new HttpRequestError(405, `${request.method} is not allowed; POST the command`);
      if (!this.#authorized(request)) throw new HttpRequestError(401, 'Unauthorized');
      const base64 = request.headers['upstash-encoding'] === 'base64';
      const path = new URL(request.url ?? '/', 'http://local').pathname.replace(/\/+$/, '');
      const body = await readJsonBody(request);
      if (path === '') {
        const reply = await this.#pool.execute((client) => send(client, parseCommand(body)));
        sendJson(response, 200, { result: toJsonReply(reply, base64) }, headers);
      } else if (path === '/pipeline') {
        const commands = parseCommands(body);
        const outcomes = await this.#pool.execute((client) => runPipeline(client, commands, base64));
        sendJson(response, 200, outcomes, headers);
      } else if (path === '/multi-exec') {
        const commands = parseCommands(body);
        const outcomes = await this.#pool.execute((client) => runTransaction(client, commands, base64));
        sendJson(response, 200, outcomes, headers);
      } else {
        throw new HttpRequestError(404, `no such endpoint: ${path}; POST to /, /pipeline or /multi-exec`);
      }
    } catch (error) {
      const status = error instanceof HttpRequestError ? error.status : error instanceof ErrorReply ? 400 : 500;
      if (!response.headersSent) sendJson(response, status, { error: errorMessage(error) }, headers);
    }
  }

  #authorized(request: IncomingMessage): boolean {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    return match?.[1] !== undefined && secretsEqual(match[1], this.token);
  }
}

function validateOptions(options: UpstashRestServerOptions): void {
  if (!options.token || /\s/.test(options.token)) throw new Error('UpstashRestServer: token must be non-empty, without spaces');
  const { redis } = options;
  if (!redis?.host || !Number.isInteger(redis.port)) throw new Error('UpstashRestServer: redis needs host and port');
  const max = options.maxConnections;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new Error('UpstashRestServer: maxConnections must be a positive integer');
  }
}

function redisClientOptions(redis: RedisServerOptions) {
  return {
    socket: { host: redis.host, port: redis.port },
    ...(redis.username ? { username: redis.username } : {}),
    ...(redis.password ? { password: redis.password } : {}),
    database: redis.database ?? 0,
    // Upstash answers in RESP2 shapes (flat arrays, numbers as strings); node-redis 6 defaults to RESP3.
    RESP: 2 as const,
    // While Redis is down, answer each command with an error at once, as Upstash does, rather than
    // queueing it until a reconnect that may never come.
    disableOfflineQueue: true,
  };
}

/** Fails fast when Redis is unreachable, where the pool would keep reconnecting. */
async function probeRedis(redis: RedisServerOptions): Promise<void> {
  const options = redisClientOptions(redis);
  const probe = createClient({ ...options, socket: { ...options.socket, reconnectStrategy: false } });
  probe.on('error', () => {}); // the rejected connect() reports it
  await probe.connect();
  probe.destroy();
}

function createRedisPool(redis: RedisServerOptions, maxConnections: number) {
  const pool = createClientPool(redisClientOptions(redis), { minimum: 1, maximum: maxConnections });
  // A dropped connection reconnects on its own; the requests it breaks report their errors.
  pool.on('error', () => {});
  return pool;
}

function parseCommand(value: unknown): RedisCommand {
  if (!Array.isArray(value) || value.length === 0) throw new HttpRequestError(400, 'expected a JSON array: ["COMMAND", ...arguments]');
  const command = value.map((part, index) => {
    if (typeof part === 'string') return part;
    if (typeof part === 'number' || typeof part === 'boolean') return String(part);
    throw new HttpRequestError(400, `argument ${index} must be a string, number or boolean`);
  });
  const name = (command[0] ?? '').toUpperCase();
  const subcommand = (command[1] ?? '').toUpperCase();
  if (CONNECTION_STATE_COMMANDS.has(name) || (name === 'CLIENT' && CONNECTION_STATE_CLIENT_SUBCOMMANDS.has(subcommand))) {
    throw new HttpRequestError(400, `ERR ${command.slice(0, name === 'CLIENT' ? 2 : 1).join(' ')} is not supported over REST`);
  }
  return adaptUpstashScripts(command);
}

/**
 * Upstash accepts a Lua shebang flag of its own, `allow-key-locking` (@upstash/ratelimit sets it),
 * that Redis rejects ("Unexpected flag in script shebang"). Scripts are passed on without it, and
 * EVALSHA of the script as the client wrote it is sent as the digest of the script Redis stored.
 */
const UPSTASH_ONLY_SCRIPT_FLAGS = new Set(['allow-key-locking']);
const adaptedScriptDigests = new Map<string, string>();

function adaptUpstashScripts(command: RedisCommand): RedisCommand {
  const name = (command[0] ?? '').toUpperCase();
  const scriptIndex = name === 'EVAL' || name === 'EVAL_RO' ? 1 : name === 'SCRIPT' && (command[1] ?? '').toUpperCase() === 'LOAD' ? 2 : -1;
  if (scriptIndex >= 0 && command[scriptIndex] !== undefined) {
    const script = command[scriptIndex];
    const adapted = withoutUpstashFlags(script);
    if (adapted === script) return command;
    adaptedScriptDigests.set(sha1(script), sha1(adapted));
    return command.map((part, i) => (i === scriptIndex ? adapted : part));
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && command[1] !== undefined) {
    const stored = adaptedScriptDigests.get(command[1].toLowerCase());
    if (stored) return command.map((part, i) => (i === 1 ? stored : part));
  }
  return command;
}

function withoutUpstashFlags(script: string): string {
  const match = /^#!lua flags=([^\n]*)\n/.exec(script);
  if (!match) return script;
  const flags = match[1]!.split(',').map((f) => f.trim()).filter((f) => f && !UPSTASH_ONLY_SCRIPT_FLAGS.has(f));
  return `#!lua${flags.length ? ` flags=${flags.join(',')}` : ''}\n${script.slice(match[0].length)}`;
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function parseCommands(value: unknown): RedisCommand[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpRequestError(400, 'expected a non-empty JSON array of commands');
  return value.map(parseCommand);
}

async function send(client: CommandSender, command: RedisCommand): Promise<RedisReply> {
  return (await client.sendCommand(command, BYTES)) as RedisReply;
}

/** Sends every command at once on one connection (Redis answers in order), each with its own outcome. */
async function runPipeline(client: CommandSender, commands: RedisCommand[], base64: boolean): Promise<CommandOutcome[]> {
  const settled = await Promise.allSettled(commands.map((command) => send(client, command)));
  return settled.map((outcome) =>
    outcome.status === 'fulfilled' ? toOutcome(outcome.value, base64) : { error: errorMessage(outcome.reason) },
  );
}

/**
 * MULTI, the commands, EXEC on one connection. A command Redis refuses while queueing discards the
 * whole transaction (EXECABORT, HTTP 400); a command failing inside EXEC fails alone, as in Redis.
 */
async function runTransaction(client: CommandSender, commands: RedisCommand[], base64: boolean): Promise<CommandOutcome[]> {
  const replies = [send(client, ['MULTI']), ...commands.map((command) => send(client, command)), send(client, ['EXEC'])];
  const settled = await Promise.allSettled(replies);
  const queueFailure = settled.slice(0, -1).find((outcome) => outcome.status === 'rejected');
  const exec = settled.at(-1);
  if (queueFailure?.status === 'rejected' || exec?.status !== 'fulfilled') {
    const reason = queueFailure?.status === 'rejected' ? queueFailure.reason : exec?.status === 'rejected' ? exec.reason : undefined;
    throw new ErrorReply(`EXECABORT Transaction discarded because of: ${errorMessage(reason)}`);
  }
  if (!Array.isArray(exec.value)) throw new ErrorReply('EXECABORT Transaction aborted');
  return exec.value.map((reply) => toOutcome(reply, base64));
}

function toOutcome(reply: RedisReply, base64: boolean): CommandOutcome {
  return reply instanceof ErrorReply ? { error: reply.message } : { result: toJsonReply(reply, base64) };
}

/** Redis's reply as JSON: bytes as UTF-8 text, or base64 for every string at any depth. */
function toJsonReply(reply: RedisReply, base64: boolean): JsonReply {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) return reply.map((item) => toJsonReply(item, base64));
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(reply instanceof ErrorReply ? reply.message : reply, 'utf8');
  return base64 ? bytes.toString('base64') : bytes.toString('utf8');
}
