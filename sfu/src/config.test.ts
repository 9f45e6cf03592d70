import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('sfu configuration', () => {
  it('runs on one machine with no environment at all', () => {
    expect(loadConfig({})).toEqual({
      http: { host: '127.0.0.1', port: 4443 },
      rtc: { listenIp: '127.0.0.1', announcedAddress: undefined, portRange: { min: 40000, max: 49999 } },
      workerCount: availableParallelism(),
      tokenSecret: expect.stringMatching(/^.{32,}$/),
      edgeApiUrl: 'http://127.0.0.1:8787',
      emptyRoomGraceMs: 30_000,
      logLevel: 'info',
      maxConsumersPerRouter: 500,
      originUrl: undefined,
      pipe: { listenIp: '127.0.0.1', announcedAddress: undefined },
      transcoderUrl: undefined,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      SFU_PORT: '0',
      SFU_HOST: '::1',
      SFU_LISTEN_IP: '10.0.0.5',
      SFU_ANNOUNCED_ADDRESS: 'sfu.example.test',
      RTC_MIN_PORT: '50000',
      RTC_MAX_PORT: '50100',
      SFU_WORKERS: '3',
      TOKEN_SECRET: 'x'.repeat(40),
      EDGE_API_URL: 'http://127.0.0.1:9999',
      SFU_EMPTY_ROOM_GRACE_MS: '5',
      SFU_LOG_LEVEL: 'debug',
      SFU_MAX_CONSUMERS_PER_ROUTER: '40',
      SFU_ORIGIN_URL: 'http://10.0.0.1:4443/',
      SFU_PIPE_LISTEN_IP: '10.0.0.6',
      SFU_PIPE_ANNOUNCED_ADDRESS: '192.0.2.7',
      TRANSCODER_URL: 'http://127.0.0.1:8080/',
    });
    expect(config).toMatchObject({
      http: { host: '::1', port: 0 },
      rtc: { listenIp: '10.0.0.5', announcedAddress: 'sfu.example.test', portRange: { min: 50000, max: 50100 } },
      workerCount: 3,
      tokenSecret: 'x'.repeat(40),
      emptyRoomGraceMs: 5,
      logLevel: 'debug',
      maxConsumersPerRouter: 40,
      originUrl: 'http://10.0.0.1:4443',
      pipe: { listenIp: '10.0.0.6', announcedAddress: '192.0.2.7' },
      transcoderUrl: 'http://127.0.0.1:8080',
    });
  });

  it('pipes on the RTC address unless told otherwise', () => {
    expect(loadConfig({ SFU_LISTEN_IP: '10.0.0.5', SFU_ANNOUNCED_ADDRESS: '203.0.113.9' }).pipe).toEqual({ listenIp: '10.0.0.5', announcedAddress: '203.0.113.9' });
  });

  it.each([
    [{ TOKEN_SECRET: 'short' }, /TOKEN_SECRET: TOKEN_SECRET must be at least 32 characters/],
    [{ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }, /RTC_MIN_PORT/],
    [{ SFU_LISTEN_IP: 'localhost' }, /SFU_LISTEN_IP/],
    [{ SFU_WORKERS: '0' }, /SFU_WORKERS/],
    [{ SFU_PORT: 'http' }, /SFU_PORT/],
    [{ EDGE_API_URL: 'not a url' }, /EDGE_API_URL/],
    [{ SFU_MAX_CONSUMERS_PER_ROUTER: '0' }, /SFU_MAX_CONSUMERS_PER_ROUTER/],
    [{ SFU_ORIGIN_URL: 'origin' }, /SFU_ORIGIN_URL/],
    [{ TRANSCODER_URL: 'rtmp://127.0.0.1:1935' }, /TRANSCODER_URL/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
