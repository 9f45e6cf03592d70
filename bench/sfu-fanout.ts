/**
 * `npm run bench -- sfu-fanout` (or `node bench/sfu-fanout.ts`): how many consumers one mediasoup
 * worker carries from one realistic producer at under 0.5 % packet loss, and its CPU per consumer.
 *
 * - Source: FFmpeg sends a pre-encoded clip in a loop (`-c copy`, so FFmpeg costs nothing), H.264
 *   constrained baseline 1280x720 at 30 fps near 1.5 Mbps (CBR with filler) plus Opus 64 kbps, as
 *   plain RTP into two producers on one router of one worker.
 * - Receivers: each viewer is a PlainTransport with an audio and a video consumer (two mediasoup
 *   consumers, the unit SFU_MAX_CONSUMERS_PER_ROUTER counts), sending to one of a few UDP sockets
 *   of this process, which counts packets and sequence gaps per SSRC: cheap enough that the worker,
 *   not the receiver, is what is measured.
 * - Steps up the consumer count (100, 200, 400, 600, 800, ...). Per step: a warm-up, then a window in
 *   which loss (expected minus received packets, from sequence numbers) and the worker's CPU (from
 *   /proc/<pid>/stat: user + system time, so the kernel's cost of its sendto calls counts) are
 *   measured. Stops at the first step over 0.5 % loss or 95 % of a core, or at the time budget.
 * - Kernel drop counters of every socket involved (/proc/net/udp) tell where packets were lost:
 *   the worker's ingress sockets, or this process's receiving ones.
 * - FFmpeg runs at a higher priority (nice -10, when allowed): it stands for a publisher on another
 *   machine. SFU_FANOUT_PIN=1 also pins the worker to the first core and the load generators to the
 *   others (on a machine shared with other work that squeezes the generators onto one busy core). A
 *   step whose producer no longer receives 90 % of the nominal rate (FFmpeg starved, or the worker
 *   behind on its socket: the machine is saturated) ends the run too. The load average is recorded:
 *   other work on the machine skews every figure.
 * - Besides the largest passing step, the capacity the worker's CPU cost per consumer extrapolates
 *   to at 95 % of its core is reported: on a small machine the load generators run out of cores
 *   before the worker does.
 *
 * Loopback only; all processes are stopped at the end (and on Ctrl-C). Writes bench/results/sfu-fanout.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker as Thread } from 'node:worker_threads';
import type * as mediasoupTypes from 'mediasoup/types';
import { writeBenchResult } from './lib/results.ts';

const repoRoot = join(import.meta.dirname, '..');
const FFMPEG = '/usr/bin/ffmpeg';

const STEPS = (process.env.SFU_FANOUT_STEPS ?? '100,200,400,600,800,1000,1200,1400,1600,2000,2400,2800,3200')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0 && n % 2 === 0);
const WARM_UP_MS = 2_000;
const WINDOW_MS = Number(process.env.SFU_FANOUT_WINDOW_MS ?? 8_000);
const MAX_LOSS_PCT = 0.5;
const MAX_CPU_PCT = 95;
/**
 * Below this share of the first step's ingress rate, the step is not at its nominal load: FFmpeg was
 * starved of CPU, or the worker fell behind reading its socket (its queue is reported). Either way
 * the machine is saturated, and no higher step would mean anything.
 */
const MIN_SOURCE_RATE = 0.9;
/** The whole run, clip encoding included, stays under five minutes. */
const TIME_BUDGET_MS = 4 * 60 * 1000 + 30 * 1000;
/**
 * Viewers per receiving socket. A key frame reaches every viewer as one burst of some 150 packets;
 * a socket's 4 MiB buffer (net.core.rmem_max here) holds about 1,800: more viewers on one socket
 * and the benchmark's receiver, not the sfu, would drop packets.
 */
const VIEWERS_PER_SOCKET = 8;
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Viewers set up at the same time. */
const SETUP_CONCURRENCY = 25;
const VIDEO_KBPS = 1500;
const AUDIO_KBPS = 64;
const CLIP_SECONDS = 20;
const VIDEO_SSRC = 0x2222_0001;
const AUDIO_SSRC = 0x2222_0002;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const startedAt = performance.now();
const loadAtStart = loadavg().map((value) => round(value, 2));
const children = new Set<ChildProcess>();

// mediasoup reads MEDIASOUP_WORKER_BIN when it is imported: find the worker first.
if (!process.env.MEDIASOUP_WORKER_BIN) {
  const out = execFileSync(process.execPath, [join(repoRoot, 'scripts', 'mediasoup-worker.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  process.env.MEDIASOUP_WORKER_BIN = out.split('\n').at(-1);
}
const mediasoup = await import('mediasoup');
const { mediaCodecs } = await import('../sfu/src/mediaCodecs.ts');
const { INGRESS_RECV_BUFFER_BYTES } = await import('../sfu/src/socketBuffers.ts');

let worker: mediasoupTypes.Worker | undefined;
let receiver: Thread | undefined;
async function cleanUp(): Promise<void> {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([...children].map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
  await receiver?.terminate();
  receiver = undefined;
  if (worker && !worker.closed) {
    const exited = once(worker, 'subprocessclose');
    worker.close();
    await exited;
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}
// Whatever happens, the run ends within the budget plus a margin.
setTimeout(() => {
  process.stderr.write('sfu-fanout: over the time budget, stopping\n');
  void cleanUp().finally(() => process.exit(1));
}, TIME_BUDGET_MS + 20_000).unref();

function log(message: string): void {
  process.stderr.write(`sfu-fanout: ${message}\n`);
}

const CORES = cpus().length;
/** `taskset` pinning, when there are cores to share: the worker on core 0, the load generators on the rest. */
const WORKER_CORES = '0';
const OTHER_CORES = CORES >= 2 ? `1-${CORES - 1}` : '0';
const PIN = CORES >= 2 && process.env.SFU_FANOUT_PIN === '1';
function pin(pid: number, cores: string): boolean {
  if (!PIN) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Encodes the clip once (cached in the temp directory by its parameters). */
function ensureClip(): string {
  const dir = join(tmpdir(), 'mytaek1-bench');
  mkdirSync(dir, { recursive: true });
  // MPEG-TS keeps H.264 in Annex B (with SPS and PPS before every key frame), so the loop needs no
  // bitstream filter: h264_mp4toannexb stops the video at the first loop.
  const clip = join(dir, `sfu-fanout-720p30-${VIDEO_KBPS}k-opus${AUDIO_KBPS}k-${CLIP_SECONDS}s.ts`);
  if (existsSync(clip)) return clip;
  log(`encoding a ${CLIP_SECONDS} s 720p clip once (${clip})`);
  const partial = `${clip}.partial`;
  execFileSync(
    FFMPEG,
    [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${CLIP_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`,
      '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-b:v', `${VIDEO_KBPS}k`, '-minrate', `${VIDEO_KBPS}k`, '-maxrate', `${VIDEO_KBPS}k`, '-bufsize', `${VIDEO_KBPS}k`,
      '-x264-params', 'nal-hrd=cbr:force-cfr=1:repeat-headers=1', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
      '-c:a', 'libopus', '-b:a', `${AUDIO_KBPS}k`, '-ac', '2', '-ar', '48000',
      '-f', 'mpegts', partial,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  renameSync(partial, clip);
  return clip;
}

/** Kernel drop counters of UDP sockets on 127.0.0.1, by local port (/proc/net/udp, last column). */
function udpDrops(): Map<number, number> {
  const drops = new Map<number, number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
    drops.set(port, (drops.get(port) ?? 0) + Number(fields.at(-1)));
  }
  return drops;
}

/** Bytes waiting in the receive queues of UDP sockets on these local ports (/proc/net/udp rx_queue). */
function udpQueuedBytes(ports: Iterable<number>): number {
  const wanted = new Set(ports);
  let total = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
    if (wanted.has(port)) total += Number.parseInt(fields[4]!.split(':')[1]!, 16);
  }
  return total;
}

function dropsOn(ports: Iterable<number>, before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const port of ports) total += (after.get(port) ?? 0) - (before.get(port) ?? 0);
  return total;
}

/** User plus system CPU seconds of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) (utime, stime), counted from the state field (3rd).
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * The receivers, in a thread of their own so that the main thread's event loop stays free for
 * mediasoup's channel. Per SSRC it tracks, over a window, the packets expected (from the first and
 * highest extended sequence numbers) and received. Plain JavaScript, run with `eval`.
 */
const RECEIVER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createSocket } = require('node:dgram');
const streams = new Map();
const ssrcs = new Set();
const sockets = [];
let counting = false;
let bytes = 0;
function onPacket(packet) {
  if (!counting || packet.length < 12) return;
  const second = packet[1];
  if (second >= 192 && second <= 223) return; // RTCP
  const ssrc = packet.readUInt32BE(8);
  if (!ssrcs.has(ssrc)) return;
  const seq = packet.readUInt16BE(2);
  bytes += packet.length;
  const stream = streams.get(ssrc);
  if (!stream) { streams.set(ssrc, { base: seq, highest: seq, cycles: 0, last: seq, received: 1 }); return; }
  stream.received++;
  const delta = (seq - stream.last) & 0xffff;
  if (delta > 0 && delta < 0x8000) {
    if (seq < stream.last) stream.cycles += 0x10000;
    stream.last = seq;
    stream.highest = stream.cycles + seq;
  }
}
parentPort.on('message', async (message) => {
  if (message.type === 'open') {
    const ports = [];
    for (let i = 0; i < message.count; i++) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: message.recvBufferSize });
      socket.on('message', onPacket);
      await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
      sockets.push(socket);
      ports.push(socket.address().port);
    }
    parentPort.postMessage({ type: 'ports', ports });
  } else if (message.type === 'ssrcs') {
    for (const ssrc of message.ssrcs) ssrcs.add(ssrc);
  } else if (message.type === 'start') {
    streams.clear();
    bytes = 0;
    counting = true;
  } else if (message.type === 'stop') {
    counting = false;
    let expected = 0;
    let received = 0;
    for (const stream of streams.values()) {
      expected += stream.highest - stream.base + 1;
      received += stream.received;
    }
    parentPort.postMessage({ type: 'window', expected, received, bytes, streams: streams.size, ssrcs: ssrcs.size });
  }
});
`;

type ReceiverWindow = { expected: number; received: number; bytes: number; streams: number; ssrcs: number };

function ask<T>(thread: Thread, message: unknown, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: { type: string }) => {
      if (reply.type !== answer) return;
      thread.off('message', onMessage);
      resolve(reply as T);
    };
    thread.on('message', onMessage);
    thread.postMessage(message);
  });
}

/** Expected and received over the window; a consumer that sent nothing at all counts as losing as much as the average one received. */
function windowLoss({ expected, received, streams, ssrcs }: ReceiverWindow): { expected: number; received: number } {
  const silent = ssrcs - streams;
  const all = silent > 0 && streams > 0 ? expected + Math.round((expected / streams) * silent) : expected;
  return { expected: all, received: Math.min(received, all) };
}

type Step = {
  consumers: number;
  viewers: number;
  pass: boolean;
  loss_pct: number;
  worker_cpu_pct: number;
  cpu_pct_per_consumer: number;
  bench_process_cpu_pct: number;
  egress_mbps: number;
  packets_expected: number;
  packets_received: number;
  worker_ingress_drops: number;
  receiver_socket_drops: number;
  producer_ingress_kbps: number;
  setup_ms: number;
  load_average_1m: number;
  /** Bytes waiting in the worker's ingress socket at the end of the window: the worker falling behind. */
  worker_ingress_queue_bytes: number;
};


try {
  const clip = ensureClip();
  worker = await mediasoup.createWorker({ logLevel: 'error' });
  const pinned = pin(worker.pid, WORKER_CORES) && pin(process.pid, OTHER_CORES);
  const router = await worker.createRouter({ mediaCodecs });

  // Ingress: two plain transports FFmpeg sends to (comedia, RTCP on its own port: see notes/mediasoup-worker.md).
  const ingress = async (kind: mediasoupTypes.MediaKind, codec: mediasoupTypes.RtpCodecParameters, ssrc: number) => {
    // With the ingress buffer the sfu gives its media-receiving sockets (sfu/src/socketBuffers.ts);
    // SFU_FANOUT_DEFAULT_BUFFERS=1 measures the kernel's default instead.
    const recvBufferSize = process.env.SFU_FANOUT_DEFAULT_BUFFERS === '1' ? undefined : INGRESS_RECV_BUFFER_BYTES;
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1', recvBufferSize }, rtcpMux: false, comedia: true });
    const producer = await transport.produce({ kind, rtpParameters: { codecs: [codec], encodings: [{ ssrc }] } });
    return { transport, producer };
  };
  const video = await ingress(
    'video',
    { mimeType: 'video/H264', payloadType: 96, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' }, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] },
    VIDEO_SSRC,
  );
  const audio = await ingress('audio', { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }, AUDIO_SSRC);
  const workerIngressPorts = [video, audio].flatMap(({ transport }) => [transport.tuple.localPort, transport.rtcpTuple!.localPort]);

  const rtp = (transport: mediasoupTypes.PlainTransport) => `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${transport.rtcpTuple!.localPort}&pkt_size=1200`;
  const elevated = typeof process.getuid === 'function' && process.getuid() === 0;
  const launcher = [...(PIN ? ['taskset', '-c', OTHER_CORES] : []), ...(elevated ? ['nice', '-n', '-10'] : [])];
  const ffmpeg = spawn(
    launcher[0] ?? FFMPEG,
    [
      ...launcher.slice(1),
      ...(launcher.length ? [FFMPEG] : []),
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip,
      '-map', '0:v:0', '-c:v', 'copy', '-f', 'rtp', '-ssrc', String(VIDEO_SSRC), '-payload_type', '96', rtp(video.transport),
      '-map', '0:a:0', '-c:a', 'copy', '-f', 'rtp', '-ssrc', String(AUDIO_SSRC), '-payload_type', '111', rtp(audio.transport),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.add(ffmpeg);
  let ffmpegErrors = '';
  ffmpeg.stderr?.on('data', (chunk: Buffer) => (ffmpegErrors += chunk.toString()));

  // Receivers, in their own thread; sockets are added as viewers are.
  receiver = new Thread(RECEIVER_SOURCE, { eval: true });
  const thread = receiver;
  await new Promise((resolve) => thread.once('online', resolve));
  if (pinned) pin(process.pid, OTHER_CORES);
  const receiverPorts: number[] = [];
  const addSockets = async (count: number) => {
    const { ports } = await ask<{ ports: number[] }>(thread, { type: 'open', count, recvBufferSize: RECEIVE_BUFFER_BYTES }, 'ports');
    receiverPorts.push(...ports);
  };

  // Wait for the source to flow.
  for (let waited = 0; ; waited += 250) {
    const [stats] = await video.producer.getStats();
    if (stats && stats.packetCount > 30) break;
    if (waited > 10_000) throw new Error(`FFmpeg sent no RTP: ${ffmpegErrors}`);
    await sleep(250);
  }
  log(`source flowing; worker pid ${worker.pid}; ${cpus().length} cores`);

  let viewers = 0;
  const steps: Step[] = [];
  let limit: 'loss' | 'cpu' | 'ingress_behind' | 'steps' | 'time' = 'steps';
  let nominalKbps: number | undefined;
  for (const consumers of STEPS) {
    if (performance.now() - startedAt > TIME_BUDGET_MS - (WARM_UP_MS + WINDOW_MS + 15_000)) {
      limit = 'time';
      break;
    }
    const setupStart = performance.now();
    let lastLog = performance.now();
    const wantedSockets = Math.ceil(consumers / 2 / VIEWERS_PER_SOCKET);
    if (wantedSockets > receiverPorts.length) await addSockets(wantedSockets - receiverPorts.length);
    const newSsrcs: number[] = [];
    // Several viewers at a time: on a machine whose cores are busy forwarding, each request waits its turn.
    const addViewer = async (index: number) => {
      const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      await transport.connect({ ip: '127.0.0.1', port: receiverPorts[Math.floor(index / VIEWERS_PER_SOCKET)]! });
      for (const producer of [audio.producer, video.producer]) {
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, enableRtx: false });
        newSsrcs.push(consumer.rtpParameters.encodings![0]!.ssrc!);
      }
    };
    while (viewers * 2 < consumers) {
      const batch = Math.min(SETUP_CONCURRENCY, consumers / 2 - viewers);
      await Promise.all(Array.from({ length: batch }, (_, i) => addViewer(viewers + i)));
      viewers += batch;
      if (performance.now() - lastLog > 5_000) {
        lastLog = performance.now();
        log(`setting up: ${viewers} viewers`);
      }
    }
    thread.postMessage({ type: 'ssrcs', ssrcs: newSsrcs });
    const setupMs = performance.now() - setupStart;
    await sleep(WARM_UP_MS);

    const dropsBefore = udpDrops();
    const workerCpuBefore = cpuSeconds(worker.pid);
    const benchCpuBefore = process.cpuUsage();
    const [producerBefore] = await video.producer.getStats();
    const [audioBefore] = await audio.producer.getStats();
    const windowStart = performance.now();
    thread.postMessage({ type: 'start' });
    await sleep(WINDOW_MS);
    const counted = await ask<ReceiverWindow>(thread, { type: 'stop' }, 'window');
    const elapsed = (performance.now() - windowStart) / 1000;
    const workerCpuPct = ((cpuSeconds(worker.pid) - workerCpuBefore) / elapsed) * 100;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const benchCpuPct = ((benchCpu.user + benchCpu.system) / 1e6 / elapsed) * 100;
    const dropsAfter = udpDrops();
    const ingressQueued = udpQueuedBytes(workerIngressPorts);
    const [producerAfter] = await video.producer.getStats();
    const [audioAfter] = await audio.producer.getStats();
    const ingressBytes = (producerAfter?.byteCount ?? 0) - (producerBefore?.byteCount ?? 0) + (audioAfter?.byteCount ?? 0) - (audioBefore?.byteCount ?? 0);
    const { expected, received } = windowLoss(counted);
    const lossPct = expected > 0 ? ((expected - received) / expected) * 100 : 100;
    const ingressKbps = Math.round((ingressBytes * 8) / elapsed / 1000);
    nominalKbps ??= ingressKbps;
    const sourceStarved = ingressKbps < nominalKbps * MIN_SOURCE_RATE;
    const step: Step = {
      consumers,
      viewers,
      pass: lossPct <= MAX_LOSS_PCT && workerCpuPct <= MAX_CPU_PCT && !sourceStarved,
      loss_pct: round(lossPct, 3),
      worker_cpu_pct: round(workerCpuPct, 1),
      cpu_pct_per_consumer: round(workerCpuPct / consumers, 4),
      bench_process_cpu_pct: round(benchCpuPct, 1),
      egress_mbps: round((counted.bytes * 8) / elapsed / 1e6, 1),
      packets_expected: expected,
      packets_received: received,
      worker_ingress_drops: dropsOn(workerIngressPorts, dropsBefore, dropsAfter),
      receiver_socket_drops: dropsOn(receiverPorts, dropsBefore, dropsAfter),
      producer_ingress_kbps: ingressKbps,
      setup_ms: Math.round(setupMs),
      load_average_1m: loadavg()[0]!,
      worker_ingress_queue_bytes: ingressQueued,
    };
    steps.push(step);
    log(
      `${String(consumers).padStart(5)} consumers: loss ${step.loss_pct.toFixed(3)} %, worker CPU ${step.worker_cpu_pct.toFixed(1)} %, ` +
        `egress ${step.egress_mbps} Mbit/s, ingress ${step.producer_ingress_kbps} kbit/s (${step.worker_ingress_queue_bytes} B queued), ` +
        `drops ingress ${step.worker_ingress_drops} / receivers ${step.receiver_socket_drops}, bench CPU ${step.bench_process_cpu_pct} %, load ${step.load_average_1m}`,
    );
    if (!step.pass) {
      limit = lossPct > MAX_LOSS_PCT ? 'loss' : workerCpuPct > MAX_CPU_PCT ? 'cpu' : 'ingress_behind';
      break;
    }
  }

  const passing = steps.filter((step) => step.pass);
  const best = passing.at(-1);
  // The worker's cost per consumer over the passing steps from 400 consumers on (smaller ones are dominated by fixed costs).
  const perConsumer = passing.filter((step) => step.consumers >= 400).map((step) => step.cpu_pct_per_consumer);
  const medianPerConsumer = perConsumer.length ? perConsumer.sort((a, b) => a - b)[Math.floor(perConsumer.length / 2)]! : undefined;
  const result = {
    benchmark: 'sfu-fanout',
    date: new Date().toISOString(),
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, mediasoup ${mediasoup.version}`,
    source: {
      video: `H.264 constrained baseline 1280x720 30 fps, ${VIDEO_KBPS} kbps CBR (x264, pre-encoded, sent with FFmpeg -c copy)`,
      audio: `Opus 48 kHz stereo ${AUDIO_KBPS} kbps`,
      measured_ingress_kbps: steps[0]?.producer_ingress_kbps,
    },
    unit: 'consumer = one mediasoup Consumer; each viewer (a PlainTransport) has an audio and a video consumer',
    criteria: { max_loss_pct: MAX_LOSS_PCT, max_worker_cpu_pct: MAX_CPU_PCT, min_source_rate: MIN_SOURCE_RATE, window_ms: WINDOW_MS, warm_up_ms: WARM_UP_MS },
    pinning: pinned ? { worker_cores: WORKER_CORES, load_generator_cores: OTHER_CORES } : 'none',
    consumers_per_worker: best?.consumers ?? 0,
    viewers_per_worker: best?.viewers ?? 0,
    loss_pct: best?.loss_pct ?? null,
    worker_cpu_pct: best?.worker_cpu_pct ?? null,
    cpu_pct_per_consumer: best?.cpu_pct_per_consumer ?? null,
    stopped_by: limit,
    median_cpu_pct_per_consumer_from_400: medianPerConsumer ?? null,
    extrapolated_consumers_at_95pct_cpu: medianPerConsumer ? Math.floor(MAX_CPU_PCT / medianPerConsumer) : null,
    load_average_at_start: loadAtStart,
    goal_consumers_per_worker: 600,
    goal_met: (best?.consumers ?? 0) >= 600,
    steps,
    duration_s: Math.round((performance.now() - startedAt) / 1000),
  };
  writeBenchResult('sfu-fanout', result);

  console.log(`\nsfu-fanout: one mediasoup worker, one producer (${result.source.measured_ingress_kbps} kbps in), plain RTP consumers on loopback`);
  console.log('consumers  viewers   loss %   worker CPU %   CPU %/consumer   egress Mbit/s   drops (worker in / receivers)   bench CPU %');
  for (const step of steps) {
    console.log(
      `${String(step.consumers).padStart(9)}  ${String(step.viewers).padStart(7)}  ${step.loss_pct.toFixed(3).padStart(7)}  ${step.worker_cpu_pct.toFixed(1).padStart(13)}  ` +
        `${step.cpu_pct_per_consumer.toFixed(4).padStart(15)}  ${step.egress_mbps.toFixed(1).padStart(14)}  ${`${step.worker_ingress_drops} / ${step.receiver_socket_drops}`.padStart(30)}  ` +
        `${step.bench_process_cpu_pct.toFixed(1).padStart(11)}${step.pass ? '' : '   <- over the limit'}`,
    );
  }
  console.log(`load average at start ${loadAtStart.join(' ')}; ${pinned ? `worker pinned to core ${WORKER_CORES}, load generators to ${OTHER_CORES}` : 'no pinning'}`);
  console.log(
    `\n${result.consumers_per_worker} consumers (${result.viewers_per_worker} viewers) per worker at ${result.loss_pct} % loss, ` +
      `${result.worker_cpu_pct} % CPU (${result.cpu_pct_per_consumer} % per consumer); stopped by ${limit}; goal >= 600: ${result.goal_met ? 'met' : 'NOT met'}`,
  );
  if (result.extrapolated_consumers_at_95pct_cpu) {
    console.log(`the worker's cost, ${result.median_cpu_pct_per_consumer_from_400} % of a core per consumer, extrapolates to ${result.extrapolated_consumers_at_95pct_cpu} consumers at 95 %`);
  }
} finally {
  await cleanUp();
}
