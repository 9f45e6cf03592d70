import { randomBytes } from 'node:crypto';
import { connect, DatabaseError } from '@planetscale/database';
import mysql, { type Connection as MysqlConnection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanetScaleHttpServer } from './planetscale-http-server.ts';

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' };
const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
const typesTable = `ps_types_${suffix}`;
const ledgerTable = `ps_ledger_${suffix}`;

let server: PlanetScaleHttpServer;
/** A direct MySQL connection, outside the server, to see what other clients see. */
let observer: MysqlConnection;

async function countRows(tableAndCondition: string): Promise<number> {
  const [rows] = await observer.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${tableAndCondition}`);
  return Number(rows[0]?.n);
}

beforeAll(async () => {
  server = await PlanetScaleHttpServer.create({ mysql: MYSQL, username: 'app', password: 'p@ss:word/1' });
  observer = await mysql.createConnection(MYSQL);
  await observer.query(`CREATE TABLE ${ledgerTable} (id INT PRIMARY KEY, note VARCHAR(50) NOT NULL)`);
});

afterAll(async () => {
  await observer.query(`DROP TABLE IF EXISTS ${typesTable}, ${ledgerTable}`);
  await observer.end();
  await server.close();
});

describe('PlanetScaleHttpServer', () => {
  it('serves a URL that connect() accepts, with credentials that need encoding', () => {
    expect(server.url).toBe(`http://app:p%40ss%3Aword%2F1@127.0.0.1:${server.port}`);
  });

  it('round-trips MySQL types as the client casts them', async () => {
    const conn = connect({ url: server.url });
    await conn.execute(
      `CREATE TABLE ${typesTable} (
         id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT, small INT, big BIGINT, price DECIMAL(10,2),
         name VARCHAR(40), missing VARCHAR(10), at DATETIME, doc JSON, raw VARBINARY(8), note TEXT)`,
    );
    const unicode = 'héllo wörld 🌍 日本語';
    const insert = await conn.execute(
      `INSERT INTO ${typesTable} (small, big, price, name, missing, at, doc, raw, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [-42, '9007199254740993', '1234.50', unicode, null, '2024-02-29 13:14:15', '{"tags":["a","b"],"n":1}', new Uint8Array([0, 255, 16]), "it's"],
    );
    expect(insert.rowsAffected).toBe(1);
    expect(insert.insertId).toBe('1');

    const selected = await conn.execute(`SELECT * FROM ${typesTable} WHERE name = ?`, [unicode]);
    expect(selected.rows).toEqual([
      {
        id: 1,
        small: -42,
        big: '9007199254740993',
        price: '1234.50',
        name: unicode,
        missing: null,
        at: '2024-02-29 13:14:15',
        doc: { tags: ['a', 'b'], n: 1 },
        raw: new Uint8Array([0, 255, 16]),
        note: "it's",
      },
    ]);
    expect(selected.types).toEqual({
      id: 'UINT32',
      small: 'INT32',
      big: 'INT64',
      price: 'DECIMAL',
      name: 'VARCHAR',
      missing: 'VARCHAR',
      at: 'DATETIME',
      doc: 'JSON',
      raw: 'VARBINARY',
      note: 'TEXT',
    });
    expect(selected.fields.find((field) => field.name === 'raw')?.charset).toBe(63);
  });

  it('names the Vitess type of every other MySQL column kind', async () => {
    const conn = connect({ url: server.url });
    const table = `ps_kinds_${suffix}`;
    await conn.execute(
      `CREATE TABLE ${table} (
         tiny TINYINT UNSIGNED, huge BIGINT UNSIGNED, f FLOAT, d DOUBLE, day DATE, clock TIME, stamp TIMESTAMP NULL,
         yr YEAR, kind ENUM('a','b'), flags SET('x','y','z'), bits BIT(3), code CHAR(2), fixed BINARY(2), bytes BLOB,
         exact VARCHAR(8) COLLATE utf8mb4_bin)`,
    );
    try {
      await conn.execute(
        `INSERT INTO ${table} VALUES (255, 18446744073709551615, 1.5, 2.25, '2024-02-29', '13:14:15', '2024-02-29 13:14:15',
           2024, 'b', 'x,z', b'101', 'ab', x'0102', x'00ff', 'Case')`,
      );
      const { rows, types } = await conn.execute(`SELECT * FROM ${table}`);
      expect(types).toEqual({
        tiny: 'UINT8',
        huge: 'UINT64',
        f: 'FLOAT32',
        d: 'FLOAT64',
        day: 'DATE',
        clock: 'TIME',
        stamp: 'TIMESTAMP',
        yr: 'YEAR',
        kind: 'ENUM',
        flags: 'SET',
        bits: 'BIT',
        code: 'CHAR',
        fixed: 'BINARY',
        bytes: 'BLOB',
        // A binary collation is still text: only the binary charset (63) makes bytes.
        exact: 'VARCHAR',
      });
      expect(rows).toEqual([
        {
          tiny: 255,
          huge: '18446744073709551615',
          f: 1.5,
          d: 2.25,
          day: '2024-02-29',
          clock: '13:14:15',
          stamp: '2024-02-29 13:14:15',
          yr: 2024,
          kind: 'b',
          flags: 'x,z',
          bits: new Uint8Array([5]),
          code: 'ab',
          fixed: new Uint8Array([1, 2]),
          bytes: new Uint8Array([0, 255]),
          exact: 'Case',
        },
      ]);
    } finally {
      await observer.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });

  it('answers expressions, NULL columns and empty results, and runs in UTC', async () => {
    const conn = connect({ url: server.url });
    const { rows } = await conn.execute("SELECT 1 + 1 AS two, NULL AS nothing, '' AS empty, @@session.time_zone AS tz");
    expect(rows).toEqual([{ two: 2, nothing: null, empty: '', tz: '+00:00' }]);
    const none = await conn.execute(`SELECT id FROM ${ledgerTable} WHERE id = ?`, [-1]);
    expect(none.rows).toEqual([]);
    expect(none.headers).toEqual(['id']);
  });

  it('commits a transaction that other connections cannot see until COMMIT', async () => {
    const heldBefore = server.heldSessionCount;
    const conn = connect({ url: server.url });
    const seenDuring = await conn.transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (?, ?), (?, ?)`, [1, 'one', 2, 'two']);
      const inside = await tx.execute(`SELECT COUNT(*) AS n FROM ${ledgerTable} WHERE id IN (1, 2)`);
      return { inside: inside.rows[0], outside: await countRows(`${ledgerTable} WHERE id IN (1, 2)`) };
    });
    // COUNT(*) is a BIGINT, which the client leaves as a string.
    expect(seenDuring).toEqual({ inside: { n: '2' }, outside: 0 });
    expect(await countRows(`${ledgerTable} WHERE id IN (1, 2)`)).toBe(2);
    expect(server.heldSessionCount).toBe(heldBefore);
  });

  it('rolls back a transaction whose function throws', async () => {
    const heldBefore = server.heldSessionCount;
    const conn = connect({ url: server.url });
    const failure = conn.transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (?, ?)`, [3, 'three']);
      expect(await countRows(`${ledgerTable} WHERE id = 3`)).toBe(0);
      throw new Error('changed my mind');
    });
    await expect(failure).rejects.toThrow('changed my mind');
    expect(await countRows(`${ledgerTable} WHERE id = 3`)).toBe(0);
    expect(server.heldSessionCount).toBe(heldBefore);
  });

  it('surfaces MySQL errors as the client’s DatabaseError with Vitess codes', async () => {
    const conn = connect({ url: server.url });
    await conn.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (10, 'first')`);
    const duplicate = await conn.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (10, 'again')`).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(DatabaseError);
    expect((duplicate as DatabaseError).body.code).toBe('ALREADY_EXISTS');
    expect((duplicate as DatabaseError).message).toMatch(/Duplicate entry '10' for key .*\(errno 1062\) \(sqlstate 23000\)/);

    const syntax = await conn.execute('SELEC 1').catch((error: unknown) => error);
    expect((syntax as DatabaseError).body.code).toBe('INVALID_ARGUMENT');
    const missing = await conn.execute(`SELECT * FROM no_such_table_${suffix}`).catch((error: unknown) => error);
    expect((missing as DatabaseError).body.code).toBe('NOT_FOUND');
  });

  it('refuses wrong credentials with 401', async () => {
    const url = server.url.replace('p%40ss', 'wrong');
    const refused = await connect({ url }).execute('SELECT 1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DatabaseError);
    expect((refused as DatabaseError).status).toBe(401);
    expect((refused as DatabaseError).body.code).toBe('UNAUTHENTICATED');
  });

  it('gives concurrent transactions their own connections, each kept for the whole transaction', async () => {
    const heldBefore = server.heldSessionCount;
    const open = Promise.withResolvers<void>();
    let opened = 0;
    const transaction = (id: number) =>
      connect({ url: server.url }).transaction(async (tx) => {
        const first = await tx.execute('SELECT CONNECTION_ID() AS cid');
        await tx.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (?, 'concurrent')`, [id]);
        if (++opened === 3) open.resolve();
        await open.promise; // all three transactions are open at once here
        const last = await tx.execute('SELECT CONNECTION_ID() AS cid');
        return [first.rows[0], last.rows[0]] as Array<{ cid: number }>;
      });
    const results = await Promise.all([transaction(21), transaction(22), transaction(23)]);
    for (const [first, last] of results) expect(first?.cid).toBe(last?.cid);
    expect(new Set(results.map(([first]) => first?.cid)).size).toBe(3);
    expect(await countRows(`${ledgerTable} WHERE id BETWEEN 21 AND 23`)).toBe(3);
    expect(server.heldSessionCount).toBe(heldBefore);
  });

  it('keeps session variables on the session’s connection without leaking them to the pool', async () => {
    const owner = connect({ url: server.url });
    await owner.execute('SET @marker = ?', ['mine']);
    const [own, other] = await Promise.all([
      owner.execute('SELECT @marker AS marker'),
      connect({ url: server.url }).execute('SELECT @marker AS marker'),
    ]);
    expect(own.rows).toEqual([{ marker: 'mine' }]);
    expect(other.rows).toEqual([{ marker: null }]);
  });

  it('applies SET TRANSACTION to the session’s next transaction', async () => {
    const heldBefore = server.heldSessionCount;
    const conn = connect({ url: server.url });
    await conn.execute('SET TRANSACTION READ ONLY');
    await conn.execute('BEGIN');
    const write = await conn.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (41, 'read only')`).catch((error: unknown) => error);
    await conn.execute('ROLLBACK');
    expect((write as DatabaseError).message).toMatch(/READ ONLY transaction/);
    expect((write as DatabaseError).body.code).toBe('FAILED_PRECONDITION');
    expect(server.heldSessionCount).toBe(heldBefore);
    // The characteristic was for that one transaction only.
    await conn.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (41, 'writable again')`);
    expect(await countRows(`${ledgerTable} WHERE id = 41`)).toBe(1);
  });

  it('creates a session on request (Connection.refresh)', async () => {
    const conn = connect({ url: server.url });
    await conn.refresh();
    const { rows } = await conn.execute('SELECT 7 AS seven');
    expect(rows).toEqual([{ seven: 7 }]);
  });
});

describe('PlanetScaleHttpServer idle sessions', () => {
  it('rolls back a transaction left idle and tells its client', async () => {
    const shortLived = await PlanetScaleHttpServer.create({ mysql: MYSQL, username: 'app', password: 'secret', sessionIdleTimeoutMs: 150 });
    try {
      const conn = connect({ url: shortLived.url });
      await conn.execute('BEGIN');
      await conn.execute(`INSERT INTO ${ledgerTable} (id, note) VALUES (31, 'abandoned')`);
      expect(shortLived.heldSessionCount).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(shortLived.heldSessionCount).toBe(0);
      const late = await conn.execute('COMMIT').catch((error: unknown) => error);
      expect((late as DatabaseError).body.code).toBe('ABORTED');
      expect(await countRows(`${ledgerTable} WHERE id = 31`)).toBe(0);
      // The session is usable again afterwards.
      expect((await conn.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await shortLived.close();
    }
  });

  it('closes idempotently and refuses bad options', async () => {
    const temporary = await PlanetScaleHttpServer.create({ mysql: MYSQL, username: 'app', password: 'secret' });
    await Promise.all([temporary.close(), temporary.close()]);
    await temporary.close();
    await expect(PlanetScaleHttpServer.create({ mysql: MYSQL, username: 'a:b', password: 'x' })).rejects.toThrow(/username/);
    await expect(PlanetScaleHttpServer.create({ mysql: { ...MYSQL, port: 1 }, username: 'a', password: 'x' })).rejects.toThrow();
  });
});
