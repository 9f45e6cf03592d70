import { describe, expect, it } from 'vitest';
import { fillHeadStart, HEAD_START_MARKER } from '../headStart.ts';
import { isSameRequest, sfuPreconnectScript } from './sfuPreconnect.ts';

describe('sfuPreconnectScript', () => {
  const requests = [
    { method: 'authenticate', data: { token: 'header.payload.signature' } },
    { method: 'createWebRtcTransport', data: { direction: 'recv' } },
  ] as const;

  it('is one script element that numbers the requests in order', () => {
    const script = sfuPreconnectScript('ws://127.0.0.1:4443/ws?show=x', [...requests]);
    expect(script).toMatch(/^<script>[\s\S]*<\/script>$/);
    expect(script).toContain('{"type":"request","id":1,"method":"authenticate","data":{"token":"header.payload.signature"}}');
    expect(script).toContain('{"type":"request","id":2,"method":"createWebRtcTransport","data":{"direction":"recv"}}');
  });

  it('cannot be closed early by what it carries', () => {
    const script = sfuPreconnectScript('wss://sfu.example/ws?show=</script><script>alert(1)</script>', [{ method: 'authenticate', data: { token: '</script>\u2028' } }]);
    expect(script.indexOf('</script>')).toBe(script.length - '</script>'.length);
    expect(script).not.toContain('\u2028');
  });

  it('refuses, on the server, a request outside the protocol', () => {
    // @ts-expect-error: not a direction the protocol knows
    expect(() => sfuPreconnectScript('ws://127.0.0.1/ws?show=x', [{ method: 'createWebRtcTransport', data: { direction: 'sideways' } }])).toThrow();
  });
});

describe('isSameRequest', () => {
  const sent = { type: 'request', id: 1, method: 'createWebRtcTransport', data: { direction: 'recv' } } as const;

  it('matches the same method and data, and nothing else', () => {
    expect(isSameRequest(sent, 'createWebRtcTransport', { direction: 'recv' })).toBe(true);
    expect(isSameRequest(sent, 'createWebRtcTransport', { direction: 'send' })).toBe(false);
    expect(isSameRequest(sent, 'getRouterRtpCapabilities', {})).toBe(false);
  });
});

describe('fillHeadStart', () => {
  const html = `<head><meta charset="utf-8" />${HEAD_START_MARKER}<link rel="stylesheet" href="/a.css"></head>`;

  it('puts the markup where app.html has the marker, and leaves nothing when there is none', () => {
    expect(fillHeadStart(html, '<script>1</script>')).toBe('<head><meta charset="utf-8" /><script>1</script><link rel="stylesheet" href="/a.css"></head>');
    expect(fillHeadStart(html, undefined)).toBe('<head><meta charset="utf-8" /><link rel="stylesheet" href="/a.css"></head>');
  });

  it('takes the markup as it is (no replacement patterns)', () => {
    expect(fillHeadStart(html, "$&$'")).toContain(`/>$&$'<link`);
  });
});
