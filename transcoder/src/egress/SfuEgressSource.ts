import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlainEgressResponse, plainEgressItemPath, plainEgressPath, plainEgressResumePath, type PlainEgressRequest } from '@mytaek1/contracts';
import { sdpInputOptions, type HlsEncoding } from '../hls/hlsArguments.ts';
import type { HlsSource, HlsSourceRun } from '../hls/HlsSource.ts';
import type { Logger } from '../logger.ts';
import { allocateRtpPorts, waitForUdpListeners } from './udpPorts.ts';

export interface SfuEgressSourceOptions {
  showId: string;
  /** The sfu's base URL, as its notice gave it. */
  sfuUrl: string;
  /** The shared TOKEN_SECRET: the sfu opens egress to the transcoder only. */
  tokenSecret: string;
  /** Where FFmpeg listens for the egress (the sfu sends there). */
  listenIp: string;
  encoding: Extract<HlsEncoding, { mode: 'h264' }>;
  logger: Logger;
  /** Each request to the sfu fails after this. */
  requestTimeoutMs?: number;
}

/** The sfu answered 409: the show has no video yet (or no more). The pipeline retries. */
export class EgressNotReadyError extends Error {
  constructor(showId: string) {
    super(`the sfu has no video for show ${showId} yet`);
    this.name = 'EgressNotReadyError';
  }
}

/**
 * A show's media from the sfu's plain-RTP egress (a browser or WHIP publisher), re-encoded to
 * H.264 + AAC. Each run: two free RTP port pairs, an egress request (the sfu answers the SDP,
 * written to a file for FFmpeg), FFmpeg started on it, then `resume` once FFmpeg listens, which
 * also asks the publisher for a keyframe. The run's egress is deleted when its FFmpeg exits; a run
 * that ends because the publisher left is retried by the pipeline with a fresh egress, which the sfu
 * refuses (409) until media is back.
 */
export class SfuEgressSource implements HlsSource {
  readonly kind = 'sfu';
  readonly #options: SfuEgressSourceOptions;
  readonly #baseUrl: string;

  private constructor(options: SfuEgressSourceOptions) {
    this.#options = options;
    this.#baseUrl = options.sfuUrl.replace(/\/+$/, '');
  }

  static create(options: SfuEgressSourceOptions): SfuEgressSource {
    return new SfuEgressSource(options);
  }

  async prepare(run: number): Promise<HlsSourceRun> {
    const { showId, listenIp, encoding, logger } = this.#options;
    const [videoPort = 0, audioPort = 0] = await allocateRtpPorts(2, listenIp);
    const request: PlainEgressRequest = { ip: listenIp, video: { port: videoPort }, audio: { port: audioPort } };
    const response = await this.#call('POST', plainEgressPath(showId), request);
    if (response.status === 409) {
      await response.body?.cancel();
      throw new EgressNotReadyError(showId);
    }
    if (response.status !== 201) throw new Error(`the sfu refused the egress of show ${showId}: HTTP ${response.status} ${await response.text().catch(() => '')}`.trim());
    const egress = PlainEgressResponse.parse(await response.json());
    let released: Promise<void> | undefined;
    const dir = await mkdtemp(join(tmpdir(), 'mytaek1-egress-'));
    const release = () =>
      (released ??= (async () => {
        const deleted = await this.#call('DELETE', plainEgressItemPath(showId, egress.egressId)).catch(() => undefined);
        await deleted?.body?.cancel();
        await rm(dir, { recursive: true, force: true });
      })());
    try {
      const sdpPath = join(dir, `run-${run}.sdp`);
      await writeFile(sdpPath, egress.sdp);
      // A show without audio (a seller on camera without a microphone): FFmpeg listens for video alone and adds silence.
      const audio = egress.audio;
      logger.info(`show ${showId}: egress ${egress.egressId} from ${this.#baseUrl} (${egress.video.mimeType}, ${audio?.mimeType ?? 'no audio'}) to ports ${videoPort}${audio ? ` and ${audioPort}` : ''}`);
      return {
        input: sdpPath,
        inputOptions: sdpInputOptions(),
        encoding,
        ...(audio ? {} : { silentAudio: true }),
        started: async (pid) => {
          await waitForUdpListeners(audio ? [videoPort, audioPort] : [videoPort], { isAlive: () => processExists(pid) });
          const resumed = await this.#call('POST', plainEgressResumePath(showId, egress.egressId));
          await resumed.body?.cancel();
          if (resumed.status !== 204) throw new Error(`the sfu did not resume egress ${egress.egressId}: HTTP ${resumed.status}`);
        },
        release,
      };
    } catch (error) {
      await release();
      throw error;
    }
  }

  #call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.#baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#options.tokenSecret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 5_000),
      redirect: 'error',
    });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
