import { type Config, type Connection, connect } from '@planetscale/database';
import {
  CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  IdentifierNode,
  type Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  RawNode,
  type TransactionSettings,
} from 'kysely';

/**
 * Kysely over PlanetScale's HTTP API (@planetscale/database), for the Worker and for Node.
 *
 * Every Kysely connection is its own PlanetScale `Connection`, that is its own server session, so a
 * transaction is BEGIN ... COMMIT sent on one connection: the session carries them to the same
 * MySQL connection. Values come back as the client casts them (BIGINT and DECIMAL as strings).
 *
 * (The npm package kysely-planetscale 1.7.1 declares `*` peers and is built and tested against
 * kysely 0.28; it ignores Kysely's transaction access mode, has no savepoints and needs date-fns,
 * so this ~100-line dialect is ours.)
 */
export interface PlanetScaleDialectConfig extends Config {
  /**
   * The most queries (or open transactions) in flight at once, as a connection pool would bound them:
   * a rush of thousands of requests queues here instead of opening thousands of HTTP requests.
   */
  maxConnections?: number;
}

export class PlanetScaleDialect implements Dialect {
  readonly #config: PlanetScaleDialectConfig;

  constructor(config: PlanetScaleDialectConfig) {
    if (!config.url && !config.host) throw new Error('PlanetScaleDialect: give a url, or host with username and password');
    this.#config = config;
  }

  createAdapter(): DialectAdapter {
    return new MysqlAdapter();
  }

  createDriver(): Driver {
    return planetScaleDriver(this.#config);
  }

  createQueryCompiler(): QueryCompiler {
    return new MysqlQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new MysqlIntrospector(db);
  }
}

/** Hands out at most `size` permits; the rest wait in order. */
function permits(size: number) {
  let available = size;
  const waiting: (() => void)[] = [];
  return {
    acquire: (): Promise<void> => {
      if (available > 0) {
        available--;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    release: (): void => {
      const next = waiting.shift();
      if (next) next();
      else available++;
    },
  };
}

function planetScaleDriver({ maxConnections = 16, ...config }: PlanetScaleDialectConfig): Driver {
  const slots = permits(maxConnections);
  const run = async (connection: DatabaseConnection, sql: string) => {
    await connection.executeQuery(CompiledQuery.raw(sql));
  };
  return {
    // A connection is a session, created per acquisition and dropped after; the permits bound how
    // many are in flight.
    init: async () => {},
    acquireConnection: async () => {
      await slots.acquire();
      return sessionConnection(connect(config));
    },
    releaseConnection: async () => slots.release(),
    destroy: async () => {},
    beginTransaction: async (connection, settings) => {
      const characteristics = transactionCharacteristics(settings);
      // SET TRANSACTION applies to the session's next transaction, which the BEGIN after it opens.
      if (characteristics) await run(connection, `set transaction ${characteristics}`);
      await run(connection, 'begin');
    },
    commitTransaction: (connection) => run(connection, 'commit'),
    rollbackTransaction: (connection) => run(connection, 'rollback'),
    savepoint: (connection, name, compileQuery) => savepointCommand(connection, 'savepoint', name, compileQuery),
    rollbackToSavepoint: (connection, name, compileQuery) => savepointCommand(connection, 'rollback to', name, compileQuery),
    releaseSavepoint: (connection, name, compileQuery) => savepointCommand(connection, 'release savepoint', name, compileQuery),
  };
}

function sessionConnection(session: Connection): DatabaseConnection {
  return {
    async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
      const result = await session.execute(compiledQuery.sql, [...compiledQuery.parameters]);
      return {
        rows: result.rows as R[],
        numAffectedRows: BigInt(result.rowsAffected),
        ...(result.insertId && result.insertId !== '0' ? { insertId: BigInt(result.insertId) } : {}),
      };
    },
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
      throw new Error("PlanetScale's HTTP API does not stream results");
    },
  };
}

function transactionCharacteristics({ isolationLevel, accessMode }: TransactionSettings): string {
  return [isolationLevel && `isolation level ${isolationLevel}`, accessMode].filter(Boolean).join(', ');
}

async function savepointCommand(
  connection: DatabaseConnection,
  command: 'savepoint' | 'rollback to' | 'release savepoint',
  name: string,
  compileQuery: QueryCompiler['compileQuery'],
): Promise<void> {
  // The name goes through the compiler as an identifier, so it is quoted, never spliced in raw.
  const node = RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
  await connection.executeQuery(compileQuery(node, createQueryId()));
}
