import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';

/**
 * Real RTP for host tests, as in mediaPath.test.ts: FFmpeg encoding a test pattern into a producer
 * on a PlainTransport, and UDP sockets counting what consumers send.
 */

const FFMPEG = '/usr/bin/ffmpeg';

export type FfmpegProducer = {
  producer: mediasoupTypes.Producer;
  transport: mediasoupTypes.PlainTransport;
  ffmpeg: ChildProcess;
  /** Everything FFmpeg wrote on stderr, for failure messages. */
  errors(): string;
  /** Kills FFmpeg and waits for it; the producer stays (close the transport for that). Idempotent. */
  stop(): Promise<void>;
};

/** VP8 320x240 at 30 fps from FFmpeg's lavfi test source, into a producer on `router`; FFmpeg stops by itself after `seconds`. */
export async function startFfmpegVp8Producer(router: mediasoupTypes.Router, { seconds = 30, appData = {} }: FfmpegProducerOptions = {}): Promise<FfmpegProducer> {
  // rtcpMux off and comedia on: FFmpeg sends RTCP from a second port (see notes/mediasoup-worker.md).
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const ssrc = 0x1000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  const payloadType = 96;
  const producer = await transport.produce({
    kind: 'video',
    rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }], encodings: [{ ssrc }] },
    appData,
  });
  const destination = `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort}&pkt_size=1200`;
  // A key frame every 10 frames: FFmpeg ignores key frame requests, and a consumer starts on a key frame.
  return runFfmpegIntoProducer(producer, transport, [
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-an', '-t', String(seconds),
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '400k', '-g', '10', '-keyint_min', '10',
    '-f', 'rtp', '-ssrc', String(ssrc), '-payload_type', String(payloadType), destination,
  ]);
}

export type FfmpegProducerOptions = {
  /** FFmpeg stops by itself after this. */
  seconds?: number;
  /** The producer's appData: `{ peerId }` makes it look like a publisher's (Room.produce tags those). */
  appData?: Record<string, unknown>;
};

/** Opus 48 kHz stereo from FFmpeg's lavfi sine source, into a producer on `router`. */
export async function startFfmpegOpusProducer(router: mediasoupTypes.Router, { seconds = 30, appData = {} }: FfmpegProducerOptions = {}): Promise<FfmpegProducer> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
  const ssrc = 0x2000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  const payloadType = 100;
  const producer = await transport.produce({
    kind: 'audio',
    rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] },
    appData,
  });
  const destination = `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple?.localPort}&pkt_size=1200`;
  return runFfmpegIntoProducer(producer, transport, [
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-vn', '-t', String(seconds),
    '-c:a', 'libopus', '-ac', '2', '-ar', '48000', '-b:a', '64k',
    '-f', 'rtp', '-ssrc', String(ssrc), '-payload_type', String(payloadType), destination,
  ]);
}

function runFfmpegIntoProducer(producer: mediasoupTypes.Producer, transport: mediasoupTypes.PlainTransport, args: string[]): FfmpegProducer {
  const ffmpeg = spawn(FFMPEG, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-re', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  ffmpeg.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  let stopping: Promise<void> | undefined;
  return {
    producer,
    transport,
    ffmpeg,
    errors: () => errors,
    stop() {
      stopping ??= (async () => {
        if (ffmpeg.exitCode === null && ffmpeg.signalCode === null) {
          const exited = once(ffmpeg, 'exit');
          ffmpeg.kill('SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
  };
}

export type RtpHeader = { payloadType: number; sequenceNumber: number; ssrc: number };

/** RTP (RFC 3550) header fields, or undefined for RTCP (payload types 192 to 223 in the second byte) and junk. */
export function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  const secondByte = packet[1]!;
  if (secondByte >= 192 && secondByte <= 223) return undefined;
  return { payloadType: secondByte & 0x7f, sequenceNumber: packet.readUInt16BE(2), ssrc: packet.readUInt32BE(8) };
}

/**
 * mediasoup probes a video consumer's bandwidth with padding-only packets on this fixed SSRC
 * (RtpProbationSsrc in the worker): they are not media.
 */
export const PROBATION_SSRC = 1234;

export type RtpSink = {
  socket: Socket;
  port: number;
  /** RTP packets received so far for that SSRC. */
  count(ssrc: number): number;
  waitForPackets(ssrc: number, count: number, timeoutMs: number): Promise<RtpHeader[]>;
  close(): void;
};

/** A UDP socket on 127.0.0.1 that records every RTP header it receives. */
export async function startRtpSink(): Promise<RtpSink> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const bySsrc = new Map<number, RtpHeader[]>();
  const waiters = new Set<() => void>();
  socket.on('message', (packet) => {
    const header = parseRtpHeader(packet);
    if (!header) return;
    let list = bySsrc.get(header.ssrc);
    if (!list) bySsrc.set(header.ssrc, (list = []));
    list.push(header);
    for (const waiter of waiters) waiter();
  });
  return {
    socket,
    port: socket.address().port,
    count: (ssrc) => bySsrc.get(ssrc)?.length ?? 0,
    waitForPackets(ssrc, count, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const list = bySsrc.get(ssrc) ?? [];
          if (list.length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(list.slice(0, count));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`only ${bySsrc.get(ssrc)?.length ?? 0} of ${count} RTP packets with SSRC ${ssrc} arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => socket.close(),
  };
}

/** A plain RTP consumer of `producerId` on `router`, sending to the sink; returns the consumer's SSRC. */
export async function consumeToSink(router: mediasoupTypes.Router, producerId: string, sink: RtpSink): Promise<{ consumer: mediasoupTypes.Consumer; ssrc: number }> {
  const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  await transport.connect({ ip: '127.0.0.1', port: sink.port });
  const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
  const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
  if (ssrc === undefined) throw new Error('the consumer has no SSRC');
  return { consumer, ssrc };
}

/** Consecutive packets whose sequence numbers are not consecutive. */
export function sequenceGaps(headers: readonly RtpHeader[]): number {
  let gaps = 0;
  for (let i = 1; i < headers.length; i++) if (headers[i]!.sequenceNumber !== ((headers[i - 1]!.sequenceNumber + 1) & 0xffff)) gaps++;
  return gaps;
}
