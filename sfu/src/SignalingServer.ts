import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import {
  Id,
  newId,
  RequestId,
  SignalingCloseCode,
  SignalingRequest,
  verifyToken,
  type SignalingCloseReason,
  type SignalingErrorCode,
  type SignalingServerMessage,
} from '@mytaek1/contracts';
import { RequestError } from './errors.ts';
import { createLogger } from './logger.ts';
import { Peer, type PeerChannel } from './Peer.ts';
import type { Room } from './Room.ts';
import type { RoomRegistry } from './RoomRegistry.ts';

const logger = createLogger('SignalingServer');

export type SignalingServerOptions = {
  rooms: RoomRegistry;
  tokenSecret: string;
  /** How long a socket opened without a token in its URL may take to send its `authenticate` request. */
  authTimeoutMs?: number;
  /** Pings every socket this often and drops those that did not answer the previous ping. */
  heartbeatIntervalMs?: number;
};

type Admitted = { peer: Peer; room: Room };

/** A frame from a client, sorted by what can be done with it. */
type ClientMessage =
  | { kind: 'request'; request: SignalingRequest }
  /** Has an id to answer to, but breaks the protocol: answered with `bad_request`. */
  | { kind: 'invalid'; id: number; message: string }
  /** Not even that: the connection is closed. */
  | { kind: 'garbage' };

/** On shutdown, how long a client gets to answer the close handshake before its socket is cut. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/** Signaling messages are small; the largest, RTP capabilities, are a few kilobytes. */
const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * The WebSocket signaling endpoint: admission (token verified before anything is created), then
 * id-correlated requests dispatched to the peer's room, responses, and notifications.
 */
export class SignalingServer {
  readonly #rooms: RoomRegistry;
  readonly #tokenSecret: string;
  readonly #authTimeoutMs: number;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  readonly #alive = new WeakMap<WebSocket, boolean>();
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  static create(options: SignalingServerOptions): SignalingServer {
    return new SignalingServer(options);
  }

  private constructor({ rooms, tokenSecret, authTimeoutMs = 10_000, heartbeatIntervalMs = 30_000 }: SignalingServerOptions) {
    this.#rooms = rooms;
    this.#tokenSecret = tokenSecret;
    this.#authTimeoutMs = authTimeoutMs;
    // A peer whose network vanished never sends a close frame; without pings its media would linger.
    this.#heartbeat = setInterval(() => this.#checkHeartbeats(), heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** Takes over an HTTP upgrade request for `/ws`. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onConnection(ws, url));
  }

  /**
   * Closes every socket still open (admitted peers were told by their room already) and waits for
   * them to go; a client that does not answer the close handshake soon is cut off. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const sockets = [...this.#wss.clients];
    const allClosed = Promise.all(sockets.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : once(ws, 'close'))));
    for (const ws of sockets) closeSocket(ws, SignalingCloseCode.goingAway, 'shutdown');
    const deadline = setTimeout(() => {
      for (const ws of sockets) ws.terminate();
    }, CLOSE_HANDSHAKE_TIMEOUT_MS);
    await allClosed;
    clearTimeout(deadline);
    this.#wss.close();
  }

  #onConnection(ws: WebSocket, url: URL): void {
    this.#alive.set(ws, true);
    ws.on('pong', () => this.#alive.set(ws, true));
    ws.on('error', (error) => logger.warn('socket error', { error }));

    const show = Id.safeParse(url.searchParams.get('show'));
    if (!show.success) {
      closeSocket(ws, SignalingCloseCode.badRequest, 'show_missing');
      return;
    }
    const urlToken = url.searchParams.get('token');

    // Settles once the admission is decided: the admitted peer, or undefined when refused.
    let admission: Promise<Admitted | undefined> | undefined;
    let authTimer: NodeJS.Timeout | undefined;
    if (urlToken) {
      admission = this.#admit(ws, show.data, urlToken);
    } else {
      authTimer = setTimeout(() => closeSocket(ws, SignalingCloseCode.unauthorized, 'token_missing'), this.#authTimeoutMs);
    }

    ws.on('message', (raw, isBinary) => {
      const message = parseClientMessage(raw, isBinary);
      if (!admission) {
        clearTimeout(authTimer);
        if (message.kind !== 'request' || message.request.method !== 'authenticate') {
          closeSocket(ws, SignalingCloseCode.unauthorized, 'token_missing');
          return;
        }
        const { id, data } = message.request;
        // Answered before the peer joins its room, so the answer comes before any notification.
        admission = this.#admit(ws, show.data, data.token, ({ peer, room }) => {
          send(ws, { type: 'response', id, ok: true, data: { peerId: peer.id, show: room.showId, role: peer.role } });
        });
        return;
      }
      // Requests sent before the admission settled wait for it, in order.
      void admission.then((admitted) => {
        if (admitted) void this.#handleMessage(ws, admitted, message);
      });
    });

    ws.on('close', () => {
      clearTimeout(authTimer);
      void admission?.then((admitted) => admitted?.peer.close());
    });
  }

  /** Verifies the token, then (and only then) creates the room if needed and the peer. Never rejects. */
  async #admit(ws: WebSocket, show: string, token: string, beforeJoining?: (admitted: Admitted) => void): Promise<Admitted | undefined> {
    try {
      return await this.#tryAdmit(ws, show, token, beforeJoining);
    } catch (error) {
      logger.error('admission failed', { show, error });
      closeSocket(ws, SignalingCloseCode.internalError, 'room_unavailable');
      return undefined;
    }
  }

  async #tryAdmit(ws: WebSocket, show: string, token: string, beforeJoining?: (admitted: Admitted) => void): Promise<Admitted | undefined> {
    const verified = await verifyToken(token, this.#tokenSecret, { audience: 'sfu' });
    if (!verified.ok) {
      closeSocket(ws, SignalingCloseCode.unauthorized, `token_${verified.reason}`);
      return undefined;
    }
    const { claims } = verified;
    if (claims.show !== show) {
      closeSocket(ws, SignalingCloseCode.forbidden, 'wrong_show');
      return undefined;
    }
    if (this.#rooms.hasEnded(show)) {
      closeSocket(ws, SignalingCloseCode.showEnded, 'show_ended');
      return undefined;
    }
    if (ws.readyState !== WebSocket.OPEN) return undefined;

    let room: Room;
    try {
      room = await this.#rooms.getOrCreate(show);
    } catch (error) {
      logger.error('could not open the room', { show, error });
      closeSocket(ws, SignalingCloseCode.internalError, 'room_unavailable');
      return undefined;
    }
    // The client may have hung up while the router was created; an empty room closes by itself.
    if (ws.readyState !== WebSocket.OPEN) return undefined;
    if (room.closed) {
      closeSocket(ws, SignalingCloseCode.internalError, 'room_unavailable');
      return undefined;
    }

    const channel: PeerChannel = {
      notify: (notification) => send(ws, notification),
      close: (code, reason) => closeSocket(ws, code, reason),
    };
    const peer = Peer.create({ id: newId(), claims, channel });
    beforeJoining?.({ peer, room });
    room.addPeer(peer);
    logger.debug('peer admitted', { show, peerId: peer.id, role: peer.role, userId: peer.userId });
    return { peer, room };
  }

  async #handleMessage(ws: WebSocket, { peer, room }: Admitted, message: ClientMessage): Promise<void> {
    switch (message.kind) {
      case 'garbage':
        closeSocket(ws, SignalingCloseCode.badRequest, 'protocol_error');
        return;
      case 'invalid':
        send(ws, { type: 'response', id: message.id, ok: false, error: { code: 'bad_request', message: message.message } });
        return;
      case 'request': {
        const { id } = message.request;
        try {
          const data = await room.handleRequest(peer, message.request);
          send(ws, { type: 'response', id, ok: true, data });
        } catch (error) {
          const code = errorCodeOf(error);
          if (code === 'internal') logger.error('request failed', { method: message.request.method, peerId: peer.id, error });
          else if (!(error instanceof RequestError)) logger.warn('request refused by mediasoup', { method: message.request.method, peerId: peer.id, error });
          const text = code === 'internal' ? 'internal error' : error instanceof Error ? error.message : String(error);
          send(ws, { type: 'response', id, ok: false, error: { code, message: text } });
        }
      }
    }
  }

  #checkHeartbeats(): void {
    for (const ws of this.#wss.clients) {
      if (!this.#alive.get(ws)) {
        ws.terminate();
        continue;
      }
      this.#alive.set(ws, false);
      ws.ping();
    }
  }
}

/** Just enough of a request to answer it: anything less is not worth an answer. */
const RequestEnvelope = z.object({ type: z.literal('request'), id: RequestId });

function parseClientMessage(raw: RawData, isBinary: boolean): ClientMessage {
  if (isBinary) return { kind: 'garbage' };
  let json: unknown;
  try {
    json = JSON.parse(rawToString(raw));
  } catch {
    return { kind: 'garbage' };
  }
  const envelope = RequestEnvelope.safeParse(json);
  if (!envelope.success) return { kind: 'garbage' };
  const request = SignalingRequest.safeParse(json);
  if (!request.success) return { kind: 'invalid', id: envelope.data.id, message: z.prettifyError(request.error) };
  return { kind: 'request', request: request.data };
}

function rawToString(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}

/** mediasoup's own errors say whether the request or the state was at fault; anything else is ours. */
function errorCodeOf(error: unknown): SignalingErrorCode {
  if (error instanceof RequestError) return error.code;
  if (error instanceof Error) {
    if (error.name === 'InvalidStateError') return 'unavailable';
    if (error.name === 'TypeError' || error.name === 'UnsupportedError') return 'bad_request';
  }
  return 'internal';
}

function send(ws: WebSocket, message: SignalingServerMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function closeSocket(ws: WebSocket, code: SignalingCloseCode, reason: SignalingCloseReason): void {
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
}
