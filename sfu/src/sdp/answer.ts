import { write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import type * as mediasoupTypes from 'mediasoup/types';
import type { DtlsSetup, Offer, OfferedMedia } from './offer.ts';

/** What the sfu does with one offered m-line. */
export type AnsweredMedia =
  | { media: OfferedMedia; accepted: false }
  | {
      media: OfferedMedia;
      accepted: true;
      /** The sfu's side: `recvonly` for what a WHIP client sends, `sendonly` for what a WHEP client receives. */
      direction: 'recvonly' | 'sendonly';
      /** The producer's parameters (WHIP) or the consumer's (WHEP): codecs, payload types, extensions. */
      rtpParameters: mediasoupTypes.RtpParameters;
      /** WHEP: the stream and track ids the client's `ontrack` sees (one stream for audio and video). */
      msid?: { streamId: string; trackId: string };
    };

export type AnswerTransport = {
  iceParameters: mediasoupTypes.IceParameters;
  iceCandidates: mediasoupTypes.IceCandidate[];
  dtlsParameters: mediasoupTypes.DtlsParameters;
};

/** The sfu's DTLS setup in answer to the offerer's: passive (DTLS server) unless the offerer insists on being passive. */
export function answerSetup(offered: DtlsSetup): 'active' | 'passive' {
  return offered === 'passive' ? 'active' : 'passive';
}

/**
 * The SDP answer: one m-line per offered one, in order; refused ones with port 0 and out of the
 * BUNDLE group. The sfu is ICE-lite and lists every candidate it has (no trickle from its side),
 * its DTLS fingerprint, and per m-line the codecs, header extensions and SSRCs of its producer or
 * consumer, with the payload types of the offer.
 */
export function buildAnswer(offer: Offer, answered: readonly AnsweredMedia[], transport: AnswerTransport): string {
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0];
  if (!fingerprint) throw new Error('the transport has no DTLS fingerprint');
  const setup = answerSetup(offer.setup);
  const udp = transport.iceCandidates.find((candidate) => candidate.protocol === 'udp') ?? transport.iceCandidates[0];
  const bundled = answered.filter((a) => a.accepted).map((a) => a.media.mid);

  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: randomSessionId(), sessionVersion: 2, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    ...(bundled.length > 0 ? { groups: [{ type: 'BUNDLE', mids: bundled.join(' ') }] } : {}),
    msidSemantic: { semantic: 'WMS', token: '*' },
    ...(offer.extmapAllowMixed ? { extmapAllowMixed: 'extmap-allow-mixed' as const } : {}),
    media: answered.map((a): MediaDescription => {
      const { media } = a;
      if (!a.accepted) {
        return {
          type: media.type,
          port: 0,
          protocol: media.protocol,
          payloads: media.payloads || '0',
          rtp: [],
          fmtp: [],
          connection: { version: 4, ip: '0.0.0.0' },
          mid: media.mid,
          direction: 'inactive',
        };
      }
      const { rtpParameters } = a;
      const description: MediaDescription = {
        type: media.type,
        port: udp?.port ?? 9,
        protocol: 'UDP/TLS/RTP/SAVPF',
        payloads: rtpParameters.codecs.map((codec) => codec.payloadType).join(' '),
        connection: { version: ipVersion(udp?.address), ip: udp?.address ?? '0.0.0.0' },
        mid: media.mid,
        direction: a.direction,
        iceUfrag: transport.iceParameters.usernameFragment,
        icePwd: transport.iceParameters.password,
        fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
        setup,
        candidates: transport.iceCandidates.map((candidate) => ({
          foundation: candidate.foundation,
          component: 1,
          transport: candidate.protocol,
          priority: candidate.priority,
          ip: candidate.address,
          port: candidate.port,
          type: candidate.type,
          ...(candidate.tcpType ? { tcptype: candidate.tcpType } : {}),
        })),
        endOfCandidates: 'end-of-candidates',
        rtcpMux: 'rtcp-mux',
        ...(media.rtcpReducedSize ? { rtcpRsize: 'rtcp-rsize' as const } : {}),
        rtp: rtpParameters.codecs.map((codec) => {
          const [, name = codec.mimeType] = codec.mimeType.split('/');
          return { payload: codec.payloadType, codec: name, rate: codec.clockRate, ...(codec.channels && codec.channels > 1 ? { encoding: codec.channels } : {}) };
        }),
        fmtp: rtpParameters.codecs
          .filter((codec) => codec.parameters && Object.keys(codec.parameters).length > 0)
          .map((codec) => ({
            payload: codec.payloadType,
            config: Object.entries(codec.parameters ?? {})
              .map(([key, value]) => `${key}=${String(value)}`)
              .join(';'),
          })),
        rtcpFb: rtpParameters.codecs.flatMap((codec) =>
          (codec.rtcpFeedback ?? []).map((fb) => ({ payload: codec.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) })),
        ),
        ext: (rtpParameters.headerExtensions ?? []).map((ext) => ({ value: ext.id, uri: ext.uri })),
      };

      if (a.direction === 'recvonly') {
        // WHIP: the RIDs the sfu receives, as the offerer listed them.
        const rids = (rtpParameters.encodings ?? []).flatMap((encoding) => (encoding.rid ? [encoding.rid] : []));
        if (rids.length > 0) {
          description.rids = rids.map((rid) => ({ id: rid, direction: 'recv' }));
          description.simulcast = { dir1: 'recv', list1: rids.join(';') };
        }
      } else {
        // WHEP: the consumer's SSRCs, so that the client demultiplexes by SSRC (its MID extension id rarely matches the router's).
        const encoding = rtpParameters.encodings?.[0];
        const cname = rtpParameters.rtcp?.cname ?? 'mytaek1';
        const msid = a.msid ? `${a.msid.streamId} ${a.msid.trackId}` : undefined;
        if (a.msid) description.msid = [{ id: a.msid.streamId, appdata: a.msid.trackId }];
        if (encoding?.ssrc !== undefined) {
          const ssrcs = [encoding.ssrc, ...(encoding.rtx?.ssrc !== undefined ? [encoding.rtx.ssrc] : [])];
          description.ssrcs = ssrcs.flatMap((id) => [
            { id, attribute: 'cname', value: cname },
            ...(msid ? [{ id, attribute: 'msid', value: msid }] : []),
          ]);
          if (ssrcs.length === 2) description.ssrcGroups = [{ semantics: 'FID', ssrcs: ssrcs.join(' ') }];
        }
      }
      return description;
    }),
  };
  return write(session);
}

function ipVersion(address: string | undefined): number {
  return address?.includes(':') ? 6 : 4;
}

function randomSessionId(): string {
  // Up to 62 bits, as RFC 3264 suggests, in decimal.
  return (BigInt(Math.floor(Math.random() * 2 ** 30)) * 2n ** 32n + BigInt(Math.floor(Math.random() * 2 ** 32))).toString();
}
