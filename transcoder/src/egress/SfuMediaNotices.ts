import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Id, SfuMediaNotice } from '@mytaek1/contracts';
import type { HlsPipelineSupervisor } from '../hls/HlsPipelineSupervisor.ts';
import type { HlsSource } from '../hls/HlsSource.ts';
import type { Logger } from '../logger.ts';

export interface SfuMediaNoticesOptions {
  pipelines: HlsPipelineSupervisor;
  /** The shared TOKEN_SECRET the sfu sends as bearer. */
  tokenSecret: string;
  /** The source of a show whose media is in the sfu at `sfuUrl`. */
  sourceFor: (showId: string, sfuUrl: string) => HlsSource;
  logger: Logger;
}

const MAX_BODY_BYTES = 4 * 1024;

/**
 * `POST /internal/shows/{showId}/sfu-media` (SfuMediaNotice, bearer TOKEN_SECRET): the sfu says a
 * show started or stopped having a browser or WHIP publisher's media. `live` starts the show's HLS
 * pipeline from the sfu's egress, unless the show already has one (repeats, or an OBS show whose
 * HLS comes from RTMP); `ended` ends a pipeline fed by the sfu, never an RTMP one.
 */
export class SfuMediaNotices {
  readonly #options: SfuMediaNoticesOptions;
  /** Shows whose pipeline these notices started and have not ended. */
  readonly #sfuShows = new Set<string>();

  private constructor(options: SfuMediaNoticesOptions) {
    this.#options = options;
    options.pipelines.on('liveEnded', ({ showId, source }) => {
      if (source === 'sfu') this.#sfuShows.delete(showId);
    });
  }

  static create(options: SfuMediaNoticesOptions): SfuMediaNotices {
    return new SfuMediaNotices(options);
  }

  /** Answers the request when its path is the notice's (segments of the path, decoded); false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse, segments: readonly string[]): Promise<boolean> {
    const [area, shows, showParam, leaf] = segments;
    if (area !== 'internal' || shows !== 'shows' || leaf !== 'sfu-media' || segments.length !== 4) return false;
    if (request.method !== 'POST') {
      send(response, 405, { title: 'Method not allowed' }, { allow: 'POST' });
      return true;
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !secretsEqual(bearer, this.#options.tokenSecret)) {
      send(response, 401, { title: 'Only the sfu of this deployment may send media notices' }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    const showId = Id.safeParse(showParam);
    if (!showId.success) {
      send(response, 400, { title: 'Not a show id' });
      return true;
    }
    const body = await readBody(request);
    let notice: SfuMediaNotice;
    try {
      notice = SfuMediaNotice.parse(JSON.parse(body ?? ''));
    } catch {
      send(response, body === undefined ? 413 : 400, { title: body === undefined ? 'Too large' : 'Not an sfu media notice' });
      return true;
    }
    this.apply(showId.data, notice);
    response.writeHead(202, { 'cache-control': 'no-store', 'content-length': '0' }).end();
    return true;
  }

  /** Acts on a notice (the HTTP route's work, without HTTP). */
  apply(showId: string, notice: SfuMediaNotice): void {
    const { pipelines, logger } = this.#options;
    if (notice.state === 'live') {
      if (this.#sfuShows.has(showId)) return;
      const running = pipelines.pipelineFor(showId);
      if (running && !running.closed) {
        logger.info(`show ${showId}: the sfu has media, but the show's HLS already comes from ${running.source.kind}`);
        return;
      }
      this.#sfuShows.add(showId);
      logger.info(`show ${showId}: the sfu has a publisher's media: HLS and recording from its egress`);
      void pipelines.startLive({ showId, source: this.#options.sourceFor(showId, notice.sfuUrl) });
    } else if (this.#sfuShows.delete(showId)) {
      const running = pipelines.pipelineFor(showId);
      // An RTMP publish that took the show over meanwhile is not the sfu's to end.
      if (running && running.source.kind !== 'sfu') return;
      logger.info(`show ${showId}: the sfu's publisher is gone: ending its HLS and finalising the replay`);
      void pipelines.endLive(showId);
    }
  }
}

function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, problem: { title: string }, headers: Record<string, string> = {}): void {
  response
    .writeHead(status, { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' })
    .end(JSON.stringify({ type: 'about:blank', status, ...problem }));
}
