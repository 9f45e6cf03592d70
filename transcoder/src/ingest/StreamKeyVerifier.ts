import type { Id } from '@mytaek1/contracts';

/** Why a publish was refused; free text from the verifier, or one of the transcoder's own reasons. */
export type PublishRefusalReason = string;

export type StreamKeyVerdict =
  | { ok: true; showId: Id; sellerId: Id }
  | { ok: false; reason: PublishRefusalReason };

/**
 * The port through which the ingest asks whether a stream key may publish, and for which show.
 * The edge API owns stream keys; the transcoder keeps no commerce state and asks on every publish.
 * Implementations fail closed: an unreachable or confused verifier refuses.
 */
export interface StreamKeyVerifier {
  verify(streamKey: string): Promise<StreamKeyVerdict>;
}
