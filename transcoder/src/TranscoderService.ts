import { mkdir } from 'node:fs/promises';
import type { TranscoderConfig } from './config.ts';
import { FfmpegProcess } from './hls/FfmpegProcess.ts';
import { HlsPipelineSupervisor, type PipelineSettings } from './hls/HlsPipelineSupervisor.ts';
import { HttpServer } from './http/HttpServer.ts';
import { HttpStreamKeyVerifier } from '@mytaek1/contracts';
import { RtmpIngest } from './ingest/RtmpIngest.ts';
import type { StreamKeyVerifier } from './ingest/StreamKeyVerifier.ts';
import { createConsoleLogger, type Logger } from './logger.ts';

export interface TranscoderDependencies {
  /** Defaults to asking the edge API over HTTP. */
  streamKeyVerifier?: StreamKeyVerifier;
  logger?: Logger;
  /** Overrides of the HLS pipelines' tuning (tests shorten the restart backoff, for one). */
  pipeline?: Partial<Omit<PipelineSettings, 'mediaDir' | 'ffmpegPath'>>;
}

/**
 * The transcoder assembled: RTMP ingest, one HLS pipeline per accepted publish, and the HTTP
 * server for live and replay HLS. The entry file only adds configuration and signals.
 */
export class TranscoderService {
  readonly ingest: RtmpIngest;
  readonly pipelines: HlsPipelineSupervisor;
  readonly http: HttpServer;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  private constructor(ingest: RtmpIngest, pipelines: HlsPipelineSupervisor, http: HttpServer, logger: Logger) {
    this.ingest = ingest;
    this.pipelines = pipelines;
    this.http = http;
    this.#logger = logger;
  }

  static async create(config: TranscoderConfig, dependencies: TranscoderDependencies = {}): Promise<TranscoderService> {
    const logger = dependencies.logger ?? createConsoleLogger(config.logLevel);
    // Fail at start-up, not at the first publish, when FFmpeg is missing.
    logger.info(`using ${await FfmpegProcess.checkInstalled(config.ffmpegPath)}`);
    await mkdir(config.mediaDir, { recursive: true });
    const verifier =
      dependencies.streamKeyVerifier ?? HttpStreamKeyVerifier.create({ edgeApiUrl: config.edgeApiUrl, tokenSecret: config.tokenSecret });
    const pipelines = HlsPipelineSupervisor.create(
      { ...dependencies.pipeline, mediaDir: config.mediaDir, ffmpegPath: config.ffmpegPath },
      logger.child('hls'),
    );
    const ingest = await RtmpIngest.create({
      host: config.rtmp.host,
      port: config.rtmp.port,
      verifier,
      publishResumeGraceMs: config.publishResumeGraceMs,
      logger: logger.child('rtmp'),
    });
    ingest.on('publishAccepted', (publish) => void pipelines.startLive({ showId: publish.showId, sourceUrl: publish.sourceUrl }));
    ingest.on('publishEnded', (publish) => void pipelines.endLive(publish.showId));
    let http: HttpServer;
    try {
      http = await HttpServer.create({
        host: config.http.host,
        port: config.http.port,
        mediaDir: config.mediaDir,
        corsAllowOrigin: config.http.corsAllowOrigin,
        logger: logger.child('http'),
        health: () => ({ liveShows: pipelines.liveShowIds.length, openPublishes: ingest.openPublishCount }),
      });
    } catch (error) {
      await ingest.close();
      throw error;
    }
    return new TranscoderService(ingest, pipelines, http, logger);
  }

  /** Idempotent: finishes every show's files, then closes the listeners. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Pipelines first: close() marks them as stopping at once, so an FFmpeg that now sees its input
    // end is not restarted. Then the ingest, whose closing connections give every pull
    // end-of-stream: that is what lets an FFmpeg waiting on a silent publisher finish its files.
    const pipelinesClosed = this.pipelines.close();
    await this.ingest.close();
    await pipelinesClosed;
    await this.http.close();
    this.#logger.info('transcoder stopped');
  }
}
