import type { ShowEvent, ShowEvents } from '../domain/checkout.ts';

export type ShowEventListener = (event: ShowEvent) => void;

/**
 * The realtime port on a single node: show events go to whoever in this process listens to the
 * show (the in-process realtime hub). Listeners that throw do not stop the others.
 */
export class InProcessShowEvents implements ShowEvents {
  readonly #listeners = new Map<string, Set<ShowEventListener>>();

  subscribe(showId: string, listener: ShowEventListener): () => void {
    const listeners = this.#listeners.get(showId) ?? new Set();
    listeners.add(listener);
    this.#listeners.set(showId, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(showId);
    };
  }

  async publish(showId: string, event: ShowEvent): Promise<void> {
    for (const listener of this.#listeners.get(showId) ?? []) {
      try {
        listener(event);
      } catch (error) {
        console.error('show event listener failed:', error);
      }
    }
  }
}
