import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { LeanWebSocket } from './LeanWebSocket.ts';

// Against a real `ws` server: what the generator's client must get right to be measured by it.
describe('LeanWebSocket', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    for (const client of server?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function listen(onConnection: (socket: WebSocket) => void): Promise<string> {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', onConnection);
    await once(server, 'listening');
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/shows/x/room?probe=1`;
  }

  it('receives text frames of every length encoding, split anywhere, and sends masked frames the server reads', async () => {
    const texts = ['hello', `é${'a'.repeat(200)}`, 'z'.repeat(70_000)];
    const heard: string[] = [];
    let path = '';
    const url = await listen((socket) => {
      socket.on('message', (data) => heard.push(data.toString()));
      for (const text of texts) socket.send(text);
    });
    server!.on('connection', (_socket, request) => (path = request.url ?? ''));
    const received: string[] = [];
    const client = await LeanWebSocket.open(url, (payload) => received.push(payload.toString()));
    client.send('from the client ✓');
    await expect.poll(() => received.length).toBe(3);
    expect(received).toEqual(texts);
    await expect.poll(() => heard).toEqual(['from the client ✓']);
    expect(path).toBe('/v1/shows/x/room?probe=1');
    client.terminate();
  });

  it('answers pings, so that servers which drop silent sockets keep it', async () => {
    let pong = '';
    const url = await listen((socket) => {
      socket.on('pong', (data) => (pong = data.toString()));
      socket.ping('are you there');
    });
    const client = await LeanWebSocket.open(url, () => {});
    await expect.poll(() => pong).toBe('are you there');
    expect(client.isOpen).toBe(true);
    client.terminate();
    expect(client.isOpen).toBe(false);
  });

  it('refuses a server that does not upgrade', async () => {
    const { createServer } = await import('node:http');
    const http = createServer((_request, response) => response.writeHead(404).end());
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      await expect(LeanWebSocket.open(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, () => {})).rejects.toThrow(/handshake refused: HTTP\/1.1 404/);
    } finally {
      http.close();
    }
  });
});
