/** A replay finalised on the local disk: `replays/<showId>/` under MEDIA_DIR. */
export interface FinalisedReplay {
  showId: string;
  /** The replay's directory: the VOD playlist and its recorded parts. */
  dir: string;
  /** The VOD playlist's file name inside `dir`. */
  playlistFile: string;
}

/**
 * Where finished replays are kept and served from. `put` makes every file of the replay available
 * (the playlist last, so that nobody reads a playlist whose segments are not there yet) and answers
 * the playlist's public URL, which the edge API hands to players.
 */
export interface ReplayStorage {
  readonly kind: 'local' | 's3';
  put(replay: FinalisedReplay): Promise<string>;
}
