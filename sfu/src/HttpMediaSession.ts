import { EventEmitter } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import type { Peer, PeerTransport } from './Peer.ts';

export type HttpMediaSessionKind = 'whip' | 'whep';

export type HttpMediaSessionEvents = {
  /** The session ended, however: DELETE, the room closing, the client's ICE or DTLS going away. */
  closed: [];
};

export type HttpMediaSessionOptions = {
  kind: HttpMediaSessionKind;
  showId: string;
  peer: Peer;
  transport: PeerTransport;
  /** SHA-256 of the bearer the session was created with: DELETE and PATCH must present the same one. */
  credentialDigest: Buffer | undefined;
  /** A client that has not completed DTLS by then is gone (it never will: nothing was sent to it). */
  connectTimeoutMs: number;
};

/**
 * One WHIP or WHEP session (RFC 9725), the HTTP resource at `/<kind>/<show>/<peer id>`: a peer in
 * the show's room with one WebRTC transport, and its producers (WHIP) or consumers (WHEP). It has
 * no way to renegotiate, so it ends when its media would need setting up again (its worker died),
 * and when its client's connection goes (ICE consent lost, DTLS closed or failed), since a client
 * that vanishes may never send its DELETE.
 */
export class HttpMediaSession extends EventEmitter<HttpMediaSessionEvents> {
  readonly kind: HttpMediaSessionKind;
  readonly showId: string;
  readonly peer: Peer;
  readonly transport: PeerTransport;
  readonly credentialDigest: Buffer | undefined;
  readonly #connectTimer: NodeJS.Timeout;
  #closed = false;

  static create(options: HttpMediaSessionOptions): HttpMediaSession {
    return new HttpMediaSession(options);
  }

  private constructor({ kind, showId, peer, transport, credentialDigest, connectTimeoutMs }: HttpMediaSessionOptions) {
    super();
    this.kind = kind;
    this.showId = showId;
    this.peer = peer;
    this.transport = transport;
    this.credentialDigest = credentialDigest;
    this.#connectTimer = setTimeout(() => {
      if (transport.dtlsState !== 'connected') this.close();
    }, connectTimeoutMs);
    this.#connectTimer.unref();
    peer.once('closed', () => this.close());
    transport.observer.once('close', () => this.close());
    transport.on('dtlsstatechange', (state: mediasoupTypes.DtlsState) => {
      if (state === 'failed' || state === 'closed') this.close();
    });
    transport.on('icestatechange', (state: mediasoupTypes.IceState) => {
      // mediasoup declares ICE disconnected once the client's consent checks stop (30 s).
      if (state === 'disconnected' || state === 'closed') this.close();
    });
  }

  get id(): string {
    return this.peer.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The resource URL, relative to the sfu, for the Location header. */
  get resourcePath(): string {
    return `/${this.kind}/${this.showId}/${this.id}`;
  }

  /** The entity tag of the ICE session (RFC 9725 section 4.3): changes on each ICE restart. */
  get etag(): string {
    return `"${this.transport.iceParameters.usernameFragment}"`;
  }

  /** New ICE credentials for the sfu's side of the transport, for an ICE restart asked by the client. */
  async restartIce(): Promise<mediasoupTypes.IceParameters> {
    return this.transport.restartIce();
  }

  /** Ends the session: the peer leaves the room, its transport and media close. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.peer.close();
    this.emit('closed');
  }
}
