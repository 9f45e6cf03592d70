import { describe, expect, it } from 'vitest';
import { DEV_TOKEN_SECRET, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has working defaults for a local stack', () => {
    const config = loadConfig({}, '/srv/transcoder');
    expect(config).toEqual({
      rtmp: { host: '127.0.0.1', port: 1935 },
      http: { host: '127.0.0.1', port: 8080, corsAllowOrigin: '*' },
      mediaDir: '/srv/transcoder/data/media',
      edgeApiUrl: 'http://127.0.0.1:8787',
      sfuUrl: undefined,
      tokenSecret: DEV_TOKEN_SECRET,
      usingDevTokenSecret: true,
      ffmpegPath: 'ffmpeg',
      publishResumeGraceMs: 10_000,
      logLevel: 'info',
      publicUrl: undefined,
      sfuHls: { listenIp: '127.0.0.1', width: 1280, height: 720, segmentFrames: 16, videoKbps: 2_500 },
      replayStorage: { kind: 'local' },
    });
  });

  it('puts replays in an S3-compatible bucket when told to, and says what is missing', () => {
    const s3 = {
      REPLAY_STORAGE: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'replays',
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_PUBLIC_URL: 'https://cdn.example.test/replays-bucket',
    };
    expect(loadConfig(s3).replayStorage).toEqual({
      kind: 's3',
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'replays',
      region: 'auto',
      accessKeyId: 'key',
      secretAccessKey: 'secret',
      publicUrl: 'https://cdn.example.test/replays-bucket',
    });
    expect(() => loadConfig({ ...s3, S3_BUCKET: undefined, S3_PUBLIC_URL: undefined })).toThrow(/S3_BUCKET is required when REPLAY_STORAGE=s3.*S3_PUBLIC_URL is required/);
    expect(() => loadConfig({ SFU_HLS_SEGMENT_FRAMES: '15' })).toThrow(/SFU_HLS_SEGMENT_FRAMES/);
    expect(() => loadConfig({ SFU_HLS_SIZE: 'big' })).toThrow(/SFU_HLS_SIZE/);
    expect(loadConfig({ TRANSCODER_PUBLIC_URL: 'https://media.example.test/', SFU_HLS_SIZE: '640x360' })).toMatchObject({
      publicUrl: 'https://media.example.test',
      sfuHls: { width: 640, height: 360 },
    });
  });

  it('reads the environment', () => {
    const config = loadConfig({
      RTMP_PORT: '0',
      TRANSCODER_HTTP_PORT: '9090',
      TRANSCODER_HOST: '0.0.0.0',
      MEDIA_DIR: '/var/media',
      EDGE_API_URL: 'https://api.example.test/',
      TOKEN_SECRET: 'x'.repeat(32),
      FFMPEG_PATH: '/usr/bin/ffmpeg',
    });
    expect(config.rtmp).toEqual({ host: '0.0.0.0', port: 0 });
    expect(config.http.port).toBe(9090);
    expect(config.mediaDir).toBe('/var/media');
    expect(config.edgeApiUrl).toBe('https://api.example.test');
    expect(config.tokenSecret).toBe('x'.repeat(32));
    expect(config.usingDevTokenSecret).toBe(false);
    expect(config.ffmpegPath).toBe('/usr/bin/ffmpeg');
  });

  it('forwards RTMP into the sfu only when SFU_URL is set', () => {
    expect(loadConfig({}).sfuUrl).toBeUndefined();
    expect(loadConfig({ SFU_URL: 'http://127.0.0.1:4443/' }).sfuUrl).toBe('http://127.0.0.1:4443');
    expect(loadConfig({ SFU_URL: 'https://sfu.internal.example.test' }).sfuUrl).toBe('https://sfu.internal.example.test');
  });

  it('requires TOKEN_SECRET in production instead of falling back to the public dev secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/TOKEN_SECRET is required/);
    expect(loadConfig({ NODE_ENV: 'production', TOKEN_SECRET: 's'.repeat(40) }).usingDevTokenSecret).toBe(false);
  });

  it.each([
    [{ RTMP_PORT: '70000' }, /RTMP_PORT/],
    [{ TRANSCODER_HTTP_PORT: 'http' }, /TRANSCODER_HTTP_PORT/],
    [{ TOKEN_SECRET: 'short' }, /at least 32/],
    [{ EDGE_API_URL: 'ftp://127.0.0.1' }, /EDGE_API_URL/],
    [{ SFU_URL: 'ws://127.0.0.1:4443' }, /SFU_URL/],
    [{ SFU_URL: 'not a url' }, /SFU_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  ])('rejects %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
