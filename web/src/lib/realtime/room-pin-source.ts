import type { Pin } from '@mytaek1/contracts';
import type { PinSource } from '../commerce/pin-source.ts';
import type { RoomConnection, RoomState } from './RoomConnection.ts';

/**
 * Pins and stock from the show's realtime room: the room's snapshot, then every pin, unpin, flash
 * deal and stock event the moment it happens. While the room is not connected (still joining,
 * rejoining after a drop, or refused for good), `fallback` (the polling source) delivers instead,
 * so the page keeps fresh stock either way.
 */
export function roomPinSource(room: RoomConnection, fallback?: PinSource): PinSource {
  return {
    subscribe(onPins) {
      let lastPins: readonly Pin[] | null = null;
      let stopFallback: (() => void) | null = null;
      const stopRoom = room.subscribe((state: RoomState) => {
        const inRoom = state.phase === 'live' && state.synced;
        if (inRoom) {
          stopFallback?.();
          stopFallback = null;
          if (state.pins !== lastPins) {
            lastPins = state.pins;
            onPins([...state.pins]);
          }
        } else if (fallback && !stopFallback) {
          lastPins = null;
          stopFallback = fallback.subscribe(onPins);
          // Dropped out of the room: the stock may have moved since its last event.
          if (state.synced || state.phase === 'closed') fallback.refresh();
        }
      });
      return () => {
        stopRoom();
        stopFallback?.();
      };
    },
    refresh() {
      // In the room, stock events arrive by themselves; outside it, the fallback asks now.
      const state = room.state;
      if (!(state.phase === 'live' && state.synced)) fallback?.refresh();
    },
  };
}
