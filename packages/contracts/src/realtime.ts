import { z } from 'zod';
import { Id } from './ids.ts';
import { OrderStatus } from './orders.ts';
import { FlashDeal, Pin } from './pins.ts';
import { Instant, ShowStatus } from './shows.ts';

/**
 * The realtime room of a show: one WebSocket per viewer at `/v1/shows/{id}/room`, the same protocol
 * on the Node hub and on the Cloudflare Durable Object. Every frame is one JSON object.
 *
 * Joining: the client's first message is `hello` with a realtime token from
 * `POST /v1/shows/{id}/realtime-token` (admission only: a connection, once admitted, outlives its
 * token). The room answers `welcome`, then either a `snapshot` of the room (a fresh join) or, when
 * `lastSeq` (with the `epoch` it came from) is still covered by the room's recent events, every event
 * after `lastSeq` that the client may see, in order, with no gap and no duplicate. A refused token gets
 * an `error` with a precise code and the socket is closed with a code from `RoomCloseCode`.
 *
 * Sequence numbers: the room numbers its events 1, 2, 3, ... `seq` on a room event is its number;
 * `welcome`, `snapshot`, `resync` and `error` carry the room's latest number at the time, as a
 * position. A client keeps the highest `seq` it has applied, ignores room events at or below it, and
 * reconnects with `hello { lastSeq, epoch }`. Events addressed to moderators alone (`order`,
 * `moderation`) are numbered in the same sequence, so a viewer sees jumps there; completeness is the
 * server's guarantee, not something a client infers from consecutive numbers.
 *
 * `resync` means the client fell behind (a slow socket, or a resume point the room no longer
 * holds): a `snapshot` follows at once and replaces everything the client had.
 */

/** What the room enforces; the same on both transports. */
export const REALTIME_LIMITS = {
  /** Characters in one chat message, after trimming. */
  chatMaxLength: 500,
  /** Chat messages a user may send per window (moderators are not limited). */
  chatPerWindow: 5,
  chatWindowMs: 10_000,
  /** Chat messages in a snapshot. */
  recentChat: 50,
  /** Hearts are summed over this window and broadcast once per window. */
  heartWindowMs: 250,
  /** Hearts one user may add per window; taps beyond are ignored. */
  heartsPerUserPerWindow: 20,
  /** The viewer count is broadcast at most once per this interval, and only when it changed. */
  viewersDebounceMs: 1000,
  /** A connection must say hello within this time. */
  helloTimeoutMs: 10_000,
  /** The longest mute a moderator may impose. */
  maxMuteSeconds: 7 * 24 * 3600,
  /** Largest frame a client may send, in characters. */
  maxClientFrame: 8192,
} as const;

/** Close codes the room uses (4000-4999 are the application's). */
export const RoomCloseCode = {
  /** The token was refused (forged, expired, malformed, for another audience or another show). */
  unauthorized: 4401,
  /** Banned from this show's room. */
  banned: 4403,
  /** The show does not exist. */
  notFound: 4404,
  /** No hello in time, or a first message that is not a hello. */
  helloTimeout: 4408,
  /** The socket could not keep up and did not recover. */
  slowConsumer: 4429,
  /** The room could not load the show. */
  unavailable: 4503,
} as const;

// ---------------------------------------------------------------------------------------------------
// Client to server
// ---------------------------------------------------------------------------------------------------

export const RoomHello = z.object({
  type: z.literal('hello'),
  token: z.string().min(1).max(4096),
  /** The last `seq` applied before a reconnect: the room sends what came after, or a snapshot. */
  lastSeq: z.int().nonnegative().optional(),
  /** The `epoch` of the welcome that `lastSeq` belongs to; a room that restarted has a new one. */
  epoch: z.string().max(64).optional(),
});
export type RoomHello = z.infer<typeof RoomHello>;

export const RoomChatSend = z.object({
  type: z.literal('chat'),
  text: z.string().trim().min(1, 'must not be empty').max(REALTIME_LIMITS.chatMaxLength, `must be at most ${REALTIME_LIMITS.chatMaxLength} characters`),
});
export type RoomChatSend = z.input<typeof RoomChatSend>;

export const RoomHeart = z.object({
  type: z.literal('heart'),
  /** Taps batched by the client since its last heart message. */
  count: z.int().min(1).max(100).default(1),
});
export type RoomHeart = z.input<typeof RoomHeart>;

/** A moderator's action: delete a message for everyone, mute a user for a while, ban a user from the room (and let them back). */
export const RoomModeration = z.discriminatedUnion('action', [
  z.object({ type: z.literal('moderation'), action: z.literal('delete'), messageId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('moderation'), action: z.literal('mute'), userId: z.string().min(1).max(64), seconds: z.int().min(1).max(REALTIME_LIMITS.maxMuteSeconds) }),
  z.object({ type: z.literal('moderation'), action: z.literal('ban'), userId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('moderation'), action: z.literal('unban'), userId: z.string().min(1).max(64) }),
]);
export type RoomModeration = z.infer<typeof RoomModeration>;

export const RoomClientMessage = z.discriminatedUnion('type', [RoomHello, RoomChatSend, RoomHeart, RoomModeration]);
export type RoomClientMessage = z.input<typeof RoomClientMessage>;

// ---------------------------------------------------------------------------------------------------
// Server to client
// ---------------------------------------------------------------------------------------------------

const Seq = z.int().nonnegative();

export const RoomRole = z.enum(['viewer', 'moderator']);
export type RoomRole = z.infer<typeof RoomRole>;

export const ChatMessage = z.object({
  id: z.string(),
  /** The seq of the `chat` event that carried it. */
  seq: Seq,
  userId: z.string(),
  name: z.string(),
  text: z.string(),
  /** When the room accepted it: replays line chat up with the recording by this instant. */
  at: Instant,
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** One entry of the room's moderation log: who did what, to whom, when. */
export const ModerationEntry = z.object({
  at: Instant,
  by: z.string(),
  byName: z.string(),
  action: z.enum(['delete', 'mute', 'ban', 'unban']),
  messageId: z.string().optional(),
  userId: z.string().optional(),
  seconds: z.int().optional(),
});
export type ModerationEntry = z.infer<typeof ModerationEntry>;

export const RoomErrorCode = z.enum([
  'invalid_message',
  'hello_required',
  'already_joined',
  'token_malformed',
  'token_forged',
  'token_expired',
  'token_wrong_audience',
  'token_wrong_show',
  'show_not_found',
  'room_unavailable',
  'banned',
  'muted',
  'login_required',
  'forbidden',
  'rate_limited',
  'chat_too_long',
  'chat_empty',
  'show_ended',
  'message_not_found',
  /** An unban for a user who is not banned. */
  'not_banned',
  'slow_consumer',
]);
export type RoomErrorCode = z.infer<typeof RoomErrorCode>;

export const RoomWelcome = z.object({
  type: z.literal('welcome'),
  seq: Seq,
  /** Identifies this incarnation of the room's sequence; send it back with `lastSeq`. */
  epoch: z.string(),
  you: z.object({ userId: z.string(), name: z.string(), role: RoomRole, canChat: z.boolean() }),
  /** `resume`: the events after `lastSeq` follow; `snapshot`: a snapshot follows. */
  mode: z.enum(['snapshot', 'resume']),
});

export const RoomSnapshot = z.object({
  type: z.literal('snapshot'),
  /** The state as of this seq: apply only events after it. */
  seq: Seq,
  epoch: z.string(),
  /** The latest chat, oldest first, deleted messages left out. */
  chat: z.array(ChatMessage),
  pins: z.array(Pin),
  stock: z.record(z.string(), z.int().nonnegative()),
  viewers: z.int().nonnegative(),
  status: ShowStatus,
  hearts: z.int().nonnegative(),
  /** Moderators only: the latest entries of the moderation log. */
  moderation: z.array(ModerationEntry).optional(),
});

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), seq: Seq, ...shape });

export const RoomServerEvent = z.discriminatedUnion('type', [
  RoomWelcome,
  RoomSnapshot,
  event('chat', { message: ChatMessage }),
  event('chatDeleted', { messageId: z.string() }),
  /** Hearts tapped during one window (`count`) and since the room opened (`total`). */
  event('hearts', { count: z.int().positive(), total: z.int().nonnegative() }),
  event('viewers', { count: z.int().nonnegative() }),
  /** A product pinned, or its pin changed (a flash deal set or updated). */
  event('pin', { pin: Pin }),
  event('unpin', { productId: Id }),
  event('flashDealStart', { productId: Id, deal: FlashDeal }),
  event('flashDealEnd', { productId: Id }),
  event('stock', { productId: Id, stock: z.int().nonnegative() }),
  /** Moderators only: the seller's order feed. */
  event('order', { orderId: Id, productId: Id, quantity: z.int().positive(), status: OrderStatus, buyerName: z.string().optional() }),
  /** Moderators only: an entry of the moderation log, as it is recorded. */
  event('moderation', { entry: ModerationEntry }),
  event('status', { status: ShowStatus }),
  event('error', { code: RoomErrorCode, message: z.string(), retryAfterMs: z.int().nonnegative().optional() }),
  event('resync', { reason: z.enum(['slow_consumer', 'resume_unavailable']) }),
]);
export type RoomServerEvent = z.infer<typeof RoomServerEvent>;
export type RoomEventOf<T extends RoomServerEvent['type']> = Extract<RoomServerEvent, { type: T }>;

/** Room events, as opposed to per-connection messages (welcome, snapshot, error, resync). */
export const ROOM_CONNECTION_MESSAGES = ['welcome', 'snapshot', 'error', 'resync'] as const;

// ---------------------------------------------------------------------------------------------------
// What the edge API tells a room (in-process on Node, a POST to the Durable Object on Workers)
// ---------------------------------------------------------------------------------------------------

export const RoomFeedEvent = z.discriminatedUnion('type', [
  /** The product's stock after a checkout commit, a cancellation or an expiry. */
  z.object({ type: z.literal('stock'), productId: Id, stock: z.int().nonnegative() }),
  z.object({ type: z.literal('order'), orderId: Id, productId: Id, quantity: z.int().positive(), status: OrderStatus, buyerName: z.string().optional() }),
  /** The show or its pins changed: the room reloads them and tells its viewers what differs. */
  z.object({ type: z.literal('refresh') }),
]);
export type RoomFeedEvent = z.infer<typeof RoomFeedEvent>;

/** The room's path on the edge API. */
export const roomPath = (showId: string) => `/v1/shows/${showId}/room`;
