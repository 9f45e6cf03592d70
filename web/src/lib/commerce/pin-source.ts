/**
 * Where the show page gets its pinned products, live. Today a poller of GET /v1/shows/{id}/pins
 * while the tab is visible; once the show's realtime room carries pins and stock, a WebSocket
 * source implements the same interface and the page does not change.
 */
import type { Pin } from '@mytaek1/contracts';
import type { ApiClient } from '../api.ts';

export interface PinSource {
  /** Delivers the show's pins (slot order) to `onPins` whenever they may have changed, until the returned function is called. */
  subscribe(onPins: (pins: Pin[]) => void): () => void;
  /** Asks for fresh pins now, e.g. right after a purchase attempt changed the stock. */
  refresh(): void;
}

/** Whether anyone is looking: a hidden tab does not poll. */
export interface PageVisibility {
  visible(): boolean;
  onChange(listener: () => void): () => void;
}

export const documentVisibility: PageVisibility = {
  visible: () => document.visibilityState === 'visible',
  onChange: (listener) => {
    document.addEventListener('visibilitychange', listener);
    return () => document.removeEventListener('visibilitychange', listener);
  },
};

export const PIN_POLL_INTERVAL_MS = 2_000;

/**
 * Polls `fetchPins` every `intervalMs` while there is a subscriber and the page is visible, at once
 * when it becomes visible again, and never with two requests in flight. A failed poll keeps the
 * last pins on screen; the next one tries again.
 */
export function pollingPinSource(
  fetchPins: (signal: AbortSignal) => Promise<Pin[]>,
  { intervalMs = PIN_POLL_INTERVAL_MS, visibility = documentVisibility }: { intervalMs?: number; visibility?: PageVisibility } = {},
): PinSource {
  const listeners = new Set<(pins: Pin[]) => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | undefined;
  let stopWatchingVisibility: (() => void) | undefined;

  const schedule = () => {
    clearTimeout(timer);
    timer = listeners.size > 0 && visibility.visible() ? setTimeout(poll, intervalMs) : undefined;
  };

  const poll = async () => {
    clearTimeout(timer);
    inFlight?.abort();
    const request = (inFlight = new AbortController());
    try {
      const pins = await fetchPins(request.signal);
      if (!request.signal.aborted) for (const listener of listeners) listener(pins);
    } catch {
      // Offline, or the API hiccupped: the pins on screen stay until a poll succeeds.
    }
    // A newer poll (or a stop) took over from this one: that one schedules, or nothing does.
    if (inFlight !== request) return;
    inFlight = undefined;
    schedule();
  };

  const onVisibilityChange = () => {
    if (visibility.visible()) void poll();
    else clearTimeout(timer);
  };

  return {
    subscribe(onPins) {
      listeners.add(onPins);
      if (listeners.size === 1) {
        stopWatchingVisibility = visibility.onChange(onVisibilityChange);
        schedule();
      }
      return () => {
        listeners.delete(onPins);
        if (listeners.size > 0) return;
        stopWatchingVisibility?.();
        clearTimeout(timer);
        inFlight?.abort();
        inFlight = undefined;
      };
    },
    refresh() {
      if (listeners.size > 0) void poll();
    },
  };
}

/** The show's pins through the typed client (in the browser: this site's /api proxy). */
export function showPinsFetcher(api: ApiClient, showId: string): (signal: AbortSignal) => Promise<Pin[]> {
  return async (signal) => {
    const response = await api.v1.shows[':id'].pins.$get({ param: { id: showId } }, { init: { signal, cache: 'no-store' } });
    if (response.status !== 200) throw new Error(`GET /v1/shows/${showId}/pins answered ${response.status}`);
    return (await response.json()).pins;
  };
}
