/** Structured logs for the relay: one JSON object per line on stderr, in pino's shape (level numbers, time, msg). */

/** pino's level numbers, so the relay's logs read like the check service's. */
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A level name. */
export type LogLevel = keyof typeof LEVELS | 'silent';

/** A logger: level methods taking a message and fields. */
export interface RelayLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger writing lines at or above `level` to `stream`. */
export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stderr): RelayLogger {
  const threshold = level === 'silent' ? Number.POSITIVE_INFINITY : LEVELS[level];
  const write =
    (name: keyof typeof LEVELS) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[name] < threshold) return;
      stream.write(
        `${JSON.stringify({ level: LEVELS[name], time: Date.now(), name: 'porthole-relay', msg, ...fields })}\n`,
      );
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
