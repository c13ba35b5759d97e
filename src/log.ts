/**
 * Structured JSON logs (pino). Every line about a packet carries `packetId` and `documentId`
 * as fields, so one grep follows a document through edge, hub and edge.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  /** Default: env LT_LOG_LEVEL, else "info". */
  level?: string;
  /** Where the lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(component: string, options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.LT_LOG_LEVEL ?? 'info';
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, (options.destination ?? process.stdout) as never);
}

/** A logger that writes nothing (tests, the quiet demo). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
