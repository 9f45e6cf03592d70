import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import WebSocket, { createWebSocketStream, WebSocketServer } from 'ws';
import {
  closeServer,
  errorMessage,
  HttpRequestError,
  isRecord,
  listen,
  readJsonBody,
  sendJson,
  trackSockets,
  urlHost,
} from './http.ts';

export interface PostgresServerOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

export interface NeonLocalServerOptions {
  /** The PostgreSQL server behind both the HTTP endpoint and the WebSocket proxy. */
  postgres: PostgresServerOptions;
  /** Where to listen; loopback by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Pool size for each role/database pair the HTTP endpoint serves. */
  maxConnectionsPerPool?: number;
}

/** One query of the HTTP protocol: SQL with $1.. placeholders and already-serialized parameters. */
interface SqlQuery {
  query: string;
  params: Array<string | null>;
}

interface ReplyShape {
  arrayMode: boolean;
  rawText: boolean;
}

interface QueryReply {
  command: string;
  rowCount: number | null;
  fields: pg.FieldDef[];
  rows: unknown[];
  rowAsArray: boolean;
}

/** The `neonConfig` settings (and connection string) that point @neondatabase/serverless here. */
export interface NeonLocalConfig {
  neonConfig: {
    fetchEndpoint: string;
    wsProxy: string;
    useSecureWebSocket: false;
    pipelineTLS: false;
    pipelineConnect: false;
    webSocketConstructor: typeof WebSocket;
  };
  connectionString: string;
}

const SQL_PATH = '/sql';
const WEBSOCKET_PATH = '/v1';
const DEFAULT_POOL_SIZE = 10;

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

const PG_ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

// Neon's raw text output hands each value over exactly as PostgreSQL sent it.
const RAW_TEXT_TYPES: pg.CustomTypesConfig = {
  getTypeParser: (() => (value: string) => value) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Neon's two ways in, on one port, over a plain PostgreSQL server:
 * - POST /sql, the HTTP query endpoint that `neon()` uses (one query, or a batch run as one
 *   transaction);
 * - GET /v1?address=host:port upgraded to a WebSocket, relaying binary frames to PostgreSQL's TCP
 *   port, which `Pool` and `Client` use. Only the configured PostgreSQL address is relayed to.
 */
export class NeonLocalServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  /** For `neonConfig.fetchEndpoint`. */
  readonly fetchEndpoint: string;
  /** For `neonConfig.wsProxy`: the client appends `?address=host:port`. */
  readonly wsProxy: string;
  /** The configured PostgreSQL server's connection string, for `neon()` and `new Pool()`. */
  readonly connectionString: string;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #webSockets: WebSocketServer;
  readonly #relays = new Set<Duplex>();
  readonly #postgres: PostgresServerOptions;
  readonly #pools = new Map<string, pg.Pool>();
  readonly #poolSize: number;
  #closing: Promise<void> | undefined;

  private constructor(init: { server: Server; sockets: Set<Socket>; options: NeonLocalServerOptions; host: string; port: number }) {
    this.#server = init.server;
    this.#sockets = init.sockets;
    this.#postgres = init.options.postgres;
    this.#poolSize = init.options.maxConnectionsPerPool ?? DEFAULT_POOL_SIZE;
    this.#webSockets = new WebSocketServer({ noServer: true });
    this.port = init.port;
    this.url = `http://${urlHost(init.host)}:${init.port}`;
    this.fetchEndpoint = `${this.url}${SQL_PATH}`;
    this.wsProxy = `${urlHost(init.host)}:${init.port}${WEBSOCKET_PATH}`;
    this.connectionString = postgresConnectionString(this.#postgres);
    this.#server.on('request', (request: IncomingMessage, response: ServerResponse) => void this.#handleHttp(request, response));
    this.#server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#handleUpgrade(request, socket, head));
  }

  static async create(options: NeonLocalServerOptions): Promise<NeonLocalServer> {
    validateOptions(options);
    const host = options.host ?? '127.0.0.1';
    const server = createServer();
    const sockets = trackSockets(server);
    const port = await listen(server, host, options.port ?? 0);
    return new NeonLocalServer({ server, sockets, options, host, port });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const relay of this.#relays) relay.destroy();
    for (const client of this.#webSockets.clients) client.terminate();
    await closeServer(this.#server, this.#sockets);
    await new Promise<void>((resolve) => this.#webSockets.close(() => resolve()));
    await Promise.all([...this.#pools.values()].map((pool) => pool.end()));
    this.#pools.clear();
  }

  async #handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const path = new URL(request.url ?? '/', 'http://local').pathname;
      if (path !== SQL_PATH) throw new HttpRequestError(404, `no such endpoint: ${path}`);
      if (request.method !== 'POST') throw new HttpRequestError(405, `${request.method} is not allowed; POST the query`);
      const pool = this.#poolFor(request.headers['neon-connection-string']);
      const shape = replyShape(request.headers);
      const body = await readJsonBody(request);
      if (isRecord(body) && 'queries' in body) {
        const queries = parseQueries(body.queries);
        const results = await runBatch(pool, queries, transactionMode(request.headers), shape);
        sendJson(response, 200, { results });
      } else {
        sendJson(response, 200, await runQuery(pool, parseQuery(body), shape));
      }
    } catch (error) {
      if (!response.headersSent) sendError(response, error);
    }
  }

  /** Pools are per role and database, as Neon authenticates each request's connection string. */
  #poolFor(header: string | string[] | undefined): pg.Pool {
    const target = parseConnectionString(header);
    const key = JSON.stringify([target.user, target.password, target.database]);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new pg.Pool({ host: this.#postgres.host, port: this.#postgres.port, ...target, max: this.#poolSize });
      // An idle client dying (server restart) must not crash the process; the pool replaces it.
      pool.on('error', () => {});
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://local');
    if (url.pathname !== WEBSOCKET_PATH) return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}`);
    const address = url.searchParams.get('address') ?? '';
    if (!this.#isPostgresAddress(address)) {
      const allowed = `${this.#postgres.host}:${this.#postgres.port}`;
      return refuseUpgrade(socket, 403, `this proxy only relays to ${allowed}, not to "${address}"`);
    }
    this.#webSockets.handleUpgrade(request, socket, head, (webSocket) => this.#relay(webSocket));
  }

  #isPostgresAddress(address: string): boolean {
    const colon = address.lastIndexOf(':');
    if (colon === -1) return false;
    const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    return host === this.#postgres.host && address.slice(colon + 1) === String(this.#postgres.port);
  }

  /** Pipes WebSocket binary frames to a new TCP connection to PostgreSQL, and back. */
  #relay(webSocket: WebSocket): void {
    const frames = createWebSocketStream(webSocket);
    const tcp = connectTcp({ host: this.#postgres.host, port: this.#postgres.port });
    tcp.setNoDelay(true);
    this.#relays.add(frames).add(tcp);
    const teardown = () => {
      frames.destroy();
      tcp.destroy();
      this.#relays.delete(frames);
      this.#relays.delete(tcp);
    };
    frames.on('error', teardown).on('close', teardown);
    tcp.on('error', teardown).on('close', teardown);
    frames.pipe(tcp).pipe(frames);
  }
}

/** The settings that send @neondatabase/serverless to `server` (assign them onto `neonConfig`). */
export function neonLocalConfig(server: NeonLocalServer): NeonLocalConfig {
  return {
    neonConfig: {
      fetchEndpoint: server.fetchEndpoint,
      wsProxy: server.wsProxy,
      useSecureWebSocket: false,
      pipelineTLS: false,
      pipelineConnect: false,
      webSocketConstructor: WebSocket,
    },
    connectionString: server.connectionString,
  };
}

function validateOptions(options: NeonLocalServerOptions): void {
  const { postgres } = options;
  if (!postgres?.host || !Number.isInteger(postgres.port) || !postgres.user || !postgres.database) {
    throw new Error('NeonLocalServer: postgres needs host, port, user and database');
  }
  const size = options.maxConnectionsPerPool;
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) {
    throw new Error('NeonLocalServer: maxConnectionsPerPool must be a positive integer');
  }
}

function postgresConnectionString(postgres: PostgresServerOptions): string {
  const password = postgres.password ? `:${encodeURIComponent(postgres.password)}` : '';
  const user = `${encodeURIComponent(postgres.user)}${password}`;
  return `postgresql://${user}@${urlHost(postgres.host)}:${postgres.port}/${encodeURIComponent(postgres.database)}`;
}

/**
 * The role and database from the Neon-Connection-String header. Its host names an endpoint in
 * Neon's cloud; here every request goes to the one configured PostgreSQL server.
 */
function parseConnectionString(header: string | string[] | undefined): { user: string; password: string; database: string } {
  if (typeof header !== 'string' || header === '') throw new HttpRequestError(400, 'missing Neon-Connection-String header');
  let url: URL;
  try {
    url = new URL(header);
  } catch {
    throw new HttpRequestError(400, 'Neon-Connection-String is not a valid URL');
  }
  const database = decodeURIComponent(url.pathname.slice(1));
  if (!['postgres:', 'postgresql:'].includes(url.protocol) || !url.username || !database) {
    throw new HttpRequestError(400, 'Neon-Connection-String needs postgresql://user[:password]@host/database');
  }
  return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database };
}

function replyShape(headers: IncomingHttpHeaders): ReplyShape {
  return {
    arrayMode: headers['neon-array-mode'] === 'true',
    rawText: headers['neon-raw-text-output'] === 'true',
  };
}

/** BEGIN's options from the Neon-Batch-* headers. */
function transactionMode(headers: IncomingHttpHeaders): string {
  const parts: string[] = [];
  const isolation = headers['neon-batch-isolation-level'];
  if (isolation !== undefined) {
    const level = typeof isolation === 'string' ? ISOLATION_LEVELS[isolation] : undefined;
    if (!level) throw new HttpRequestError(400, `Neon-Batch-Isolation-Level must be one of ${Object.keys(ISOLATION_LEVELS).join(', ')}`);
    parts.push(`ISOLATION LEVEL ${level}`);
  }
  const readOnly = booleanHeader(headers, 'neon-batch-read-only');
  if (readOnly !== undefined) parts.push(readOnly ? 'READ ONLY' : 'READ WRITE');
  const deferrable = booleanHeader(headers, 'neon-batch-deferrable');
  if (deferrable !== undefined) parts.push(deferrable ? 'DEFERRABLE' : 'NOT DEFERRABLE');
  return parts.join(' ');
}

function booleanHeader(headers: IncomingHttpHeaders, name: string): boolean | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new HttpRequestError(400, `${name} must be true or false`);
  return value === 'true';
}

function parseQuery(body: unknown): SqlQuery {
  if (!isRecord(body) || typeof body.query !== 'string') {
    throw new HttpRequestError(400, 'expected a JSON body {"query": string, "params": [...]} or {"queries": [...]}');
  }
  const params = body.params ?? [];
  if (!Array.isArray(params)) throw new HttpRequestError(400, '"params" must be an array');
  return { query: body.query, params: params.map(toParameter) };
}

function parseQueries(queries: unknown): SqlQuery[] {
  if (!Array.isArray(queries) || queries.length === 0) throw new HttpRequestError(400, '"queries" must be a non-empty array');
  return queries.map(parseQuery);
}

/** The client serializes parameters to text (or null) itself; scalars are accepted as their text. */
function toParameter(value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new HttpRequestError(400, 'query parameters must be strings, numbers, booleans or null');
}

async function runQuery(queryable: pg.Pool | pg.PoolClient, { query, params }: SqlQuery, shape: ReplyShape): Promise<QueryReply> {
  // The extended protocol, like Neon's: one statement per query, even without parameters.
  const config: pg.QueryArrayConfig & { queryMode: 'extended' } = {
    text: query,
    values: params,
    rowMode: 'array',
    queryMode: 'extended',
    ...(shape.rawText ? { types: RAW_TEXT_TYPES } : {}),
  };
  const result = await queryable.query(config);
  const rows = shape.arrayMode ? result.rows : result.rows.map((row) => rowObject(result.fields, row));
  return {
    command: result.command,
    rowCount: result.rowCount,
    fields: result.fields.map((field) => ({ ...field })),
    rows,
    rowAsArray: shape.arrayMode,
  };
}

function rowObject(fields: pg.FieldDef[], row: unknown[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((field, index) => [field.name, row[index]]));
}

/** Runs the queries in one transaction: all of them commit, or the first error rolls all back. */
async function runBatch(pool: pg.Pool, queries: SqlQuery[], mode: string, shape: ReplyShape): Promise<QueryReply[]> {
  const client = await pool.connect();
  let healthy = true;
  try {
    await client.query(`BEGIN ${mode}`.trim());
    const results: QueryReply[] = [];
    for (const query of queries) results.push(await runQuery(client, query, shape));
    await client.query('COMMIT');
    return results;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      healthy = false;
    });
    throw error;
  } finally {
    client.release(!healthy);
  }
}

function sendError(response: ServerResponse, error: unknown): void {
  if (error instanceof HttpRequestError) {
    sendJson(response, error.status, { message: error.message });
  } else if (error instanceof pg.DatabaseError) {
    // PostgreSQL's own error, with every field Neon forwards (the client copies them onto NeonDbError).
    const fields = Object.fromEntries(PG_ERROR_FIELDS.map((name) => [name, error[name]]).filter(([, value]) => value !== undefined));
    sendJson(response, 400, { message: error.message, ...fields });
  } else {
    sendJson(response, 502, { message: `PostgreSQL is unavailable: ${errorMessage(error)}` });
  }
}

function refuseUpgrade(socket: Duplex, status: 403 | 404, message: string): void {
  const reason = status === 403 ? 'Forbidden' : 'Not Found';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
}
