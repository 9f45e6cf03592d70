import type { Kysely } from 'kysely';
import type { SessionRecord, SessionStore } from '../domain/accounts.ts';
import type { Database } from './schema.ts';

export class SqlSessionStore implements SessionStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(session: SessionRecord): Promise<void> {
    await this.#db
      .insertInto('sessions')
      .values({ id: session.id, user_id: session.userId, created_at: session.createdAt, expires_at: session.expiresAt })
      .execute();
  }

  async get(id: string): Promise<SessionRecord | null> {
    const row = await this.#db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, userId: row.user_id, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) } : null;
  }

  async delete(id: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('id', '=', id).execute();
  }
}
