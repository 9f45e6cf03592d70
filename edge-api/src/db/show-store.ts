import type { Kysely, Selectable } from 'kysely';
import type { ShowRecord, ShowStatus, ShowStore, ShowSummary } from '../domain/shows.ts';
import type { Database, ShowsTable } from './schema.ts';

export class SqlShowStore implements ShowStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(id: string): Promise<ShowSummary | null> {
    const row = await this.#summaries().where('shows.id', '=', id).executeTakeFirst();
    return row ? toSummary(row) : null;
  }

  async listByStatus(status: ShowStatus, limit: number): Promise<ShowSummary[]> {
    // Upcoming shows soonest first; live and ended ones most recent first.
    const direction = status === 'scheduled' ? 'asc' : 'desc';
    const column = status === 'ended' ? 'shows.ended_at' : status === 'live' ? 'shows.started_at' : 'shows.scheduled_at';
    const rows = await this.#summaries().where('shows.status', '=', status).orderBy(column, direction).orderBy('shows.id').limit(limit).execute();
    return rows.map(toSummary);
  }

  async liveOrNextFor(sellerId: string): Promise<ShowRecord | null> {
    const candidates = this.#summaries().where('shows.seller_id', '=', sellerId);
    const live = await candidates.where('shows.status', '=', 'live').orderBy('shows.started_at', 'desc').executeTakeFirst();
    const next = live ?? (await candidates.where('shows.status', '=', 'scheduled').orderBy('shows.scheduled_at', 'asc').executeTakeFirst());
    return next ? toSummary(next) : null;
  }

  async insert(show: ShowRecord): Promise<void> {
    await this.#db
      .insertInto('shows')
      .values({
        id: show.id,
        seller_id: show.sellerId,
        title: show.title,
        description: show.description,
        status: show.status,
        scheduled_at: show.scheduledAt,
        started_at: show.startedAt,
        ended_at: show.endedAt,
        replay_url: show.replay?.playlistUrl ?? null,
        replay_duration_ms: show.replay?.durationMs ?? null,
        created_at: Date.now(),
        version: show.version,
      })
      .execute();
  }

  async update(show: ShowRecord): Promise<boolean> {
    const result = await this.#db
      .updateTable('shows')
      .set({
        title: show.title,
        description: show.description,
        status: show.status,
        scheduled_at: show.scheduledAt,
        started_at: show.startedAt,
        ended_at: show.endedAt,
        replay_url: show.replay?.playlistUrl ?? null,
        replay_duration_ms: show.replay?.durationMs ?? null,
        version: show.version,
      })
      .where('id', '=', show.id)
      .where('version', '=', show.version - 1)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  #summaries() {
    return this.#db
      .selectFrom('shows')
      .innerJoin('users', 'users.id', 'shows.seller_id')
      .selectAll('shows')
      .select('users.display_name as seller_name');
  }
}

function toSummary(row: Selectable<ShowsTable> & { seller_name: string }): ShowSummary {
  return {
    id: row.id,
    sellerId: row.seller_id,
    sellerName: row.seller_name,
    title: row.title,
    description: row.description,
    status: row.status,
    scheduledAt: Number(row.scheduled_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    replay: row.replay_url === null ? null : { playlistUrl: row.replay_url, durationMs: Number(row.replay_duration_ms ?? 0) },
    version: Number(row.version),
  };
}
