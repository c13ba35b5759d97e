/**
 * A real logger (src/log.ts) whose lines the test reads back: every line is kept raw and parsed,
 * and `next` waits for the first line (already written or still to come) that matches, so a
 * test waits on what the code says, not on the clock.
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { EVENT_DEADLINE_MS } from './deadline.js';

export type LogLine = Record<string, unknown> & { level: number; msg?: string };

export interface CapturedLog {
  log: Logger;
  /** Raw lines, as written. */
  raw: string[];
  lines: LogLine[];
  /** Lines whose msg contains `text`. */
  find(text: string): LogLine[];
  /** The first line matching `match` (from `from` on), waiting up to `timeoutMs` for it. */
  next(what: string, match: (line: LogLine) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
}

export function captureLog(component = 'test'): CapturedLog {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let pending = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      for (const wake of [...waiters]) wake();
      done();
    },
  });
  const log = createLogger(component, { level: 'info', destination });
  return {
    log,
    raw,
    lines,
    find: (text) => lines.filter((l) => typeof l.msg === 'string' && l.msg.includes(text)),
    next(what, match, options = {}) {
      const timeoutMs = options.timeoutMs ?? EVENT_DEADLINE_MS;
      return new Promise<LogLine>((resolve, reject) => {
        const check = (): boolean => {
          const found = lines.slice(options.from ?? 0).find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no log line ${what} within ${timeoutMs} ms; lines: ${raw.slice(-10).join('\n')}`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
  };
}
