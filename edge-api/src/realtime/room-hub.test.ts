import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { WebSocket } from 'ws';
import { createApp } from '../app.ts';
import { createTestApp, TEST_SECRET, type TestApp } from '../testing/test-app.ts';
import { NodeRoomHub, textFrame } from './node-room-hub.ts';
import { type RawRoomSocket, roomProtocolSuite } from './room-protocol-suite.ts';
import { apiRoomSource } from './room-source.ts';

// The Node hub on a real HTTP server over loopback, in front of the real app over PGlite: the
// checkout's in-process show events feed it, as in `npm start`.
let t: TestApp;
let hub: NodeRoomHub;
let server: Server;
let base: string;

beforeAll(async () => {
  t = await createTestApp({ loginLimit: 1_000_000 });
  let app: ReturnType<typeof createApp> | undefined;
  hub = new NodeRoomHub({ secret: TEST_SECRET, source: apiRoomSource((request) => app!.fetch(request)), events: t.events, warn: () => {} });
  app = createApp(t.services, { roomFeed: hub });
  server = createServer(getRequestListener(app.fetch));
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await hub?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await t?.close();
});

export function openNodeSocket(url: string): Promise<RawRoomSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const pending: string[] = [];
    let onMessage: ((text: string) => void) | null = null;
    ws.on('message', (data) => (onMessage ? onMessage(data.toString()) : pending.push(data.toString())));
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        send: (text) => ws.send(text),
        close: (code) => ws.close(code),
        onMessage: (listener) => {
          onMessage = listener;
          for (const text of pending.splice(0)) listener(text);
        },
        onClose: (listener) => ws.on('close', (code, reason) => listener(code, reason.toString())),
        pause: () => ws.pause(),
        resume: () => ws.resume(),
      }),
    );
  });
}

roomProtocolSuite('Node hub', () => ({
  secret: TEST_SECRET,
  fetch: (path, init) => fetch(`http://${base}${path}`, init),
  open: (showId) => openNodeSocket(`ws://${base}/v1/shows/${showId}/room`),
  // About 10 MB per receiver: more than loopback's socket buffers take before `ws` has to queue.
  floodMessages: 20_000,
}));

/** ws exports its frame parser, but @types/ws does not declare it. */
type WsReceiver = new (options: { isServer: boolean; maxPayload: number }) => {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Buffer): void;
};

describe('the hub’s pre-framed broadcasts', () => {
  it('are WebSocket text frames that a client’s parser reads back, for every length encoding', () => {
    // ws's own client-side parser: 7-bit, 16-bit and 64-bit payload lengths, and a multi-byte character.
    const texts = ['hi', `é${'x'.repeat(300)}`, 'y'.repeat(70_000)];
    const received: string[] = [];
    const receiver = new (ws as unknown as { Receiver: WsReceiver }).Receiver({ isServer: false, maxPayload: 0 });
    receiver.on('message', (data: Buffer, isBinary: boolean) => received.push(`${isBinary ? 'binary' : 'text'}:${data.toString()}`));
    receiver.on('error', (error: Error) => received.push(`error:${error.message}`));
    const frames = texts.map((text) => textFrame(Buffer.from(text)));
    expect(frames.map((frame) => frame.length - Buffer.byteLength(texts[frames.indexOf(frame)]!))).toEqual([2, 4, 10]);
    receiver.write(Buffer.concat(frames));
    expect(received).toEqual(texts.map((text) => `text:${text}`));
  });
});
