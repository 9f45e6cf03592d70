import { SignalingCloseCode, SignalingCloseReason, type RoomClosedReason } from '@mytaek1/contracts';

/** What a media session does after its signaling connection ended or could not be made. */
export type SessionOutcome =
  /** Try again after a backoff delay (`soon`: with a fresh token, no delay the first time). */
  | { kind: 'retry'; cause: string; soon?: boolean }
  /** The show is over: nothing to reconnect to. */
  | { kind: 'ended' }
  /** The sfu or the edge API said no, and asking again would get the same answer. */
  | { kind: 'refused'; reason: string; message: string };

/** Words a person can act on, for each reason the sfu or the edge API may refuse someone. */
const REFUSALS: Record<string, string> = {
  token_bad_signature:
    'The video server refused this page’s access pass: its signature does not match. Reload the page; if this keeps happening, the site’s video server and API are not configured with the same secret.',
  token_malformed: 'The video server refused this page’s access pass: it is not a valid pass. Reload the page to get a new one.',
  token_wrong_audience: 'The video server refused this page’s access pass: it was issued for another service. Reload the page to get a new one.',
  token_missing: 'The video server refused this page: it sent no access pass. Reload the page to try again.',
  token_expired: 'The video server refused this page’s access pass: it kept expiring before use. Check that this device’s clock is right, then reload.',
  wrong_show: 'The video server refused this page’s access pass: it is for another show. Reload the page.',
  show_missing: 'This page asked the video server for a show without saying which one. Reload the page.',
  protocol_error: 'This page and the video server do not speak the same protocol version. Reload the page to get the current version.',
  not_found: 'This show does not exist (any more).',
  forbidden: 'You may not do this in this show.',
  not_publisher: 'Only this show’s seller can broadcast it. Sign in with the seller’s account.',
};

export function refusalMessage(reason: string): string {
  return REFUSALS[reason] ?? `The video server refused this page (${reason}). Reload the page to try again.`;
}

export function refused(reason: string): SessionOutcome {
  return { kind: 'refused', reason, message: refusalMessage(reason) };
}

/**
 * What to do after the sfu closed the signaling socket, from its close code and reason (and the
 * `roomClosed` notification that came before, if any). Admission failures arrive this way: the sfu
 * closes the socket with a 44xx code and a reason word instead of answering.
 */
export function outcomeOfClose(close: { code: number; reason: string }, roomClosed?: RoomClosedReason): SessionOutcome {
  if (roomClosed === 'show_ended' || close.code === SignalingCloseCode.showEnded || close.reason === 'show_ended') return { kind: 'ended' };
  const reason = SignalingCloseReason.safeParse(close.reason);
  switch (close.code) {
    case SignalingCloseCode.unauthorized:
      // A token that expired between the edge API and the sfu (a slow network, a suspended tab): get a new one.
      if (reason.success && reason.data === 'token_expired') return { kind: 'retry', cause: 'the access pass expired', soon: true };
      return refused(reason.success ? reason.data : 'token_malformed');
    case SignalingCloseCode.forbidden:
      return refused(reason.success ? reason.data : 'wrong_show');
    case SignalingCloseCode.badRequest:
      return refused(reason.success ? reason.data : 'protocol_error');
    case SignalingCloseCode.goingAway:
      return { kind: 'retry', cause: 'the video server is restarting' };
    case SignalingCloseCode.internalError:
      return { kind: 'retry', cause: roomClosed === 'worker_lost' || close.reason === 'worker_lost' ? 'the video server lost this show’s media' : 'the video server could not open this show' };
    default:
      return { kind: 'retry', cause: 'the connection to the video server was lost' };
  }
}
