import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { issueToken, newId, RoomServerEvent } from '@mytaek1/contracts';
import { describe, expect, it } from 'vitest';
import { ShowRoom } from '../worker.ts';
import { type RawRoomSocket, roomProtocolSuite } from './room-protocol-suite.ts';

// The same protocol suite as the Node hub's, against the ShowRoom Durable Object in workerd: the
// Worker entry, wrangler.toml's SHOW_ROOMS binding, WebSocket upgrades through SELF.fetch, and real
// checkouts whose events reach the room through DurableObjectShowEvents.
const bindings = env as unknown as { TOKEN_SECRET: string; SHOW_ROOMS: DurableObjectNamespace };
const secret = bindings.TOKEN_SECRET;

async function openWorkerSocket(showId: string): Promise<RawRoomSocket> {
  const response = await SELF.fetch(`http://api.test/v1/shows/${showId}/room`, { headers: { upgrade: 'websocket' } });
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade answered ${response.status}`);
  const ws = response.webSocket;
  const pending: string[] = [];
  let onMessage: ((text: string) => void) | null = null;
  ws.addEventListener('message', (event) => {
    const text = typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
    if (onMessage) onMessage(text);
    else pending.push(text);
  });
  ws.accept();
  return {
    send: (text) => ws.send(text),
    close: (code) => ws.close(code),
    onMessage: (listener) => {
      onMessage = listener;
      for (const text of pending.splice(0)) listener(text);
    },
    onClose: (listener) => ws.addEventListener('close', (event) => listener(event.code, event.reason)),
  };
}

roomProtocolSuite('Durable Object', () => ({
  secret,
  fetch: (path, init) => SELF.fetch(`http://api.test${path}`, init),
  open: openWorkerSocket,
  // A WebSocket inside workerd cannot stop reading; the Node hub's run covers backpressure.
  floodMessages: 0,
}));

describe('the ShowRoom Durable Object across hibernation', () => {
  it('rebuilds the room from its storage and the sockets’ attachments: same sequence, chat and members', async () => {
    const list = (await (await SELF.fetch('http://api.test/v1/shows')).json()) as { upcoming: { id: string }[] };
    const showId = list.upcoming[0]!.id;
    const userId = newId();
    const socket = await openWorkerSocket(showId);
    const messages: RoomServerEvent[] = [];
    socket.onMessage((text) => messages.push(RoomServerEvent.parse(JSON.parse(text))));
    socket.send(JSON.stringify({ type: 'hello', token: await issueToken({ aud: 'realtime', sub: userId, show: showId, role: 'viewer', name: 'Kim' }, secret, { ttlSeconds: 60 }) }));
    await expect.poll(() => messages.some((m) => m.type === 'snapshot')).toBe(true);
    socket.send(JSON.stringify({ type: 'chat', text: 'kept across hibernation' }));
    await expect.poll(() => messages.some((m) => m.type === 'chat')).toBe(true);
    const seq = Math.max(...messages.map((m) => m.seq));

    const stub = bindings.SHOW_ROOMS.get(bindings.SHOW_ROOMS.idFromName(showId));
    // A second instance over the same state is what the runtime builds when the object wakes up.
    const woken = await runInDurableObject(stub, async (_instance, state) => {
      const fresh = new ShowRoom(state as never, env as never);
      return (await fresh.fetch(new Request('https://show-room/state'))).json();
    });
    expect(woken).toMatchObject({ showId, seq, viewers: 1, loaded: true });
    socket.close(1000);
  });
});
