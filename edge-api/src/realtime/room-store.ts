import type { ChatMessage, ModerationEntry, Pin, ShowStatus } from '@mytaek1/contracts';

/** A numbered room event as it was sent, kept so that a reconnecting client can resume after it. */
export interface StoredEvent {
  seq: number;
  /** Sent to moderators alone (orders, the moderation log). */
  moderatorsOnly: boolean;
  text: string;
}

/** Where a flash deal stands, as the room last announced it. */
export interface DealPhase {
  /** The deal's terms, so a changed deal is announced again. */
  key: string;
  phase: 'pending' | 'live' | 'over';
}

/** The room's state besides its events and chat: small, rewritten key by key when it changes. */
export interface RoomMeta {
  showId: string;
  epoch: string;
  /** The show and its pins were loaded from the edge API at least once. */
  loaded: boolean;
  status: ShowStatus;
  pins: Pin[];
  stock: Record<string, number>;
  /** User id to the instant (ms) the mute ends. */
  mutes: Record<string, number>;
  bans: string[];
  hearts: number;
  deals: Record<string, DealPhase>;
}

export interface StoredRoom {
  meta: Partial<RoomMeta>;
  /** The most recent events, oldest first. */
  events: StoredEvent[];
  /** The most recent chat that was not deleted, oldest first. */
  chat: ChatMessage[];
  /** The most recent moderation log entries, oldest first. */
  moderation: ModerationEntry[];
}

/**
 * Where a room keeps what must survive it: on Workers, the Durable Object's own SQLite storage
 * (hibernation or eviction then loses nothing); on Node, memory (the room lives as long as the
 * process). Synchronous, like the Durable Object's SQL API, so the room never awaits its own writes.
 */
export interface RoomStore {
  /** The saved room, or null for a room that never ran. */
  load(limits: { events: number; chat: number; moderation: number }): StoredRoom | null;
  saveMeta<K extends keyof RoomMeta>(key: K, value: RoomMeta[K]): void;
  /** Appends an event; keeps at least the latest `keep`. */
  appendEvent(event: StoredEvent, keep: number): void;
  /** Chat is kept whole, with its timestamps, for replays. */
  appendChat(message: ChatMessage): void;
  /** Marks a message deleted; false if the room never had it. */
  deleteChat(messageId: string, at: number): boolean;
  appendModeration(entry: ModerationEntry): void;
  /** The chat for a replay, oldest first, without deleted messages. */
  chatLog(options?: { afterSeq?: number; limit?: number }): ChatMessage[];
}

/** The Node hub's store: the chat log (bounded) for replays while the process runs. */
export class MemoryRoomStore implements RoomStore {
  readonly #chat: ChatMessage[] = [];
  readonly #deleted = new Set<string>();
  readonly #maxChat: number;

  constructor({ maxChat = 20_000 }: { maxChat?: number } = {}) {
    this.#maxChat = maxChat;
  }

  load(): StoredRoom | null {
    return null;
  }

  saveMeta(): void {}

  appendEvent(): void {}

  appendChat(message: ChatMessage): void {
    this.#chat.push(message);
    if (this.#chat.length > this.#maxChat) this.#chat.splice(0, this.#chat.length - this.#maxChat);
  }

  deleteChat(messageId: string): boolean {
    if (!this.#chat.some((m) => m.id === messageId)) return false;
    this.#deleted.add(messageId);
    return true;
  }

  appendModeration(): void {}

  chatLog({ afterSeq = 0, limit = 1000 }: { afterSeq?: number; limit?: number } = {}): ChatMessage[] {
    return this.#chat.filter((m) => m.seq > afterSeq && !this.#deleted.has(m.id)).slice(0, limit);
  }
}

/** The part of a synchronous SQLite API the store uses: a Durable Object's `ctx.storage.sql`, or node:sqlite in tests. */
export interface SqlExec {
  exec(query: string, ...bindings: (string | number | null)[]): Iterable<Record<string, unknown>>;
}

/** The Durable Object's store: four tables in its SQLite storage. */
export class SqlRoomStore implements RoomStore {
  readonly #sql: SqlExec;
  #sinceTrim = 0;

  constructor(sql: SqlExec) {
    this.#sql = sql;
    sql.exec('CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    sql.exec('CREATE TABLE IF NOT EXISTS room_events (seq INTEGER PRIMARY KEY, moderators_only INTEGER NOT NULL, body TEXT NOT NULL)');
    sql.exec(
      'CREATE TABLE IF NOT EXISTS room_chat (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL, deleted_at INTEGER)',
    );
    sql.exec('CREATE TABLE IF NOT EXISTS room_moderation (n INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)');
  }

  #rows(query: string, ...bindings: (string | number | null)[]): Record<string, unknown>[] {
    return [...this.#sql.exec(query, ...bindings)];
  }

  load(limits: { events: number; chat: number; moderation: number }): StoredRoom | null {
    const metaRows = this.#rows('SELECT key, value FROM room_meta');
    if (metaRows.length === 0) return null;
    const meta: Record<string, unknown> = {};
    for (const row of metaRows) meta[String(row.key)] = JSON.parse(String(row.value));
    const events = this.#rows('SELECT seq, moderators_only, body FROM room_events ORDER BY seq DESC LIMIT ?', limits.events)
      .reverse()
      .map((row) => ({ seq: Number(row.seq), moderatorsOnly: Number(row.moderators_only) === 1, text: String(row.body) }));
    const chat = this.#rows('SELECT seq, id, user_id, name, text, at FROM room_chat WHERE deleted_at IS NULL ORDER BY seq DESC LIMIT ?', limits.chat).reverse().map(toChat);
    const moderation = this.#rows('SELECT body FROM room_moderation ORDER BY n DESC LIMIT ?', limits.moderation)
      .reverse()
      .map((row) => JSON.parse(String(row.body)) as ModerationEntry);
    return { meta: meta as Partial<RoomMeta>, events, chat, moderation };
  }

  saveMeta<K extends keyof RoomMeta>(key: K, value: RoomMeta[K]): void {
    this.#sql.exec('INSERT OR REPLACE INTO room_meta (key, value) VALUES (?, ?)', key, JSON.stringify(value));
  }

  appendEvent(event: StoredEvent, keep: number): void {
    this.#sql.exec('INSERT OR REPLACE INTO room_events (seq, moderators_only, body) VALUES (?, ?, ?)', event.seq, event.moderatorsOnly ? 1 : 0, event.text);
    // Trimmed in batches: one DELETE per 64 events keeps the table between keep and keep + 64 rows.
    if (++this.#sinceTrim >= 64) {
      this.#sinceTrim = 0;
      this.#sql.exec('DELETE FROM room_events WHERE seq <= ?', event.seq - keep);
    }
  }

  appendChat(message: ChatMessage): void {
    this.#sql.exec('INSERT INTO room_chat (seq, id, user_id, name, text, at) VALUES (?, ?, ?, ?, ?, ?)', message.seq, message.id, message.userId, message.name, message.text, message.at);
  }

  deleteChat(messageId: string, at: number): boolean {
    const found = this.#rows('SELECT deleted_at FROM room_chat WHERE id = ?', messageId);
    if (found.length === 0) return false;
    this.#sql.exec('UPDATE room_chat SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL', at, messageId);
    return true;
  }

  appendModeration(entry: ModerationEntry): void {
    this.#sql.exec('INSERT INTO room_moderation (body) VALUES (?)', JSON.stringify(entry));
  }

  chatLog({ afterSeq = 0, limit = 1000 }: { afterSeq?: number; limit?: number } = {}): ChatMessage[] {
    return this.#rows('SELECT seq, id, user_id, name, text, at FROM room_chat WHERE deleted_at IS NULL AND seq > ? ORDER BY seq LIMIT ?', afterSeq, limit).map(toChat);
  }
}

function toChat(row: Record<string, unknown>): ChatMessage {
  return { id: String(row.id), seq: Number(row.seq), userId: String(row.user_id), name: String(row.name), text: String(row.text), at: String(row.at) };
}
