import type { Kysely, Selectable } from 'kysely';
import type { UserRecord, UserStore } from '../domain/accounts.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, UsersTable } from './schema.ts';

export class SqlUserStore implements UserStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(id: string): Promise<UserRecord | null> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async insert(user: UserRecord): Promise<boolean> {
    try {
      await this.#db
        .insertInto('users')
        .values({
          id: user.id,
          email: user.email,
          display_name: user.displayName,
          role: user.role,
          password_hash: user.passwordHash,
          created_at: user.createdAt,
        })
        .execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
}

function toUser(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    passwordHash: row.password_hash,
    createdAt: Number(row.created_at),
  };
}
