import type { Kysely } from 'kysely';
import { isUniqueViolation } from './errors.ts';
import type { Database } from './schema.ts';

/** Payment webhook events already applied, so a replayed delivery changes nothing. */
export class SqlWebhookEventStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async seen(eventId: string): Promise<boolean> {
    return (await this.#db.selectFrom('processed_webhook_events').select('id').where('id', '=', eventId).executeTakeFirst()) !== undefined;
  }

  async record(eventId: string, now: number): Promise<void> {
    try {
      await this.#db.insertInto('processed_webhook_events').values({ id: eventId, processed_at: now }).execute();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
}
