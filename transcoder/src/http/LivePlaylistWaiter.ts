import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { nextMediaSequence, parseMediaPlaylist } from '../hls/MediaPlaylist.ts';

/** What a blocked playlist request ends with. */
export type PlaylistWait = { kind: 'ready'; text: string } | { kind: 'timeout'; text: string | undefined } | { kind: 'too_far'; text: string } | { kind: 'missing' };

type Watched = { watcher: FSWatcher | undefined; poll: NodeJS.Timeout; waiters: Set<() => void> };

/**
 * Blocking playlist reload (LL-HLS, RFC 8216bis section 6.2.5.2): a player asks for the live playlist
 * with `_HLS_msn=N` and the answer waits until the playlist lists segment N, instead of the player
 * polling and finding it a poll late. One directory watch per live show, shared by every waiting
 * request (FFmpeg renames each new playlist into place), with a slow poll in case an event is missed.
 */
export class LivePlaylistWaiter {
  readonly #watched = new Map<string, Watched>();

  static create(): LivePlaylistWaiter {
    return new LivePlaylistWaiter();
  }

  /**
   * Resolves with the playlist text once it lists media sequence `msn` (or ended), after `timeoutMs`
   * with whatever it has, at once with `too_far` when `msn` is more than two segments ahead of the
   * playlist (the specification's limit), and `missing` when there is no playlist.
   */
  async waitFor(path: string, msn: number, timeoutMs: number): Promise<PlaylistWait> {
    const check = async (): Promise<PlaylistWait | undefined> => {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) return { kind: 'missing' };
      let next: number;
      let ended: boolean;
      try {
        const playlist = parseMediaPlaylist(text);
        next = nextMediaSequence(playlist);
        ended = playlist.endList;
      } catch {
        return undefined; // caught between writes: look again on the next change
      }
      if (ended || next > msn) return { kind: 'ready', text };
      if (msn > next + 1) return { kind: 'too_far', text };
      return undefined;
    };
    const first = await check();
    if (first) return first;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: PlaylistWait) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#release(path, onChange);
        resolve(result);
      };
      const onChange = () => {
        void check().then((result) => result && finish(result));
      };
      const timer = setTimeout(() => void readFile(path, 'utf8').then((text) => finish({ kind: 'timeout', text }), () => finish({ kind: 'missing' })), timeoutMs);
      this.#hold(path, onChange);
    });
  }

  /** Stops every watch (pending requests time out as usual). */
  close(): void {
    for (const watched of this.#watched.values()) {
      watched.watcher?.close();
      clearInterval(watched.poll);
    }
    this.#watched.clear();
  }

  #hold(path: string, waiter: () => void): void {
    let watched = this.#watched.get(path);
    if (!watched) {
      const waiters = new Set<() => void>();
      const notify = () => {
        for (const notifyOne of waiters) notifyOne();
      };
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(dirname(path), (_event, name) => {
          if (name === basename(path)) notify();
        });
        watcher.on('error', () => undefined);
      } catch {
        watcher = undefined; // the directory is gone: the poll and the timeout still answer
      }
      watched = { watcher, poll: setInterval(notify, 250), waiters };
      this.#watched.set(path, watched);
    }
    watched.waiters.add(waiter);
  }

  #release(path: string, waiter: () => void): void {
    const watched = this.#watched.get(path);
    if (!watched) return;
    watched.waiters.delete(waiter);
    if (watched.waiters.size > 0) return;
    watched.watcher?.close();
    clearInterval(watched.poll);
    this.#watched.delete(path);
  }
}
