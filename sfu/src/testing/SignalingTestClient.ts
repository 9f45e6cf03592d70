import { WebSocket } from 'ws';
import { z } from 'zod';
import {
  SignalingMethods,
  SignalingNotifications,
  SignalingServerMessage,
  type SignalingErrorCode,
  type SignalingMethod,
  type SignalingNotification,
  type SignalingNotificationData,
  type SignalingNotificationMethod,
  type SignalingRequestData,
  type SignalingResponseData,
} from '@mytaek1/contracts';

export type CloseEvent = { code: number; reason: string };

/** A refused request, as the sfu answered it. */
export class SignalingRequestError extends Error {
  readonly code: SignalingErrorCode;

  constructor(code: SignalingErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SignalingRequestError';
    this.code = code;
  }
}

type PendingRequest = { resolve: (data: unknown) => void; reject: (error: Error) => void };
type NotificationWaiter = { method: SignalingNotificationMethod; resolve: (notification: SignalingNotification) => void };

/**
 * A signaling client as a browser would be one, over a real WebSocket. Every frame the sfu sends is
 * parsed with the contract's schemas, so a test that passes also proves the sfu speaks the protocol.
 */
export class SignalingTestClient {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #notifications: SignalingNotification[] = [];
  readonly #waiters: NotificationWaiter[] = [];
  readonly #protocolErrors: string[] = [];
  /** Every valid frame received, in order, as `response:<id>` or `notification:<method>`. */
  readonly #frameLog: string[] = [];
  /** Settles when the socket closes, with the close code and reason the sfu gave. */
  readonly closed: Promise<CloseEvent>;
  #nextId = 1;

  static async connect(url: string): Promise<SignalingTestClient> {
    const client = new SignalingTestClient(url);
    await new Promise<void>((resolve, reject) => {
      client.#ws.once('open', () => resolve());
      client.#ws.once('error', reject);
    });
    return client;
  }

  private constructor(url: string) {
    this.#ws = new WebSocket(url);
    this.closed = new Promise((resolve) => {
      this.#ws.once('close', (code, reason) => {
        for (const pending of this.#pending.values()) pending.reject(new Error(`socket closed (${code} ${reason.toString()})`));
        this.#pending.clear();
        resolve({ code, reason: reason.toString() });
      });
    });
    this.#ws.on('message', (raw) => this.#onMessage(raw.toString()));
  }

  /** Frames that did not match the protocol: a test should expect none. */
  get protocolErrors(): readonly string[] {
    return this.#protocolErrors;
  }

  get frameLog(): readonly string[] {
    return this.#frameLog;
  }

  /** Notifications received and not yet taken by `nextNotification`. */
  get notifications(): readonly SignalingNotification[] {
    return this.#notifications;
  }

  async request<M extends SignalingMethod>(method: M, data: SignalingRequestData<M>): Promise<SignalingResponseData<M>> {
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.send({ type: 'request', id, method, data });
    // Parsed with this method's schema; TypeScript cannot tie the schema picked by a generic key to
    // that key's type, hence the assertion.
    return SignalingMethods[method].response.parse(await answer) as SignalingResponseData<M>;
  }

  /** Sends any frame, valid or not. */
  send(message: unknown): void {
    this.#ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next notification of that method (already received or still to come). */
  nextNotification<M extends SignalingNotificationMethod>(method: M, timeoutMs = 5_000): Promise<SignalingNotificationData<M>> {
    // Parsed with this method's schema (see `request` for the assertion).
    const dataOf = (notification: SignalingNotification): SignalingNotificationData<M> =>
      SignalingNotifications[method].parse(notification.data) as SignalingNotificationData<M>;
    const index = this.#notifications.findIndex((notification) => notification.method === method);
    if (index >= 0) {
      const [notification] = this.#notifications.splice(index, 1);
      if (notification) return Promise.resolve(dataOf(notification));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} notification within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        method,
        resolve: (notification) => {
          clearTimeout(timer);
          resolve(dataOf(notification));
        },
      });
    });
  }

  close(): Promise<CloseEvent> {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000, 'bye');
    return this.closed;
  }

  #onMessage(text: string): void {
    const parsed = SignalingServerMessage.safeParse(JSON.parse(text));
    if (!parsed.success) {
      this.#protocolErrors.push(`${z.prettifyError(parsed.error)} in ${text}`);
      return;
    }
    const message = parsed.data;
    this.#frameLog.push(message.type === 'response' ? `response:${message.id}` : `notification:${message.method}`);
    if (message.type === 'response') {
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (!pending) {
        this.#protocolErrors.push(`response to unknown request ${message.id}`);
      } else if (message.ok) {
        pending.resolve(message.data);
      } else {
        pending.reject(new SignalingRequestError(message.error.code, message.error.message));
      }
      return;
    }
    const waiter = this.#waiters.findIndex((candidate) => candidate.method === message.method);
    if (waiter >= 0) {
      const [found] = this.#waiters.splice(waiter, 1);
      found?.resolve(message);
    } else {
      this.#notifications.push(message);
    }
  }
}
