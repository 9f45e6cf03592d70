import { z } from 'zod';
import { Id } from './ids.ts';

/**
 * Plain RTP between the transcoder and the sfu, over the sfu's HTTP port. The transcoder is the only
 * caller: it sends the shared TOKEN_SECRET as a bearer token (as it does to the edge API's ingest
 * check). Every address is loopback or a private network in deployments; nothing here is public.
 *
 * Ingest (an OBS show over RTMP): `POST /shows/{showId}/plain-ingest` opens one PlainTransport per
 * kind in comedia mode (the sfu learns FFmpeg's address from its first packet, so FFmpeg needs no
 * port of its own) and one producer on each, with the SSRC and payload type FFmpeg will use. The
 * show's WebRTC viewers then see those producers exactly as they see a browser publisher's. A show
 * has at most one ingest: a new one replaces the previous (a restarted FFmpeg sends from new ports,
 * which the old transports would ignore). 201 with PlainIngestResponse; 400 for a bad body, 401
 * without the secret, 410 for an ended show, 409 on an edge sfu (publish to the origin).
 * `DELETE /shows/{showId}/plain-ingest/{ingestId}` closes them (the publish ended): 204, 404 if unknown.
 *
 * Egress (LL-HLS and the replay of every show): `POST /shows/{showId}/plain-egress` with the ports
 * FFmpeg listens on; the sfu consumes the show's newest audio and video producers (the top simulcast
 * layer), paused, onto PlainTransports that send to those ports, and answers an SDP description for
 * FFmpeg's RTP demuxer. `POST /shows/{showId}/plain-egress/{egressId}/resume` starts the flow once
 * FFmpeg listens (and asks the source for a keyframe); `DELETE .../plain-egress/{egressId}` ends it.
 * RTCP goes to `port + 1`, which is where FFmpeg's RTP demuxer expects it.
 */

export const plainIngestPath = (showId: string): string => `/shows/${encodeURIComponent(showId)}/plain-ingest`;
export const plainIngestItemPath = (showId: string, ingestId: string): string =>
  `${plainIngestPath(showId)}/${encodeURIComponent(ingestId)}`;
export const plainEgressPath = (showId: string): string => `/shows/${encodeURIComponent(showId)}/plain-egress`;
export const plainEgressItemPath = (showId: string, egressId: string): string =>
  `${plainEgressPath(showId)}/${encodeURIComponent(egressId)}`;
export const plainEgressResumePath = (showId: string, egressId: string): string => `${plainEgressItemPath(showId, egressId)}/resume`;

const PayloadType = z.int().min(96).max(127);
const Ssrc = z.int().min(1).max(0xffff_ffff);
const Port = z.int().min(1).max(65535);
/** An IPv4 or IPv6 literal; the sfu sends egress there. */
const IpAddress = z.union([z.ipv4(), z.ipv6()]);

export const PlainIngestSource = z.object({
  protocol: z.literal('rtmp'),
  /** The profile-level-id the seller's encoder sent, before any re-encoding. */
  sourceProfileLevelId: z.string().regex(/^[0-9a-f]{6}$/i).optional(),
  videoReencoded: z.boolean(),
  /** Why, in words a seller can act on ("High profile: browsers cannot decode it over WebRTC"). */
  reason: z.string().max(200).optional(),
});
export type PlainIngestSource = z.infer<typeof PlainIngestSource>;

export const PlainIngestRequest = z.object({
  video: z.object({
    payloadType: PayloadType,
    ssrc: Ssrc,
    /**
     * What FFmpeg sends. The sfu routes constrained baseline (42e01f) and accepts any 42xxxx or 4dxxxx
     * profile-level-id here; the transcoder re-encodes High-profile sources before they get this far.
     */
    profileLevelId: z.string().regex(/^[0-9a-f]{6}$/i),
  }),
  audio: z.object({ payloadType: PayloadType, ssrc: Ssrc }),
  /** What the sfu's stats say about the source, e.g. that High-profile video had to be re-encoded. */
  source: PlainIngestSource.optional(),
});
export type PlainIngestRequest = z.infer<typeof PlainIngestRequest>;

/** A show's plain ingest as the sfu's `/stats` lists it (`SfuShowStats.ingest`). */
export const PlainIngestStats = z.object({
  ingestId: z.string().min(1),
  /** What FFmpeg declared it sends. */
  profileLevelId: z.string(),
  source: PlainIngestSource.optional(),
});
export type PlainIngestStats = z.infer<typeof PlainIngestStats>;

export const PlainEndpoint = z.object({ ip: IpAddress, port: Port });
export type PlainEndpoint = z.infer<typeof PlainEndpoint>;

/**
 * Where FFmpeg sends one kind: RTP to `port`, RTCP to `rtcpPort` (`rtp://ip:port?rtcpport=rtcpPort`).
 * Not multiplexed: FFmpeg sends its RTCP from a second local port, and a comedia transport latches
 * onto the first sender it hears, so with one port FFmpeg's first RTCP report would lock out its RTP.
 */
export const PlainIngestEndpoint = PlainEndpoint.extend({ rtcpPort: Port });
export type PlainIngestEndpoint = z.infer<typeof PlainIngestEndpoint>;

export const PlainIngestResponse = z.object({
  ingestId: z.string().min(1),
  showId: Id,
  video: PlainIngestEndpoint,
  audio: PlainIngestEndpoint,
});
export type PlainIngestResponse = z.infer<typeof PlainIngestResponse>;

export const PlainEgressRequest = z.object({
  /** Where FFmpeg listens; RTCP is sent to each port + 1. */
  ip: IpAddress,
  video: z.object({ port: Port }),
  audio: z.object({ port: Port }),
});
export type PlainEgressRequest = z.infer<typeof PlainEgressRequest>;

export const PlainEgressResponse = z.object({
  egressId: z.string().min(1),
  showId: Id,
  /** An SDP description of the two streams, for `ffmpeg -protocol_whitelist file,udp,rtp -i egress.sdp`. */
  sdp: z.string().min(1),
  video: z.object({ mimeType: z.string(), payloadType: z.int(), ssrc: Ssrc }),
  /** Absent when the show has no audio (a seller on camera without a microphone): the SDP then has video only. */
  audio: z.object({ mimeType: z.string(), payloadType: z.int(), ssrc: Ssrc }).optional(),
});
export type PlainEgressResponse = z.infer<typeof PlainEgressResponse>;

/** Whether a show has media to egress: the egress request is refused with 409 until it has video. */
export const PLAIN_EGRESS_NOT_READY = 'no_media_yet';

/**
 * The sfu tells the transcoder when a show starts and stops having WebRTC media (a browser or WHIP
 * publisher; never the transcoder's own plain ingest, whose HLS comes from RTMP directly), so that
 * every show gets LL-HLS and a replay. `POST {TRANSCODER_URL}/internal/shows/{showId}/sfu-media`
 * with `{ state: 'live' | 'ended', sfuUrl }`, bearer TOKEN_SECRET; the transcoder answers 202 and
 * then asks the sfu for egress itself. Repeats are harmless (the transcoder ignores a `live` for a
 * show it already records).
 */
export const sfuMediaNoticePath = (showId: string): string => `/internal/shows/${encodeURIComponent(showId)}/sfu-media`;

export const SfuMediaNotice = z.object({
  state: z.enum(['live', 'ended']),
  /** The sfu's own base URL, for the egress requests that follow. */
  sfuUrl: z.url(),
});
export type SfuMediaNotice = z.infer<typeof SfuMediaNotice>;
