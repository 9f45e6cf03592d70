import { describe, expect, it } from 'vitest';
import { liveHlsUrl, transcoderPublicUrl } from './transcoderUrl.ts';

describe('transcoderPublicUrl', () => {
  const page = new URL('http://shop.example.test:3000/shows/x');

  it('is TRANSCODER_PUBLIC_URL when set, without a trailing slash, path prefix kept', () => {
    expect(transcoderPublicUrl('https://media.example.test/', page)).toBe('https://media.example.test');
    expect(transcoderPublicUrl(' https://cdn.example.test/hls/ ', page)).toBe('https://cdn.example.test/hls');
  });

  it('is the page’s host on the transcoder’s default port otherwise, https for an https page', () => {
    expect(transcoderPublicUrl(undefined, page)).toBe('http://shop.example.test:8080');
    expect(transcoderPublicUrl('', new URL('https://[::1]:3000/'))).toBe('https://[::1]:8080');
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => transcoderPublicUrl('rtmp://media.example.test', page)).toThrow(/TRANSCODER_PUBLIC_URL/);
  });

  it('makes a show’s live playlist URL', () => {
    expect(liveHlsUrl('http://127.0.0.1:8080', '019ab5f0-0000-7000-8000-000000000001')).toBe('http://127.0.0.1:8080/live/019ab5f0-0000-7000-8000-000000000001/index.m3u8');
  });
});
