import { readFileSync } from 'node:fs';
import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../errors.ts';
import { DEFAULT_ROUTER_PROFILE } from '../ShowRouters.ts';
import { buildAnswer } from './answer.ts';
import { producerParametersFor, sameCodec, whepRouterProfile, whepRtpCapabilities } from './codecs.ts';
import { parseOffer } from './offer.ts';

/**
 * Offers as clients really send them: Chromium 156's (captured from RTCPeerConnection.createOffer
 * with the fake camera: sendonly, simulcast, recvonly) and one in the shape OBS's WHIP output
 * (libdatachannel) sends: session-level ICE and DTLS, H.264 only, no RTX.
 */
const offer = (name: string) => readFileSync(new URL(`../testing/offers/${name}.sdp`, import.meta.url), 'utf8');

/** The router capabilities of the show's codecs, as mediasoup builds them (payload types from 100). */
const routerCapabilities = {
  codecs: [
    { kind: 'audio' as const, mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: '' }, { type: 'transport-cc', parameter: '' }] },
    {
      kind: 'video' as const,
      mimeType: 'video/VP8',
      preferredPayloadType: 101,
      clockRate: 90000,
      parameters: {},
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
        { type: 'goog-remb', parameter: '' },
        { type: 'transport-cc', parameter: '' },
      ],
    },
    { kind: 'video' as const, mimeType: 'video/rtx', preferredPayloadType: 102, clockRate: 90000, parameters: { apt: 101 }, rtcpFeedback: [] },
    {
      kind: 'video' as const,
      mimeType: 'video/H264',
      preferredPayloadType: 103,
      clockRate: 90000,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
      rtcpFeedback: [
        { type: 'nack', parameter: '' },
        { type: 'nack', parameter: 'pli' },
        { type: 'ccm', parameter: 'fir' },
        { type: 'goog-remb', parameter: '' },
      ],
    },
    { kind: 'video' as const, mimeType: 'video/rtx', preferredPayloadType: 104, clockRate: 90000, parameters: { apt: 103 }, rtcpFeedback: [] },
  ],
  headerExtensions: [
    { kind: 'audio' as const, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' as const, preferredId: 1 },
    { kind: 'video' as const, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' as const, preferredId: 1 },
    { kind: 'video' as const, uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id' as const, preferredId: 2 },
    { kind: 'video' as const, uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id' as const, preferredId: 3 },
    { kind: 'video' as const, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' as const, preferredId: 4 },
    { kind: 'video' as const, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' as const, preferredId: 5 },
    { kind: 'audio' as const, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' as const, preferredId: 10 },
  ],
};

describe('SDP offers', () => {
  it('reads a Chromium WHIP offer: BUNDLE, DTLS, ICE, codecs in preference order, SSRCs with their RTX', () => {
    const parsed = parseOffer(offer('chrome-156-whip-sendonly'));
    expect(parsed).toMatchObject({ bundle: ['0', '1'], setup: 'actpass', extmapAllowMixed: true, fingerprint: { algorithm: 'sha-256' } });
    expect(parsed.iceUfrag).toMatch(/^\S{4,}$/);
    const [audio, video] = parsed.media;
    expect(audio).toMatchObject({ type: 'audio', mid: '0', direction: 'sendonly', rtcpMux: true, rtcpReducedSize: true, sendRids: [] });
    expect(audio!.codecs[0]).toEqual({ payloadType: 111, mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [{ type: 'transport-cc', parameter: '' }] });
    expect(video!.codecs.slice(0, 2).map((codec) => [codec.payloadType, codec.mimeType])).toEqual([
      [96, 'video/VP8'],
      [97, 'video/rtx'],
    ]);
    expect(video!.ssrcs).toHaveLength(1);
    expect(video!.ssrcs[0]!.rtxSsrc).toBeTypeOf('number');
    expect(video!.cname).toBeTruthy();
  });

  it('reads simulcast RIDs in the order the offer sends them', () => {
    const parsed = parseOffer(offer('chrome-156-whip-simulcast'));
    expect(parsed.media[1]!.sendRids).toEqual(['q', 'h', 'f']);
    expect(parsed.media[1]!.ssrcs).toEqual([]);
  });

  it('takes ICE, DTLS and setup from the session level when the m-lines do not repeat them', () => {
    const parsed = parseOffer(offer('obs-style-whip-h264'));
    expect(parsed).toMatchObject({ iceUfrag: 'Qd2h', setup: 'actpass', fingerprint: { algorithm: 'sha-256' } });
    expect(parsed.media.map((m) => m.ssrcs)).toEqual([[{ ssrc: 3148245761 }], [{ ssrc: 3148245762 }]]);
  });

  it.each([
    ['text that is not SDP', 'hello'],
    ['no m-line', 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'],
    ['m-lines outside the BUNDLE group', offer('chrome-156-whip-sendonly').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0')],
    ['no rtcp-mux', offer('obs-style-whip-h264').replaceAll('a=rtcp-mux\r\n', '')],
    ['no fingerprint', offer('obs-style-whip-h264').replace(/a=fingerprint:.*\r\n/, '')],
    ['no ICE credentials', offer('obs-style-whip-h264').replace(/a=ice-pwd:.*\r\n/, '')],
  ])('refuses %s as a bad request', (_name, text) => {
    expect(() => parseOffer(text)).toThrow(RequestError);
  });
});

describe('WHIP producer parameters', () => {
  it('produces the first offered codec the router routes, with its RTX, the known extensions and the SSRCs, in the offer’s payload types', () => {
    const parsed = parseOffer(offer('chrome-156-whip-sendonly'));
    const video = producerParametersFor(parsed.media[1]!, routerCapabilities)!;
    expect(video.kind).toBe('video');
    expect(video.rtpParameters.codecs.map((codec) => [codec.mimeType, codec.payloadType, codec.parameters])).toEqual([
      ['video/VP8', 96, {}],
      ['video/rtx', 97, { apt: 96 }],
    ]);
    // Only the feedback mediasoup acts on.
    expect(video.rtpParameters.codecs[0]!.rtcpFeedback).toEqual([
      { type: 'goog-remb', parameter: '' },
      { type: 'transport-cc', parameter: '' },
      { type: 'ccm', parameter: 'fir' },
      { type: 'nack', parameter: '' },
      { type: 'nack', parameter: 'pli' },
    ]);
    expect(video.rtpParameters.headerExtensions?.map((ext) => ext.uri).sort()).toEqual([
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'urn:ietf:params:rtp-hdrext:sdes:mid',
      'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
      'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    ]);
    const [{ ssrc, rtxSsrc }] = parsed.media[1]!.ssrcs as [{ ssrc: number; rtxSsrc: number }];
    expect(video.rtpParameters.encodings).toEqual([{ ssrc, rtx: { ssrc: rtxSsrc } }]);
    expect(video.rtpParameters.mid).toBe('1');
    expect(producerParametersFor(parsed.media[0]!, routerCapabilities)!.rtpParameters.codecs.map((codec) => codec.payloadType)).toEqual([111]);
  });

  it('takes H.264 constrained baseline from an OBS-style offer and one encoding per RID with simulcast', () => {
    const obs = parseOffer(offer('obs-style-whip-h264'));
    expect(producerParametersFor(obs.media[1]!, routerCapabilities)!.rtpParameters.codecs).toMatchObject([
      { mimeType: 'video/H264', payloadType: 96, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } },
    ]);
    const simulcast = parseOffer(offer('chrome-156-whip-simulcast'));
    expect(producerParametersFor(simulcast.media[1]!, routerCapabilities)!.rtpParameters.encodings).toEqual([{ rid: 'q' }, { rid: 'h' }, { rid: 'f' }]);
  });

  it('refuses an m-line in no codec the router routes', () => {
    const vp9Only = parseOffer(offer('obs-style-whip-h264').replace('a=rtpmap:96 H264/90000', 'a=rtpmap:96 VP9/90000'));
    expect(producerParametersFor(vp9Only.media[1]!, routerCapabilities)).toBeUndefined();
  });

  it('matches H.264 by packetization mode and profile, not level', () => {
    const base = { mimeType: 'video/H264', clockRate: 90000 };
    expect(sameCodec({ ...base, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }, { ...base, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e034' } })).toBe(true);
    expect(sameCodec({ ...base, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }, { ...base, parameters: { 'packetization-mode': 0, 'profile-level-id': '42e01f' } })).toBe(false);
    expect(sameCodec({ ...base, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } }, { ...base, parameters: { 'packetization-mode': 1, 'profile-level-id': '640c1f' } })).toBe(false);
  });
});

describe('WHEP router profiles and capabilities', () => {
  it('gives a Chromium viewer a router with its own payload types for the show’s codecs', () => {
    const parsed = parseOffer(offer('chrome-156-whep-recvonly'));
    const profile = whepRouterProfile(parsed.media);
    expect(profile.key).not.toBe(DEFAULT_ROUTER_PROFILE.key);
    expect(profile.mediaCodecs.map((codec) => [codec.mimeType, codec.preferredPayloadType])).toEqual([
      ['audio/opus', 111],
      ['video/VP8', 96],
      ['video/H264', 108],
    ]);
    // Same offer, same profile: Chromium viewers share routers.
    expect(whepRouterProfile(parseOffer(offer('chrome-156-whep-recvonly')).media).key).toBe(profile.key);
  });

  it('keeps the default profile for an offer with the router’s own payload types', () => {
    const text = offer('obs-style-whip-h264').replaceAll('111', '100').replaceAll(' 96', ' 103').replaceAll(':96', ':103').replaceAll('sendonly', 'recvonly');
    expect(whepRouterProfile(parseOffer(text).media)).toBe(DEFAULT_ROUTER_PROFILE);
  });

  it('offers RTX only where the router’s RTX payload type is the offered one, NACK always', () => {
    const parsed = parseOffer(offer('chrome-156-whep-recvonly'));
    // On the profile router mediasoup gives VP8 96 and its RTX the first free dynamic type, 100: not Chromium's 97.
    const profileCapabilities = {
      codecs: [
        { ...routerCapabilities.codecs[0]!, preferredPayloadType: 111 },
        { ...routerCapabilities.codecs[1]!, preferredPayloadType: 96 },
        { ...routerCapabilities.codecs[2]!, preferredPayloadType: 100, parameters: { apt: 96 } },
      ],
      headerExtensions: routerCapabilities.headerExtensions,
    };
    const video = whepRtpCapabilities(parsed.media[1]!, profileCapabilities);
    expect(video.codecs?.map((codec) => [codec.mimeType, codec.preferredPayloadType])).toEqual([['video/VP8', 96]]);
    expect(video.codecs?.[0]?.rtcpFeedback).toContainEqual({ type: 'nack', parameter: '' });
    const withRtx = whepRtpCapabilities(parsed.media[1]!, { ...profileCapabilities, codecs: [profileCapabilities.codecs[1]!, { ...profileCapabilities.codecs[2]!, preferredPayloadType: 97 }] });
    expect(withRtx.codecs?.map((codec) => [codec.mimeType, codec.preferredPayloadType])).toEqual([
      ['video/VP8', 96],
      ['video/rtx', 97],
    ]);
  });
});

describe('SDP answers', () => {
  const transport = {
    iceParameters: { usernameFragment: 'sfuUfrag', password: 'sfuPassword', iceLite: true },
    iceCandidates: [
      { foundation: 'udpcandidate', priority: 1076302079, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'udp' as const, port: 40001, type: 'host' as const },
      { foundation: 'tcpcandidate', priority: 1076276479, ip: '127.0.0.1', address: '127.0.0.1', protocol: 'tcp' as const, port: 40002, type: 'host' as const, tcpType: 'passive' as const },
    ],
    dtlsParameters: { role: 'auto' as const, fingerprints: [{ algorithm: 'sha-256' as const, value: 'AA:BB' }] },
  };

  it('answers a WHIP offer: ICE-lite, all candidates, passive DTLS, the offer’s payload types and RIDs, refused m-lines at port 0', () => {
    const parsed = parseOffer(offer('chrome-156-whip-simulcast'));
    const audio = producerParametersFor(parsed.media[0]!, routerCapabilities)!;
    const answer = parse(
      buildAnswer(parsed, [{ media: parsed.media[0]!, accepted: true, direction: 'recvonly', rtpParameters: audio.rtpParameters }, { media: parsed.media[1]!, accepted: false }], transport),
    );
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups?.map((group) => [group.type, String(group.mids)])).toEqual([['BUNDLE', '0']]);
    const [audioLine, videoLine] = answer.media;
    expect(String(audioLine!.mid)).toBe('0');
    expect(audioLine).toMatchObject({ type: 'audio', port: 40001, direction: 'recvonly', setup: 'passive', iceUfrag: 'sfuUfrag', rtcpMux: 'rtcp-mux', endOfCandidates: 'end-of-candidates' });
    expect(audioLine!.candidates?.map((c) => [c.transport, c.ip, c.port])).toEqual([
      ['udp', '127.0.0.1', 40001],
      ['tcp', '127.0.0.1', 40002],
    ]);
    expect(audioLine!.rtp).toEqual([{ payload: 111, codec: 'opus', rate: 48000, encoding: 2 }]);
    expect(audioLine!.fingerprint).toEqual({ type: 'sha-256', hash: 'AA:BB' });
    expect(videoLine).toMatchObject({ type: 'video', port: 0, direction: 'inactive' });
    expect(String(videoLine!.mid)).toBe('1');

    const video = producerParametersFor(parsed.media[1]!, routerCapabilities)!;
    const simulcastAnswer = parse(buildAnswer(parsed, [{ media: parsed.media[1]!, accepted: true, direction: 'recvonly', rtpParameters: video.rtpParameters }], transport));
    expect(simulcastAnswer.media[0]!.simulcast).toEqual({ dir1: 'recv', list1: 'q;h;f' });
    expect(simulcastAnswer.media[0]!.rids?.map((rid) => [rid.id, rid.direction])).toEqual([
      ['q', 'recv'],
      ['h', 'recv'],
      ['f', 'recv'],
    ]);
  });

  it('answers a WHEP offer with the consumer’s SSRCs and one media stream for audio and video', () => {
    const parsed = parseOffer(offer('chrome-156-whep-recvonly'));
    const rtpParameters = {
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: '' }] }],
      encodings: [{ ssrc: 1234567 }],
      headerExtensions: [],
      rtcp: { cname: 'consumer-cname' },
    };
    const answer = parse(buildAnswer(parsed, [{ media: parsed.media[0]!, accepted: false }, { media: parsed.media[1]!, accepted: true, direction: 'sendonly', rtpParameters, msid: { streamId: 'show', trackId: 'track' } }], transport));
    const video = answer.media[1]!;
    expect(video).toMatchObject({ direction: 'sendonly', setup: 'passive' });
    expect(String(video.payloads)).toBe('96');
    expect(video.ssrcs).toEqual([
      { id: 1234567, attribute: 'cname', value: 'consumer-cname' },
      { id: 1234567, attribute: 'msid', value: 'show track' },
    ]);
    expect(video.rtcpFb).toEqual([{ payload: 96, type: 'nack' }]);
  });
});
