import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { LogLevel } from './logger.ts';

/** The same development secret as the edge API's, so a local stack admits its own tokens out of the box. */
const DEV_TOKEN_SECRET = 'dev-only-token-secret-change-me-in-production';

const Port = z.coerce.number().int().min(0).max(65535);
const IpAddress = z.union([z.ipv4(), z.ipv6()]);

/** The sfu's environment variables. Everything has a default that works on one machine. */
export const SfuEnv = z
  .object({
    /** HTTP and WebSocket port (signaling, stats, later WHIP/WHEP). 0 picks a free one. */
    SFU_PORT: Port.default(4443),
    SFU_HOST: z.string().min(1).default('127.0.0.1'),
    /** The address mediasoup binds its RTC sockets to. */
    SFU_LISTEN_IP: IpAddress.default('127.0.0.1'),
    /** The address (or host name) put in ICE candidates, when clients reach the sfu through NAT or a public address. */
    SFU_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
    RTC_MIN_PORT: Port.default(40000),
    RTC_MAX_PORT: Port.default(49999),
    /** One mediasoup worker per core: a worker is single-threaded. */
    SFU_WORKERS: z.coerce.number().int().min(1).max(256).default(availableParallelism()),
    TOKEN_SECRET: z.string().min(32, 'TOKEN_SECRET must be at least 32 characters').default(DEV_TOKEN_SECRET),
    /** Where show events (live, ended) are reported; not used by the foundation yet. */
    EDGE_API_URL: z.url().default('http://127.0.0.1:8787'),
    /** How long a room outlives its last peer, so a reload or a network blip does not tear the show down. */
    SFU_EMPTY_ROOM_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
    SFU_LOG_LEVEL: LogLevel.default('info'),
    // MEDIASOUP_WORKER_BIN is read by mediasoup itself when it is imported; WorkerPool checks the binary.
  })
  .refine((env) => env.RTC_MIN_PORT > 0 && env.RTC_MIN_PORT <= env.RTC_MAX_PORT, {
    message: 'RTC_MIN_PORT must be a port no greater than RTC_MAX_PORT',
    path: ['RTC_MIN_PORT'],
  });

export type SfuConfig = {
  http: { host: string; port: number };
  rtc: { listenIp: string; announcedAddress: string | undefined; portRange: { min: number; max: number } };
  workerCount: number;
  tokenSecret: string;
  edgeApiUrl: string;
  emptyRoomGraceMs: number;
  logLevel: LogLevel;
};

export function loadConfig(env: Record<string, string | undefined> = process.env): SfuConfig {
  const parsed = SfuEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(`sfu configuration: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    http: { host: e.SFU_HOST, port: e.SFU_PORT },
    rtc: { listenIp: e.SFU_LISTEN_IP, announcedAddress: e.SFU_ANNOUNCED_ADDRESS, portRange: { min: e.RTC_MIN_PORT, max: e.RTC_MAX_PORT } },
    workerCount: e.SFU_WORKERS,
    tokenSecret: e.TOKEN_SECRET,
    edgeApiUrl: e.EDGE_API_URL,
    emptyRoomGraceMs: e.SFU_EMPTY_ROOM_GRACE_MS,
    logLevel: e.SFU_LOG_LEVEL,
  };
}
