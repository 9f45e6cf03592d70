import { parse, parseParams, type MediaAttributes, type SessionDescription } from 'sdp-transform';
import { RequestError } from '../errors.ts';

/**
 * An SDP offer from a WHIP or WHEP client (RFC 9725; RFC 8829 for what a browser puts in it), read
 * into what the sfu needs: per m-line its codecs with the client's payload types, its header
 * extensions, its SSRCs or simulcast RIDs; and the transport's ICE and DTLS parameters. mediasoup
 * has no SDP: these are handed to a WebRtcTransport, a producer or a consumer.
 */

export type CodecParameterValue = string | number;

export type OfferedCodec = {
  payloadType: number;
  /** `audio/opus`, `video/VP8`, `video/rtx`... */
  mimeType: string;
  clockRate: number;
  channels?: number;
  parameters: Record<string, CodecParameterValue>;
  rtcpFeedback: { type: string; parameter: string }[];
};

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export type OfferedMedia = {
  /** The m-line's position in the offer: the answer has one m-line per offered one, in order. */
  index: number;
  /** `audio`, `video`, or anything else (`application` for data channels), which is refused. */
  type: string;
  mid: string;
  /** 0 when the offerer itself rejects the m-line. */
  port: number;
  protocol: string;
  /** The m-line's format list as offered, for a rejected m-line in the answer. */
  payloads: string;
  direction: MediaDirection;
  /** Every codec of the m-line, in the offerer's order of preference, RTX included. */
  codecs: OfferedCodec[];
  headerExtensions: { id: number; uri: string }[];
  /** The sent streams' SSRCs (and their RTX SSRCs, from `ssrc-group:FID`), when the offer lists them. */
  ssrcs: { ssrc: number; rtxSsrc?: number }[];
  cname: string | undefined;
  /** Simulcast RIDs the offerer sends (`a=simulcast:send`), in its order; empty without simulcast. */
  sendRids: string[];
  rtcpMux: boolean;
  rtcpReducedSize: boolean;
};

export type DtlsSetup = 'actpass' | 'active' | 'passive';

export type Offer = {
  media: OfferedMedia[];
  /** The MIDs of the offer's first BUNDLE group (WHIP and WHEP clients bundle everything). */
  bundle: string[];
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: 'sha-1' | 'sha-224' | 'sha-256' | 'sha-384' | 'sha-512'; value: string };
  setup: DtlsSetup;
  extmapAllowMixed: boolean;
};

const FINGERPRINT_ALGORITHMS = ['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'] as const;

/** Reads an offer; refuses (RequestError `bad_request`) one the sfu cannot answer. */
export function parseOffer(text: string): Offer {
  if (!/^v=0\r?\n/.test(text)) throw new RequestError('bad_request', 'not an SDP offer (it must start with v=0)');
  let session: SessionDescription;
  try {
    session = parse(text);
  } catch (error) {
    throw new RequestError('bad_request', `unreadable SDP: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!session.media?.length) throw new RequestError('bad_request', 'the offer has no m-line');

  const media = session.media.map((m, index) => parseMedia(m, index));
  const mids = new Set<string>();
  for (const m of media) {
    if (!m.mid) throw new RequestError('bad_request', `m-line ${m.index} has no a=mid`);
    if (mids.has(m.mid)) throw new RequestError('bad_request', `two m-lines have a=mid:${m.mid}`);
    mids.add(m.mid);
  }

  // sdp-transform turns anything that looks like a number into one: read as text again.
  const bundleGroup = session.groups?.find((group) => group.type === 'BUNDLE');
  const bundle = bundleGroup ? String(bundleGroup.mids).split(/\s+/).filter(Boolean) : [];
  const live = media.filter((m) => m.port !== 0);
  // One transport per session: every live m-line must share it (RFC 9725 requires max-bundle).
  if (live.length > 1 && !live.every((m) => bundle.includes(m.mid))) {
    throw new RequestError('bad_request', 'every m-line must be in one BUNDLE group (max-bundle)');
  }
  for (const m of live) {
    if (!m.rtcpMux && (m.type === 'audio' || m.type === 'video')) throw new RequestError('bad_request', `m-line ${m.mid} does not offer rtcp-mux`);
  }

  const first = session.media.find((m) => m.port !== 0) ?? session.media[0]!;
  const iceUfrag = first.iceUfrag ?? session.iceUfrag;
  const icePwd = first.icePwd ?? session.icePwd;
  if (!iceUfrag || !icePwd) throw new RequestError('bad_request', 'the offer has no ICE credentials');
  const fingerprint = first.fingerprint ?? session.fingerprint;
  if (!fingerprint) throw new RequestError('bad_request', 'the offer has no DTLS fingerprint');
  const algorithm = FINGERPRINT_ALGORITHMS.find((name) => name === fingerprint.type.toLowerCase());
  if (!algorithm) throw new RequestError('bad_request', `unsupported DTLS fingerprint algorithm ${fingerprint.type}`);
  // RFC 5763: an offerer that says nothing is actpass.
  const setupText = (first.setup ?? session.setup ?? 'actpass').toLowerCase();
  if (setupText !== 'actpass' && setupText !== 'active' && setupText !== 'passive') {
    throw new RequestError('bad_request', `unsupported a=setup:${setupText}`);
  }

  return {
    media,
    bundle,
    iceUfrag,
    icePwd,
    fingerprint: { algorithm, value: fingerprint.hash },
    setup: setupText,
    extmapAllowMixed: session.extmapAllowMixed !== undefined,
  };
}

function parseMedia(m: SessionDescription['media'][number], index: number): OfferedMedia {
  const type = m.type;
  const fmtpOf = (payload: number) => {
    const config = m.fmtp?.find((fmtp) => fmtp.payload === payload)?.config;
    const parameters: Record<string, CodecParameterValue> = {};
    if (!config) return parameters;
    for (const [key, value] of Object.entries(parseParams(config))) {
      if (value !== undefined) parameters[key] = value;
    }
    return parameters;
  };
  const feedbackOf = (payload: number) =>
    (m.rtcpFb ?? [])
      .filter((fb) => fb.payload === payload || fb.payload === '*' || Number(fb.payload) === payload)
      .map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' }));
  const payloads = String(m.payloads ?? '');
  const order = payloads
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const rtpmaps = [...(m.rtp ?? [])].sort((a, b) => order.indexOf(a.payload) - order.indexOf(b.payload));
  const codecs: OfferedCodec[] =
    type === 'audio' || type === 'video'
      ? rtpmaps.map((rtp) => ({
          payloadType: rtp.payload,
          mimeType: `${type}/${rtp.codec}`,
          clockRate: rtp.rate ?? 90000,
          ...(type === 'audio' ? { channels: rtp.encoding ?? 1 } : {}),
          parameters: fmtpOf(rtp.payload),
          rtcpFeedback: feedbackOf(rtp.payload),
        }))
      : [];

  return {
    index,
    type,
    mid: m.mid === undefined ? '' : String(m.mid),
    port: m.port,
    protocol: m.protocol,
    payloads,
    direction: m.direction ?? 'sendrecv',
    codecs,
    headerExtensions: (m.ext ?? []).map((ext) => ({ id: ext.value, uri: ext.uri })),
    ssrcs: ssrcsOf(m),
    cname: stringOrUndefined(m.ssrcs?.find((line) => line.attribute === 'cname')?.value),
    sendRids: sendRidsOf(m),
    rtcpMux: m.rtcpMux !== undefined,
    rtcpReducedSize: m.rtcpRsize !== undefined,
  };
}

/** Primary SSRCs, each with its RTX SSRC when an FID group pairs them. */
function ssrcsOf(m: MediaAttributes): OfferedMedia['ssrcs'] {
  const all = [...new Set((m.ssrcs ?? []).map((line) => Number(line.id)))];
  const rtxOf = new Map<number, number>();
  for (const group of m.ssrcGroups ?? []) {
    if (group.semantics !== 'FID') continue;
    const [primary, rtx] = String(group.ssrcs).split(/\s+/).map(Number);
    if (primary !== undefined && rtx !== undefined) rtxOf.set(primary, rtx);
  }
  const rtxSsrcs = new Set(rtxOf.values());
  return all.filter((ssrc) => !rtxSsrcs.has(ssrc)).map((ssrc) => ({ ssrc, ...(rtxOf.has(ssrc) ? { rtxSsrc: rtxOf.get(ssrc)! } : {}) }));
}

/** RIDs of `a=simulcast:send` (the first alternative of each), restricted to those declared `a=rid:<id> send`. */
function sendRidsOf(m: MediaAttributes): string[] {
  const declared = new Set((m.rids ?? []).filter((rid) => rid.direction === 'send').map((rid) => String(rid.id)));
  const simulcast = m.simulcast;
  if (!simulcast || declared.size === 0) return [];
  const list = simulcast.dir1 === 'send' ? simulcast.list1 : simulcast.dir2 === 'send' ? simulcast.list2 : undefined;
  if (!list) return [];
  return String(list)
    .split(';')
    .map((alternatives) => alternatives.split(',')[0]!.replace(/^~/, ''))
    .filter((rid) => declared.has(rid));
}

function stringOrUndefined(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}
