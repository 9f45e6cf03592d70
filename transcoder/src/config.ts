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
  })
  .superRefine((env, ctx) => {
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
}

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
  };
}
