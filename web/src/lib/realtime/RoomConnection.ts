import {
  type ChatMessage,
  type ModerationEntry,
  type Pin,
  REALTIME_LIMITS,
  RoomChatSend,
  type RoomClientMessage,
  RoomCloseCode,
  type RoomErrorCode,
  type RoomEventOf,
  RoomModeration,
  type RoomRole,
  RoomServerEvent,
  roomPath,
  type ShowStatus,
} from '@mytaek1/contracts';
import { Backoff } from '../media/backoff.ts';
import { RoomGrantError, type RoomGrantFetcher } from './grants.ts';

/** Where the connection is: joining for the first time, in the room, rejoining after a drop, or done. */
export type RoomPhase = 'connecting' | 'live' | 'reconnecting' | 'closed';
/** Why a connection is done for good: banned, the show ended or does not exist, or `close()` was called. */
export type RoomClosedReason = 'banned' | 'ended' | 'not_found' | 'closed';

/** Who this connection is in the room, from its latest welcome. */
export interface RoomMember {
  userId: string;
  name: string;
  role: RoomRole;
  /** False for anonymous viewers, muted users and once the show has ended. */
  canChat: boolean;
  /** Not signed in: may watch and read, never chat or send hearts. */
  anonymous: boolean;
}

/** The room as this connection knows it; a new object on every change (compare by identity). */
export interface RoomState {
  phase: RoomPhase;
  closedReason: RoomClosedReason | null;
  you: RoomMember | null;
  /** Whether a snapshot has been applied: until then chat, pins and counts are not the room's. */
  synced: boolean;
  /** The latest chat, oldest first. */
  chat: readonly ChatMessage[];
  /** The pinned products in slot order, with live stock and flash deals. */
  pins: readonly Pin[];
  viewers: number;
  /** Hearts since the room opened. */
  hearts: number;
  showStatus: ShowStatus | null;
  /** Moderators only: the latest entries of the moderation log, oldest first. */
  moderation: readonly ModerationEntry[];
  /**
   * Moderators only: the orders paid for the show's products since this connection joined, oldest
   * first. The room replays what a dropped connection missed; a snapshot does not carry them, so
   * they are kept across one.
   */
  orders: readonly RoomOrder[];
  /** When (epoch ms) the mute a moderator imposed on this user lapses; null when not muted. */
  mutedUntil: number | null;
}

/** An order in the seller's feed: the room's `order` event, and when this connection heard of it. */
export type RoomOrder = Omit<RoomEventOf<'order'>, 'type' | 'seq'> & { receivedAt: number };

/** An error the room sent, or one this side found before sending (`not_connected`). */
export interface RoomProblem {
  code: RoomErrorCode | 'not_connected';
  message: string;
  retryAfterMs?: number;
}

/** What a RoomConnection announces besides its state. */
export interface RoomConnectionEvents {
  /**
   * Hearts the room counted in one window. `others` leaves out, as well as can be told, this
   * viewer's own taps (which its own page animated the moment they were tapped).
   */
  hearts: { count: number; others: number; total: number };
  /** An error the room sent this connection: a refused chat, a mute, a ban. */
  error: RoomProblem;
  /** The show's status changed (it went live, or ended). */
  status: ShowStatus;
}

export interface RoomConnectionOptions {
  showId: string;
  /** The edge API as the browser reaches it, `ws(s)://host[:port]` (see roomUrl.ts). */
  url: string;
  fetchGrant: RoomGrantFetcher;
  /** The browser's WebSocket by default (Node 24 has the same global). */
  WebSocket?: typeof WebSocket;
  backoff?: Backoff;
  now?: () => number;
  /** Chat messages kept. */
  chatLimit?: number;
  /** A socket that has not been welcomed this long after it was opened is given up and another tried. */
  joinTimeoutMs?: number;
  warn?: (message: string, error?: unknown) => void;
}

const DEFAULT_CHAT_LIMIT = 200;
const DEFAULT_JOIN_TIMEOUT_MS = 15_000;
const MODERATION_KEPT = 50;
const ORDERS_KEPT = 100;
/** Own hearts older than this are no longer expected back in a `hearts` event. */
const OWN_HEARTS_TTL_MS = 2_000;
const OPEN = 1;

type Listener<T> = (payload: T) => void;
type RoomEvent = Exclude<RoomServerEvent, { type: 'welcome' | 'snapshot' | 'error' | 'resync' }>;

/**
 * One viewer's connection to a show's realtime room (the protocol of @mytaek1/contracts'
 * realtime.ts): it fetches a token, says hello, applies the snapshot and every event after it, and
 * after a drop comes back with backoff and `hello { lastSeq, epoch }` so that the room replays what
 * was missed (or sends a fresh snapshot). Every frame is parsed with the contracts' schemas.
 *
 * Its state is a store (`subscribe` calls back at once and on every change, as Svelte expects);
 * hearts, errors and status changes are events. It sends chat, batched hearts and moderation.
 */
export class RoomConnection {
  readonly showId: string;
  readonly #url: string;
  readonly #fetchGrant: RoomGrantFetcher;
  readonly #WebSocket: typeof WebSocket;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  readonly #chatLimit: number;
  readonly #joinTimeoutMs: number;
  readonly #warn: (message: string, error?: unknown) => void;

  #state: RoomState = {
    phase: 'connecting',
    closedReason: null,
    you: null,
    synced: false,
    chat: [],
    pins: [],
    viewers: 0,
    hearts: 0,
    showStatus: null,
    moderation: [],
    orders: [],
    mutedUntil: null,
  };
  readonly #subscribers = new Set<Listener<RoomState>>();
  readonly #listeners: { [K in keyof RoomConnectionEvents]: Set<Listener<RoomConnectionEvents[K]>> } = { hearts: new Set(), error: new Set(), status: new Set() };

  #ws: WebSocket | null = null;
  /** Bumped by every connection attempt: callbacks of an older one are ignored. */
  #generation = 0;
  #lastSeq: number | null = null;
  #epoch: string | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #joinTimer: ReturnType<typeof setTimeout> | null = null;
  #muteTimer: ReturnType<typeof setTimeout> | null = null;
  #heartTimer: ReturnType<typeof setTimeout> | null = null;
  #heartTaps = 0;
  /** Hearts this connection sent and has not yet seen counted in a `hearts` event. */
  #ownHearts: { count: number; at: number }[] = [];

  /** Connects at once; `close()` it when done. */
  static create(options: RoomConnectionOptions): RoomConnection {
    const connection = new RoomConnection(options);
    void connection.#connect();
    return connection;
  }

  private constructor(options: RoomConnectionOptions) {
    this.showId = options.showId;
    this.#url = options.url.replace(/\/+$/, '');
    this.#fetchGrant = options.fetchGrant;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#backoff = options.backoff ?? new Backoff({ baseMs: 500, maxMs: 15_000 });
    this.#now = options.now ?? Date.now;
    this.#chatLimit = options.chatLimit ?? DEFAULT_CHAT_LIMIT;
    this.#joinTimeoutMs = options.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
    this.#warn = options.warn ?? ((message, error) => console.warn(`realtime room ${this.showId}: ${message}`, error ?? ''));
  }

  get state(): RoomState {
    return this.#state;
  }

  /** The store contract: `run` gets the state now and after every change, until the returned function is called. */
  subscribe(run: Listener<RoomState>): () => void {
    this.#subscribers.add(run);
    run(this.#state);
    return () => this.#subscribers.delete(run);
  }

  on<K extends keyof RoomConnectionEvents>(event: K, listener: Listener<RoomConnectionEvents[K]>): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  // ------------------------------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------------------------------

  /** Sends a chat message, or says why it cannot be sent (checked here first with the contract's own rules). */
  sendChat(text: string): RoomProblem | null {
    const you = this.#state.you;
    if (you?.anonymous) return { code: 'login_required', message: 'Sign in to chat.' };
    const parsed = RoomChatSend.safeParse({ type: 'chat', text });
    if (!parsed.success) {
      return text.trim().length === 0
        ? { code: 'chat_empty', message: 'Write something first.' }
        : { code: 'chat_too_long', message: `Messages are at most ${REALTIME_LIMITS.chatMaxLength} characters.` };
    }
    const mutedUntil = this.#state.mutedUntil;
    if (mutedUntil !== null && mutedUntil > this.#now()) return { code: 'muted', message: 'A moderator muted you.', retryAfterMs: mutedUntil - this.#now() };
    if (this.#state.showStatus === 'ended') return { code: 'show_ended', message: 'The show has ended.' };
    return this.#send(parsed.data) ? null : { code: 'not_connected', message: 'Not connected to the chat right now; reconnecting.' };
  }

  /**
   * One tap of the heart button. Taps are summed and sent as one `heart` message per heart window
   * (the room sums hearts over the same window and ignores a user's taps beyond its limit).
   * False when this viewer may not send hearts (not signed in, or not in the room).
   */
  tapHeart(): boolean {
    const you = this.#state.you;
    if (!you || you.anonymous || this.#state.phase !== 'live') return false;
    this.#heartTaps++;
    this.#heartTimer ??= setTimeout(() => this.#flushHearts(), REALTIME_LIMITS.heartWindowMs);
    return true;
  }

  /** Moderators: delete a message for everyone. */
  deleteMessage(messageId: string): boolean {
    return this.#moderate({ type: 'moderation', action: 'delete', messageId });
  }

  /** Moderators: keep a user from chatting for `seconds`. */
  mute(userId: string, seconds: number): boolean {
    return this.#moderate({ type: 'moderation', action: 'mute', userId, seconds });
  }

  /** Moderators: remove a user from this show's room, until a moderator lets them back (`unban`). */
  ban(userId: string): boolean {
    return this.#moderate({ type: 'moderation', action: 'ban', userId });
  }

  /** Moderators: let a banned user back into the room. */
  unban(userId: string): boolean {
    return this.#moderate({ type: 'moderation', action: 'unban', userId });
  }

  /** Leaves the room and stops reconnecting. Idempotent. */
  close(): void {
    if (this.#state.phase !== 'closed') this.#finish('closed');
  }

  #moderate(action: RoomModeration): boolean {
    if (this.#state.you?.role !== 'moderator') return false;
    return this.#send(RoomModeration.parse(action));
  }

  #send(message: RoomClientMessage): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN || this.#state.phase !== 'live') return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  #flushHearts(): void {
    this.#heartTimer = null;
    const count = Math.min(this.#heartTaps, REALTIME_LIMITS.heartsPerUserPerWindow);
    this.#heartTaps = 0;
    if (count > 0 && this.#send({ type: 'heart', count })) this.#ownHearts.push({ count, at: this.#now() });
  }

  // ------------------------------------------------------------------------------------------------
  // The socket
  // ------------------------------------------------------------------------------------------------

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    let token: string;
    try {
      token = (await this.#fetchGrant(this.showId)).token;
    } catch (error) {
      if (generation !== this.#generation || this.#state.phase === 'closed') return;
      if (error instanceof RoomGrantError && error.failure !== 'unavailable') return this.#finish(error.failure);
      this.#warn('no realtime token; retrying', error);
      return this.#retry();
    }
    if (generation !== this.#generation || this.#state.phase === 'closed') return;

    let ws: WebSocket;
    try {
      ws = new this.#WebSocket(`${this.#url}${roomPath(this.showId)}`);
    } catch (error) {
      this.#warn('could not open the room’s socket', error);
      return this.#retry();
    }
    this.#ws = ws;
    // A host that takes the connection and then says nothing (a proxy, a sleeping laptop's network) would hold it for minutes.
    this.#joinTimer = setTimeout(() => {
      this.#joinTimer = null;
      if (ws !== this.#ws) return;
      this.#warn('no welcome in time; trying again');
      this.#ws = null;
      ws.close();
      this.#retry();
    }, this.#joinTimeoutMs);
    ws.addEventListener('open', () => {
      if (ws !== this.#ws) return;
      const resume = this.#lastSeq !== null && this.#epoch !== null ? { lastSeq: this.#lastSeq, epoch: this.#epoch } : {};
      ws.send(JSON.stringify({ type: 'hello', token, ...resume } satisfies RoomClientMessage));
    });
    ws.addEventListener('message', (event: MessageEvent) => {
      if (ws === this.#ws && typeof event.data === 'string') this.#receive(event.data);
    });
    ws.addEventListener('close', (event: CloseEvent) => {
      if (ws === this.#ws) this.#dropped(event.code);
    });
  }

  /** The socket is gone: for good (banned, no such show), or come back after a while. */
  #dropped(code: number): void {
    this.#ws = null;
    this.#stopJoinTimer();
    if (this.#state.phase === 'closed') return;
    if (code === RoomCloseCode.banned) return this.#finish('banned');
    if (code === RoomCloseCode.notFound) return this.#finish('not_found');
    this.#retry();
  }

  #retry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#update({ phase: this.#state.synced ? 'reconnecting' : 'connecting' });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#connect();
    }, this.#backoff.next());
  }

  #finish(reason: RoomClosedReason): void {
    this.#generation++;
    for (const timer of [this.#retryTimer, this.#muteTimer, this.#heartTimer, this.#joinTimer]) if (timer) clearTimeout(timer);
    this.#retryTimer = this.#muteTimer = this.#heartTimer = this.#joinTimer = null;
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= OPEN) ws.close(1000, reason);
    const you = this.#state.you ? { ...this.#state.you, canChat: false } : null;
    this.#update({ phase: 'closed', closedReason: reason, you });
  }

  // ------------------------------------------------------------------------------------------------
  // Receiving
  // ------------------------------------------------------------------------------------------------

  #receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.#warn('a frame that is not JSON', error);
      return;
    }
    const parsed = RoomServerEvent.safeParse(json);
    if (!parsed.success) {
      this.#warn(`a frame the protocol does not know: ${text.slice(0, 120)}`, parsed.error);
      return;
    }
    const event = parsed.data;
    switch (event.type) {
      case 'welcome': {
        this.#stopJoinTimer();
        this.#epoch = event.epoch;
        const anonymous = event.you.userId.startsWith('anon:');
        const you: RoomMember = { ...event.you, anonymous };
        // A mute this side knew of may have lapsed while away; the welcome says where it stands.
        const mutedUntil = event.you.canChat ? null : this.#state.mutedUntil;
        if (event.mode === 'resume') {
          this.#backoff.reset();
          this.#update({ you, mutedUntil, phase: 'live' });
        } else this.#update({ you, mutedUntil });
        return;
      }
      case 'snapshot': {
        this.#lastSeq = event.seq;
        this.#epoch = event.epoch;
        this.#backoff.reset();
        const statusChanged = this.#state.showStatus !== null && this.#state.showStatus !== event.status;
        this.#update({
          phase: 'live',
          synced: true,
          chat: event.chat.slice(-this.#chatLimit),
          pins: inSlotOrder(event.pins.map((pin) => ({ ...pin, stock: event.stock[pin.productId] ?? pin.stock }))),
          viewers: event.viewers,
          hearts: event.hearts,
          showStatus: event.status,
          moderation: event.moderation ?? [],
        });
        if (statusChanged) this.#emit('status', event.status);
        return;
      }
      case 'resync':
        // A snapshot follows at once and replaces everything.
        return;
      case 'error':
        return this.#problem({ code: event.code, message: event.message, ...(event.retryAfterMs === undefined ? {} : { retryAfterMs: event.retryAfterMs }) });
      default:
        if (this.#lastSeq !== null && event.seq <= this.#lastSeq) return;
        this.#lastSeq = event.seq;
        this.#apply(event);
    }
  }

  #stopJoinTimer(): void {
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = null;
  }

  #problem(problem: RoomProblem): void {
    if (problem.code === 'muted') {
      const until = this.#now() + (problem.retryAfterMs ?? 0);
      this.#update({ mutedUntil: until, you: this.#state.you ? { ...this.#state.you, canChat: false } : null });
      if (this.#muteTimer) clearTimeout(this.#muteTimer);
      this.#muteTimer = setTimeout(() => this.#muteLapsed(), Math.max(0, until - this.#now()));
    }
    this.#emit('error', problem);
  }

  #muteLapsed(): void {
    this.#muteTimer = null;
    const you = this.#state.you;
    const canChat = Boolean(you && !you.anonymous && this.#state.showStatus !== 'ended');
    this.#update({ mutedUntil: null, you: you ? { ...you, canChat } : null });
  }

  #apply(event: RoomEvent): void {
    const state = this.#state;
    switch (event.type) {
      case 'chat':
        if (state.chat.some((m) => m.id === event.message.id)) return;
        return this.#update({ chat: [...state.chat, event.message].slice(-this.#chatLimit) });
      case 'chatDeleted':
        return this.#update({ chat: state.chat.filter((m) => m.id !== event.messageId) });
      case 'hearts':
        this.#update({ hearts: event.total });
        return this.#emit('hearts', { count: event.count, others: event.count - this.#takeOwnHearts(event.count), total: event.total });
      case 'viewers':
        return this.#update({ viewers: event.count });
      case 'pin':
        return this.#update({ pins: inSlotOrder([...state.pins.filter((p) => p.productId !== event.pin.productId), event.pin]) });
      case 'unpin':
        return this.#update({ pins: state.pins.filter((p) => p.productId !== event.productId) });
      case 'flashDealStart':
        return this.#update({ pins: state.pins.map((p) => (p.productId === event.productId ? { ...p, flashDeal: event.deal } : p)) });
      case 'flashDealEnd':
        // The pin keeps its deal's terms, whose end time now lies in the past: the page shows it over.
        return;
      case 'stock':
        return this.#update({ pins: state.pins.map((p) => (p.productId === event.productId ? { ...p, stock: event.stock } : p)) });
      case 'moderation':
        return this.#update({ moderation: [...state.moderation, event.entry].slice(-MODERATION_KEPT) });
      case 'status': {
        const you = state.you && event.status === 'ended' ? { ...state.you, canChat: false } : state.you;
        this.#update({ showStatus: event.status, you });
        return this.#emit('status', event.status);
      }
      case 'order': {
        const { type: _type, seq: _seq, ...order } = event;
        // An order whose status changes again (refunded, fulfilled) stays where it first appeared.
        const known = state.orders.some((entry) => entry.orderId === order.orderId);
        const orders = known
          ? state.orders.map((entry) => (entry.orderId === order.orderId ? { ...entry, ...order } : entry))
          : [...state.orders, { ...order, receivedAt: this.#now() }].slice(-ORDERS_KEPT);
        return this.#update({ orders });
      }
      default:
        return assertNever(event);
    }
  }

  /** How many of `count` hearts were this connection's own, as far as it can tell. */
  #takeOwnHearts(count: number): number {
    const cutoff = this.#now() - OWN_HEARTS_TTL_MS;
    this.#ownHearts = this.#ownHearts.filter((sent) => sent.at >= cutoff);
    let mine = 0;
    while (mine < count && this.#ownHearts.length > 0) {
      const sent = this.#ownHearts[0]!;
      const taken = Math.min(sent.count, count - mine);
      mine += taken;
      sent.count -= taken;
      if (sent.count === 0) this.#ownHearts.shift();
    }
    return mine;
  }

  #update(patch: Partial<RoomState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const run of [...this.#subscribers]) run(this.#state);
  }

  #emit<K extends keyof RoomConnectionEvents>(event: K, payload: RoomConnectionEvents[K]): void {
    for (const listener of [...this.#listeners[event]]) listener(payload);
  }
}

function inSlotOrder(pins: readonly Pin[]): Pin[] {
  return [...pins].sort((a, b) => a.slot - b.slot);
}

function assertNever(value: never): never {
  throw new Error(`unhandled room event ${JSON.stringify(value)}`);
}
