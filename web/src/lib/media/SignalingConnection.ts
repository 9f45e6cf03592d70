import {
  SignalingMethods,
  SignalingServerMessage,
  type SignalingErrorCode,
  type SignalingMethod,
  type SignalingNotification,
  type SignalingRequest,
  type SignalingRequestData,
  type SignalingResponseData,
} from '@mytaek1/contracts';
import { isSameRequest, type SfuPreconnection } from './sfuPreconnect.ts';

/** A request the sfu answered with an error. */
export class SignalingRequestError extends Error {
  readonly code: SignalingErrorCode;
  readonly method: SignalingMethod;

  constructor(method: SignalingMethod, code: SignalingErrorCode, message: string) {
    super(`${method}: ${code}: ${message}`);
    this.name = 'SignalingRequestError';
    this.method = method;
    this.code = code;
  }
}

/** The socket closed (or never opened) before a request was answered. */
export class SignalingClosedError extends Error {
  readonly close: SignalingClose;

  constructor(close: SignalingClose) {
    super(`the signaling socket closed (${close.code}${close.reason ? ` ${close.reason}` : ''})`);
    this.name = 'SignalingClosedError';
    this.close = close;
  }
}

/** A request the sfu did not answer in time: the connection is as good as dead. */
export class SignalingTimeoutError extends Error {
  constructor(method: SignalingMethod, timeoutMs: number) {
    super(`${method}: no answer within ${timeoutMs} ms`);
    this.name = 'SignalingTimeoutError';
  }
}

/** How the socket ended: the sfu's close code and reason, or `byClient` when this side closed it. */
export type SignalingClose = { code: number; reason: string; byClient: boolean };

type Pending = { method: SignalingMethod; resolve: (data: unknown) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> };

const OPEN_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One WebSocket to the sfu, speaking the protocol of `@mytaek1/contracts` (signaling.ts): requests
 * with ids, answers parsed with each method's schema, notifications handed to `onNotification`.
 * It does not reconnect: SfuSession opens a new one when this one ends.
 */
export class SignalingConnection {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closeInfo: SignalingClose | undefined;
  #resolveClosed!: (close: SignalingClose) => void;
  /** On an adopted socket: frames held back until the first request, so that `onNotification` is set by then. */
  #backlog: unknown[] | undefined;
  /** On an adopted socket: the requests the page's script sent ahead, until the player makes them. */
  readonly #sentAhead: { request: SignalingRequest; answer: Promise<unknown> }[] = [];
  /** Settles once, when the socket is gone (closed by either side, or broken). Never rejects. */
  readonly closed: Promise<SignalingClose>;
  /** Notifications, in the order the sfu sent them. Set it before the first request. */
  onNotification: (notification: SignalingNotification) => void = () => {};

  /** Opens `url` (`ws(s)://host/ws?show=...`); rejects with SignalingClosedError when it cannot. */
  static open(url: string, { timeoutMs = OPEN_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<SignalingConnection> {
    return new SignalingConnection(new WebSocket(url)).#opened(timeoutMs);
  }

  /**
   * Takes over the socket the page's script opened (sfuPreconnect.ts), with what the sfu sent on it
   * so far. A request the script sent ahead is not sent again: `request()` with the same method and
   * data answers with the sfu's answer to it, there already or still to come. Rejects, like `open`,
   * with SignalingClosedError when the socket closed before it opened or was taken over (the sfu's
   * close code says why: a refused token, an ended show).
   */
  static adopt(preconnection: SfuPreconnection, { timeoutMs = OPEN_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<SignalingConnection> {
    return new SignalingConnection(preconnection.socket, preconnection).#opened(timeoutMs);
  }

  private constructor(ws: WebSocket, preconnection?: SfuPreconnection) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#ws = ws;
    if (preconnection) {
      this.#backlog = [...preconnection.frames];
      for (const request of preconnection.requests) {
        const answer = this.#expect(request.id, request.method, REQUEST_TIMEOUT_MS);
        // A request the player never makes after all must not fail unhandled.
        answer.catch(() => {});
        this.#sentAhead.push({ request, answer });
        this.#nextId = Math.max(this.#nextId, request.id + 1);
      }
    }
    this.#ws.addEventListener('message', (event) => this.#onMessage(event.data));
    this.#ws.addEventListener('close', (event) => this.#finish({ code: event.code, reason: event.reason, byClient: false }));
    // An error event is always followed by a close event, which carries what there is to know.
    if (preconnection?.closed) this.#finish({ ...preconnection.closed, byClient: false });
  }

  /** Resolves once the socket is open (at once when it is); rejects when it closes first or takes too long. */
  #opened(timeoutMs: number): Promise<SignalingConnection> {
    return new Promise((resolve, reject) => {
      if (this.#ws.readyState === WebSocket.OPEN) {
        resolve(this);
        return;
      }
      const timer = setTimeout(() => {
        this.close(4000, 'open_timeout');
        reject(new SignalingClosedError({ code: 1006, reason: 'open_timeout', byClient: true }));
      }, timeoutMs);
      this.#ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(this);
      });
      void this.closed.then((close) => {
        clearTimeout(timer);
        reject(new SignalingClosedError(close));
      });
    });
  }

  get isOpen(): boolean {
    return this.#closeInfo === undefined && this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a request and resolves with its answer, parsed with the method's response schema. The
   * request data is checked against the method's request schema first, so that a shape the sfu would
   * refuse fails here, with the field named.
   */
  request<M extends SignalingMethod>(method: M, data: SignalingRequestData<M>, { timeoutMs = REQUEST_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<SignalingResponseData<M>> {
    if (this.#closeInfo) return Promise.reject(new SignalingClosedError(this.#closeInfo));
    const schemas = SignalingMethods[method];
    const checked = schemas.request.safeParse(data);
    if (!checked.success) return Promise.reject(new TypeError(`${method}: request data does not match the protocol: ${checked.error.message}`));
    this.#releaseBacklog();
    let answer = this.#claimSentAhead(method, checked.data);
    if (!answer) {
      const id = this.#nextId++;
      answer = this.#expect(id, method, timeoutMs);
      this.#ws.send(JSON.stringify({ type: 'request', id, method, data: checked.data }));
    }
    // TypeScript cannot tie the schema picked by a generic key to that key's type, hence the assertion.
    return answer.then((data) => schemas.response.parse(data ?? {}) as SignalingResponseData<M>);
  }

  /** Waits for the answer to request `id`: its data, or the sfu's refusal, or a timeout. */
  #expect(id: number, method: SignalingMethod, timeoutMs: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalingTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
    });
  }

  #claimSentAhead(method: SignalingMethod, data: unknown): Promise<unknown> | undefined {
    const index = this.#sentAhead.findIndex(({ request }) => isSameRequest(request, method, data));
    if (index < 0) return undefined;
    const [claimed] = this.#sentAhead.splice(index, 1);
    return claimed!.answer;
  }

  #releaseBacklog(): void {
    const backlog = this.#backlog;
    if (!backlog) return;
    this.#backlog = undefined;
    for (const raw of backlog) this.#onMessage(raw);
  }

  /** Closes the socket. `closed` settles at once: a dead network would make the close handshake wait. */
  close(code = 1000, reason = 'bye'): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      try {
        this.#ws.close(code, reason);
      } catch {
        // An invalid code is a bug, not a reason to keep the socket.
        this.#ws.close();
      }
    }
    this.#finish({ code, reason, byClient: true });
  }

  #finish(close: SignalingClose): void {
    if (this.#closeInfo) return;
    this.#closeInfo = close;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SignalingClosedError(close));
    }
    this.#pending.clear();
    this.#resolveClosed(close);
  }

  #onMessage(raw: unknown): void {
    if (this.#backlog) {
      this.#backlog.push(raw);
      return;
    }
    if (this.#closeInfo || typeof raw !== 'string') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      console.warn('sfu signaling: a frame that is not JSON was ignored');
      return;
    }
    const parsed = SignalingServerMessage.safeParse(json);
    if (!parsed.success) {
      console.warn('sfu signaling: a frame outside the protocol was ignored', parsed.error.message);
      return;
    }
    const message = parsed.data;
    if (message.type === 'notification') {
      try {
        this.onNotification(message);
      } catch (error) {
        console.error('sfu signaling: a notification handler failed', error);
      }
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.data);
    else pending.reject(new SignalingRequestError(pending.method, message.error.code, message.error.message));
  }
}
