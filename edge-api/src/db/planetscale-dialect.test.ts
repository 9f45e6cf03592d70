import { randomBytes } from 'node:crypto';
import { PlanetScaleHttpServer } from '@mytaek1/local-cloud';
import { type Generated, Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanetScaleDialect } from './planetscale-dialect.ts';

interface ItemsTable {
  id: Generated<number>;
  name: string;
  /** BIGINT: the PlanetScale client hands it back as a string. */
  price_minor: string | number;
  stock: number;
}

const table = `kysely_ps_items_${process.pid}_${randomBytes(3).toString('hex')}`;
type TestDatabase = Record<typeof table, ItemsTable>;

let server: PlanetScaleHttpServer;
let db: Kysely<TestDatabase>;

async function names(): Promise<string[]> {
  const rows = await db.selectFrom(table).select('name').orderBy('id').execute();
  return rows.map((row) => row.name);
}

beforeAll(async () => {
  server = await PlanetScaleHttpServer.create({
    mysql: { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' },
    username: 'edge',
    password: 'edge-secret',
  });
  db = new Kysely<TestDatabase>({ dialect: new PlanetScaleDialect({ url: server.url }) });
  await db.schema
    .createTable(table)
    .addColumn('id', 'integer', (column) => column.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(64)', (column) => column.notNull())
    .addColumn('price_minor', 'bigint', (column) => column.notNull())
    .addColumn('stock', 'integer', (column) => column.notNull())
    .execute();
});

afterAll(async () => {
  await db?.schema.dropTable(table).ifExists().execute();
  await db?.destroy();
  await server?.close();
});

describe('PlanetScaleDialect', () => {
  it('inserts, reporting the generated id, and selects with parameters', async () => {
    const first = await db.insertInto(table).values({ name: 'Lamp ✨', price_minor: 4999, stock: 3 }).executeTakeFirstOrThrow();
    expect(first.insertId).toBe(1n);
    expect(first.numInsertedOrUpdatedRows).toBe(1n);
    await db
      .insertInto(table)
      .values([
        { name: "O'Brien's chair", price_minor: '9007199254740993', stock: 0 },
        { name: 'Rug', price_minor: 12000, stock: 8 },
      ])
      .execute();

    const inStock = await db
      .selectFrom(table)
      .select(['id', 'name', 'price_minor', 'stock'])
      .where('stock', '>', 0)
      .where('name', 'like', '%a%')
      .orderBy('id')
      .execute();
    expect(inStock).toEqual([{ id: 1, name: 'Lamp ✨', price_minor: '4999', stock: 3 }]);
    const chair = await db.selectFrom(table).select('price_minor').where('name', '=', "O'Brien's chair").executeTakeFirstOrThrow();
    expect(chair.price_minor).toBe('9007199254740993');
  });

  it('commits a transaction that other sessions see only afterwards', async () => {
    const seenOutside = await db.transaction().execute(async (trx) => {
      await trx.insertInto(table).values({ name: 'Committed', price_minor: 100, stock: 1 }).execute();
      const inside = await trx.selectFrom(table).select('name').where('name', '=', 'Committed').execute();
      expect(inside).toEqual([{ name: 'Committed' }]);
      // `db` acquires another connection, hence another session and another MySQL connection.
      return db.selectFrom(table).select('name').where('name', '=', 'Committed').execute();
    });
    expect(seenOutside).toEqual([]);
    expect(await names()).toContain('Committed');
  });

  it('rolls a transaction back when its callback throws', async () => {
    const failing = db.transaction().execute(async (trx) => {
      await trx.insertInto(table).values({ name: 'Rolled back', price_minor: 1, stock: 1 }).execute();
      throw new Error('abort the sale');
    });
    await expect(failing).rejects.toThrow('abort the sale');
    expect(await names()).not.toContain('Rolled back');
  });

  it('counts the rows a conditional UPDATE changed, so stock never goes below zero', async () => {
    const { insertId } = await db.insertInto(table).values({ name: 'Last two', price_minor: 500, stock: 2 }).executeTakeFirstOrThrow();
    const id = Number(insertId);
    const sell = () =>
      db
        .updateTable(table)
        .set((eb) => ({ stock: eb('stock', '-', 1) }))
        .where('id', '=', id)
        .where('stock', '>=', 1)
        .executeTakeFirstOrThrow();
    const outcomes = [await sell(), await sell(), await sell()].map((result) => result.numUpdatedRows);
    expect(outcomes).toEqual([1n, 1n, 0n]);
    const { stock } = await db.selectFrom(table).select('stock').where('id', '=', id).executeTakeFirstOrThrow();
    expect(stock).toBe(0);
  });

  it('applies the transaction access mode on the transaction’s own session', async () => {
    const readOnly = db
      .transaction()
      .setAccessMode('read only')
      .execute((trx) => trx.insertInto(table).values({ name: 'Read only', price_minor: 1, stock: 1 }).execute());
    await expect(readOnly).rejects.toThrow(/READ ONLY transaction/);
    expect(await names()).not.toContain('Read only');
  });

  it('rolls back to a savepoint inside a controlled transaction', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto(table).values({ name: 'Before savepoint', price_minor: 1, stock: 1 }).execute();
    const afterSavepoint = await trx.savepoint('before_extra').execute();
    await afterSavepoint.insertInto(table).values({ name: 'After savepoint', price_minor: 1, stock: 1 }).execute();
    await afterSavepoint.rollbackToSavepoint('before_extra').execute();
    await trx.commit().execute();
    const saved = await names();
    expect(saved).toContain('Before savepoint');
    expect(saved).not.toContain('After savepoint');
  });

  it('surfaces database errors from the client', async () => {
    await expect(sql`SELECT * FROM ${sql.table(`missing_${table}`)}`.execute(db)).rejects.toThrow(/doesn't exist/);
  });
});
