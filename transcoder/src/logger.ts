/**
 * A minimal leveled logger. Components take a `Logger` so tests can silence them and the entry
 * file decides where lines go; nothing here knows about a logging vendor.
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines carry `scope` after the parent's, e.g. `transcoder:hls`. */
  child(scope: string): Logger;
}

export function createConsoleLogger(level: LogLevel = 'info', scope = 'transcoder'): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = (lineLevel: Exclude<LogLevel, 'silent'>, message: string) => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) return;
    const line = `${new Date().toISOString()} ${lineLevel.toUpperCase().padEnd(5)} [${scope}] ${message}`;
    if (lineLevel === 'error' || lineLevel === 'warn') console.error(line);
    else console.log(line);
  };
  return {
    debug: (message) => write('debug', message),
    info: (message) => write('info', message),
    warn: (message) => write('warn', message),
    error: (message) => write('error', message),
    child: (child) => createConsoleLogger(level, `${scope}:${child}`),
  };
}

/** Stream keys are credentials: logs show only enough to tell two apart. */
export function redactStreamKey(streamKey: string): string {
  return streamKey.length <= 6 ? '***' : `${streamKey.slice(0, 4)}…(${streamKey.length})`;
}
