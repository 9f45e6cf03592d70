/** The port is shared with the sfu's WHIP endpoint: it lives in @mytaek1/contracts. */
export type { StreamKeyVerdict, StreamKeyVerifier } from '@mytaek1/contracts';

/** Why a publish was refused; free text from the verifier, or one of the transcoder's own reasons. */
export type PublishRefusalReason = string;
