import { mkdir } from 'node:fs/promises';
import type { TranscoderConfig } from './config.ts';
import { FfmpegProcess } from './hls/FfmpegProcess.ts';
import { HlsPipelineSupervisor, type PipelineSettings } from './hls/HlsPipelineSupervisor.ts';
import { RtmpPullSource } from './hls/RtmpPullSource.ts';
import { SfuEgressSource } from './egress/SfuEgressSource.ts';
import { SfuMediaNotices } from './egress/SfuMediaNotices.ts';
import { LocalReplayStorage } from './replays/LocalReplayStorage.ts';
import { ReplayPublisher } from './replays/ReplayPublisher.ts';
import type { ReplayStorage } from './replays/ReplayStorage.ts';
import { S3ReplayStorage } from './replays/S3ReplayStorage.ts';
import { HttpServer } from './http/HttpServer.ts';
import { HttpStreamKeyVerifier } from '@mytaek1/contracts';
import { RtmpIngest } from './ingest/RtmpIngest.ts';
import type { StreamKeyVerifier } from './ingest/StreamKeyVerifier.ts';
import { createConsoleLogger, type Logger } from './logger.ts';
import { ShowMediaEventsClient } from './edge/ShowMediaEventsClient.ts';
import { reportShowMediaEvent } from './edge/reportShowMediaEvent.ts';
import { SfuForwarderSupervisor, type ForwarderSettings } from './sfu/SfuForwarderSupervisor.ts';
import { SfuIngestClient } from './sfu/SfuIngestClient.ts';

/** How long a shutdown waits for replays being stored and reported. */
const REPLAY_SHUTDOWN_WAIT_MS = 5_000;

export interface TranscoderDependencies {
  /** Defaults to asking the edge API over HTTP. */
  streamKeyVerifier?: StreamKeyVerifier;
  logger?: Logger;
  /** Overrides of the sfu forwarders' tuning (tests shorten the restart backoff). */
  forwarding?: Partial<Omit<ForwarderSettings, 'ffmpegPath'>>;
  /** Where show media events go; defaults to the edge API at `config.edgeApiUrl`. */
  showMediaEvents?: ShowMediaEventsClient;
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
  /** Finalised replays to storage, and `recording_ready` to the edge API. */
  #replays: ReplayPublisher | undefined;
  #forwarders: SfuForwarderSupervisor | undefined;
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
    ingest.on('publishAccepted', (publish) => void pipelines.startLive({ showId: publish.showId, source: RtmpPullSource.create(publish.sourceUrl) }));
    ingest.on('publishEnded', (publish) => void pipelines.endLive(publish.showId));
    const forwarders = config.sfuUrl
      ? SfuForwarderSupervisor.create(
          { ...dependencies.forwarding, ffmpegPath: config.ffmpegPath },
          SfuIngestClient.create({ sfuUrl: config.sfuUrl, tokenSecret: config.tokenSecret }),
          logger.child('sfu'),
        )
      : undefined;
    const showEvents = dependencies.showMediaEvents ?? ShowMediaEventsClient.create({ edgeApiUrl: config.edgeApiUrl, tokenSecret: config.tokenSecret });
    const eventsLogger = logger.child('show-events');
    ingest.on('publishAccepted', (publish) => {
      void forwarders?.startForwarding({ showId: publish.showId, sourceUrl: publish.sourceUrl });
      void reportShowMediaEvent(showEvents, publish.showId, { type: 'publish_started', source: 'rtmp' }, eventsLogger);
    });
    ingest.on('publishEnded', (publish) => {
      void forwarders?.endForwarding(publish.showId);
      void reportShowMediaEvent(showEvents, publish.showId, { type: 'publish_ended', source: 'rtmp' }, eventsLogger);
    });
    // Browser and WHIP shows: the sfu says when they have media, and their HLS comes from its egress.
    const sfuHls = config.sfuHls;
    const notices = SfuMediaNotices.create({
      pipelines,
      tokenSecret: config.tokenSecret,
      logger: logger.child('sfu-media'),
      sourceFor: (showId, sfuUrl) =>
        SfuEgressSource.create({
          showId,
          sfuUrl,
          tokenSecret: config.tokenSecret,
          listenIp: sfuHls.listenIp,
          encoding: { mode: 'h264', width: sfuHls.width, height: sfuHls.height, fps: 30, keyframeFrames: sfuHls.segmentFrames, videoBitrateKbps: sfuHls.videoKbps, audioBitrateKbps: 128 },
          logger: logger.child('egress'),
        }),
    });
    let publicUrl = config.publicUrl;
    const storage: ReplayStorage =
      config.replayStorage.kind === 's3'
        ? S3ReplayStorage.create({ ...config.replayStorage, logger: logger.child('replays') })
        : LocalReplayStorage.create(() => publicUrl ?? '');
    const replays = ReplayPublisher.create({ storage, reporter: showEvents, logger: logger.child('replays') });
    pipelines.on('liveEnded', ({ showId, replay }) => {
      if (replay) void replays.publish(showId, replay);
    });
    let http: HttpServer;
    try {
      http = await HttpServer.create({
        routes: (request, response, segments) => notices.handle(request, response, segments),
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
    publicUrl ??= http.url;
    const service = new TranscoderService(ingest, pipelines, http, logger);
    service.#replays = replays;
    service.#forwarders = forwarders;
    return service;
  }

  /** Where finished replays go; settles its queue with `idle()`. */
  get replays(): ReplayPublisher {
    if (!this.#replays) throw new Error('not created');
    return this.#replays;
  }

  /** RTMP publishes forwarded into the sfu; undefined without SFU_URL. */
  get forwarders(): SfuForwarderSupervisor | undefined {
    return this.#forwarders;
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
    const forwardersClosed = this.#forwarders?.close();
    await this.ingest.close();
    await pipelinesClosed;
    await forwardersClosed;
    // Replays finalised by the closing pipelines are stored and reported before the server goes
    // (for a while: an edge API that is down must not hold the shutdown).
    await Promise.race([this.#replays?.idle(), new Promise((resolve) => setTimeout(resolve, REPLAY_SHUTDOWN_WAIT_MS).unref())]);
    await this.http.close();
    this.#logger.info('transcoder stopped');
  }
}
