import {
  SignalingMethods,
  SignalingServerMessage,
  type SignalingErrorCode,
  type SignalingMethod,
  type SignalingNotification,
  type SignalingRequestData,
  type SignalingResponseData,
} from '@mytaek1/contracts';

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
  /** Settles once, when the socket is gone (closed by either side, or broken). Never rejects. */
  readonly closed: Promise<SignalingClose>;
  /** Notifications, in the order the sfu sent them. Set it before the first request. */
  onNotification: (notification: SignalingNotification) => void = () => {};

  /** Opens `url` (`ws(s)://host/ws?show=...`); rejects with SignalingClosedError when it cannot. */
  static open(url: string, { timeoutMs = OPEN_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<SignalingConnection> {
    const connection = new SignalingConnection(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        connection.close(4000, 'open_timeout');
        reject(new SignalingClosedError({ code: 1006, reason: 'open_timeout', byClient: true }));
      }, timeoutMs);
      connection.#ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(connection);
      });
      void connection.closed.then((close) => {
        clearTimeout(timer);
        reject(new SignalingClosedError(close));
      });
    });
  }

  private constructor(url: string) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#ws = new WebSocket(url);
    this.#ws.addEventListener('message', (event) => this.#onMessage(event.data));
    this.#ws.addEventListener('close', (event) => this.#finish({ code: event.code, reason: event.reason, byClient: false }));
    // An error event is always followed by a close event, which carries what there is to know.
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
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new SignalingTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#ws.send(JSON.stringify({ type: 'request', id, method, data: checked.data }));
    }).then(
      // TypeScript cannot tie the schema picked by a generic key to that key's type, hence the assertion.
      (answer) => schemas.response.parse(answer ?? {}) as SignalingResponseData<M>,
    );
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
