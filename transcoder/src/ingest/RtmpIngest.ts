import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { Server } from 'node:net';
import type { Id } from '@mytaek1/contracts';
import NodeMediaServer, { type NmsSession } from 'node-media-server';
import nmsContext from 'node-media-server/src/core/context.js';
import nmsLogger from 'node-media-server/src/core/logger.js';
import { redactStreamKey, type Logger } from '../logger.ts';
import type { PublishRefusalReason, StreamKeyVerdict, StreamKeyVerifier } from './StreamKeyVerifier.ts';

/** A publish the verifier accepted: what a media pipeline needs to pull it, and whose it is. */
export interface AcceptedPublish {
  /** node-media-server's id of the publishing connection (a resumed publish keeps the first id). */
  readonly sessionId: string;
  readonly showId: Id;
  readonly sellerId: Id;
  /** Loopback RTMP URL carrying the ingest's pull token; it contains the stream key: never log it. */
  readonly sourceUrl: string;
}

export interface RefusedPublish {
  readonly sessionId: string;
  readonly reason: PublishRefusalReason;
}

export type RtmpIngestEvents = {
  /** Verified and taken by node-media-server as the stream path's publisher: start pulling. */
  publishAccepted: [AcceptedPublish];
  /** The same client reconnected within the grace window; pulls continue on their own. */
  publishResumed: [AcceptedPublish];
  /** The publish is over (grace window included); pulls on it have been sent end-of-stream. */
  publishEnded: [AcceptedPublish];
  publishRefused: [RefusedPublish];
};

export interface RtmpIngestOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  verifier: StreamKeyVerifier;
  /** How long node-media-server keeps a dropped publish open for the same client to resume. */
  publishResumeGraceMs: number;
  logger: Logger;
}

/** OBS publishes to rtmp://<host>:<port>/live/<streamKey>. */
const PUBLISH_APP = 'live';
/** node-media-server only creates its listener for a truthy port; we listen on it ourselves. */
const PLACEHOLDER_PORT = 1935;

interface VerifyingPublish {
  readonly session: NmsSession;
  readonly streamKey: string;
  /** The publish ended while the verifier was still thinking. */
  ended: boolean;
}

interface OpenPublish {
  publish: AcceptedPublish;
  session: NmsSession;
}

/** node-media-server keeps its state in module globals, so one ingest per process. */
let ingestInProcess: RtmpIngest | undefined;

/**
 * RTMP ingest on node-media-server v4: every publish is checked by the StreamKeyVerifier before
 * anything consumes its media, refused publishes are disconnected, and RTMP playback is reserved to
 * the transcoder's own pipelines (a per-process pull token), so a stream key is never a way to watch.
 */
export class RtmpIngest extends EventEmitter<RtmpIngestEvents> {
  readonly #nms: NodeMediaServer;
  readonly #server: Server;
  readonly #verifier: StreamKeyVerifier;
  readonly #publishResumeGraceMs: number;
  readonly #logger: Logger;
  readonly #pullToken = randomBytes(16).toString('hex');
  readonly #host: string;
  readonly #port: number;
  readonly #verifying = new Map<string, VerifyingPublish>();
  /** Accepted publishes by stream path: node-media-server allows one publisher per path. */
  readonly #open = new Map<string, OpenPublish>();
  /** The pipelines' RTMP play sessions by stream path. */
  readonly #pulls = new Map<string, Set<NmsSession>>();
  readonly #listeners: Array<[string, (session: NmsSession) => void]>;
  #closing: Promise<void> | undefined;

  private constructor(nms: NodeMediaServer, server: Server, options: RtmpIngestOptions) {
    super();
    this.#nms = nms;
    this.#server = server;
    this.#verifier = options.verifier;
    this.#publishResumeGraceMs = options.publishResumeGraceMs;
    this.#logger = options.logger;
    this.#host = options.host;
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : options.port;
    this.#listeners = [
      ['prePublish', this.#onPrePublish],
      ['donePublish', this.#onDonePublish],
      ['prePlay', this.#onPrePlay],
      ['donePlay', this.#onDonePlay],
    ];
    for (const [event, listener] of this.#listeners) nmsContext.eventEmitter.on(event, listener);
  }

  static async create(options: RtmpIngestOptions): Promise<RtmpIngest> {
    if (ingestInProcess) throw new Error('an RtmpIngest is already running in this process (node-media-server state is global)');
    routeNmsLogs(options.logger.child('nms'));
    const nms = new NodeMediaServer({
      bind: options.host,
      rtmp: { port: options.port || PLACEHOLDER_PORT },
      // No admin console, no HTTP-FLV listener, no auto recording; and no config path, so nothing
      // is ever written back to a config.json.
      webadmin: { enable: false },
      record: { auto: false },
    });
    const server = nms.rtmpServer.tcpServer;
    if (!server) throw new Error('node-media-server created no RTMP listener');
    // Listening ourselves rather than through nms.run(): run() would also open NMS's JSON store
    // (stream history, keys included, under ./data) and exit the process on EADDRINUSE.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => options.logger.error(`RTMP listener: ${error.message}`));
    const ingest = new RtmpIngest(nms, server, options);
    ingestInProcess = ingest;
    return ingest;
  }

  get port(): number {
    return this.#port;
  }

  /** Where OBS publishes: append `/<streamKey>`. */
  get publishUrl(): string {
    return `rtmp://${urlHost(this.#host)}:${this.#port}/${PUBLISH_APP}`;
  }

  /** Publishes accepted and not yet ended. */
  get openPublishCount(): number {
    return this.#open.size;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const [event, listener] of this.#listeners) nmsContext.eventEmitter.off(event, listener);
    const listenerClosed = this.#server.listening ? once(this.#server, 'close') : Promise.resolve();
    // Stops the listener and destroys every RTMP connection: pulls see end-of-stream.
    await this.#nms.stop();
    await listenerClosed;
    this.#verifying.clear();
    this.#open.clear();
    this.#pulls.clear();
    if (ingestInProcess === this) ingestInProcess = undefined;
  }

  readonly #onPrePublish = (session: NmsSession): void => {
    if (this.#closing) return this.#disconnect(session);
    // The grace window belongs to the stream path's broadcast; set it before it can be needed.
    if (session.broadcast) session.broadcast.publishGraceMs = this.#publishResumeGraceMs;
    const streamKey = session.streamApp === PUBLISH_APP ? session.streamName : '';
    if (!streamKey) return this.#refuse(session, 'unknown_stream_path');
    const verifying: VerifyingPublish = { session, streamKey, ended: false };
    this.#verifying.set(session.id, verifying);
    void this.#verify(verifying);
  };

  async #verify(verifying: VerifyingPublish): Promise<void> {
    const { session, streamKey } = verifying;
    let verdict: StreamKeyVerdict;
    try {
      verdict = await this.#verifier.verify(streamKey);
    } catch (error) {
      this.#logger.error(`stream key verifier threw: ${error instanceof Error ? error.message : String(error)}`);
      verdict = { ok: false, reason: 'verifier_error' };
    }
    this.#verifying.delete(session.id);
    if (this.#closing) return this.#disconnect(session);
    if (!verdict.ok) return this.#refuse(session, verdict.reason, streamKey);
    // node-media-server decided synchronously, before any verifier could answer, whether this
    // connection became the path's publisher; if not (the path was busy) it has already closed it.
    if (verifying.ended || !session.isPublisher) {
      this.#logger.debug(`publish ${session.id} ended before it was verified`);
      return;
    }
    const open = this.#open.get(session.streamPath);
    if (open) {
      // node-media-server let the same client resume within the grace window.
      if (open.publish.showId !== verdict.showId) return this.#refuse(session, 'stream_key_reassigned', streamKey);
      open.session = session;
      this.#logger.info(`publish resumed for show ${verdict.showId} (${redactStreamKey(streamKey)})`);
      this.emit('publishResumed', open.publish);
      return;
    }
    for (const other of this.#open.values()) {
      if (other.publish.showId === verdict.showId) return this.#refuse(session, 'show_already_live', streamKey);
    }
    const publish: AcceptedPublish = {
      sessionId: session.id,
      showId: verdict.showId,
      sellerId: verdict.sellerId,
      sourceUrl: `rtmp://${pullHost(this.#host)}:${this.#port}${session.streamPath}?pull=${this.#pullToken}`,
    };
    this.#open.set(session.streamPath, { publish, session });
    this.#logger.info(`publish accepted for show ${publish.showId} by seller ${publish.sellerId} (${redactStreamKey(streamKey)})`);
    this.emit('publishAccepted', publish);
  }

  readonly #onDonePublish = (session: NmsSession): void => {
    const verifying = this.#verifying.get(session.id);
    if (verifying) verifying.ended = true;
    // node-media-server emits donePublish once the path's publish is over for good (after the
    // grace window), whichever connection it last had: that ends the publish we accepted there.
    const open = this.#open.get(session.streamPath);
    if (!open) return;
    this.#open.delete(session.streamPath);
    // Without end-of-stream a pulling FFmpeg would wait forever for media, and signals cannot
    // finish it cleanly while it blocks on input (see HlsPipeline).
    for (const pull of this.#pulls.get(session.streamPath) ?? []) pull.close();
    this.#logger.info(`publish ended for show ${open.publish.showId}`);
    this.emit('publishEnded', open.publish);
  };

  readonly #onPrePlay = (session: NmsSession): void => {
    if (this.#closing || !this.#isPipelinePull(session)) {
      this.#logger.warn(`refused RTMP play of ${session.streamApp}/… from ${session.ip}: RTMP playback is for the transcoder's own pipelines`);
      return this.#disconnect(session);
    }
    // A pull of a publish that is over would wait for media forever (a restart racing the end).
    if (!this.#open.has(session.streamPath)) {
      this.#logger.debug(`refused pull of ${session.streamApp}/…: no open publish there`);
      return this.#disconnect(session);
    }
    let pulls = this.#pulls.get(session.streamPath);
    if (!pulls) this.#pulls.set(session.streamPath, (pulls = new Set()));
    pulls.add(session);
  };

  readonly #onDonePlay = (session: NmsSession): void => {
    const pulls = this.#pulls.get(session.streamPath);
    if (!pulls?.delete(session)) return;
    if (pulls.size === 0) this.#pulls.delete(session.streamPath);
  };

  #isPipelinePull(session: NmsSession): boolean {
    const token = session.streamQuery['pull'];
    if (typeof token !== 'string' || token.length !== this.#pullToken.length) return false;
    return timingSafeEqual(Buffer.from(token), Buffer.from(this.#pullToken));
  }

  #refuse(session: NmsSession, reason: PublishRefusalReason, streamKey?: string): void {
    const key = streamKey === undefined ? session.streamPath.replace(/[^/]+$/, '…') : redactStreamKey(streamKey);
    this.#logger.warn(`publish refused (${reason}) for ${key} from ${session.ip}`);
    this.#disconnect(session);
    this.emit('publishRefused', { sessionId: session.id, reason });
  }

  #disconnect(session: NmsSession): void {
    session.close();
    // close() only half-closes: a client that ignores the FIN could keep feeding media into
    // node-media-server's parser. Destroying the socket stops that at once.
    session.socket?.destroy();
  }
}

/** Sends node-media-server's own logging (chatty at info) through ours, one level down. */
function routeNmsLogs(logger: Logger): void {
  nmsLogger.log = (message: string, level = 'info') => {
    if (level === 'error' || level === 'warn') logger.warn(message);
    else logger.debug(message);
  };
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The pipelines run on this machine: reach a wildcard bind over loopback. */
function pullHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return urlHost(host);
}
