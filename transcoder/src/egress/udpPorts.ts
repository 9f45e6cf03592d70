import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';

/**
 * `count` free even UDP ports whose next port is free too: RTP on the port, RTCP on port + 1, as
 * FFmpeg's RTP demuxer takes them. The kernel picks; the sockets are closed again for FFmpeg to
 * bind a moment later (another process could take one in between; FFmpeg then fails, and the
 * pipeline retries with new ports).
 */
export async function allocateRtpPorts(count: number, ip: string): Promise<number[]> {
  const held: Socket[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < count; tries++) {
      if (tries > 50) throw new Error('no free pair of UDP ports found');
      const rtp = await bind(ip, 0);
      if (!rtp) continue;
      const port = rtp.address().port;
      const rtcp = port % 2 === 0 && port < 65535 ? await bind(ip, port + 1) : undefined;
      held.push(rtp);
      if (!rtcp) continue;
      held.push(rtcp);
      ports.push(port);
    }
    return ports;
  } finally {
    for (const socket of held) socket.close();
  }
}

async function bind(ip: string, port: number): Promise<Socket | undefined> {
  const socket = createSocket(isIPv6(ip) ? 'udp6' : 'udp4');
  try {
    socket.bind(port, ip);
    await Promise.race([once(socket, 'listening'), once(socket, 'error').then(([error]) => Promise.reject(error))]);
    return socket;
  } catch {
    socket.close();
    return undefined;
  }
}

/**
 * Resolves once every port is bound by a UDP socket on this machine (Linux's /proc/net/udp): FFmpeg
 * binds its RTP ports as it reads the SDP, and RTP sent before that is lost. Where /proc cannot be
 * read, waits `fallbackMs` instead. Rejects after `timeoutMs`.
 */
export async function waitForUdpListeners(ports: readonly number[], { timeoutMs = 5_000, fallbackMs = 500, isAlive = () => true }: { timeoutMs?: number; fallbackMs?: number; isAlive?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bound = await boundUdpPorts();
    if (bound === undefined) {
      await new Promise((resolve) => setTimeout(resolve, fallbackMs));
      return;
    }
    if (ports.every((port) => bound.has(port))) return;
    if (!isAlive()) throw new Error('FFmpeg exited before it listened');
    if (Date.now() > deadline) throw new Error(`ports ${ports.join(', ')} were not listened on within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function boundUdpPorts(): Promise<Set<number> | undefined> {
  const tables = await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map((path) => readFile(path, 'utf8').catch(() => undefined)));
  if (tables.every((table) => table === undefined)) return undefined;
  const ports = new Set<number>();
  for (const table of tables) {
    for (const line of table?.split('\n').slice(1) ?? []) {
      // "  sl  local_address rem_address ...": local_address is HEXIP:HEXPORT.
      const local = line.trim().split(/\s+/)[1];
      const port = local?.split(':').at(-1);
      if (port) ports.add(Number.parseInt(port, 16));
    }
  }
  return ports;
}
