/**
 * A shopper opening a live show would otherwise open the sfu's socket only once the page's code has
 * loaded and hydrated (half a second or more on a phone), and only then spend its round trips on the
 * WebSocket handshake, the admission and the first media requests. Instead the page's server render
 * puts a small script at the top of <head> that opens the socket and sends the player's opening
 * requests at once, keeping whatever the sfu answers. The player then adopts that socket
 * (`SignalingConnection.adopt`) and finds its answers waiting.
 *
 * The sfu answers requests sent before admission in order, once admitted (SignalingServer), so the
 * requests can all go in one flight.
 */
import { SignalingMethods, SignalingRequest, type SignalingMethod, type SignalingRequestData } from '@mytaek1/contracts';

/** One request to send ahead, before it has an id. */
export type PreconnectRequest = { [M in SignalingMethod]: { method: M; data: SignalingRequestData<M> } }[SignalingMethod];

/** What the script leaves for the player, under `window[SFU_PRECONNECT_GLOBAL][signaling URL]`. */
export type SfuPreconnection = {
  socket: WebSocket;
  /** The requests sent as soon as the socket opened, in order, with ids 1, 2, … */
  requests: SignalingRequest[];
  /** Every frame the sfu sent until the player took the socket, in order. */
  frames: unknown[];
  /** How the socket closed, when it closed before the player took it. */
  closed?: { code: number; reason: string };
  timer?: ReturnType<typeof setTimeout>;
};

/**
 * What a viewer asks first on every connection, admitted with `token`: Viewer.setup asks the last
 * two, so the page's script can send all three before the player's code has even loaded.
 */
export function viewerOpeningRequests(token: string): PreconnectRequest[] {
  return [
    { method: 'authenticate', data: { token } },
    { method: 'getRouterRtpCapabilities', data: {} },
    { method: 'createWebRtcTransport', data: { direction: 'recv' } },
  ];
}

export const SFU_PRECONNECT_GLOBAL = '__mytaek1SfuPreconnect';

/** A socket the page's code never took (it failed to load, or the show page was left) closes after this long. */
export const UNCLAIMED_PRECONNECTION_MS = 30_000;

/**
 * The browser half, run as an inline script before anything else on the page. Kept to syntax every
 * browser parses and serialised with `toString()`: it must not use anything from its module.
 */
function preconnect(global: Record<string, unknown>, name: string, url: string, requests: unknown[], unclaimedMs: number): void {
  try {
    const slots = (global[name] ??= {}) as Record<string, SfuPreconnection>;
    const socket = new WebSocket(url);
    const slot: SfuPreconnection = { socket, requests: requests as SignalingRequest[], frames: [] };
    slots[url] = slot;
    socket.onopen = () => {
      for (const request of requests) socket.send(JSON.stringify(request));
    };
    socket.onmessage = (event) => {
      slot.frames.push(event.data);
    };
    socket.onclose = (event) => {
      slot.closed = { code: event.code, reason: event.reason };
    };
    slot.timer = setTimeout(() => {
      if (slots[url] !== slot) return;
      delete slots[url];
      socket.close(1000, 'unclaimed');
    }, unclaimedMs);
  } catch {
    // No WebSocket, or a URL it refuses: the player connects by itself, as it would without this.
  }
}

/** JSON that is safe inside an HTML <script> element: nothing in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The `<script>` element that opens `url` and sends `requests` (ids 1, 2, … in this order). Each
 * request is checked against the signaling protocol here, on the server, rather than failing in a
 * shopper's browser.
 */
export function sfuPreconnectScript(url: string, requests: readonly PreconnectRequest[], { unclaimedMs = UNCLAIMED_PRECONNECTION_MS }: { unclaimedMs?: number } = {}): string {
  const frames = requests.map((request, index) => SignalingRequest.parse({ type: 'request', id: index + 1, ...request }));
  const args = [scriptJson(SFU_PRECONNECT_GLOBAL), scriptJson(url), scriptJson(frames), String(unclaimedMs)];
  return `<script>(${preconnect.toString()})(window,${args.join(',')})</script>`;
}

/**
 * The socket the page's script opened to `url`, handed over once: later calls (a reconnection) get
 * undefined, as does a page without one. A socket that closed already is handed over all the same,
 * with `closed` set: it was this page's first connection, and how it ended (a refused token, an
 * ended show) is the answer to it.
 */
export function takeSfuPreconnection(url: string, global: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): SfuPreconnection | undefined {
  const slots = global[SFU_PRECONNECT_GLOBAL] as Record<string, SfuPreconnection> | undefined;
  const slot = slots?.[url];
  if (!slot) return undefined;
  delete slots[url];
  clearTimeout(slot.timer);
  // The script's own open handler stays: a socket still connecting sends the requests when it opens.
  slot.socket.onclose = null;
  slot.socket.onmessage = null;
  return slot;
}

/** Whether `request` is the one sent ahead as `sent`: same method, same data once read by the protocol. */
export function isSameRequest(sent: SignalingRequest, method: SignalingMethod, data: unknown): boolean {
  if (sent.method !== method) return false;
  const schema = SignalingMethods[method].request;
  const ours = schema.safeParse(data);
  const theirs = schema.safeParse(sent.data);
  return ours.success && theirs.success && JSON.stringify(ours.data) === JSON.stringify(theirs.data);
}
