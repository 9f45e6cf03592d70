import type { PoolConnection } from 'mysql2/promise';

/** A MySQL connection a PlanetScale session keeps between its HTTP requests. */
export interface HeldConnection {
  readonly connection: PoolConnection;
  /** An open transaction as of the last statement that reported the server status. */
  readonly inTransaction: boolean;
  /** The session left state on the connection (SET, USE...): kept until idle, never pooled again. */
  readonly reserved: boolean;
}

/**
 * The connections held by sessions, each with an idle timer, and a per-session queue so that one
 * session's statements run one after another even when its client sends them concurrently.
 */
export class SessionConnections {
  readonly #idleTimeoutMs: number;
  readonly #onIdle: (held: HeldConnection) => void;
  readonly #held = new Map<string, { held: HeldConnection; timer?: NodeJS.Timeout }>();
  readonly #queues = new Map<string, Promise<void>>();

  private constructor(idleTimeoutMs: number, onIdle: (held: HeldConnection) => void) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#onIdle = onIdle;
  }

  /** `onIdle` receives a connection whose session sent nothing for `idleTimeoutMs`, already forgotten. */
  static create(idleTimeoutMs: number, onIdle: (held: HeldConnection) => void): SessionConnections {
    return new SessionConnections(idleTimeoutMs, onIdle);
  }

  get size(): number {
    return this.#held.size;
  }

  has(sessionId: string): boolean {
    return this.#held.has(sessionId);
  }

  /** The session's connection, with its idle timer stopped while a statement runs on it. */
  take(sessionId: string): HeldConnection | undefined {
    const entry = this.#held.get(sessionId);
    if (entry?.timer) clearTimeout(entry.timer);
    return entry?.held;
  }

  /** Keeps (or keeps again) a connection for the session and restarts its idle timer. */
  hold(sessionId: string, held: HeldConnection): void {
    const previous = this.#held.get(sessionId);
    if (previous?.timer) clearTimeout(previous.timer);
    const timer = setTimeout(() => this.#expire(sessionId), this.#idleTimeoutMs);
    this.#held.set(sessionId, { held, timer });
  }

  /** Forgets the session's connection; the caller decides what becomes of it. */
  forget(sessionId: string): void {
    const entry = this.#held.get(sessionId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.#held.delete(sessionId);
  }

  /** Runs `task` after every earlier task of the same session has settled. */
  serialize<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(sessionId) ?? Promise.resolve();
    const run = previous.then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(sessionId, settled);
    void settled.then(() => {
      if (this.#queues.get(sessionId) === settled) this.#queues.delete(sessionId);
    });
    return run;
  }

  /** Forgets every session and returns their connections. */
  drain(): HeldConnection[] {
    const all = [...this.#held.values()];
    for (const entry of all) if (entry.timer) clearTimeout(entry.timer);
    this.#held.clear();
    return all.map((entry) => entry.held);
  }

  #expire(sessionId: string): void {
    const entry = this.#held.get(sessionId);
    if (!entry) return;
    this.#held.delete(sessionId);
    this.#onIdle(entry.held);
  }
}
