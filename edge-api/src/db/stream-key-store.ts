import type { Kysely, Selectable } from 'kysely';
import type { StreamKeyRecord, StreamKeyStore } from '../domain/stream-keys.ts';
import type { Database, StreamKeysTable } from './schema.ts';

export class SqlStreamKeyStore implements StreamKeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async activeFor(sellerId: string): Promise<StreamKeyRecord | null> {
    const row = await this.#db.selectFrom('stream_keys').selectAll().where('seller_id', '=', sellerId).where('revoked_at', 'is', null).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async find(streamKey: string): Promise<StreamKeyRecord | null> {
    const row = await this.#db.selectFrom('stream_keys').selectAll().where('stream_key', '=', streamKey).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async replace(sellerId: string, next: StreamKeyRecord | null, now: number): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      await tx.updateTable('stream_keys').set({ revoked_at: now }).where('seller_id', '=', sellerId).where('revoked_at', 'is', null).execute();
      if (next) {
        await tx.insertInto('stream_keys').values({ stream_key: next.streamKey, seller_id: next.sellerId, created_at: next.createdAt, revoked_at: null }).execute();
      }
    });
  }
}

function toRecord(row: Selectable<StreamKeysTable>): StreamKeyRecord {
  return { streamKey: row.stream_key, sellerId: row.seller_id, createdAt: Number(row.created_at), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at) };
}
