/**
 * Service logs: one JSON object per line (winston), with the service name and
 * any bound context (run id, round, client id) in every line, so that logs of
 * a federation can be grepped and joined.
 */
import * as winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LogLevel;
  /** Where lines go; stdout by default. */
  readonly stream?: NodeJS.WritableStream;
  /** Drop everything (library use, tests). */
  readonly silent?: boolean;
}

function wrap(logger: winston.Logger): Logger {
  return {
    error: (m, f) => logger.error(m, f),
    warn: (m, f) => logger.warn(m, f),
    info: (m, f) => logger.info(m, f),
    debug: (m, f) => logger.debug(m, f),
    child: (fields) => wrap(logger.child(fields)),
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const transport = new winston.transports.Stream({ stream: options.stream ?? process.stdout });
  return wrap(
    winston.createLogger({
      level: options.level ?? 'info',
      silent: options.silent ?? false,
      defaultMeta: { service: options.service },
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      transports: [transport],
    }),
  );
}

/** A logger that drops everything. */
export function silentLogger(): Logger {
  return createLogger({ service: 'silent', silent: true });
}

// Prometheus metrics (registry per service, /metrics endpoint).
export * from './metrics';
