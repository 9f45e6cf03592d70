import { randomBytes } from 'node:crypto';
import { neon, neonConfig, NeonDbError, Pool } from '@neondatabase/serverless';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NeonLocalServer, neonLocalConfig } from './neon-local-server.ts';

const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const table = `neon_items_${process.pid}_${randomBytes(3).toString('hex')}`;

let server: NeonLocalServer;
let connectionString: string;
/** A direct PostgreSQL connection, outside the server, to see what other clients see. */
let observer: pg.Client;

async function countItems(condition = 'TRUE'): Promise<number> {
  const { rows } = await observer.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${table} WHERE ${condition}`);
  return rows[0]?.n ?? -1;
}

beforeAll(async () => {
  server = await NeonLocalServer.create({ postgres: POSTGRES });
  const local = neonLocalConfig(server);
  Object.assign(neonConfig, local.neonConfig);
  connectionString = local.connectionString;
  observer = new pg.Client(POSTGRES);
  await observer.connect();
  await observer.query(`CREATE TABLE ${table} (id int PRIMARY KEY, label text NOT NULL)`);
});

afterAll(async () => {
  await observer.query(`DROP TABLE IF EXISTS ${table}`);
  await observer.end();
  await server.close();
});

describe('NeonLocalServer over HTTP (neon())', () => {
  it('hands out settings that point the client here', () => {
    const local = neonLocalConfig(server);
    expect(local.neonConfig.fetchEndpoint).toBe(`http://127.0.0.1:${server.port}/sql`);
    expect(local.neonConfig.wsProxy).toBe(`127.0.0.1:${server.port}/v1`);
    expect(local.connectionString).toBe('postgresql://postgres@127.0.0.1:5432/test');
  });

  it('binds parameters and returns values the client parses by type', async () => {
    const sql = neon(connectionString);
    const unicode = 'héllo 🌍 日本語';
    const rows = await sql`
      SELECT ${40}::int + ${2}::int AS answer, ${'9007199254740993'}::bigint AS big, 12.50::numeric(6,2) AS price,
             ${unicode}::text AS text, NULL::text AS nothing, true AS yes,
             '2024-02-29T13:14:15Z'::timestamptz AS at, '{"tags":["a"]}'::jsonb AS doc,
             ${Buffer.from([0, 255, 16])}::bytea AS raw, ARRAY[1, 2, 3] AS list`;
    expect(rows).toEqual([
      {
        answer: 42,
        big: '9007199254740993',
        price: '12.50',
        text: unicode,
        nothing: null,
        yes: true,
        at: new Date('2024-02-29T13:14:15Z'),
        doc: { tags: ['a'] },
        raw: Buffer.from([0, 255, 16]),
        list: [1, 2, 3],
      },
    ]);
  });

  it('returns full results and array rows when asked', async () => {
    const full = await neon(connectionString, { fullResults: true, arrayMode: true })`SELECT 1 AS a, 'x' AS a`;
    expect(full.rows).toEqual([[1, 'x']]);
    expect(full.command).toBe('SELECT');
    expect(full.rowCount).toBe(1);
    expect(full.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
      ['a', 23],
      ['a', 25],
    ]);
  });

  it('commits a batch as one transaction', async () => {
    const sql = neon(connectionString);
    const [inserted, counted] = await sql.transaction([
      sql`INSERT INTO ${sql.unsafe(table)} (id, label) VALUES (1, 'one'), (2, 'two') RETURNING id`,
      sql`SELECT COUNT(*)::int AS n FROM ${sql.unsafe(table)}`,
    ]);
    expect(inserted).toEqual([{ id: 1 }, { id: 2 }]);
    expect(counted).toEqual([{ n: 2 }]);
    expect(await countItems('id IN (1, 2)')).toBe(2);
  });

  it('rolls the whole batch back when a query fails, with PostgreSQL’s error fields', async () => {
    const sql = neon(connectionString);
    const failure = await sql
      .transaction([
        sql`INSERT INTO ${sql.unsafe(table)} (id, label) VALUES (10, 'kept?')`,
        sql`INSERT INTO ${sql.unsafe(table)} (id, label) VALUES (1, 'duplicate')`,
      ])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NeonDbError);
    expect((failure as NeonDbError).code).toBe('23505');
    expect((failure as NeonDbError).constraint).toBe(`${table}_pkey`);
    expect((failure as NeonDbError).detail).toBe('Key (id)=(1) already exists.');
    expect(await countItems('id = 10')).toBe(0);
  });

  it('honours the batch isolation level and read-only headers', async () => {
    const sql = neon(connectionString);
    const settings = await sql.transaction(
      [sql`SELECT current_setting('transaction_isolation') AS isolation, current_setting('transaction_read_only') AS read_only`],
      { isolationLevel: 'Serializable', readOnly: true },
    );
    expect(settings).toEqual([[{ isolation: 'serializable', read_only: 'on' }]]);
    const write = await sql
      .transaction([sql`INSERT INTO ${sql.unsafe(table)} (id, label) VALUES (20, 'nope')`], { readOnly: true })
      .catch((error: unknown) => error);
    expect((write as NeonDbError).code).toBe('25006');
  });

  it('reports a syntax error with its position', async () => {
    const failure = await neon(connectionString)
      .query('SELEC 1')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NeonDbError);
    expect((failure as NeonDbError).code).toBe('42601');
    expect((failure as NeonDbError).position).toBe('1');
  });
});

describe('NeonLocalServer WebSocket proxy (Pool)', () => {
  it('runs a transaction that other connections see only after COMMIT', async () => {
    const pool = new Pool({ connectionString, max: 2 });
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${table} (id, label) VALUES ($1, $2)`, [30, 'over websocket']);
        expect(await countItems('id = 30')).toBe(0);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect(await countItems('id = 30')).toBe(1);
      const { rows } = await pool.query(`SELECT label FROM ${table} WHERE id = $1`, [30]);
      expect(rows).toEqual([{ label: 'over websocket' }]);
    } finally {
      await pool.end();
    }
  });

  it('rolls back over WebSocket', async () => {
    const pool = new Pool({ connectionString, max: 1 });
    try {
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} (id, label) VALUES (31, 'rolled back')`);
      await client.query('ROLLBACK');
      client.release();
      expect(await countItems('id = 31')).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('serves concurrent clients, each on its own PostgreSQL backend', async () => {
    const pool = new Pool({ connectionString, max: 4 });
    try {
      const clients = await Promise.all([1, 2, 3, 4].map(() => pool.connect()));
      const pids = await Promise.all(
        clients.map(async (client, index) => {
          const { rows } = await client.query<{ pid: number; n: number }>('SELECT pg_backend_pid() AS pid, $1::int AS n', [index]);
          return rows[0];
        }),
      );
      for (const client of clients) client.release();
      expect(pids.map((row) => row?.n)).toEqual([0, 1, 2, 3]);
      expect(new Set(pids.map((row) => row?.pid)).size).toBe(4);
    } finally {
      await pool.end();
    }
  });

  it('refuses to relay to any address but the configured PostgreSQL', async () => {
    const elsewhere = connectionString.replace(':5432/', ':6379/');
    const pool = new Pool({ connectionString: elsewhere, max: 1, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
    try {
      // The client rejects with the WebSocket's error event: the upgrade was answered 403.
      const refused: unknown = await pool.query('SELECT 1').catch((error: unknown) => error);
      expect((refused as { message?: string }).message).toBe('Unexpected server response: 403');
    } finally {
      await pool.end();
    }
  });
});

describe('NeonLocalServer lifecycle', () => {
  it('closes idempotently and refuses bad options', async () => {
    const temporary = await NeonLocalServer.create({ postgres: POSTGRES });
    await Promise.all([temporary.close(), temporary.close()]);
    await temporary.close();
    await expect(NeonLocalServer.create({ postgres: { ...POSTGRES, user: '' } })).rejects.toThrow(/postgres needs/);
  });
});
