/**
 * Delays between reconnection attempts: exponential from `baseMs` up to `maxMs`, each drawn at random
 * from its upper half, so that a thousand viewers dropped by one sfu restart do not all come back in
 * the same millisecond.
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor({ baseMs = 500, maxMs = 10_000, random = Math.random }: { baseMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
