import { z } from 'zod';

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
let threshold = rank.info;

/** Sets the level for every logger of the process (the sfu is one process, one level). */
export function setLogLevel(level: LogLevel): void {
  threshold = rank[level];
}

export type Logger = {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
};

/** One line per event on stderr: `level scope message {details}`. Plain text; a collector can parse the JSON tail. */
export function createLogger(scope: string): Logger {
  const write = (level: Exclude<LogLevel, 'silent'>, message: string, details?: Record<string, unknown>): void => {
    if (rank[level] < threshold) return;
    const tail = details ? ` ${JSON.stringify(details, errorReplacer)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} sfu:${scope} ${message}${tail}\n`);
  };
  return {
    debug: (message, details) => write('debug', message, details),
    info: (message, details) => write('info', message, details),
    warn: (message, details) => write('warn', message, details),
    error: (message, details) => write('error', message, details),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
