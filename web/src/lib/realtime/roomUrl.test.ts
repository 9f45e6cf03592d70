import { describe, expect, it } from 'vitest';
import { realtimePublicUrl } from './roomUrl.ts';

describe('realtimePublicUrl', () => {
  const page = new URL('http://192.168.1.20:3000/shows/x');

  it('uses REALTIME_PUBLIC_URL when set, http spelled as ws, a path prefix kept', () => {
    expect(realtimePublicUrl('https://rooms.example.test/', 'http://127.0.0.1:8787', page)).toBe('wss://rooms.example.test');
    expect(realtimePublicUrl(' http://api.example.test:8080/edge/ ', 'http://127.0.0.1:8787', page)).toBe('ws://api.example.test:8080/edge');
    expect(() => realtimePublicUrl('ftp://x', 'http://127.0.0.1:8787', page)).toThrow(/REALTIME_PUBLIC_URL/);
    expect(() => realtimePublicUrl('not a url', 'http://127.0.0.1:8787', page)).toThrow(/REALTIME_PUBLIC_URL/);
  });

  it('puts a loopback edge API on the page’s own host (a phone on the same network), wss on an https page', () => {
    expect(realtimePublicUrl(undefined, 'http://127.0.0.1:8787', page)).toBe('ws://192.168.1.20:8787');
    expect(realtimePublicUrl('', 'http://localhost:8787', new URL('https://shop.example.test/'))).toBe('wss://shop.example.test:8787');
    expect(realtimePublicUrl(undefined, 'http://[::1]:8787', new URL('http://[::1]:3000/'))).toBe('ws://[::1]:8787');
    // `npm start` with MYTAEK1_HOST=0.0.0.0 serves the network: the phone reaches the edge API where it reached the page.
    expect(realtimePublicUrl(undefined, 'http://0.0.0.0:8787', page)).toBe('ws://192.168.1.20:8787');
  });

  it('uses an edge API reached by a public name as it is', () => {
    expect(realtimePublicUrl(undefined, 'https://api.example.test', page)).toBe('wss://api.example.test');
  });
});
