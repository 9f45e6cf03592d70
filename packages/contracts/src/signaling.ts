import { z } from 'zod';
import { Id } from './ids.ts';
import { PlainIngestStats } from './plain-rtp.ts';
import { AdmissionClaims } from './tokens.ts';

/**
 * Signaling between a participant (a seller publishing, a shopper watching) and the sfu: one
 * WebSocket per participant at `/ws?show=<showId>&token=<admission token>`. When the token cannot go
 * in the URL, leave it out and send an `authenticate` request as the very first message.
 *
 * Every frame is one JSON object, of three kinds:
 * - `request` (client to sfu): `{ type: 'request', id, method, data }`; `id` correlates the answer.
 * - `response` (sfu to client): `{ type: 'response', id, ok: true, data }` or
 *   `{ type: 'response', id, ok: false, error: { code, message } }`.
 * - `notification` (sfu to client, unanswered): `{ type: 'notification', method, data }`.
 *
 * Admission failures are not responses: the sfu closes the socket with a close code from
 * `SignalingCloseCode` and a machine-readable reason from `SignalingCloseReason`, before it creates
 * anything for the connection. Browsers cannot read the HTTP status of a refused upgrade, but they do
 * get the close code and reason.
 *
 * The media shapes below mirror mediasoup's and mediasoup-client's types (RtpCapabilities,
 * RtpParameters, ICE and DTLS parameters) so that what a client sends can be handed to mediasoup as it
 * is once validated, and what mediasoup returns can be handed to mediasoup-client.
 */

// ---------------------------------------------------------------------------------------------------
// Media shapes
// ---------------------------------------------------------------------------------------------------

export const MediaKind = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof MediaKind>;

const PayloadType = z.int().min(0).max(127);
const Ssrc = z.int().min(0).max(0xffff_ffff);
/** Codec format parameters (`profile-level-id`, `packetization-mode`, `apt`, ...): strings or numbers in SDP. */
const CodecParameters = z.record(z.string(), z.union([z.string(), z.number()]));

export const RtcpFeedback = z.object({ type: z.string(), parameter: z.string().optional() });
export type RtcpFeedback = z.infer<typeof RtcpFeedback>;

/** The header extensions mediasoup 3 understands; anything else is refused rather than silently ignored. */
export const RtpHeaderExtensionUri = z.enum([
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
]);
export type RtpHeaderExtensionUri = z.infer<typeof RtpHeaderExtensionUri>;

export const RtpCodecCapability = z.object({
  kind: MediaKind,
  mimeType: z.string(),
  preferredPayloadType: PayloadType,
  clockRate: z.int().positive(),
  channels: z.int().positive().optional(),
  parameters: CodecParameters.optional(),
  rtcpFeedback: z.array(RtcpFeedback).optional(),
});
export type RtpCodecCapability = z.infer<typeof RtpCodecCapability>;

export const RtpHeaderExtension = z.object({
  kind: MediaKind,
  uri: RtpHeaderExtensionUri,
  preferredId: z.int().min(1).max(255),
  preferredEncrypt: z.boolean().optional(),
  direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
});
export type RtpHeaderExtension = z.infer<typeof RtpHeaderExtension>;

/** What a router can route, or what a receiving device can decode. */
export const RtpCapabilities = z.object({
  codecs: z.array(RtpCodecCapability).optional(),
  headerExtensions: z.array(RtpHeaderExtension).optional(),
});
export type RtpCapabilities = z.infer<typeof RtpCapabilities>;

export const RtpCodecParameters = z.object({
  mimeType: z.string(),
  payloadType: PayloadType,
  clockRate: z.int().positive(),
  channels: z.int().positive().optional(),
  parameters: CodecParameters.optional(),
  rtcpFeedback: z.array(RtcpFeedback).optional(),
});
export type RtpCodecParameters = z.infer<typeof RtpCodecParameters>;

export const RtpHeaderExtensionParameters = z.object({
  uri: RtpHeaderExtensionUri,
  id: z.int().min(1).max(255),
  encrypt: z.boolean().optional(),
  parameters: CodecParameters.optional(),
});
export type RtpHeaderExtensionParameters = z.infer<typeof RtpHeaderExtensionParameters>;

export const RtpEncodingParameters = z.object({
  ssrc: Ssrc.optional(),
  rid: z.string().optional(),
  codecPayloadType: PayloadType.optional(),
  rtx: z.object({ ssrc: Ssrc }).optional(),
  dtx: z.boolean().optional(),
  scalabilityMode: z.string().optional(),
  maxBitrate: z.number().positive().optional(),
});
export type RtpEncodingParameters = z.infer<typeof RtpEncodingParameters>;

/** What one RTP stream (a producer's or a consumer's) actually carries. */
export const RtpParameters = z.object({
  mid: z.string().optional(),
  codecs: z.array(RtpCodecParameters),
  headerExtensions: z.array(RtpHeaderExtensionParameters).optional(),
  encodings: z.array(RtpEncodingParameters).optional(),
  rtcp: z.object({ cname: z.string().optional(), reducedSize: z.boolean().optional() }).optional(),
});
export type RtpParameters = z.infer<typeof RtpParameters>;

export const IceParameters = z.object({
  usernameFragment: z.string(),
  password: z.string(),
  iceLite: z.boolean().optional(),
});
export type IceParameters = z.infer<typeof IceParameters>;

export const IceCandidate = z.object({
  foundation: z.string(),
  priority: z.number(),
  /** @deprecated by mediasoup in favour of `address`; kept for older clients. */
  ip: z.string(),
  address: z.string(),
  protocol: z.enum(['udp', 'tcp']),
  port: z.int().min(1).max(65535),
  type: z.literal('host'),
  tcpType: z.literal('passive').optional(),
});
export type IceCandidate = z.infer<typeof IceCandidate>;

export const DtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']), value: z.string() }))
    .min(1),
});
export type DtlsParameters = z.infer<typeof DtlsParameters>;

// ---------------------------------------------------------------------------------------------------
// Requests and their responses
// ---------------------------------------------------------------------------------------------------

/** The request id: chosen by the client, unique among its requests in flight. */
export const RequestId = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A participant's role, as its admission token states it. */
export const PeerRole = AdmissionClaims.shape.role;
export type PeerRole = z.infer<typeof PeerRole>;

/** A send transport carries a publisher's media into the sfu; a receive transport carries media out. */
export const TransportDirection = z.enum(['send', 'recv']);
export type TransportDirection = z.infer<typeof TransportDirection>;

const Empty = z.object({});

/**
 * Each method's request data and response data. The schemas are the protocol: the sfu parses requests
 * with them, and a client may parse responses with them.
 */
export const SignalingMethods = {
  /** Only as the first message, and only when the URL carries no token. */
  authenticate: {
    request: z.object({ token: z.string().min(1).max(4096) }),
    response: z.object({ peerId: z.string(), show: Id, role: PeerRole }),
  },
  getRouterRtpCapabilities: {
    request: Empty,
    response: z.object({ rtpCapabilities: RtpCapabilities }),
  },
  /** `send` is for publishers only. */
  createWebRtcTransport: {
    request: z.object({ direction: TransportDirection }),
    response: z.object({
      transportId: z.string(),
      iceParameters: IceParameters,
      iceCandidates: z.array(IceCandidate),
      dtlsParameters: DtlsParameters,
    }),
  },
  connectTransport: {
    request: z.object({ transportId: z.string(), dtlsParameters: DtlsParameters }),
    response: Empty,
  },
  /** Publishers only, on one of their send transports. */
  produce: {
    request: z.object({ transportId: z.string(), kind: MediaKind, rtpParameters: RtpParameters }),
    response: z.object({ producerId: z.string() }),
  },
  /**
   * On one of the caller's receive transports. The consumer starts paused, so that no media (and in
   * particular no key frame) is sent before the client has set up its side: call `resumeConsumer` then.
   */
  consume: {
    request: z.object({ transportId: z.string(), producerId: z.string(), rtpCapabilities: RtpCapabilities }),
    response: z.object({
      consumerId: z.string(),
      producerId: z.string(),
      kind: MediaKind,
      rtpParameters: RtpParameters,
      type: z.enum(['simple', 'simulcast', 'svc', 'pipe']),
      producerPaused: z.boolean(),
    }),
  },
  resumeConsumer: {
    request: z.object({ consumerId: z.string() }),
    response: Empty,
  },
  closeProducer: {
    request: z.object({ producerId: z.string() }),
    response: Empty,
  },
  /**
   * The highest layers a viewer wants from one of its simulcast (or SVC) consumers: a small player
   * asks for a low spatial layer, a large one for the top. The sfu forwards the best layer at or below
   * these that the viewer's bandwidth allows (mediasoup's `consumer.setPreferredLayers`). Without a
   * `temporalLayer`, the highest of the spatial layer. A consumer of a single-stream producer
   * accepts the request and keeps forwarding its one stream.
   */
  setConsumerPreferredLayers: {
    request: z.object({
      consumerId: z.string(),
      spatialLayer: z.int().min(0).max(15),
      temporalLayer: z.int().min(0).max(15).optional(),
    }),
    response: Empty,
  },
} as const;

export type SignalingMethod = keyof typeof SignalingMethods;
export type SignalingRequestData<M extends SignalingMethod> = z.infer<(typeof SignalingMethods)[M]['request']>;
export type SignalingResponseData<M extends SignalingMethod> = z.infer<(typeof SignalingMethods)[M]['response']>;

function requestOf<M extends SignalingMethod>(method: M) {
  // Typed through a variable: indexing the map inline widens `data` to every method's data.
  const data: (typeof SignalingMethods)[M]['request'] = SignalingMethods[method].request;
  return z.object({ type: z.literal('request'), id: RequestId, method: z.literal(method), data });
}

/** Any request a client may send. */
export const SignalingRequest = z.discriminatedUnion('method', [
  requestOf('authenticate'),
  requestOf('getRouterRtpCapabilities'),
  requestOf('createWebRtcTransport'),
  requestOf('connectTransport'),
  requestOf('produce'),
  requestOf('consume'),
  requestOf('resumeConsumer'),
  requestOf('closeProducer'),
  requestOf('setConsumerPreferredLayers'),
]);
export type SignalingRequest = z.infer<typeof SignalingRequest>;

/** Why a request failed. */
export const SignalingErrorCode = z.enum([
  /** The request does not match the protocol. */
  'bad_request',
  /** The token does not allow it (a viewer asking to produce, for instance). */
  'forbidden',
  /** No transport, producer or consumer of that id belongs to the caller. */
  'not_found',
  /** The caller's RTP capabilities cannot receive that producer. */
  'cannot_consume',
  /** The media worker is being replaced: wait for the `reconnect` notification, then start over. */
  'unavailable',
  'internal',
]);
export type SignalingErrorCode = z.infer<typeof SignalingErrorCode>;

export const SignalingError = z.object({ code: SignalingErrorCode, message: z.string() });
export type SignalingError = z.infer<typeof SignalingError>;

export const SignalingResponse = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('response'), id: RequestId, ok: z.literal(true), data: z.unknown() }),
  z.object({ type: z.literal('response'), id: RequestId, ok: z.literal(false), error: SignalingError }),
]);
export type SignalingResponse = z.infer<typeof SignalingResponse>;

// ---------------------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------------------

export const RoomClosedReason = z.enum([
  /** The show was ended: do not reconnect. */
  'show_ended',
  /** The sfu is shutting down: reconnecting later may reach another instance. */
  'shutdown',
  /** The media worker died and no other could take the room. */
  'worker_lost',
]);
export type RoomClosedReason = z.infer<typeof RoomClosedReason>;

export const SignalingNotifications = {
  /** A publisher started sending a track; consume it to receive it. Also sent on admission, once per live producer. */
  newProducer: z.object({ producerId: z.string(), kind: MediaKind, peerId: z.string() }),
  /** A producer stopped. Sent to everyone else, and to its owner when the sfu closed it. */
  producerClosed: z.object({ producerId: z.string() }),
  /** One of the caller's consumers was closed by the sfu (its producer went away). */
  consumerClosed: z.object({ consumerId: z.string(), producerId: z.string() }),
  /** The room is gone; the sfu closes the socket right after. */
  roomClosed: z.object({ reason: RoomClosedReason }),
  /**
   * Every transport, producer and consumer of the caller is gone (its media worker died) but the
   * signaling session lives on: fetch the router's capabilities again, create new transports,
   * produce and consume again.
   */
  reconnect: z.object({ reason: z.literal('worker_died') }),
  /**
   * The layers one of the caller's simulcast or SVC consumers forwards now (mediasoup's `layerschange`),
   * or null while it forwards nothing (the producer's streams stalled, or the bandwidth fits none).
   */
  consumerLayersChanged: z.object({
    consumerId: z.string(),
    layers: z.object({ spatialLayer: z.int().min(0), temporalLayer: z.int().min(0).optional() }).nullable(),
  }),
} as const;

export type SignalingNotificationMethod = keyof typeof SignalingNotifications;
export type SignalingNotificationData<M extends SignalingNotificationMethod> = z.infer<(typeof SignalingNotifications)[M]>;

function notificationOf<M extends SignalingNotificationMethod>(method: M) {
  const data: (typeof SignalingNotifications)[M] = SignalingNotifications[method];
  return z.object({ type: z.literal('notification'), method: z.literal(method), data });
}

export const SignalingNotification = z.discriminatedUnion('method', [
  notificationOf('newProducer'),
  notificationOf('producerClosed'),
  notificationOf('consumerClosed'),
  notificationOf('roomClosed'),
  notificationOf('reconnect'),
  notificationOf('consumerLayersChanged'),
]);
export type SignalingNotification = z.infer<typeof SignalingNotification>;

/** Anything the sfu sends on the socket. */
export const SignalingServerMessage = z.union([SignalingResponse, SignalingNotification]);
export type SignalingServerMessage = z.infer<typeof SignalingServerMessage>;

// ---------------------------------------------------------------------------------------------------
// Closing the socket
// ---------------------------------------------------------------------------------------------------

/** WebSocket close codes the sfu uses (4000 to 4999 is the application's range). */
export const SignalingCloseCode = {
  /** The show ended, or the client left. */
  normal: 1000,
  /** The sfu is shutting down. */
  goingAway: 1001,
  /** The URL or a message does not follow the protocol. */
  badRequest: 4400,
  /** No token, or one that is malformed, forged, expired or for another audience. */
  unauthorized: 4401,
  /** A valid token, but for another show than the URL's. */
  forbidden: 4403,
  /** The show has ended; there is nothing to join. */
  showEnded: 4410,
  /** The room could not be created or was lost. */
  internalError: 4500,
} as const;
export type SignalingCloseCode = (typeof SignalingCloseCode)[keyof typeof SignalingCloseCode];

/** The close reason: one of these words, so that clients can branch on it. */
export const SignalingCloseReason = z.enum([
  'token_missing',
  'token_malformed',
  'token_bad_signature',
  'token_expired',
  'token_wrong_audience',
  'wrong_show',
  'show_missing',
  'protocol_error',
  'show_ended',
  'shutdown',
  'worker_lost',
  'room_unavailable',
]);
export type SignalingCloseReason = z.infer<typeof SignalingCloseReason>;

// ---------------------------------------------------------------------------------------------------
// The sfu's HTTP stats (`GET /stats`)
// ---------------------------------------------------------------------------------------------------

export const SfuProducerStats = z.object({
  producerId: z.string(),
  kind: MediaKind,
  /** Received bitrate in bits per second, from mediasoup's `producer.getStats()`. */
  bitrate: z.number(),
  byteCount: z.number(),
  /** mediasoup's 0 to 10 quality score of the incoming stream. */
  score: z.number(),
  /** Packets lost on the way in, over all of its streams, as a percentage of those expected. */
  packetLossPct: z.number().min(0).max(100).optional(),
});
export type SfuProducerStats = z.infer<typeof SfuProducerStats>;

const Layers = z.object({ spatialLayer: z.int().min(0), temporalLayer: z.int().min(0).optional() });

/** One consumer of one participant: what it forwards now and what its viewer asked for. */
export const SfuConsumerStats = z.object({
  consumerId: z.string(),
  producerId: z.string(),
  kind: MediaKind,
  /** `simulcast` and `svc` consumers have layers; `simple` ones forward their single stream. */
  type: z.enum(['simple', 'simulcast', 'svc', 'pipe']),
  paused: z.boolean(),
  /** Sent bitrate in bits per second. */
  bitrate: z.number(),
  /** Packets the viewer reported lost, as a percentage of those sent. */
  packetLossPct: z.number().min(0).max(100),
  /** The layers it forwards now; null when it forwards none (or has none). */
  currentLayers: Layers.nullable(),
  /** The layers the viewer asked for with setConsumerPreferredLayers (or mediasoup's default). */
  preferredLayers: Layers.nullable(),
});
export type SfuConsumerStats = z.infer<typeof SfuConsumerStats>;

/** One admitted participant of a show. */
export const SfuPeerStats = z.object({
  peerId: z.string(),
  role: z.enum(['publisher', 'viewer', 'moderator']),
  consumers: z.array(SfuConsumerStats),
});
export type SfuPeerStats = z.infer<typeof SfuPeerStats>;

/** One router of a show: the origin (where its producers live) or an edge fed from it by a pipe. */
export const SfuRouterStats = z.object({
  routerId: z.string(),
  workerPid: z.int(),
  role: z.enum(['origin', 'edge']),
  /** Viewers' receive transports on this router. */
  viewers: z.int(),
  /** Consumers on those transports (the unit SFU_MAX_CONSUMERS_PER_ROUTER counts). */
  consumers: z.int(),
});
export type SfuRouterStats = z.infer<typeof SfuRouterStats>;

export const SfuShowStats = z.object({
  show: Id,
  /** The origin router's worker. */
  workerPid: z.int(),
  /** Every router of the show, origin first, when the sfu reports them. */
  routers: z.array(SfuRouterStats).optional(),
  /** Where this sfu receives the show from, when it is an edge of another sfu. */
  originUrl: z.string().optional(),
  /** The show's plain RTP ingest (an OBS show over RTMP, forwarded by the transcoder), when it has one. */
  ingest: PlainIngestStats.optional(),
  publishers: z.int(),
  /** Everyone else connected: viewers and moderators. */
  viewers: z.int(),
  producers: z.array(SfuProducerStats),
  consumers: z.int(),
  /** Every participant with the layer each of its consumers receives. */
  peers: z.array(SfuPeerStats).optional(),
  /** Sum over producers, bits per second. */
  ingressBitrate: z.number(),
  /** Sum over consumers, bits per second. */
  egressBitrate: z.number(),
});
export type SfuShowStats = z.infer<typeof SfuShowStats>;

export const SfuStats = z.object({
  workers: z.array(z.object({ pid: z.int(), routers: z.int(), transports: z.int() })),
  shows: z.array(SfuShowStats),
});
export type SfuStats = z.infer<typeof SfuStats>;

// ---------------------------------------------------------------------------------------------------
// SFU to SFU: a show piped from an origin sfu to an edge sfu (another process or host)
// ---------------------------------------------------------------------------------------------------

/**
 * An edge sfu asks the origin for a show's media with one authenticated HTTP call,
 * `POST SFU_PIPE_PATH` (bearer: the shared TOKEN_SECRET), body `SfuPipeOpenRequest`: the address and
 * SRTP key of the edge's mediasoup PipeTransport. The origin answers 200 with a stream of
 * newline-delimited JSON `SfuPipeMessage`s that lasts as long as the pipe: first `ready` (its own
 * PipeTransport's address and key), then one `producer` per producer of the show, `synced`, then
 * later producers, `producerClosed`, pauses, and `ping`s. Either side ending the HTTP exchange ends the pipe.
 */
export const SFU_PIPE_PATH = '/internal/pipes';

export const SrtpParameters = z.object({
  cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
  keyBase64: z.string().min(1),
});
export type SrtpParameters = z.infer<typeof SrtpParameters>;

/** Where a PipeTransport receives, and the key to decrypt what it receives. */
export const SfuPipeEndpoint = z.object({
  ip: z.string().min(1),
  port: z.int().min(1).max(65535),
  srtpParameters: SrtpParameters,
});
export type SfuPipeEndpoint = z.infer<typeof SfuPipeEndpoint>;

export const SfuPipeOpenRequest = SfuPipeEndpoint.extend({
  show: Id,
  /** Names the edge in the origin's logs. */
  edge: z.string().max(200).optional(),
});
export type SfuPipeOpenRequest = z.infer<typeof SfuPipeOpenRequest>;

export const SfuPipeMessage = z.discriminatedUnion('type', [
  SfuPipeEndpoint.extend({ type: z.literal('ready') }),
  /** A producer of the show, as the origin's pipe consumer sends it: produce it with this id and these parameters. */
  z.object({ type: z.literal('producer'), producerId: z.string(), kind: MediaKind, rtpParameters: RtpParameters, paused: z.boolean() }),
  /** Every producer the show had when the pipe opened has been sent; later ones follow as they come. */
  z.object({ type: z.literal('synced') }),
  z.object({ type: z.literal('producerClosed'), producerId: z.string() }),
  z.object({ type: z.literal('producerPaused'), producerId: z.string() }),
  z.object({ type: z.literal('producerResumed'), producerId: z.string() }),
  /** Sent every few seconds, so that each side can tell a silent peer from a dead one. */
  z.object({ type: z.literal('ping') }),
  /** The show's room closed at the origin; the stream ends right after. */
  z.object({ type: z.literal('closed'), reason: RoomClosedReason }),
]);
export type SfuPipeMessage = z.infer<typeof SfuPipeMessage>;
