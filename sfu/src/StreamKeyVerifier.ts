/** What the edge API says of a stream key: the show it may publish, or why not. */
export type StreamKeyVerdict =
  | { ok: true; showId: string; sellerId: string }
  /** `unknown_key` and `no_scheduled_show` come from the edge API; `verifier_*` when it could not be asked. */
  | { ok: false; reason: string };

/**
 * The port through which WHIP checks a stream key (a bearer that is not an sfu token). The edge API
 * owns stream keys; HttpStreamKeyVerifier asks it over HTTP, tests may answer themselves.
 */
export type StreamKeyVerifier = {
  verify(streamKey: string): Promise<StreamKeyVerdict>;
};
