import {
  type AdmissionClaims,
  type ChatMessage,
  type ModerationEntry,
  newId,
  type Pin,
  REALTIME_LIMITS,
  RoomClientMessage,
  RoomCloseCode,
  type RoomErrorCode,
  type RoomFeedEvent,
  type RoomModeration,
  type RoomRole,
  type RoomServerEvent,
  type ShowStatus,
  type TokenFailure,
  verifyToken,
} from '@mytaek1/contracts';
import { type DealPhase, MemoryRoomStore, type RoomStore, type StoredEvent } from './room-store.ts';

/**
 * The realtime room of one show, as plain TypeScript: admission, roles, chat, hearts, viewers, pins,
 * flash deals, stock, the seller's order feed, moderation, resume and backpressure. It knows nothing
 * of its transport: the Node hub (node-room-hub.ts) and the Durable Object (show-room-object.ts) hand
 * it sockets and frames, and it speaks the protocol of @mytaek1/contracts' realtime.ts.
 */

/** One client connection, as the transport exposes it. */
export interface RoomSocket {
  send(text: string): void;
  /** Bytes queued for this socket and not yet handed to the network; 0 when the transport cannot tell. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  /** Keeps who this socket is with the socket itself (a Durable Object's attachment survives hibernation). */
  remember?(state: SocketState): void;
}

/** Who a socket is, once admitted. */
export interface MemberIdentity {
  userId: string;
  name: string;
  role: RoomRole;
}

/** What a transport keeps per socket to rebuild the room's view of it after hibernation. */
export interface SocketState {
  openedAt: number;
  member: MemberIdentity | null;
}

/** The show as the room starts from: its status and pins (with live stock). Null when there is no such show. */
export interface RoomSource {
  load(showId: string): Promise<{ status: ShowStatus; pins: Pin[] } | null>;
}

export interface RoomTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BackpressureOptions {
  /** Above this many queued bytes a socket stops receiving events... */
  highWaterBytes: number;
  /** ...until it drains below this, when it gets a resync and a snapshot instead of the backlog. */
  lowWaterBytes: number;
  /** A socket that stays above the low water mark this long is dropped. */
  maxStallMs: number;
  checkEveryMs: number;
}

export const DEFAULT_BACKPRESSURE: BackpressureOptions = { highWaterBytes: 512 * 1024, lowWaterBytes: 64 * 1024, maxStallMs: 15_000, checkEveryMs: 100 };

export interface ShowRoomOptions {
  showId: string;
  /** Verifies realtime tokens. */
  secret: string;
  source: RoomSource;
  store?: RoomStore;
  now?: () => number;
  timers?: RoomTimers;
  /** Asks the transport to call `wake()` at this instant (the next flash-deal boundary), or never (null). */
  wakeAt?: (when: number | null) => void;
  backpressure?: Partial<BackpressureOptions>;
  /** Recent events kept for resuming clients. */
  resumeWindow?: number;
  warn?: (message: string, error?: unknown) => void;
}

interface Member {
  socket: RoomSocket;
  state: SocketState;
  helloTimer: unknown;
  /** The hello being checked; messages that arrive meanwhile wait in `queue`. */
  joining: Promise<void> | null;
  queue: string[];
  stalledAt: number | null;
  /** The last room event this socket was sent (or may skip): where it catches up from after a stall. */
  sentSeq: number;
  /** Left (closed, refused, banned): anything still in flight for it is dropped. */
  gone: boolean;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A room event before the room numbers it. */
type Emitted = DistributiveOmit<Exclude<RoomServerEvent, { type: 'welcome' | 'snapshot' | 'error' | 'resync' }>, 'seq'>;

class MissingShow extends Error {}

const DEFAULT_RESUME_WINDOW = 1024;
const MODERATION_IN_SNAPSHOT = 50;
const TOKEN_ERRORS: Record<TokenFailure, RoomErrorCode> = {
  malformed: 'token_malformed',
  bad_signature: 'token_forged',
  expired: 'token_expired',
  wrong_audience: 'token_wrong_audience',
};
const TOKEN_MESSAGES: Record<TokenFailure, string> = {
  malformed: 'the token is not a realtime token',
  bad_signature: 'the token’s signature does not verify',
  expired: 'the token has expired: ask for a new one',
  wrong_audience: 'the token is not for the realtime room',
};

const realTimers: RoomTimers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ShowRoom {
  readonly showId: string;
  readonly #secret: string;
  readonly #source: RoomSource;
  readonly #store: RoomStore;
  readonly #now: () => number;
  readonly #timers: RoomTimers;
  readonly #wakeAt: (when: number | null) => void;
  readonly #bp: BackpressureOptions;
  readonly #resumeWindow: number;
  readonly #warn: (message: string, error?: unknown) => void;

  readonly #members = new Map<RoomSocket, Member>();
  #seq = 0;
  #epoch: string;
  #loaded = false;
  #status: ShowStatus = 'scheduled';
  #pins: Pin[] = [];
  readonly #stock = new Map<string, number>();
  /** Bumped by every stock event, so a reload started before one does not overwrite it. */
  readonly #stockVersion = new Map<string, number>();
  readonly #mutes = new Map<string, number>();
  readonly #bans = new Set<string>();
  readonly #deals = new Map<string, DealPhase>();
  #heartsTotal = 0;
  #heartsPending = 0;
  readonly #heartsByUser = new Map<string, number>();
  #heartsTimer: unknown = null;
  #viewersSent = 0;
  #viewersTimer: unknown = null;
  #drainTimer: unknown = null;
  readonly #ring: StoredEvent[] = [];
  readonly #chat: ChatMessage[] = [];
  #chatJson: string | null = null;
  readonly #moderation: ModerationEntry[] = [];
  readonly #chatTimes = new Map<string, number[]>();
  #reloading: Promise<void> | null = null;
  #reloadAgain = false;
  #closed = false;

  constructor(options: ShowRoomOptions) {
    this.showId = options.showId;
    this.#secret = options.secret;
    this.#source = options.source;
    this.#store = options.store ?? new MemoryRoomStore();
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    this.#wakeAt = options.wakeAt ?? (() => {});
    this.#bp = { ...DEFAULT_BACKPRESSURE, ...options.backpressure };
    this.#resumeWindow = options.resumeWindow ?? DEFAULT_RESUME_WINDOW;
    this.#warn = options.warn ?? ((message, error) => console.warn(`show room ${this.showId}: ${message}`, error ?? ''));

    const saved = this.#store.load({ events: this.#resumeWindow, chat: REALTIME_LIMITS.recentChat, moderation: MODERATION_IN_SNAPSHOT });
    const meta = saved?.meta ?? {};
    this.#epoch = meta.epoch ?? newId(this.#now());
    if (!meta.epoch) this.#store.saveMeta('epoch', this.#epoch);
    if (!meta.showId) this.#store.saveMeta('showId', this.showId);
    if (saved) {
      this.#loaded = meta.loaded ?? false;
      this.#status = meta.status ?? 'scheduled';
      this.#pins = meta.pins ?? [];
      for (const [productId, stock] of Object.entries(meta.stock ?? {})) this.#stock.set(productId, stock);
      for (const [userId, until] of Object.entries(meta.mutes ?? {})) this.#mutes.set(userId, until);
      for (const userId of meta.bans ?? []) this.#bans.add(userId);
      for (const [productId, phase] of Object.entries(meta.deals ?? {})) this.#deals.set(productId, phase);
      this.#heartsTotal = meta.hearts ?? 0;
      this.#ring.push(...saved.events);
      this.#seq = saved.events.at(-1)?.seq ?? 0;
      this.#chat.push(...saved.chat);
      this.#moderation.push(...saved.moderation);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // What the transport calls
  // ------------------------------------------------------------------------------------------------

  /** A new socket: it has `helloTimeoutMs` to say hello. */
  open(socket: RoomSocket): void {
    const state: SocketState = { openedAt: this.#now(), member: null };
    const member = this.#add(socket, state);
    socket.remember?.(state);
    this.#armHelloTimer(member, REALTIME_LIMITS.helloTimeoutMs);
  }

  /** A socket the transport already held (a Durable Object waking from hibernation): no events, no snapshot. */
  restore(socket: RoomSocket, state: SocketState): void {
    if (this.#members.has(socket)) return;
    const member = this.#add(socket, state);
    if (!state.member) this.#armHelloTimer(member, Math.max(0, state.openedAt + REALTIME_LIMITS.helloTimeoutMs - this.#now()));
    else this.#viewersSent = this.viewerCount();
  }

  /** One text frame from a socket. Resolves when it has been handled (a hello verifies its token first). */
  receive(socket: RoomSocket, text: string): Promise<void> {
    const member = this.#members.get(socket);
    if (!member) return Promise.resolve();
    if (member.joining) {
      member.queue.push(text);
      return member.joining;
    }
    const joining = this.#handle(member, text);
    if (!joining) return Promise.resolve();
    member.joining = joining.finally(() => {
      member.joining = null;
      const queued = member.queue.splice(0);
      for (const next of queued) void this.receive(socket, next);
    });
    return member.joining;
  }

  /** The socket closed or failed. */
  leave(socket: RoomSocket): void {
    const member = this.#members.get(socket);
    if (!member) return;
    this.#remove(member);
  }

  /** What the edge API reports: stock after a commit, an order for the seller, or "the show or its pins changed". */
  async publish(event: RoomFeedEvent): Promise<void> {
    switch (event.type) {
      case 'stock': {
        this.#stockVersion.set(event.productId, (this.#stockVersion.get(event.productId) ?? 0) + 1);
        if (this.#stock.get(event.productId) === event.stock) return;
        this.#setStock(event.productId, event.stock);
        this.#store.saveMeta('stock', Object.fromEntries(this.#stock));
        this.#emit({ type: 'stock', productId: event.productId, stock: event.stock });
        return;
      }
      case 'order': {
        const { type: _, ...order } = event;
        this.#emit({ type: 'order', ...order }, true);
        return;
      }
      case 'refresh':
        // A room nobody has joined yet loads everything when the first viewer arrives.
        if (this.#loaded) await this.#reload();
        return;
    }
  }

  /** The transport's alarm (see `wakeAt`): flash deals start and end. */
  wake(): void {
    this.#evaluateDeals(true);
  }

  viewerCount(): number {
    let count = 0;
    for (const member of this.#members.values()) if (member.state.member) count++;
    return count;
  }

  /** No sockets at all: the Node hub may forget a room that never loaded. */
  isEmpty(): boolean {
    return this.#members.size === 0;
  }

  get seq(): number {
    return this.#seq;
  }

  get epoch(): string {
    return this.#epoch;
  }

  /** The chat with timestamps, for replays. */
  chatLog(options?: { afterSeq?: number; limit?: number }): ChatMessage[] {
    return this.#store.chatLog(options);
  }

  moderationLog(): readonly ModerationEntry[] {
    return this.#moderation;
  }

  /** Closes every socket and stops every timer. */
  close(): void {
    this.#closed = true;
    for (const member of [...this.#members.values()]) {
      this.#remove(member);
      try {
        member.socket.close(1001, 'the room is closing');
      } catch {
        // already closed
      }
    }
    for (const timer of [this.#heartsTimer, this.#viewersTimer, this.#drainTimer]) if (timer) this.#timers.clearTimeout(timer);
    this.#heartsTimer = this.#viewersTimer = this.#drainTimer = null;
    this.#wakeAt(null);
  }

  // ------------------------------------------------------------------------------------------------
  // Members
  // ------------------------------------------------------------------------------------------------

  #add(socket: RoomSocket, state: SocketState): Member {
    const member: Member = { socket, state, helloTimer: null, joining: null, queue: [], stalledAt: null, sentSeq: 0, gone: false };
    this.#members.set(socket, member);
    return member;
  }

  #remove(member: Member): void {
    if (member.gone) return;
    member.gone = true;
    this.#members.delete(member.socket);
    if (member.helloTimer) this.#timers.clearTimeout(member.helloTimer);
    if (member.state.member) this.#scheduleViewers();
  }

  #armHelloTimer(member: Member, ms: number): void {
    member.helloTimer = this.#timers.setTimeout(() => {
      member.helloTimer = null;
      if (!member.gone && !member.state.member && !member.joining) this.#refuse(member, 'hello_required', 'say hello with a realtime token first', RoomCloseCode.helloTimeout);
    }, ms);
  }

  /** Sends an error and closes the socket. */
  #refuse(member: Member, code: RoomErrorCode, message: string, closeCode: number): void {
    this.#sendError(member, code, message);
    this.#remove(member);
    try {
      member.socket.close(closeCode, code);
    } catch {
      // already closed
    }
  }

  #sendError(member: Member, code: RoomErrorCode, message: string, retryAfterMs?: number): void {
    const error: RoomServerEvent = { type: 'error', seq: this.#seq, code, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) }) };
    this.#sendNow(member, JSON.stringify(error));
  }

  // ------------------------------------------------------------------------------------------------
  // Client messages
  // ------------------------------------------------------------------------------------------------

  /** Handles one frame; returns a promise only for a hello (token verification and the room's first load are asynchronous). */
  #handle(member: Member, text: string): Promise<void> | null {
    if (member.gone) return null;
    if (text.length > REALTIME_LIMITS.maxClientFrame) {
      this.#sendError(member, 'invalid_message', `frames are at most ${REALTIME_LIMITS.maxClientFrame} characters`);
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#sendError(member, 'invalid_message', 'frames are JSON objects');
      return null;
    }
    const parsed = RoomClientMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const isChat = (json as { type?: unknown } | null)?.type === 'chat';
      if (isChat && issue?.path[0] === 'text' && issue.code === 'too_big') this.#sendError(member, 'chat_too_long', `chat messages are at most ${REALTIME_LIMITS.chatMaxLength} characters`);
      else if (isChat && issue?.path[0] === 'text' && issue.code === 'too_small') this.#sendError(member, 'chat_empty', 'chat messages must not be empty');
      else this.#sendError(member, 'invalid_message', issue ? `${issue.path.join('.') || 'message'}: ${issue.message}` : 'not a room message');
      return null;
    }
    const message = parsed.data;
    if (message.type === 'hello') return this.#hello(member, message.token, message.lastSeq, message.epoch);
    const identity = member.state.member;
    if (!identity) {
      this.#refuse(member, 'hello_required', 'say hello with a realtime token first', RoomCloseCode.helloTimeout);
      return null;
    }
    if (message.type === 'chat') this.#chatFrom(member, identity, message.text);
    else if (message.type === 'heart') this.#heartFrom(member, identity, message.count);
    else this.#moderate(member, identity, message);
    return null;
  }

  async #hello(member: Member, token: string, lastSeq: number | undefined, epoch: string | undefined): Promise<void> {
    if (member.state.member) {
      this.#sendError(member, 'already_joined', 'this connection has already joined the room');
      return;
    }
    const verified = await verifyToken(token, this.#secret, { audience: 'realtime', now: this.#now() });
    if (member.gone) return;
    if (!verified.ok) return this.#refuse(member, TOKEN_ERRORS[verified.reason], TOKEN_MESSAGES[verified.reason], RoomCloseCode.unauthorized);
    const claims: AdmissionClaims = verified.claims;
    if (claims.show !== this.showId) return this.#refuse(member, 'token_wrong_show', 'the token admits to another show’s room', RoomCloseCode.unauthorized);
    if (this.#bans.has(claims.sub)) return this.#refuse(member, 'banned', 'you are banned from this show’s room', RoomCloseCode.banned);
    if (!this.#loaded) {
      let missing = false;
      try {
        await this.#reload();
      } catch (error) {
        missing = error instanceof MissingShow;
        if (!missing) this.#warn('loading the show failed', error);
      }
      if (member.gone) return;
      if (missing) return this.#refuse(member, 'show_not_found', 'no show has that id', RoomCloseCode.notFound);
      if (!this.#loaded) return this.#refuse(member, 'room_unavailable', 'the room could not load the show; try again', RoomCloseCode.unavailable);
    }
    // Banned while the token was being checked.
    if (this.#bans.has(claims.sub)) return this.#refuse(member, 'banned', 'you are banned from this show’s room', RoomCloseCode.banned);

    const identity: MemberIdentity = {
      userId: claims.sub,
      name: claims.name ?? (claims.sub.startsWith('anon:') ? 'guest' : 'viewer'),
      role: claims.role === 'moderator' ? 'moderator' : 'viewer',
    };
    if (member.helloTimer) this.#timers.clearTimeout(member.helloTimer);
    member.helloTimer = null;
    member.state = { ...member.state, member: identity };
    member.socket.remember?.(member.state);

    // From here to the last send nothing awaits, so no event can fall between the snapshot (or the
    // replay) and the live stream.
    const resumeFrom = this.#resumeIndex(lastSeq, epoch);
    const welcome: RoomServerEvent = {
      type: 'welcome',
      seq: this.#seq,
      epoch: this.#epoch,
      you: { ...identity, canChat: this.#canChat(identity) },
      mode: resumeFrom === null ? 'snapshot' : 'resume',
    };
    this.#sendNow(member, JSON.stringify(welcome));
    if (resumeFrom === null) {
      this.#sendNow(member, this.#snapshot(identity.role));
      member.sentSeq = this.#seq;
    } else {
      member.sentSeq = lastSeq!;
      this.#replay(member, resumeFrom);
    }
    this.#scheduleViewers();
  }

  /** Where in the ring a client that saw `lastSeq` resumes, or null for a snapshot. */
  #resumeIndex(lastSeq: number | undefined, epoch: string | undefined): number | null {
    if (lastSeq === undefined || (epoch !== undefined && epoch !== this.#epoch) || lastSeq > this.#seq) return null;
    if (lastSeq === this.#seq) return this.#ring.length;
    const first = this.#ring[0];
    if (!first || first.seq > lastSeq + 1) return null;
    return lastSeq + 1 - first.seq;
  }

  #canChat(identity: MemberIdentity): boolean {
    return !identity.userId.startsWith('anon:') && this.#status !== 'ended' && (this.#mutes.get(identity.userId) ?? 0) <= this.#now();
  }

  #chatFrom(member: Member, identity: MemberIdentity, text: string): void {
    const now = this.#now();
    if (identity.userId.startsWith('anon:')) return this.#sendError(member, 'login_required', 'sign in to chat');
    if (this.#status === 'ended') return this.#sendError(member, 'show_ended', 'the show has ended');
    const mutedUntil = this.#mutes.get(identity.userId) ?? 0;
    if (mutedUntil > now) return this.#sendError(member, 'muted', 'a moderator muted you', mutedUntil - now);
    if (identity.role !== 'moderator') {
      const times = (this.#chatTimes.get(identity.userId) ?? []).filter((t) => t > now - REALTIME_LIMITS.chatWindowMs);
      if (times.length >= REALTIME_LIMITS.chatPerWindow) {
        this.#chatTimes.set(identity.userId, times);
        return this.#sendError(member, 'rate_limited', `at most ${REALTIME_LIMITS.chatPerWindow} messages per ${REALTIME_LIMITS.chatWindowMs / 1000} s`, times[0]! + REALTIME_LIMITS.chatWindowMs - now);
      }
      times.push(now);
      this.#chatTimes.set(identity.userId, times);
      if (this.#chatTimes.size > 10_000) this.#sweepChatTimes(now);
    }
    const message: ChatMessage = { id: newId(now), seq: this.#seq + 1, userId: identity.userId, name: identity.name, text, at: new Date(now).toISOString() };
    this.#chat.push(message);
    if (this.#chat.length > REALTIME_LIMITS.recentChat) this.#chat.shift();
    this.#chatJson = null;
    this.#store.appendChat(message);
    this.#emit({ type: 'chat', message });
  }

  #sweepChatTimes(now: number): void {
    for (const [userId, times] of this.#chatTimes) if (times.every((t) => t <= now - REALTIME_LIMITS.chatWindowMs)) this.#chatTimes.delete(userId);
  }

  #heartFrom(member: Member, identity: MemberIdentity, count: number): void {
    if (identity.userId.startsWith('anon:')) return this.#sendError(member, 'login_required', 'sign in to send hearts');
    if (this.#status === 'ended') return;
    const used = this.#heartsByUser.get(identity.userId) ?? 0;
    const added = Math.min(count, REALTIME_LIMITS.heartsPerUserPerWindow - used);
    if (added <= 0) return;
    this.#heartsByUser.set(identity.userId, used + added);
    this.#heartsPending += added;
    this.#heartsTimer ??= this.#timers.setTimeout(() => this.#flushHearts(), REALTIME_LIMITS.heartWindowMs);
  }

  #flushHearts(): void {
    this.#heartsTimer = null;
    this.#heartsByUser.clear();
    if (this.#heartsPending === 0 || this.#closed) return;
    const count = this.#heartsPending;
    this.#heartsPending = 0;
    this.#heartsTotal += count;
    this.#store.saveMeta('hearts', this.#heartsTotal);
    this.#emit({ type: 'hearts', count, total: this.#heartsTotal });
  }

  #moderate(member: Member, identity: MemberIdentity, action: RoomModeration): void {
    if (identity.role !== 'moderator') return this.#sendError(member, 'forbidden', 'only the seller and admins moderate this room');
    const now = this.#now();
    const entry: ModerationEntry = { at: new Date(now).toISOString(), by: identity.userId, byName: identity.name, action: action.action };
    switch (action.action) {
      case 'delete': {
        const recent = this.#chat.findIndex((m) => m.id === action.messageId);
        if (!this.#store.deleteChat(action.messageId, now) && recent < 0) return this.#sendError(member, 'message_not_found', 'no message has that id');
        if (recent >= 0) {
          this.#chat.splice(recent, 1);
          this.#chatJson = null;
        }
        entry.messageId = action.messageId;
        this.#emit({ type: 'chatDeleted', messageId: action.messageId });
        break;
      }
      case 'mute':
      case 'ban': {
        if (action.userId === identity.userId) return this.#sendError(member, 'forbidden', `you cannot ${action.action} yourself`);
        if (this.#isModerator(action.userId)) return this.#sendError(member, 'forbidden', `moderators cannot be ${action.action === 'mute' ? 'muted' : 'banned'}`);
        entry.userId = action.userId;
        if (action.action === 'mute') {
          entry.seconds = action.seconds;
          this.#mutes.set(action.userId, now + action.seconds * 1000);
          for (const [userId, until] of this.#mutes) if (until <= now) this.#mutes.delete(userId);
          this.#store.saveMeta('mutes', Object.fromEntries(this.#mutes));
          for (const target of this.#membersOf(action.userId)) this.#sendError(target, 'muted', `a moderator muted you for ${action.seconds} s`, action.seconds * 1000);
        } else {
          this.#bans.add(action.userId);
          this.#mutes.delete(action.userId);
          this.#store.saveMeta('bans', [...this.#bans]);
          for (const target of this.#membersOf(action.userId)) this.#refuse(target, 'banned', 'a moderator banned you from this room', RoomCloseCode.banned);
        }
        break;
      }
      case 'unban': {
        if (!this.#bans.delete(action.userId)) return this.#sendError(member, 'not_banned', 'that user is not banned from this room');
        this.#store.saveMeta('bans', [...this.#bans]);
        entry.userId = action.userId;
        break;
      }
    }
    this.#moderation.push(entry);
    if (this.#moderation.length > MODERATION_IN_SNAPSHOT) this.#moderation.shift();
    this.#store.appendModeration(entry);
    this.#emit({ type: 'moderation', entry }, true);
  }

  #isModerator(userId: string): boolean {
    return this.#membersOf(userId).some((m) => m.state.member?.role === 'moderator');
  }

  #membersOf(userId: string): Member[] {
    return [...this.#members.values()].filter((m) => m.state.member?.userId === userId);
  }

  // ------------------------------------------------------------------------------------------------
  // The show, its pins and flash deals
  // ------------------------------------------------------------------------------------------------

  /** Loads the show and its pins; after the first load, tells viewers what changed. One at a time. */
  #reload(): Promise<void> {
    if (this.#reloading) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      try {
        do {
          this.#reloadAgain = false;
          const versions = new Map(this.#stockVersion);
          const show = await this.#source.load(this.showId);
          if (this.#closed) return;
          if (!show) {
            if (!this.#loaded) throw new MissingShow(this.showId);
            continue;
          }
          this.#apply(show, versions);
        } while (this.#reloadAgain);
      } finally {
        this.#reloading = null;
      }
    })();
    return this.#reloading;
  }

  #apply(show: { status: ShowStatus; pins: Pin[] }, versionsAtStart: Map<string, number>): void {
    const announce = this.#loaded;
    if (show.status !== this.#status) {
      this.#status = show.status;
      this.#store.saveMeta('status', this.#status);
      if (announce) this.#emit({ type: 'status', status: this.#status });
    }
    const before = new Map(this.#pins.map((pin) => [pin.productId, pin]));
    let stockChanged = false;
    for (const pin of show.pins) {
      // The database's stock, unless a stock event arrived while it was being read.
      const fresher = (this.#stockVersion.get(pin.productId) ?? 0) !== (versionsAtStart.get(pin.productId) ?? 0);
      if (!fresher && this.#stock.get(pin.productId) !== pin.stock) {
        const known = this.#stock.has(pin.productId);
        this.#stock.set(pin.productId, pin.stock);
        stockChanged = true;
        if (announce && known && before.has(pin.productId)) this.#emit({ type: 'stock', productId: pin.productId, stock: pin.stock });
      }
    }
    const pins = show.pins.map((pin) => ({ ...pin, stock: this.#stock.get(pin.productId) ?? pin.stock }));
    this.#pins = pins;
    this.#store.saveMeta('pins', pins);
    if (stockChanged) this.#store.saveMeta('stock', Object.fromEntries(this.#stock));
    if (announce) {
      for (const pin of pins) {
        const old = before.get(pin.productId);
        if (!old || pinKey(old) !== pinKey(pin)) this.#emit({ type: 'pin', pin });
      }
      for (const productId of before.keys()) if (!pins.some((p) => p.productId === productId)) this.#emit({ type: 'unpin', productId });
    }
    if (!this.#loaded) {
      this.#loaded = true;
      this.#store.saveMeta('loaded', true);
    }
    this.#evaluateDeals(announce);
  }

  #setStock(productId: string, stock: number): void {
    this.#stock.set(productId, stock);
    const index = this.#pins.findIndex((p) => p.productId === productId);
    if (index >= 0) {
      this.#pins[index] = { ...this.#pins[index]!, stock };
      this.#store.saveMeta('pins', this.#pins);
    }
  }

  /** Announces flash deals that started or ended since last time, and asks to be woken at the next boundary. */
  #evaluateDeals(announce: boolean): void {
    const now = this.#now();
    let next: number | null = null;
    const seen = new Set<string>();
    let changed = false;
    for (const pin of this.#pins) {
      const deal = pin.flashDeal;
      if (!deal) continue;
      seen.add(pin.productId);
      const startsAt = Date.parse(deal.startsAt);
      const endsAt = Date.parse(deal.endsAt);
      const phase: DealPhase['phase'] = now < startsAt ? 'pending' : now < endsAt ? 'live' : 'over';
      const key = JSON.stringify(deal);
      const tracked = this.#deals.get(pin.productId);
      const sameDeal = tracked?.key === key;
      const wasLive = tracked?.phase === 'live';
      if (announce) {
        // A deal that goes live, or whose terms change while live, is announced (again).
        if (phase === 'live' && !(sameDeal && wasLive)) this.#emit({ type: 'flashDealStart', productId: pin.productId, deal });
        // A known deal that ran out, or a running deal replaced by terms that are not live now.
        else if ((phase === 'over' && sameDeal && tracked.phase !== 'over') || (!sameDeal && wasLive)) this.#emit({ type: 'flashDealEnd', productId: pin.productId });
      }
      if (!tracked || tracked.key !== key || tracked.phase !== phase) {
        this.#deals.set(pin.productId, { key, phase });
        changed = true;
      }
      const boundary = phase === 'pending' ? startsAt : phase === 'live' ? endsAt : null;
      if (boundary !== null && (next === null || boundary < next)) next = boundary;
    }
    for (const [productId, tracked] of this.#deals) {
      if (seen.has(productId)) continue;
      // The deal was removed (or the product unpinned) while it ran.
      if (announce && tracked.phase === 'live' && this.#pins.some((p) => p.productId === productId)) this.#emit({ type: 'flashDealEnd', productId });
      this.#deals.delete(productId);
      changed = true;
    }
    if (changed) this.#store.saveMeta('deals', Object.fromEntries(this.#deals));
    this.#wakeAt(next);
  }

  // ------------------------------------------------------------------------------------------------
  // Viewers
  // ------------------------------------------------------------------------------------------------

  #scheduleViewers(): void {
    if (this.#viewersTimer || this.#closed) return;
    this.#viewersTimer = this.#timers.setTimeout(() => {
      this.#viewersTimer = null;
      const count = this.viewerCount();
      if (count === this.#viewersSent || this.#closed) return;
      this.#viewersSent = count;
      this.#emit({ type: 'viewers', count });
    }, REALTIME_LIMITS.viewersDebounceMs);
  }

  // ------------------------------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------------------------------

  /** Numbers an event, keeps it for resuming clients, and sends it to every member who may see it. */
  #emit(event: Emitted, moderatorsOnly = false): void {
    const seq = ++this.#seq;
    const text = JSON.stringify({ ...event, seq });
    const stored: StoredEvent = { seq, moderatorsOnly, text };
    this.#ring.push(stored);
    if (this.#ring.length > this.#resumeWindow) this.#ring.splice(0, this.#ring.length - this.#resumeWindow);
    this.#store.appendEvent(stored, this.#resumeWindow);
    for (const member of this.#members.values()) {
      if (member.state.member) this.#deliver(member, stored);
    }
  }

  /**
   * Sends a room event unless the socket is behind: then it gets nothing more until it drains, and
   * catches up from the recent events (or, too far behind, from a snapshot). False once stalled.
   */
  #deliver(member: Member, event: StoredEvent): boolean {
    if (member.stalledAt !== null) return false;
    if (event.moderatorsOnly && member.state.member?.role !== 'moderator') {
      member.sentSeq = event.seq;
      return true;
    }
    if (member.socket.bufferedAmount() > this.#bp.highWaterBytes) {
      member.stalledAt = this.#now();
      this.#drainTimer ??= this.#timers.setTimeout(() => this.#checkStalled(), this.#bp.checkEveryMs);
      return false;
    }
    this.#sendNow(member, event.text);
    member.sentSeq = event.seq;
    return true;
  }

  /** Sends the ring's events from `index` on, stopping if the socket stalls again. */
  #replay(member: Member, index: number): void {
    for (let i = index; i < this.#ring.length; i++) if (!this.#deliver(member, this.#ring[i]!)) return;
  }

  #sendNow(member: Member, text: string): void {
    try {
      member.socket.send(text);
    } catch {
      // A socket that is closing: its close event removes it.
    }
  }

  /**
   * Stalled sockets that drained catch up from the recent events when these still reach back to
   * where they stopped, or get a resync and a snapshot instead of the backlog; sockets that stay
   * stuck too long are dropped.
   */
  #checkStalled(): void {
    this.#drainTimer = null;
    if (this.#closed) return;
    const now = this.#now();
    let stillStalled = false;
    for (const member of [...this.#members.values()]) {
      if (member.stalledAt === null) continue;
      const identity = member.state.member;
      if (identity && member.socket.bufferedAmount() <= this.#bp.lowWaterBytes) {
        member.stalledAt = null;
        const first = this.#ring[0];
        if (first && first.seq <= member.sentSeq + 1) this.#replay(member, member.sentSeq + 1 - first.seq);
        else {
          this.#sendNow(member, JSON.stringify({ type: 'resync', seq: this.#seq, reason: 'slow_consumer' } satisfies RoomServerEvent));
          this.#sendNow(member, this.#snapshot(identity.role));
          member.sentSeq = this.#seq;
        }
        if (member.stalledAt !== null) stillStalled = true;
      } else if (now - member.stalledAt >= this.#bp.maxStallMs) {
        this.#remove(member);
        try {
          member.socket.close(RoomCloseCode.slowConsumer, 'slow_consumer');
        } catch {
          // already closed
        }
      } else stillStalled = true;
    }
    if (stillStalled) this.#drainTimer = this.#timers.setTimeout(() => this.#checkStalled(), this.#bp.checkEveryMs);
  }

  #snapshot(role: RoomRole): string {
    this.#chatJson ??= JSON.stringify(this.#chat);
    const pins = this.#pins.map((pin) => ({ ...pin, stock: this.#stock.get(pin.productId) ?? pin.stock }));
    const head = JSON.stringify({
      type: 'snapshot',
      seq: this.#seq,
      epoch: this.#epoch,
      pins,
      stock: Object.fromEntries(this.#stock),
      viewers: this.viewerCount(),
      status: this.#status,
      hearts: this.#heartsTotal,
      ...(role === 'moderator' ? { moderation: this.#moderation } : {}),
    });
    // The recent chat is serialised once per change, not once per joining viewer.
    return `${head.slice(0, -1)},"chat":${this.#chatJson}}`;
  }

  /** Stalled sockets, for tests and stats. */
  stalledCount(): number {
    let count = 0;
    for (const member of this.#members.values()) if (member.stalledAt !== null) count++;
    return count;
  }

  /** The room's state as the Durable Object's GET reports it. */
  describe(): { showId: string; seq: number; epoch: string; viewers: number; status: ShowStatus; loaded: boolean } {
    return { showId: this.showId, seq: this.#seq, epoch: this.#epoch, viewers: this.viewerCount(), status: this.#status, loaded: this.#loaded };
  }
}

function pinKey(pin: Pin): string {
  const { stock: _, ...rest } = pin;
  return JSON.stringify(rest);
}
