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
    });
    expect(config).toMatchObject({
      http: { host: '::1', port: 0 },
      rtc: { listenIp: '10.0.0.5', announcedAddress: 'sfu.example.test', portRange: { min: 50000, max: 50100 } },
      workerCount: 3,
      tokenSecret: 'x'.repeat(40),
      emptyRoomGraceMs: 5,
      logLevel: 'debug',
    });
  });

  it.each([
    [{ TOKEN_SECRET: 'short' }, /TOKEN_SECRET: TOKEN_SECRET must be at least 32 characters/],
    [{ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }, /RTC_MIN_PORT/],
    [{ SFU_LISTEN_IP: 'localhost' }, /SFU_LISTEN_IP/],
    [{ SFU_WORKERS: '0' }, /SFU_WORKERS/],
    [{ SFU_PORT: 'http' }, /SFU_PORT/],
    [{ EDGE_API_URL: 'not a url' }, /EDGE_API_URL/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
