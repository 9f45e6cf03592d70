import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as mediasoupTypes from 'mediasoup/types';
import { SFU_PIPE_PATH, SfuPipeMessage, type RoomClosedReason, type SfuPipeOpenRequest } from '@mytaek1/contracts';
import type { Logger } from './logger.ts';
import { INGRESS_RECV_BUFFER_BYTES } from './socketBuffers.ts';

/** Where this sfu's pipe transports listen, and the address other sfu instances reach them at. */
export type PipeListenOptions = { ip: string; announcedAddress: string | undefined };

export type OriginPipeEvents = {
  /** A producer of the show arrived from the origin, on the router given to `start`. */
  producer: [producer: mediasoupTypes.Producer];
  /** The origin ended the show: the pipe stops for good. */
  ended: [reason: RoomClosedReason];
};

export type OriginPipeOptions = {
  originUrl: string;
  /** The shared secret the origin admits other sfu instances with (TOKEN_SECRET). */
  secret: string;
  showId: string;
  /** The local router the show's producers are piped into (the room's origin router here). */
  router: mediasoupTypes.Router;
  listen: PipeListenOptions;
  logger: Logger;
};

/** Waits between attempts to reach the origin; the last one repeats. */
const RETRY_DELAYS_MS = [250, 1_000, 2_000, 5_000];
/** The origin pings every few seconds; this long without a line means the origin or the network is gone. */
const SILENCE_TIMEOUT_MS = 30_000;

/**
 * The edge end of a pipe from an origin sfu in another process or on another host. mediasoup's
 * `pipeToRouter` only joins routers of one process, so this does by hand what it does inside: a
 * PipeTransport here and one at the origin, connected to each other, with the origin's pipe
 * consumers produced again here under the same ids. The two learn each other's address and SRTP key
 * over one authenticated HTTP call (`POST SFU_PIPE_PATH` with TOKEN_SECRET as bearer), whose
 * streamed answer then carries the show's producers as they come and go. The call lasts as long as
 * the pipe: when it breaks, the producers piped in close (viewers are told), and the edge calls again
 * with backoff until the room closes.
 */
export class OriginPipe extends EventEmitter<OriginPipeEvents> {
  /** Settles after the origin has sent the producers it had when the pipe (first) opened. */
  readonly synced: Promise<void>;
  readonly #options: OriginPipeOptions;
  #resolveSynced: () => void = () => {};
  #abort: AbortController | undefined;
  #closed = false;

  static start(options: OriginPipeOptions): OriginPipe {
    const pipe = new OriginPipe(options);
    void pipe.#run();
    return pipe;
  }

  private constructor(options: OriginPipeOptions) {
    super();
    this.#options = options;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the call and closes the pipe transport, and so every producer piped in. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort?.abort();
  }

  async #run(): Promise<void> {
    const { logger, originUrl, showId } = this.#options;
    let failures = 0;
    while (!this.#closed && !this.#options.router.closed) {
      let outcome: RunOutcome;
      try {
        outcome = await this.#connectOnce();
      } catch (error) {
        if (this.#closed) return;
        outcome = { kind: 'lost', hadSynced: false };
        logger.warn('pipe from the origin sfu failed', { originUrl, showId, error });
      }
      if (outcome.kind === 'ended') {
        this.#closed = true;
        logger.info('the origin sfu ended the show', { originUrl, showId, reason: outcome.reason });
        this.emit('ended', outcome.reason);
        return;
      }
      failures = outcome.hadSynced ? 0 : failures + 1;
      if (this.#closed) return;
      await sleep(RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]);
    }
  }

  async #connectOnce(): Promise<RunOutcome> {
    const { originUrl, secret, showId, router, listen } = this.#options;
    const transport = await router.createPipeTransport({
      listenInfo: { protocol: 'udp', ip: listen.ip, announcedAddress: listen.announcedAddress, recvBufferSize: INGRESS_RECV_BUFFER_BYTES },
      enableSrtp: true,
      // Across hosts packets get lost: retransmit rather than wait for the next key frame.
      enableRtx: true,
    });
    const abort = new AbortController();
    this.#abort = abort;
    // The room may close (and this be aborted) while the transport was being created.
    if (this.#closed) abort.abort();
    const producers = new Map<string, mediasoupTypes.Producer>();
    let hadSynced = false;
    let silence: NodeJS.Timeout | undefined;
    const heardFromOrigin = (): void => {
      clearTimeout(silence);
      silence = setTimeout(() => abort.abort(new Error('the origin sfu went silent')), SILENCE_TIMEOUT_MS);
    };
    try {
      const body: SfuPipeOpenRequest = {
        show: showId,
        ip: transport.tuple.localAddress ?? listen.ip,
        port: transport.tuple.localPort,
        srtpParameters: requireSrtp(transport.srtpParameters),
        edge: `${listen.announcedAddress ?? listen.ip} pid ${process.pid}`,
      };
      heardFromOrigin();
      const response = await fetch(`${originUrl}${SFU_PIPE_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify(body),
        signal: abort.signal,
        redirect: 'error',
      });
      if (response.status === 410) {
        await response.body?.cancel();
        return { kind: 'ended', reason: 'show_ended' };
      }
      if (response.status !== 200 || !response.body) {
        const text = await response.text().catch(() => '');
        throw new Error(`the origin sfu answered ${response.status}: ${text.slice(0, 200)}`);
      }
      let buffered = '';
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        heardFromOrigin();
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const message = SfuPipeMessage.parse(JSON.parse(line));
          switch (message.type) {
            case 'ready':
              await transport.connect({ ip: message.ip, port: message.port, srtpParameters: message.srtpParameters });
              break;
            case 'producer': {
              const producer = await transport.produce({
                id: message.producerId,
                kind: message.kind,
                rtpParameters: message.rtpParameters as mediasoupTypes.RtpParameters,
                paused: message.paused,
              });
              producers.set(producer.id, producer);
              producer.observer.once('close', () => producers.delete(producer.id));
              if (!this.#closed) this.emit('producer', producer);
              break;
            }
            case 'synced':
              hadSynced = true;
              this.#resolveSynced();
              break;
            case 'producerClosed':
              producers.get(message.producerId)?.close();
              break;
            case 'producerPaused':
              await producers.get(message.producerId)?.pause();
              break;
            case 'producerResumed':
              await producers.get(message.producerId)?.resume();
              break;
            case 'ping':
              break;
            case 'closed':
              if (message.reason === 'show_ended') return { kind: 'ended', reason: message.reason };
              return { kind: 'lost', hadSynced };
          }
        }
      }
      return { kind: 'lost', hadSynced };
    } catch (error) {
      if (this.#closed) return { kind: 'lost', hadSynced };
      throw error;
    } finally {
      clearTimeout(silence);
      abort.abort();
      // Closes every producer piped in over it: the room tells its viewers they are gone.
      transport.close();
    }
  }
}

type RunOutcome = { kind: 'ended'; reason: RoomClosedReason } | { kind: 'lost'; hadSynced: boolean };

function requireSrtp(srtpParameters: mediasoupTypes.SrtpParameters | undefined): mediasoupTypes.SrtpParameters {
  if (!srtpParameters) throw new Error('the pipe transport has no SRTP parameters');
  return srtpParameters;
}
