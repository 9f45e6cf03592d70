import type { PeerRole, RoomClosedReason, SignalingNotification } from '@mytaek1/contracts';
import { Backoff } from './backoff.ts';
import { outcomeOfClose, refused, type SessionOutcome } from './outcomes.ts';
import type { SfuPreconnection } from './sfuPreconnect.ts';
import { SignalingClosedError, SignalingConnection, SignalingRequestError, SignalingTimeoutError } from './SignalingConnection.ts';

/** An admission token, as the edge API grants it (`POST /v1/shows/{id}/sfu-token`). */
export type Grant = { token: string; role: PeerRole };

/** Why no grant could be had; `unavailable` is worth retrying, the others are not. */
export type GrantFailure = 'ended' | 'not_found' | 'forbidden' | 'unavailable';

export class GrantError extends Error {
  readonly failure: GrantFailure;

  constructor(failure: GrantFailure, message: string) {
    super(message);
    this.name = 'GrantError';
    this.failure = failure;
  }
}

/** Fetches a fresh admission token: called before every connection, since tokens are short-lived. */
export type GrantProvider = () => Promise<Grant>;

export type SessionState =
  | { kind: 'connecting' }
  | { kind: 'connected'; peerId: string; role: PeerRole }
  /** The connection or its media was lost; the next attempt is at `retryAt` (ms since the epoch). */
  | { kind: 'reconnecting'; attempt: number; retryAt: number; cause: string }
  | { kind: 'ended' }
  | { kind: 'refused'; reason: string; message: string }
  | { kind: 'stopped' };

export type Admission = { peerId: string; role: PeerRole };

/** What a Publisher or a Viewer does with each signaling connection the session makes. */
export interface SessionMedia {
  /**
   * Sets up transports, producers or consumers on a freshly admitted connection, or again on the same
   * connection after the sfu's `reconnect` notification. Throwing makes the session start over.
   */
  setup(connection: SignalingConnection, admission: Admission): Promise<void>;
  /** Drops every transport (the connection is gone or about to be replaced). Must not throw. */
  teardown(): void;
  /** Every notification but `reconnect` and `roomClosed`, which the session handles itself. */
  onNotification(notification: SignalingNotification, connection: SignalingConnection): void;
}

export type SfuSessionOptions = {
  /** The sfu's signaling endpoint, `ws(s)://host:port` (`/ws` is appended). */
  sfuUrl: string;
  showId: string;
  getGrant: GrantProvider;
  media: SessionMedia;
  /** Refuse to connect unless the grant has this role (a publisher page with a viewer's token is of no use). */
  requiredRole?: PeerRole;
  onState?: (state: SessionState) => void;
  backoff?: Backoff;
  /** A connection that lasted this long resets the backoff: the next drop is retried quickly again. */
  stableAfterMs?: number;
  /**
   * The socket the page's script opened ahead to the signaling URL, if any (`takeSfuPreconnection`):
   * the first connection adopts it when it was admitted with the same token.
   */
  takePreconnection?: (url: string) => SfuPreconnection | undefined;
};

/** How long to wait for the sfu's `reconnect` notification after a request was refused as `unavailable`. */
const WORKER_REPLACEMENT_WAIT_MS = 15_000;

/** The WebSocket signaling URL for a show, with no token in it (the token goes in `authenticate`, out of logs). */
export function signalingUrl(sfuUrl: string, showId: string): string {
  const url = new URL('/ws', sfuUrl.replace(/^http/, 'ws'));
  url.searchParams.set('show', showId);
  return url.href;
}

/**
 * A participant's signaling session with the sfu that survives what a live show meets: it fetches a
 * fresh token and reconnects with backoff when the socket drops (network loss, sfu restart, media
 * failure), rebuilds media on the sfu's `reconnect` notification (its media worker died), and stops
 * for good when the show ends (`roomClosed`) or admission is refused.
 */
export class SfuSession {
  readonly #options: SfuSessionOptions;
  /** Asked on the first connection only: a reconnection opens its own socket. */
  #takePreconnection: SfuSessionOptions['takePreconnection'];
  readonly #url: string;
  readonly #backoff: Backoff;
  #state: SessionState = { kind: 'connecting' };
  #connection: SignalingConnection | undefined;
  /** Ends the current connection's wait with an outcome (a restart request, a media failure). */
  #interrupt: ((outcome: SessionOutcome) => void) | undefined;
  /** Wakes a backoff wait early (the browser came back online). */
  #wake: (() => void) | undefined;
  #roomClosed: RoomClosedReason | undefined;
  #mediaSetup: Promise<void> = Promise.resolve();
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SfuSessionOptions) {
    this.#options = options;
    this.#takePreconnection = options.takePreconnection;
    this.#url = signalingUrl(options.sfuUrl, options.showId);
    this.#backoff = options.backoff ?? new Backoff();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Starts connecting; resolves when the session stops for good (ended, refused or stopped). */
  start(): Promise<void> {
    if (!this.#running) {
      if (typeof window !== 'undefined') window.addEventListener('online', this.#onOnline);
      this.#running = this.#run().finally(() => {
        if (typeof window !== 'undefined') window.removeEventListener('online', this.#onOnline);
      });
    }
    return this.#running;
  }

  /** Drops the current connection and starts over (after the usual backoff): for media that failed. */
  restart(cause: string): void {
    this.#interrupt?.({ kind: 'retry', cause });
  }

  /** Leaves the show: closes the connection (the sfu then closes this peer's media) and stops. */
  async stop(): Promise<void> {
    if (this.#stopped) return this.#running;
    this.#stopped = true;
    this.#interrupt?.({ kind: 'retry', cause: 'stopped' });
    this.#wake?.();
    await this.#running;
  }

  /** The open connection, for requests outside setup (closing a producer, changing layers). */
  get connection(): SignalingConnection | undefined {
    return this.#connection?.isOpen ? this.#connection : undefined;
  }

  #setState(state: SessionState): void {
    this.#state = state;
    this.#options.onState?.(state);
  }

  async #run(): Promise<void> {
    const stableAfterMs = this.#options.stableAfterMs ?? 10_000;
    let outcome: SessionOutcome = { kind: 'retry', cause: 'starting' };
    while (!this.#stopped) {
      const connectedAt = Date.now();
      outcome = await this.#connectOnce();
      this.#connection = undefined;
      if (this.#stopped) break;
      if (outcome.kind !== 'retry') break;
      if (Date.now() - connectedAt >= stableAfterMs) this.#backoff.reset();
      const delay = outcome.soon && this.#backoff.attempt === 0 ? 0 : this.#backoff.next();
      this.#setState({ kind: 'reconnecting', attempt: this.#backoff.attempt, retryAt: Date.now() + delay, cause: outcome.cause });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    if (this.#stopped) this.#setState({ kind: 'stopped' });
    else if (outcome.kind === 'ended') this.#setState({ kind: 'ended' });
    else if (outcome.kind === 'refused') this.#setState({ kind: 'refused', reason: outcome.reason, message: outcome.message });
  }

  /** One connection, from fetching a token to its end; returns what to do next. Never throws. */
  async #connectOnce(): Promise<SessionOutcome> {
    const { media } = this.#options;
    let connection: SignalingConnection | undefined;
    this.#roomClosed = undefined;
    // Requests refused while the sfu replaces a dead worker are retried on its `reconnect`.
    let waitingForWorker: ReturnType<typeof setTimeout> | undefined;
    const interrupted = new Promise<SessionOutcome>((resolve) => (this.#interrupt = resolve));
    try {
      if (this.#state.kind !== 'reconnecting') this.#setState({ kind: 'connecting' });
      const grant = await this.#options.getGrant();
      const role = this.#options.requiredRole;
      if (role && grant.role !== role) return refused(role === 'publisher' ? 'not_publisher' : 'forbidden');
      if (this.#stopped) return { kind: 'retry', cause: 'stopped' };

      connection = (await this.#adoptPreconnection(grant)) ?? (await SignalingConnection.open(this.#url));
      this.#connection = connection;
      const current = connection;
      const setupMedia = (admission: Admission) => {
        clearTimeout(waitingForWorker);
        this.#mediaSetup = this.#mediaSetup
          .then(() => media.setup(current, admission))
          .then(
            () => {
              if (current.isOpen && this.#connection === current) this.#setState({ kind: 'connected', ...admission });
            },
            (error: unknown) => {
              if (!current.isOpen || this.#connection !== current) return;
              if (error instanceof SignalingRequestError && error.code === 'unavailable') {
                // The sfu's worker is being replaced: its `reconnect` notification will come.
                this.#setState({ kind: 'reconnecting', attempt: 0, retryAt: Date.now() + WORKER_REPLACEMENT_WAIT_MS, cause: 'the video server is replacing a media process' });
                waitingForWorker = setTimeout(() => this.restart('the video server did not recover its media process'), WORKER_REPLACEMENT_WAIT_MS);
                return;
              }
              console.warn('sfu session: media setup failed; starting over', error);
              this.restart(error instanceof Error ? error.message : 'media setup failed');
            },
          );
        return this.#mediaSetup;
      };
      let admission: Admission | undefined;
      connection.onNotification = (notification) => {
        switch (notification.method) {
          case 'roomClosed':
            this.#roomClosed = notification.data.reason;
            return;
          case 'reconnect':
            // Every transport, producer and consumer of ours is gone, but the session lives on.
            media.teardown();
            if (admission) void setupMedia(admission);
            return;
          default:
            media.onNotification(notification, current);
        }
      };
      const authenticated = await connection.request('authenticate', { token: grant.token });
      admission = { peerId: authenticated.peerId, role: authenticated.role };
      await setupMedia(admission);
      const closed = connection.closed.then((close) => (close.byClient ? undefined : outcomeOfClose(close, this.#roomClosed)));
      const outcome = await Promise.race([interrupted, closed.then((o) => o ?? interrupted)]);
      return outcome;
    } catch (error) {
      return this.#outcomeOfError(error, connection);
    } finally {
      clearTimeout(waitingForWorker);
      this.#interrupt = undefined;
      media.teardown();
      connection?.close(1000, 'bye');
    }
  }

  /**
   * The socket the page opened ahead, on the first connection only; undefined when there is none to
   * use. Rejects like `SignalingConnection.open` when it closed already: it was this page's first
   * connection, and the sfu's close code (a refused token, an ended show) is the outcome.
   */
  async #adoptPreconnection(grant: Grant): Promise<SignalingConnection | undefined> {
    const preconnection = this.#takePreconnection?.(this.#url);
    this.#takePreconnection = undefined;
    if (!preconnection) return undefined;
    const [first] = preconnection.requests;
    if (first?.method !== 'authenticate' || first.data.token !== grant.token) {
      // Admitted with another token than this session's: of no use to it.
      preconnection.socket.close(1000, 'bye');
      return undefined;
    }
    return SignalingConnection.adopt(preconnection);
  }

  #outcomeOfError(error: unknown, connection: SignalingConnection | undefined): SessionOutcome {
    if (error instanceof GrantError) {
      switch (error.failure) {
        case 'ended':
          return { kind: 'ended' };
        case 'not_found':
        case 'forbidden':
          return refused(error.failure);
        case 'unavailable':
          return { kind: 'retry', cause: error.message };
      }
    }
    if (error instanceof SignalingClosedError) {
      // Refused admission: the sfu closed the socket instead of answering `authenticate`.
      if (!error.close.byClient) return outcomeOfClose(error.close, this.#roomClosed);
      return { kind: 'retry', cause: connection ? 'the connection to the video server was lost' : 'the video server did not answer' };
    }
    if (error instanceof SignalingTimeoutError) return { kind: 'retry', cause: 'the video server stopped answering' };
    if (error instanceof SignalingRequestError && (error.code === 'forbidden' || error.code === 'bad_request')) {
      console.error('sfu session: a request was refused', error);
    }
    return { kind: 'retry', cause: error instanceof Error ? error.message : String(error) };
  }

  readonly #onOnline = (): void => {
    // Back online: no point waiting out the backoff.
    this.#wake?.();
  };
}
