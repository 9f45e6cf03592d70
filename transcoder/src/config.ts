import { resolve } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './logger.ts';

/** The same development secret as the edge API's, so a local stack works with no configuration. */
export const DEV_TOKEN_SECRET = 'dev-only-token-secret-change-me-in-production';

const Port = z.coerce.number().int().min(0).max(65535);

/** The transcoder's environment. Port 0 asks the OS for a free port (tests run suites side by side). */
const TranscoderEnvironment = z
  .object({
    NODE_ENV: z.string().default('development'),
    RTMP_PORT: Port.default(1935),
    TRANSCODER_HTTP_PORT: Port.default(8080),
    TRANSCODER_HOST: z.string().min(1).default('127.0.0.1'),
    MEDIA_DIR: z.string().min(1).default('./data/media'),
    EDGE_API_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8787'),
    /** The sfu's HTTP base URL: RTMP publishes are forwarded into it (plain RTP ingest). Unset: no forwarding. */
    SFU_URL: z.url({ protocol: /^https?$/ }).optional(),
    TOKEN_SECRET: z.string().min(32, 'TOKEN_SECRET must be at least 32 characters').optional(),
    FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
    /**
     * How long a publish whose connection dropped is kept open for the same client to resume it
     * (OBS reconnects on its own). Within it the HLS output continues without a break; after it
     * the show's live playlist ends and the replay is finalised.
     */
    PUBLISH_RESUME_GRACE_MS: z.coerce.number().int().min(0).max(300_000).default(10_000),
    /** The HLS is public media read by the web app from another origin. */
    CORS_ALLOW_ORIGIN: z.string().min(1).default('*'),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    /** Where browsers reach this HTTP server (replay URLs given to the edge API); the bound address by default. */
    TRANSCODER_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Where FFmpeg listens for the sfu's plain-RTP egress (the sfu must reach it). */
    EGRESS_LISTEN_IP: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    /** The size a browser or WHIP show's HLS is re-encoded to (the source is scaled and letterboxed into it). */
    SFU_HLS_SIZE: z.string().regex(/^\d{2,4}x\d{2,4}$/, 'must be WIDTHxHEIGHT, e.g. 1280x720').default('1280x720'),
    /**
     * Frames per live segment of a re-encoded show, at 30 fps: 16 makes 0.533 s segments (15 would be
     * exactly 0.5 s, which FFmpeg rounds to TARGETDURATION:0); more trades latency for efficiency.
     */
    SFU_HLS_SEGMENT_FRAMES: z.coerce.number().int().min(16).max(300).default(16),
    SFU_HLS_VIDEO_KBPS: z.coerce.number().int().min(100).max(20_000).default(2_500),
    /** Where finished replays go: this server's disk (`local`) or an S3-compatible bucket (`s3`: R2, S3, MinIO). */
    REPLAY_STORAGE: z.enum(['local', 's3']).default('local'),
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    S3_BUCKET: z.string().min(1).optional(),
    S3_REGION: z.string().min(1).default('auto'),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** Where the bucket is read by players (a CDN or the bucket's public URL). */
    S3_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.REPLAY_STORAGE === 's3') {
      for (const name of ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_PUBLIC_URL'] as const) {
        if (env[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required when REPLAY_STORAGE=s3` });
      }
    }
    // A forgotten secret in production must fail loudly, not fall back to the public dev value.
    if (env.NODE_ENV === 'production' && env.TOKEN_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['TOKEN_SECRET'], message: 'TOKEN_SECRET is required when NODE_ENV=production' });
    }
  });

export interface TranscoderConfig {
  rtmp: { host: string; port: number };
  http: { host: string; port: number; corsAllowOrigin: string };
  /** Absolute path; `live/` and `replays/` live under it. */
  mediaDir: string;
  edgeApiUrl: string;
  /** Where RTMP publishes are forwarded for WebRTC viewers; undefined when they are not. */
  sfuUrl: string | undefined;
  tokenSecret: string;
  /** True when TOKEN_SECRET was not set and the development default is in use. */
  usingDevTokenSecret: boolean;
  ffmpegPath: string;
  publishResumeGraceMs: number;
  logLevel: LogLevel;
  /** Undefined: the HTTP server's own address. */
  publicUrl: string | undefined;
  /** How shows published to the sfu (browser, WHIP) get their HLS: its egress, re-encoded. */
  sfuHls: { listenIp: string; width: number; height: number; segmentFrames: number; videoKbps: number };
  replayStorage: ReplayStorageConfig;
}

export type ReplayStorageConfig =
  | { kind: 'local' }
  | { kind: 's3'; endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string; publicUrl: string };

export function loadConfig(env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): TranscoderConfig {
  const parsed = TranscoderEnvironment.safeParse(env);
  if (!parsed.success) {
    throw new Error(`transcoder configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    rtmp: { host: e.TRANSCODER_HOST, port: e.RTMP_PORT },
    http: { host: e.TRANSCODER_HOST, port: e.TRANSCODER_HTTP_PORT, corsAllowOrigin: e.CORS_ALLOW_ORIGIN },
    mediaDir: resolve(cwd, e.MEDIA_DIR),
    edgeApiUrl: e.EDGE_API_URL.replace(/\/+$/, ''),
    sfuUrl: e.SFU_URL?.replace(/\/+$/, ''),
    tokenSecret: e.TOKEN_SECRET ?? DEV_TOKEN_SECRET,
    usingDevTokenSecret: e.TOKEN_SECRET === undefined,
    ffmpegPath: e.FFMPEG_PATH,
    publishResumeGraceMs: e.PUBLISH_RESUME_GRACE_MS,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.TRANSCODER_PUBLIC_URL?.replace(/\/+$/, ''),
    sfuHls: {
      listenIp: e.EGRESS_LISTEN_IP,
      width: Number(e.SFU_HLS_SIZE.split('x')[0]) & ~1,
      height: Number(e.SFU_HLS_SIZE.split('x')[1]) & ~1,
      segmentFrames: e.SFU_HLS_SEGMENT_FRAMES,
      videoKbps: e.SFU_HLS_VIDEO_KBPS,
    },
    replayStorage:
      e.REPLAY_STORAGE === 's3'
        ? {
            kind: 's3',
            endpoint: e.S3_ENDPOINT ?? '',
            bucket: e.S3_BUCKET ?? '',
            region: e.S3_REGION,
            accessKeyId: e.S3_ACCESS_KEY_ID ?? '',
            secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? '',
            publicUrl: e.S3_PUBLIC_URL ?? '',
          }
        : { kind: 'local' },
  };
}
