import { LogLevel, setLogLevel } from '../logger.ts';
import { SfuServer } from '../SfuServer.ts';
import type { StreamKeyVerifier } from '@mytaek1/contracts';
import { WorkerPool } from '../WorkerPool.ts';
import { TEST_TOKEN_SECRET } from './tokens.ts';

// Quiet by default (the worker-death tests log errors on purpose); SFU_LOG_LEVEL=debug to see all.
setLogLevel(LogLevel.parse(process.env.SFU_LOG_LEVEL ?? 'silent'));

export type TestSfu = {
  pool: WorkerPool;
  server: SfuServer;
  /** The signaling URL for a show, with the token in it when given. */
  wsUrl(show: string | undefined, token?: string): string;
  close(): Promise<void>;
};

export type StartSfuOptions = {
  workers?: number;
  emptyRoomGraceMs?: number;
  authTimeoutMs?: number;
  maxConsumersPerRouter?: number;
  /** Makes this sfu an edge of the sfu at that URL. */
  originUrl?: string;
  /** Where WHIP checks stream keys; the default asks an edge API at `edgeApiUrl`. */
  streamKeys?: StreamKeyVerifier;
  edgeApiUrl?: string;
  /** RTC and pipe ports; the default range is wide, so that suites can run side by side. */
  portRange?: { min: number; max: number };
  whipConnectTimeoutMs?: number;
  /** Where the sfu tells a transcoder about shows' media (SfuMediaNotice); none by default. */
  transcoderUrl?: string;
  mediaNoticeGraceMs?: number;
  mediaNoticeVideoOnlyMs?: number;
};

/** A real sfu on loopback: an HTTP port picked by the kernel, RTC ports from a wide range, so suites can run side by side. */
export async function startSfu({
  workers = 1,
  emptyRoomGraceMs = 60_000,
  authTimeoutMs,
  maxConsumersPerRouter = 500,
  originUrl,
  streamKeys,
  edgeApiUrl = 'http://127.0.0.1:9',
  portRange = { min: 40000, max: 49999 },
  whipConnectTimeoutMs,
  transcoderUrl,
  mediaNoticeGraceMs,
  mediaNoticeVideoOnlyMs,
}: StartSfuOptions = {}): Promise<TestSfu> {
  const pool = await WorkerPool.create({ size: workers });
  const server = await SfuServer.create({
    config: {
      http: { host: '127.0.0.1', port: 0 },
      rtc: { listenIp: '127.0.0.1', announcedAddress: undefined, portRange },
      tokenSecret: TEST_TOKEN_SECRET,
      emptyRoomGraceMs,
      edgeApiUrl,
      maxConsumersPerRouter,
      originUrl,
      pipe: { listenIp: '127.0.0.1', announcedAddress: undefined },
      transcoderUrl,
    },
    pool,
    authTimeoutMs,
    streamKeys,
    whipConnectTimeoutMs,
    mediaNoticeGraceMs,
    mediaNoticeVideoOnlyMs,
  });
  return {
    pool,
    server,
    wsUrl(show, token) {
      const url = new URL('/ws', server.url.replace(/^http/, 'ws'));
      if (show !== undefined) url.searchParams.set('show', show);
      if (token !== undefined) url.searchParams.set('token', token);
      return url.href;
    },
    async close() {
      await server.close();
      await pool.close();
    },
  };
}
