/**
 * A minimal WebSocket client (RFC 6455) for load generators that hold thousands of sockets on the
 * same machine as the server they measure. `ws` validates UTF-8, copies each message and emits an
 * event per frame, which at 250,000 frames a second costs the generator more CPU than the server
 * spends sending them, and the measured latency becomes the generator's own queueing. This client
 * hands each payload to one callback as a view of the received chunk, answers pings, and does
 * nothing else: no fragmentation (the servers measured never fragment), no extensions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export class LeanWebSocket {
  readonly #socket: Socket;
  readonly #onMessage: (payload: Buffer) => void;
  #pending: Buffer | null = null;
  #open = true;

  private constructor(socket: Socket, onMessage: (payload: Buffer) => void) {
    this.#socket = socket;
    this.#onMessage = onMessage;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => (this.#open = false));
    socket.on('error', () => (this.#open = false));
  }

  /** Opens `url` (ws://host:port/path?query); every message's payload goes to `onMessage`, a view valid during the call. */
  static open(url: string, onMessage: (payload: Buffer) => void, timeoutMs = 30_000): Promise<LeanWebSocket> {
    const target = new URL(url);
    if (target.protocol !== 'ws:') throw new Error(`LeanWebSocket speaks ws:// only, not ${target.protocol}`);
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port || 80) });
      socket.setNoDelay(true);
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`no WebSocket handshake from ${url} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('error', fail);
      socket.once('connect', () =>
        socket.write(
          `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      let head = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHandshake);
        socket.off('error', fail);
        clearTimeout(timer);
        const response = head.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(response) || !response.toLowerCase().includes(`sec-websocket-accept: ${expectedAccept.toLowerCase()}`)) {
          socket.destroy();
          reject(new Error(`WebSocket handshake refused: ${response.split('\r\n')[0]}`));
          return;
        }
        const ws = new LeanWebSocket(socket, onMessage);
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.#receive(rest);
      };
      socket.on('data', onHandshake);
    });
  }

  get isOpen(): boolean {
    return this.#open;
  }

  send(text: string): void {
    this.#write(OPCODE.text, Buffer.from(text));
  }

  terminate(): void {
    this.#open = false;
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    const buffer = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    let offset = 0;
    while (buffer.length - offset >= 2) {
      const first = buffer[offset]!;
      const second = buffer[offset + 1]!;
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (second & 0x80 || !(first & 0x80)) {
        // A server never masks; fragments are not expected from the servers measured.
        this.terminate();
        return;
      }
      if (buffer.length - offset < header + length) break;
      const payload = buffer.subarray(offset + header, offset + header + length);
      offset += header + length;
      const opcode = first & 0x0f;
      if (opcode === OPCODE.text || opcode === OPCODE.binary) this.#onMessage(payload);
      else if (opcode === OPCODE.ping) this.#write(OPCODE.pong, payload);
      else if (opcode === OPCODE.close) {
        this.terminate();
        return;
      }
    }
    this.#pending = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : null;
  }

  /** A client's frames are masked (RFC 6455 section 5.3). */
  #write(opcode: number, payload: Buffer): void {
    if (!this.#open) return;
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + 4 + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65_536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, header);
    for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.#socket.write(frame);
  }
}
