import { isSameProfile } from 'h264-profile-level-id';
import type * as mediasoupTypes from 'mediasoup/types';
import { RtpHeaderExtensionUri } from '@mytaek1/contracts';
import { DEFAULT_ROUTER_PROFILE, type RouterProfile } from '../ShowRouters.ts';
import type { OfferedCodec, OfferedMedia } from './offer.ts';

/**
 * Between what an SDP offer says and what mediasoup takes: the producer parameters of a WHIP
 * client's m-line, and for a WHEP client the router profile and the RTP capabilities under which its
 * consumers send exactly the payload types it offered.
 */

type CodecLike = { mimeType: string; clockRate: number; channels?: number; parameters?: Record<string, unknown> };

export type MediaKind = mediasoupTypes.MediaKind;

export function isMediaKind(type: string): type is MediaKind {
  return type === 'audio' || type === 'video';
}

/** Payload formats that are not media of their own: retransmission, redundancy, FEC, comfort noise, DTMF. */
export function isAuxiliaryCodec(mimeType: string): boolean {
  return /\/(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i.test(mimeType);
}

/**
 * The same codec, as mediasoup's strict matching decides it: MIME type, clock rate, channels; for
 * H.264 the packetization mode and the profile (not the level); for VP9 the profile.
 */
export function sameCodec(a: CodecLike, b: CodecLike): boolean {
  const mimeType = a.mimeType.toLowerCase();
  if (mimeType !== b.mimeType.toLowerCase() || a.clockRate !== b.clockRate) return false;
  if (mimeType.startsWith('audio/') && (a.channels ?? 1) !== (b.channels ?? 1)) return false;
  const aParameters = a.parameters ?? {};
  const bParameters = b.parameters ?? {};
  switch (mimeType) {
    case 'video/h264':
      return Number(aParameters['packetization-mode'] ?? 0) === Number(bParameters['packetization-mode'] ?? 0) && isSameProfile(aParameters, bParameters);
    case 'video/vp9':
      return Number(aParameters['profile-id'] ?? 0) === Number(bParameters['profile-id'] ?? 0);
    default:
      return true;
  }
}

/** Feedback mediasoup acts on, per codec (what a router's capabilities list). */
function supportedFeedback(codec: OfferedCodec, routerCodec: mediasoupTypes.RtpCodecCapability): mediasoupTypes.RtcpFeedback[] {
  const supported = routerCodec.rtcpFeedback ?? [];
  return codec.rtcpFeedback.filter((fb) => supported.some((s) => s.type === fb.type && (s.parameter ?? '') === fb.parameter));
}

function knownHeaderExtensions(media: OfferedMedia, routerCapabilities: mediasoupTypes.RtpCapabilities): { id: number; uri: mediasoupTypes.RtpHeaderExtensionUri }[] {
  const supported = new Set((routerCapabilities.headerExtensions ?? []).filter((ext) => ext.kind === media.type).map((ext) => ext.uri as string));
  return media.headerExtensions.flatMap(({ id, uri }) => {
    const known = RtpHeaderExtensionUri.safeParse(uri);
    return known.success && supported.has(known.data) ? [{ id, uri: known.data }] : [];
  });
}

export type ProducerChoice = {
  kind: MediaKind;
  /** What to produce with: the offer's payload types, SSRCs or RIDs, and MID. */
  rtpParameters: mediasoupTypes.RtpParameters;
};

/**
 * The producer parameters for a WHIP client's m-line: its preferred codec among those the router
 * routes (with that codec's RTX), the header extensions mediasoup understands, and its encodings
 * (simulcast RIDs, else SSRCs, else the MID alone). Undefined when no offered codec is routable.
 */
export function producerParametersFor(media: OfferedMedia, routerCapabilities: mediasoupTypes.RtpCapabilities): ProducerChoice | undefined {
  if (!isMediaKind(media.type)) return undefined;
  const kind = media.type;
  let chosen: { codec: OfferedCodec; routerCodec: mediasoupTypes.RtpCodecCapability } | undefined;
  for (const codec of media.codecs) {
    if (isAuxiliaryCodec(codec.mimeType)) continue;
    const routerCodec = routerCapabilities.codecs?.find((candidate) => candidate.kind === kind && !isAuxiliaryCodec(candidate.mimeType) && sameCodec(candidate, codec));
    if (routerCodec) {
      chosen = { codec, routerCodec };
      break;
    }
  }
  if (!chosen) return undefined;
  const { codec, routerCodec } = chosen;
  const rtx = kind === 'video' ? media.codecs.find((c) => /\/rtx$/i.test(c.mimeType) && Number(c.parameters['apt']) === codec.payloadType) : undefined;

  const codecs: mediasoupTypes.RtpCodecParameters[] = [
    {
      mimeType: codec.mimeType,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
      parameters: codec.parameters,
      rtcpFeedback: supportedFeedback(codec, routerCodec),
    },
  ];
  if (rtx) codecs.push({ mimeType: `${kind}/rtx`, payloadType: rtx.payloadType, clockRate: rtx.clockRate, parameters: { apt: codec.payloadType }, rtcpFeedback: [] });

  let encodings: mediasoupTypes.RtpEncodingParameters[];
  if (media.sendRids.length > 0) encodings = media.sendRids.map((rid) => ({ rid }));
  else if (media.ssrcs.length > 0) {
    // One stream per m-line (several SSRCs without RIDs would be legacy SIM-group simulcast): the first.
    const { ssrc, rtxSsrc } = media.ssrcs[0]!;
    encodings = [{ ssrc, ...(rtx && rtxSsrc !== undefined ? { rtx: { ssrc: rtxSsrc } } : {}) }];
  } else encodings = [{}]; // matched by its MID header extension

  return {
    kind,
    rtpParameters: {
      mid: media.mid,
      codecs,
      headerExtensions: knownHeaderExtensions(media, routerCapabilities),
      encodings,
      rtcp: { ...(media.cname ? { cname: media.cname } : {}), reducedSize: media.rtcpReducedSize },
    },
  };
}

/** mediasoup's order for payload types it picks itself (ortc.ts DynamicPayloadTypes). */
const DYNAMIC_PAYLOAD_TYPES = [
  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 96, 97, 98,
  99,
];

/**
 * The router profile that makes consumers send a WHEP client's payload types: the show's codecs the
 * client offered, each with the client's payload type. mediasoup picks RTX payload types itself, in
 * a known order, so a codec whose offered type it would already have given to an RTX stream is left
 * out (it could not be honoured). Offered payload types equal to the show's own give the default profile.
 */
export function whepRouterProfile(offered: readonly OfferedMedia[]): RouterProfile {
  const routerCodecs = DEFAULT_ROUTER_PROFILE.mediaCodecs;
  const mapped: { codec: mediasoupTypes.RouterRtpCodecCapability; payloadType: number }[] = [];
  for (const routerCodec of routerCodecs) {
    for (const media of offered) {
      if (media.type !== routerCodec.kind) continue;
      const match = media.codecs.find((codec) => !isAuxiliaryCodec(codec.mimeType) && sameCodec(routerCodec, codec));
      if (match) {
        mapped.push({ codec: routerCodec, payloadType: match.payloadType });
        break;
      }
    }
  }
  const defaults = defaultPayloadTypes();
  if (mapped.every(({ codec, payloadType }) => defaults.get(codec) === payloadType)) return DEFAULT_ROUTER_PROFILE;

  // Replays mediasoup's assignment: a preferred payload type leaves the dynamic list; each video codec's RTX takes the list's head.
  const available = [...DYNAMIC_PAYLOAD_TYPES];
  const taken = new Set<number>();
  const mediaCodecs: mediasoupTypes.RouterRtpCodecCapability[] = [];
  for (const { codec, payloadType } of mapped) {
    if (taken.has(payloadType)) continue;
    taken.add(payloadType);
    const at = available.indexOf(payloadType);
    if (at >= 0) available.splice(at, 1);
    mediaCodecs.push({ ...codec, preferredPayloadType: payloadType });
    if (codec.kind === 'video') {
      const rtx = available.shift();
      if (rtx !== undefined) taken.add(rtx);
    }
  }
  const key = mediaCodecs.map((codec) => `${codec.mimeType}/${JSON.stringify(codec.parameters ?? {})}=${codec.preferredPayloadType}`).join(',');
  return { key: `whep:${key}`, mediaCodecs };
}

/** The payload types the default router gives each of its codecs. */
function defaultPayloadTypes(): Map<mediasoupTypes.RouterRtpCodecCapability, number> {
  const available = [...DYNAMIC_PAYLOAD_TYPES];
  const result = new Map<mediasoupTypes.RouterRtpCodecCapability, number>();
  for (const codec of DEFAULT_ROUTER_PROFILE.mediaCodecs) {
    const payloadType = codec.preferredPayloadType ?? available.shift()!;
    result.set(codec, payloadType);
    if (codec.kind === 'video') available.shift();
  }
  return result;
}

/**
 * The RTP capabilities a WHEP client's m-line stands for, on the router it was placed on: its codecs
 * with its payload types (RTX only where the router's RTX payload type is the one it offered;
 * otherwise retransmissions go in the media stream itself, as plain NACK allows), and its header
 * extensions (mediasoup keeps those whose id is the router's).
 */
export function whepRtpCapabilities(media: OfferedMedia, routerCapabilities: mediasoupTypes.RtpCapabilities): mediasoupTypes.RtpCapabilities {
  if (!isMediaKind(media.type)) return { codecs: [], headerExtensions: [] };
  const kind = media.type;
  const codecs: mediasoupTypes.RtpCodecCapability[] = [];
  for (const codec of media.codecs) {
    if (isAuxiliaryCodec(codec.mimeType)) continue;
    const routerCodec = routerCapabilities.codecs?.find((candidate) => candidate.kind === kind && sameCodec(candidate, codec));
    if (!routerCodec || routerCodec.preferredPayloadType !== codec.payloadType) continue;
    codecs.push({
      kind,
      mimeType: codec.mimeType,
      preferredPayloadType: codec.payloadType,
      clockRate: codec.clockRate,
      ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
      parameters: codec.parameters,
      rtcpFeedback: codec.rtcpFeedback,
    });
    const routerRtx = routerCapabilities.codecs?.find((candidate) => /\/rtx$/i.test(candidate.mimeType) && Number(candidate.parameters?.['apt']) === routerCodec.preferredPayloadType);
    const offeredRtx = media.codecs.find((c) => /\/rtx$/i.test(c.mimeType) && Number(c.parameters['apt']) === codec.payloadType);
    if (routerRtx && offeredRtx && routerRtx.preferredPayloadType === offeredRtx.payloadType) {
      codecs.push({ kind, mimeType: `${kind}/rtx`, preferredPayloadType: offeredRtx.payloadType, clockRate: offeredRtx.clockRate, parameters: { apt: codec.payloadType }, rtcpFeedback: [] });
    }
  }
  const headerExtensions = knownHeaderExtensions(media, routerCapabilities).map(({ id, uri }) => ({ kind, uri, preferredId: id, direction: 'sendrecv' as const }));
  return { codecs, headerExtensions };
}
