import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import mysql, { type FieldPacket, type Pool, type PoolConnection } from 'mysql2/promise';
import {
  closeServer,
  errorMessage,
  HttpRequestError,
  isRecord,
  listen,
  readJsonBody,
  secretsEqual,
  sendJson,
  trackSockets,
  urlHost,
} from './http.ts';
import { type SessionEffect, sessionEffectOf } from './mysql-statement.ts';
import { type HeldConnection, SessionConnections } from './session-connections.ts';
import { toVitessField, toVitessRow, type VitessField, type VitessRow, vitessErrorCode } from './vitess-result.ts';

export interface MysqlServerOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

export interface PlanetScaleHttpServerOptions {
  /** The MySQL (or MariaDB) server that runs the queries. */
  mysql: MysqlServerOptions;
  /** Credentials clients must present (Basic auth), as in a PlanetScale connection URL. */
  username: string;
  password: string;
  /** Where to listen; loopback by default. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** A session's held connection is rolled back and released after this long without a request. */
  sessionIdleTimeoutMs?: number;
  /** The most MySQL connections open at once, held sessions included. */
  maxConnections?: number;
}

/** What the client stores and sends back with each query; opaque to it. */
interface SessionToken {
  id: string;
  /** The server holds a MySQL connection (an open transaction or session state) for this session. */
  holdsConnection: boolean;
}

interface VitessResult {
  fields?: VitessField[];
  rows?: VitessRow[];
  rowsAffected?: string;
  insertId?: string;
}

interface VitessError {
  message: string;
  code: string;
}

type ExecuteReply =
  | { session: SessionToken; result: VitessResult; timing: number }
  | { session: SessionToken; error: VitessError };

interface StatementOutcome {
  result: VitessResult;
  /** From the OK packet's server status; unknown (undefined) after a result set. */
  inTransaction: boolean | undefined;
}

const EXECUTE_PATH = '/psdb.v1alpha1.Database/Execute';
const CREATE_SESSION_PATH = '/psdb.v1alpha1.Database/CreateSession';
const SERVER_STATUS_IN_TRANS = 0x0001;
const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_CONNECTIONS = 20;

/**
 * PlanetScale's HTTP API (the one @planetscale/database speaks) over a MySQL-protocol server.
 *
 * Statements outside a transaction run on any pooled connection. A session that opens a transaction
 * (or leaves session state such as SET variables) keeps its connection until the transaction ends,
 * or until it has been idle for `sessionIdleTimeoutMs`, when the transaction is rolled back.
 */
export class PlanetScaleHttpServer {
  /** `http://username:password@host:port`, ready for `connect({ url })`. */
  readonly url: string;
  readonly port: number;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #pool: Pool;
  readonly #sessions: SessionConnections;
  readonly #credentials: { username: string; password: string };
  #closing: Promise<void> | undefined;

  private constructor(init: {
    server: Server;
    sockets: Set<Socket>;
    pool: Pool;
    sessionIdleTimeoutMs: number;
    credentials: { username: string; password: string };
    host: string;
    port: number;
  }) {
    this.#server = init.server;
    this.#sockets = init.sockets;
    this.#pool = init.pool;
    this.#credentials = init.credentials;
    this.#sessions = SessionConnections.create(init.sessionIdleTimeoutMs, (held) => void this.#discard(held));
    this.port = init.port;
    const userInfo = `${encodeURIComponent(init.credentials.username)}:${encodeURIComponent(init.credentials.password)}`;
    this.url = `http://${userInfo}@${urlHost(init.host)}:${init.port}`;
    this.#server.on('request', (request: IncomingMessage, response: ServerResponse) => void this.#handle(request, response));
  }

  static async create(options: PlanetScaleHttpServerOptions): Promise<PlanetScaleHttpServer> {
    validateOptions(options);
    const host = options.host ?? '127.0.0.1';
    const pool = createMysqlPool(options.mysql, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    try {
      // Fail now, not at the first request, if MySQL is unreachable or refuses the credentials.
      const probe = await pool.getConnection();
      probe.release();
      const server = createServer();
      const sockets = trackSockets(server);
      const port = await listen(server, host, options.port ?? 0);
      return new PlanetScaleHttpServer({
        server,
        sockets,
        pool,
        sessionIdleTimeoutMs: options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
        credentials: { username: options.username, password: options.password },
        host,
        port,
      });
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** How many sessions hold a MySQL connection right now. */
  get heldSessionCount(): number {
    return this.#sessions.size;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await closeServer(this.#server, this.#sockets);
    // Open transactions die with their connections, which MySQL rolls back.
    for (const held of this.#sessions.drain()) held.connection.destroy();
    await this.#pool.end();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (request.method !== 'POST') throw new HttpRequestError(405, `${request.method} is not allowed; POST the request`);
      if (!this.#authorized(request)) {
        sendJson(response, 401, { error: { message: 'unauthorized: wrong username or password', code: 'UNAUTHENTICATED' } }, {
          'www-authenticate': 'Basic realm="planetscale"',
        });
        return;
      }
      const path = new URL(request.url ?? '/', 'http://local').pathname;
      const body = await readJsonBody(request);
      if (path === EXECUTE_PATH) sendJson(response, 200, await this.#execute(body));
      else if (path === CREATE_SESSION_PATH) sendJson(response, 200, { session: newSession() });
      else throw new HttpRequestError(404, `no such endpoint: ${path}`);
    } catch (error) {
      const status = error instanceof HttpRequestError ? error.status : 500;
      const code = status === 404 ? 'NOT_FOUND' : status === 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
      if (!response.headersSent) sendJson(response, status, { error: { message: errorMessage(error), code } });
    }
  }

  #authorized(request: IncomingMessage): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return false;
    const usernameMatches = credentialMatches(decoded.slice(0, colon), this.#credentials.username);
    const passwordMatches = credentialMatches(decoded.slice(colon + 1), this.#credentials.password);
    return usernameMatches && passwordMatches;
  }

  #execute(body: unknown): Promise<ExecuteReply> {
    const { query, session } = parseExecuteRequest(body);
    return this.#sessions.serialize(session.id, () => this.#executeInSession(query, session));
  }

  async #executeInSession(query: string, session: SessionToken): Promise<ExecuteReply> {
    const started = performance.now();
    const held = this.#sessions.take(session.id);
    if (session.holdsConnection && !held) {
      // The transaction (or session state) this client relies on is gone: say so instead of running
      // the statement without it. The returned session lets the client's ROLLBACK and later queries go through.
      const message = 'the session was idle too long: its connection was released and any open transaction rolled back';
      return { session: { id: session.id, holdsConnection: false }, error: { message, code: 'ABORTED' } };
    }
    let connection: PoolConnection;
    try {
      connection = held?.connection ?? (await this.#pool.getConnection());
    } catch (error) {
      return { session: this.#tokenFor(session.id), error: toVitessError(error) };
    }
    try {
      const outcome = await runStatement(connection, query);
      this.#settle(session.id, connection, held, sessionEffectOf(query), outcome.inTransaction);
      const timing = (performance.now() - started) / 1000;
      return { session: this.#tokenFor(session.id), result: outcome.result, timing };
    } catch (error) {
      this.#afterFailure(session.id, connection, held, error);
      return { session: this.#tokenFor(session.id), error: toVitessError(error) };
    }
  }

  /** Keeps the connection for the session if it carries a transaction or session state, else pools it. */
  #settle(
    sessionId: string,
    connection: PoolConnection,
    held: HeldConnection | undefined,
    effect: SessionEffect,
    statusInTransaction: boolean | undefined,
  ): void {
    const reserved = (held?.reserved ?? false) || effect === 'session';
    const inTransaction = statusInTransaction ?? held?.inTransaction ?? false;
    if (reserved || inTransaction || effect === 'next-transaction') {
      this.#sessions.hold(sessionId, { connection, inTransaction, reserved });
    } else {
      this.#sessions.forget(sessionId);
      connection.release();
    }
  }

  /** A failed statement leaves a transaction open (the client decides), unless the connection broke. */
  #afterFailure(sessionId: string, connection: PoolConnection, held: HeldConnection | undefined, error: unknown): void {
    const broken = isRecord(error) && error.fatal === true;
    if (broken) {
      this.#sessions.forget(sessionId);
      connection.destroy();
    } else if (held) {
      this.#sessions.hold(sessionId, held);
    } else {
      connection.release();
    }
  }

  #tokenFor(sessionId: string): SessionToken {
    return { id: sessionId, holdsConnection: this.#sessions.has(sessionId) };
  }

  /** An idle session's connection: rolled back and pooled, or destroyed if it carries session state. */
  async #discard(held: HeldConnection): Promise<void> {
    if (held.reserved) {
      held.connection.destroy();
      return;
    }
    try {
      await held.connection.query('ROLLBACK');
      held.connection.release();
    } catch {
      held.connection.destroy();
    }
  }
}

function validateOptions(options: PlanetScaleHttpServerOptions): void {
  if (!options.username || options.username.includes(':')) {
    throw new Error('PlanetScaleHttpServer: username must be non-empty and contain no ":"');
  }
  if (!options.password) throw new Error('PlanetScaleHttpServer: password must be non-empty');
  if (options.sessionIdleTimeoutMs !== undefined && !(options.sessionIdleTimeoutMs > 0)) {
    throw new Error('PlanetScaleHttpServer: sessionIdleTimeoutMs must be a positive number');
  }
  if (options.maxConnections !== undefined && !(Number.isInteger(options.maxConnections) && options.maxConnections > 0)) {
    throw new Error('PlanetScaleHttpServer: maxConnections must be a positive integer');
  }
}

function createMysqlPool(server: MysqlServerOptions, maxConnections: number): Pool {
  const pool = mysql.createPool({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password ?? '',
    database: server.database,
    connectionLimit: maxConnections,
    charset: 'UTF8MB4_UNICODE_CI',
    // Vitess reports changed rows, as MySQL does by default; mysql2 asks for matched rows instead.
    flags: ['-FOUND_ROWS'],
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // PlanetScale runs in UTC: NOW() and TIMESTAMP columns read the same as there.
  pool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00'", (error) => {
      if (error) connection.destroy();
    });
  });
  return pool;
}

/**
 * @planetscale/database sends URL credentials as `new URL()` holds them, still percent-encoded
 * ('p%40ss' for 'p@ss'), so either form of the configured secret is accepted.
 */
function credentialMatches(given: string, expected: string): boolean {
  if (secretsEqual(given, expected)) return true;
  try {
    return secretsEqual(decodeURIComponent(given), expected);
  } catch {
    return false; // not valid percent-encoding, so not the encoded form either
  }
}

function newSession(): SessionToken {
  return { id: randomUUID(), holdsConnection: false };
}

function parseExecuteRequest(body: unknown): { query: string; session: SessionToken } {
  if (!isRecord(body)) throw new HttpRequestError(400, 'expected a JSON object {"query", "session"}');
  const { query, session } = body;
  if (typeof query !== 'string' || query.trim() === '') throw new HttpRequestError(400, '"query" must be a non-empty string');
  if (session === null || session === undefined) return { query, session: newSession() };
  if (!isRecord(session) || typeof session.id !== 'string' || session.id.length > 100 || typeof session.holdsConnection !== 'boolean') {
    throw new HttpRequestError(400, '"session" must be null or a session this server returned');
  }
  return { query, session: { id: session.id, holdsConnection: session.holdsConnection } };
}

/** Runs one statement over the text protocol, keeping each value's bytes exactly as MySQL sent them. */
async function runStatement(connection: PoolConnection, sql: string): Promise<StatementOutcome> {
  const [rows, fields]: [unknown, FieldPacket[] | FieldPacket[][] | undefined] = await connection.query({
    sql,
    rowsAsArray: true,
    typeCast: (field) => field.buffer(),
  });
  if (isOkPacket(rows)) {
    return {
      result: { rowsAffected: String(rows.affectedRows), insertId: String(rows.insertId) },
      inTransaction: (rows.serverStatus & SERVER_STATUS_IN_TRANS) !== 0,
    };
  }
  const [resultRows, resultFields] = firstResultSet(rows, fields);
  return {
    result: { fields: resultFields.map(toVitessField), rows: resultRows.map(toVitessRow) },
    inTransaction: undefined,
  };
}

function isOkPacket(value: unknown): value is { affectedRows: number | string; insertId: number | string; serverStatus: number } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'affectedRows' in value && 'serverStatus' in value;
}

/** A CALL answers several result sets; Vitess's single result carries the first. */
function firstResultSet(
  rows: unknown,
  fields: FieldPacket[] | FieldPacket[][] | undefined,
): [Array<Array<Buffer | null>>, FieldPacket[]] {
  if (!Array.isArray(rows) || !fields) throw new Error('MySQL returned neither rows nor an OK packet');
  const first = fields[0];
  if (Array.isArray(first)) return [rows[0] as Array<Array<Buffer | null>>, first];
  return [rows as Array<Array<Buffer | null>>, fields as FieldPacket[]];
}

function toVitessError(error: unknown): VitessError {
  if (isRecord(error) && typeof error.errno === 'number' && typeof error.sqlMessage === 'string') {
    const sqlState = typeof error.sqlState === 'string' ? error.sqlState : 'HY000';
    return {
      message: `${error.sqlMessage} (errno ${error.errno}) (sqlstate ${sqlState})`,
      code: vitessErrorCode(error.errno),
    };
  }
  return { message: errorMessage(error), code: 'UNAVAILABLE' };
}
