// node-media-server ships JavaScript without types. These declarations cover only what RtmpIngest
// uses, read from the 4.4.3 source: the public class and its events, plus internals (marked
// "Internal") that its public API does not expose. Re-check them when the package is upgraded.
// Each module is CommonJS; Node hands `module.exports` to an ESM default import.

declare module 'node-media-server' {
  /** The one object every event gets (v4; v2 passed `(id, streamPath, args)`). */
  export interface NmsSession {
    readonly id: string;
    /** `address:port` of the peer. */
    readonly ip: string;
    readonly protocol: string;
    /** `/<app>/<name>`, query removed. */
    readonly streamPath: string;
    readonly streamApp: string;
    readonly streamName: string;
    readonly streamQuery: Readonly<Record<string, string | string[] | undefined>>;
    /** Set only once the broadcast has taken this session as its publisher. */
    readonly isPublisher: boolean;
    /** Ends the connection (for RTMP a TCP half-close: `socket.end()`). */
    close(): void;
    /** Internal (RtmpSession): the peer's socket. */
    readonly socket?: import('node:net').Socket;
    /** Internal (RtmpSession): the stream path's broadcast; the resume grace window is per broadcast. */
    readonly broadcast?: { publishGraceMs: number };
  }

  export type NmsEvent = 'prePublish' | 'postPublish' | 'donePublish' | 'prePlay' | 'postPlay' | 'donePlay';

  export interface NmsConfig {
    bind?: string;
    rtmp?: { port?: number };
    webadmin?: { enable?: boolean };
    record?: { auto?: boolean; path?: string };
    store?: { path?: string };
  }

  export default class NodeMediaServer {
    constructor(config: NmsConfig, configPath?: string);
    on(event: NmsEvent, listener: (session: NmsSession) => void): void;
    /** Internal: the RTMP listener, created only when `rtmp.port` is truthy. */
    readonly rtmpServer: { readonly tcpServer?: import('node:net').Server; stop(): void };
    stop(): Promise<void>;
  }
}

declare module 'node-media-server/src/core/logger.js' {
  /** Internal: the process-wide logger every NMS module writes through. */
  const logger: { level: string; log(message: string, level?: string): void };
  export default logger;
}

declare module 'node-media-server/src/core/context.js' {
  /** Internal: process-wide state. `nms.on` adds listeners to this emitter and offers no `off`. */
  const context: { eventEmitter: import('node:events').EventEmitter };
  export default context;
}
