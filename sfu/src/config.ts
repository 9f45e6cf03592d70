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
    /** HTTP and WebSocket port (signaling, WHIP, WHEP, stats, sfu-to-sfu pipes). 0 picks a free one. */
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
    /** The edge API: WHIP stream keys are verified there (INGEST_VERIFY_PATH, TOKEN_SECRET as bearer). */
    EDGE_API_URL: z.url().default('http://127.0.0.1:8787'),
    /** How long a room outlives its last peer, so a reload or a network blip does not tear the show down. */
    SFU_EMPTY_ROOM_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
    SFU_LOG_LEVEL: LogLevel.default('info'),
    /**
     * How many consumers one router (so, roughly, one worker) carries before new viewers of the show go
     * to another router, on another worker, fed by `pipeToRouter`. mediasoup's guidance is about 500
     * per worker; bench/sfu-fanout.ts measures this machine's figure.
     */
    SFU_MAX_CONSUMERS_PER_ROUTER: z.coerce.number().int().min(1).default(500),
    /**
     * Makes this sfu an edge of another one: every show's media comes from that origin sfu over a
     * mediasoup PipeTransport (see OriginPipe), and publishing goes to the origin.
     */
    SFU_ORIGIN_URL: z.url().optional(),
    /** The address pipe transports (to and from other sfu instances) bind to. Defaults to SFU_LISTEN_IP. */
    SFU_PIPE_LISTEN_IP: IpAddress.optional(),
    /** The address other sfu instances reach this one's pipe transports at. Defaults to SFU_ANNOUNCED_ADDRESS. */
    SFU_PIPE_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
    /**
     * The transcoder's HTTP base URL: when set, the sfu tells it when a show starts and stops having
     * a WebRTC or WHIP publisher's media, and the transcoder makes that show's LL-HLS and replay.
     */
    TRANSCODER_URL: z.url({ protocol: /^https?$/ }).optional(),
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
  maxConsumersPerRouter: number;
  /** The origin sfu this one is an edge of, if any. */
  originUrl: string | undefined;
  pipe: { listenIp: string; announcedAddress: string | undefined };
  /** Where SfuMediaNotice goes, if anywhere. */
  transcoderUrl: string | undefined;
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
    maxConsumersPerRouter: e.SFU_MAX_CONSUMERS_PER_ROUTER,
    originUrl: e.SFU_ORIGIN_URL?.replace(/\/+$/, ''),
    pipe: { listenIp: e.SFU_PIPE_LISTEN_IP ?? e.SFU_LISTEN_IP, announcedAddress: e.SFU_PIPE_ANNOUNCED_ADDRESS ?? e.SFU_ANNOUNCED_ADDRESS },
    transcoderUrl: e.TRANSCODER_URL?.replace(/\/+$/, ''),
  };
}
