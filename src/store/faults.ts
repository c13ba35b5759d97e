/**
 * Whose fault is a failure: this node's (its disk is full, its database is locked, a crypto
 * worker died) or the packet's. A local fault is temporary and says nothing about the packet:
 * the packet must wait until the node can work again, never be returned to its queue (each
 * return counts toward the poison limit, which would dead-letter healthy packets within seconds)
 * and never be refused. Only what is left is the packet's fault.
 *
 * Pure: the error (and its `cause` chain) decides, by the codes Node (errno) and SQLite
 * (better-sqlite3's `SqliteError.code`) give, not by their wording.
 */
import { LtError, type ErrorCode } from '../errors.js';

export type FaultComponent = 'storage' | 'crypto';

export interface LocalFault {
  /** What fails: the node's storage (files, database) or its crypto workers. */
  component: FaultComponent;
  code: Extract<ErrorCode, 'STORAGE_FULL' | 'STORAGE_UNAVAILABLE' | 'WORKER_FAILED'>;
  /** The underlying error's code (ENOSPC, SQLITE_FULL, ...) and message, for the operator. */
  detail: string;
  /**
   * The packet being handled may have caused it after all: a worker that dies on one input
   * (a crafted packet) looks like a worker that died on its own. Whoever waits on such a fault
   * gives up after a few occurrences on the same packet.
   */
  packetMayCause: boolean;
}

/** Bytes a data directory keeps free: below it a node stores no packet, and takes them again above it. */
export const STORAGE_HEADROOM_BYTES = 1024 * 1024;

/** Throws ENOSPC (a STORAGE_FULL fault) when `space`, a statfs of `dir`, has less than the headroom free. */
export function assertHeadroom(space: { bavail: number; bsize: number }, dir: string): void {
  const free = space.bavail * space.bsize;
  if (free < STORAGE_HEADROOM_BYTES) {
    throw Object.assign(new Error(`${free} bytes free in ${dir}, fewer than the ${STORAGE_HEADROOM_BYTES} a node keeps free`), { code: 'ENOSPC' });
  }
}

/** No space or quota left: freeing space ends it. */
const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'SQLITE_FULL']);

/** The file system or the database cannot be written right now, whatever is written. */
const UNAVAILABLE = new Set(['EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EACCES', 'EPERM', 'ENOMEM', 'ESTALE']);
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|READONLY|NOMEM|PROTOCOL|CORRUPT|NOTADB|NOLFS)(_|$)/;

/** The local fault `error` shows, or undefined when nothing says the node, not the packet, failed. */
export function classifyFault(error: unknown): LocalFault | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const detail = `${code}: ${e instanceof Error ? e.message : String(e)}`;
    if (FULL.has(code)) return { component: 'storage', code: 'STORAGE_FULL', detail, packetMayCause: false };
    if (UNAVAILABLE.has(code) || SQLITE_UNAVAILABLE.test(code)) return { component: 'storage', code: 'STORAGE_UNAVAILABLE', detail, packetMayCause: false };
    if (code === 'STORAGE_FULL' || code === 'STORAGE_UNAVAILABLE') return { component: 'storage', code, detail, packetMayCause: false };
    if (code === 'WORKER_FAILED') return { component: 'crypto', code, detail, packetMayCause: true };
  }
  return undefined;
}

/** Per fault: what is wrong (log, /health) and what a person who sent something does about it (REST, CLI). */
const WORDS: Record<LocalFault['code'], { what: string; advice: string }> = {
  STORAGE_FULL: {
    what: 'the data directory is full',
    advice: "the edge's data directory is full: nothing was stored; free space on it (or grow it) and send again",
  },
  STORAGE_UNAVAILABLE: {
    what: 'the data directory or database cannot be written',
    advice: "the edge's data directory or database cannot be written right now: nothing was stored; send again in a moment",
  },
  WORKER_FAILED: {
    what: 'a crypto worker thread failed',
    advice: 'a crypto worker thread failed and was replaced: nothing was stored; send again',
  },
};

/** What the node does while a fault lasts, for the log and /health. */
export function faultMessage(fault: LocalFault): string {
  return `${WORDS[fault.code].what} (${fault.detail.slice(0, 300)}); packets wait in their queues, neither refused nor dead-lettered, and are taken again by themselves once it works`;
}

/**
 * A local fault as the error a person sees (REST API, CLI): retryable, and saying that nothing
 * was stored. Undefined for any other failure, which keeps its own code.
 */
export function faultAsError(error: unknown): LtError | undefined {
  if (error instanceof LtError && (error.code === 'STORAGE_FULL' || error.code === 'STORAGE_UNAVAILABLE' || error.code === 'WORKER_FAILED')) return error;
  const fault = classifyFault(error);
  if (!fault) return undefined;
  return new LtError(fault.code, `${WORDS[fault.code].advice} (${fault.detail.slice(0, 300)})`, {}, { cause: error });
}

/** Seconds a client should wait before sending again after `error` (the Retry-After of a 503). */
export const RETRY_AFTER_SECONDS = 30;
