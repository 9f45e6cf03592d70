import './testing/workerBin.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mediaCodecs } from './mediaCodecs.ts';
import { setLogLevel } from './logger.ts';
import { WorkerPool } from './WorkerPool.ts';

/**
 * The foundation: real RTP from FFmpeg goes into a producer on a PlainTransport, and comes out of a
 * consumer on a second PlainTransport into a UDP socket this test holds, rewritten to the consumer's
 * SSRC and payload type. If this passes, the worker binary, the router's codecs and the transports'
 * loopback configuration all work; everything else in the sfu is signaling around this.
 */

const FFMPEG = '/usr/bin/ffmpeg';
/** FFmpeg stops by itself after this, so even a crashed test run leaves no encoder behind for long. */
const FFMPEG_MAX_SECONDS = 20;
const PACKETS_WANTED = 60;
/**
 * mediasoup probes a video consumer's bandwidth with padding-only packets on this fixed SSRC
 * (RtpProbationSsrc in the worker), payload type 127: they are not media.
 */
const PROBATION_SSRC = 1234;

type MediaCase = {
  name: string;
  kind: mediasoupTypes.MediaKind;
  codec: mediasoupTypes.RtpCodecParameters;
  encoderArgs: string[];
};

// Payload types the router does not use for these codecs, so that a packet arriving with the
// consumer's payload type proves mediasoup rewrote it.
const cases: MediaCase[] = [
  {
    name: 'VP8 (libvpx)',
    kind: 'video',
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 },
    encoderArgs: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-an', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '30', '-keyint_min', '30'],
  },
  {
    name: 'H.264 constrained baseline (x264)',
    kind: 'video',
    codec: { mimeType: 'video/H264', payloadType: 97, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' } },
    encoderArgs: [
      '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-an',
      '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-bsf:v', 'h264_mp4toannexb',
    ],
  },
  {
    name: 'Opus 48 kHz stereo (libopus)',
    kind: 'audio',
    codec: { mimeType: 'audio/opus', payloadType: 98, clockRate: 48000, channels: 2 },
    encoderArgs: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-vn', '-c:a', 'libopus', '-ac', '2', '-ar', '48000', '-b:a', '64k'],
  },
];

type RtpHeader = { payloadType: number; sequenceNumber: number; ssrc: number };

/** RTP (RFC 3550) header fields, or undefined for RTCP (payload types 192 to 223 in the second byte) and junk. */
function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  const secondByte = packet[1]!;
  if (secondByte >= 192 && secondByte <= 223) return undefined;
  return { payloadType: secondByte & 0x7f, sequenceNumber: packet.readUInt16BE(2), ssrc: packet.readUInt32BE(8) };
}

const running = new Set<ChildProcess>();

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
  running.delete(child);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('media path: FFmpeg RTP -> PlainTransport producer -> consumer -> UDP socket', () => {
  let pool: WorkerPool;
  let router: mediasoupTypes.Router | undefined;
  let receiver: Socket | undefined;

  beforeAll(async () => {
    setLogLevel('silent');
    pool = await WorkerPool.create({ size: 1 });
  });

  afterEach(async () => {
    await Promise.all([...running].map(stop));
    router?.close();
    receiver?.close();
    router = undefined;
    receiver = undefined;
  });

  afterAll(async () => {
    await pool?.close();
  });

  it('opens a WebRtcTransport whose ICE candidates are on 127.0.0.1', async () => {
    router = await pool.pick().createRouter({ mediaCodecs });
    const transport = await router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ip: '127.0.0.1', portRange: { min: 40000, max: 49999 } },
        { protocol: 'tcp', ip: '127.0.0.1', portRange: { min: 40000, max: 49999 } },
      ],
    });
    expect(transport.iceCandidates.map((candidate) => candidate.protocol).sort()).toEqual(['tcp', 'udp']);
    for (const candidate of transport.iceCandidates) {
      expect(candidate.address).toBe('127.0.0.1');
      expect(candidate.port).toBeGreaterThanOrEqual(40000);
      expect(candidate.port).toBeLessThanOrEqual(49999);
    }
    expect(transport.dtlsParameters.fingerprints.length).toBeGreaterThan(0);
  });

  it.each(cases)('forwards $name from FFmpeg to a consumer, rewritten to its SSRC and payload type', async ({ kind, codec, encoderArgs }) => {
    const startedAt = performance.now();
    router = await pool.pick().createRouter({ mediaCodecs });

    // Ingress. rtcpMux off and comedia on: FFmpeg sends RTCP from a second port, and with rtcpMux the
    // first RTCP packet would latch the tuple to that port and the RTP would be dropped.
    const ingress = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    const producerSsrc = 0x1000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
    const producer = await ingress.produce({ kind, rtpParameters: { codecs: [codec], encodings: [{ ssrc: producerSsrc }] } });

    // Egress: a consumer whose RTP goes to a socket of ours.
    const socket = createSocket('udp4');
    receiver = socket;
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const egress = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    await egress.connect({ ip: '127.0.0.1', port: socket.address().port });
    const consumer = await egress.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const consumerSsrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    const consumerPayloadType = consumer.rtpParameters.codecs[0]?.payloadType;
    expect(consumerSsrc).toBeTypeOf('number');
    expect(consumerSsrc).not.toBe(producerSsrc);
    expect(consumerPayloadType).not.toBe(codec.payloadType);

    const received: RtpHeader[] = [];
    let media: RtpHeader[] = [];
    let firstPacketAt: number | undefined;
    const enough = new Promise<void>((resolve) => {
      socket.on('message', (packet) => {
        const header = parseRtpHeader(packet);
        if (!header) return;
        received.push(header);
        if (header.ssrc !== consumerSsrc) return;
        firstPacketAt ??= performance.now();
        media.push(header);
        if (media.length >= PACKETS_WANTED) resolve();
      });
    });

    const rtcpPort = ingress.rtcpTuple?.localPort;
    expect(rtcpPort).toBeTypeOf('number');
    const destination = `rtp://127.0.0.1:${ingress.tuple.localPort}?rtcpport=${rtcpPort}&pkt_size=1200`;
    const ffmpeg = spawn(
      FFMPEG,
      [
        '-nostdin', '-hide_banner', '-loglevel', 'error', '-re', ...encoderArgs, '-t', String(FFMPEG_MAX_SECONDS),
        '-f', 'rtp', '-ssrc', String(producerSsrc), '-payload_type', String(codec.payloadType), destination,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    running.add(ffmpeg);
    let ffmpegErrors = '';
    ffmpeg.stderr?.on('data', (chunk: Buffer) => (ffmpegErrors += chunk.toString()));
    const ffmpegExitedEarly = once(ffmpeg, 'exit').then(([code, signal]) => {
      throw new Error(`ffmpeg exited before enough RTP arrived (code ${code}, signal ${signal}): ${ffmpegErrors}`);
    });
    ffmpegExitedEarly.catch(() => {}); // only raced below; once enough arrived, its rejection (our kill) is expected

    await Promise.race([enough, ffmpegExitedEarly, timeout(15_000, () => `only ${media.length} media RTP packets arrived; ffmpeg said: ${ffmpegErrors}`)]);
    const enoughAt = performance.now();

    const producerStats = await producer.getStats();
    const consumerStats = await consumer.getStats();

    const pid = ffmpeg.pid;
    await stop(ffmpeg);
    expect(pid !== undefined && isProcessAlive(pid)).toBe(false);

    // Media packets carry the consumer's SSRC and payload type, in sequence; nothing leaks through
    // with FFmpeg's SSRC or payload type.
    media = media.slice(0, PACKETS_WANTED);
    expect(media).toHaveLength(PACKETS_WANTED);
    expect(new Set(media.map((header) => header.payloadType))).toEqual(new Set([consumerPayloadType]));
    expect(received.filter((header) => header.ssrc !== consumerSsrc && header.ssrc !== PROBATION_SSRC)).toEqual([]);
    expect(received.some((header) => header.payloadType === codec.payloadType)).toBe(false);
    const gaps = media.slice(1).filter((header, index) => header.sequenceNumber !== ((media[index]!.sequenceNumber + 1) & 0xffff));
    expect(gaps.length).toBeLessThanOrEqual(2);

    // The producer counted what FFmpeg sent; the consumer what it forwarded.
    expect(producerStats[0]?.byteCount ?? 0).toBeGreaterThan(0);
    expect(producerStats[0]?.packetCount ?? 0).toBeGreaterThanOrEqual(PACKETS_WANTED);
    expect(consumerStats.find((stats) => stats.type === 'outbound-rtp')?.packetCount ?? 0).toBeGreaterThan(0);

    console.info(
      `${codec.mimeType}: first RTP at ${Math.round((firstPacketAt ?? 0) - startedAt)} ms, ${PACKETS_WANTED} packets at ` +
        `${Math.round(enoughAt - startedAt)} ms, producer ${producerStats[0]?.byteCount} bytes received`,
    );
  });
});

function timeout(ms: number, message: () => string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message())), ms).unref());
}
