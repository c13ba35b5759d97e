/**
 * Helpers for the lifecycle tests (test/integration/lifecycle*.test.ts): a clock the test sets
 * by hand and shares between the hub and the edges, Vietnamese local times, what an edge has
 * written (to prove a refusal wrote nothing), an edge started late with the test's clock, and a
 * real ClamAV daemon with a one-signature database that knows the EICAR test file.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { LocalExchange } from '../../src/demo/local-exchange.js';
import { Edge, type EdgeOptions } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/log.js';
import { EVENT_DEADLINE_MS, waitFor } from './exchange.js';
import { spawnTied } from './processes.js';

// --- time -----------------------------------------------------------------------------------

/**
 * A clock that stands still until the test moves it. Hand `clock.now` to the hub and the edges
 * (`hubOptions: { clock }`, `edgeOptions: { clock }`): every timestamp they write, sign and check
 * is then the test's.
 */
export class TestClock {
  private current: number;

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }

  readonly now = (): Date => new Date(this.current);

  set(instant: Date | string): void {
    this.current = new Date(instant).getTime();
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/** An instant given as Vietnamese local time (UTC+7): `vn('2026-12-01 10:00')`. */
export function vn(local: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) throw new Error(`"${local}" is not yyyy-mm-dd HH:mm[:ss]`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - 7 * 3_600_000);
}

/** The last millisecond of a Vietnamese local day, as the deadlines are written (ISO, UTC). */
export function endOfVnDay(day: string): string {
  return new Date(vn(`${day} 00:00`).getTime() + 86_400_000 - 1).toISOString();
}

// --- what an edge wrote ---------------------------------------------------------------------

export interface EdgeCounts {
  outbox: number;
  documents: number;
  deliveries: number;
  events: number;
  attachments: number;
  blobs: number;
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    n += statSync(path).isDirectory() ? countFiles(path) : 1;
  }
  return n;
}

/** Rows in each table an edge writes when it queues something, and its blobs (rows of the database and files). */
export function edgeCounts(edge: Edge): EdgeCounts {
  const count = (table: string): number => (edge.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    outbox: count('outbox'),
    documents: count('documents'),
    deliveries: count('deliveries'),
    events: count('events'),
    attachments: count('attachments'),
    blobs: count('blobs') + countFiles(edge.blobs.dir),
  };
}

/** The status packets an edge queued, in order: `[code, documentId]`. */
export function queuedStatuses(edge: Edge): Array<{ code: string | null; documentId: string }> {
  return (edge.db.prepare("SELECT status_code, document_id FROM outbox WHERE kind = 'status' ORDER BY rowid").all() as Array<{ status_code: string | null; document_id: string }>).map((r) => ({
    code: r.status_code,
    documentId: r.document_id,
  }));
}

// --- the exchange ---------------------------------------------------------------------------

/**
 * Start the edge of an agency provisioned with `start: false`, with the given clock (the shared
 * helper's `startEdge` runs on real time) or only open it. Registered with the exchange, so
 * `stop()` stops it.
 */
export async function startEdgeWithClock(
  exchange: LocalExchange,
  organId: string,
  options: Pick<EdgeOptions, 'clock' | 'onReceived'> & {
    /** Only open it (keys, crypto workers, database: it can submit and act), without the broker; `start()` later. */
    openOnly?: boolean;
  } = {},
): Promise<Edge> {
  const config = exchange.edgeConfigs.get(organId);
  if (!config) throw new Error(`${organId} is not provisioned in this exchange`);
  const { openOnly, ...edgeOptions } = options;
  const edge = new Edge(config, { log: silentLogger(), ...edgeOptions });
  exchange.edges.set(organId, edge);
  if (openOnly) await edge.open();
  else await edge.start();
  return edge;
}

/** One recipient's delivery of a document, as the hub recorded it. */
export function hubDelivery(exchange: LocalExchange, documentId: string, recipient: string): { stage: string; recall: string } | undefined {
  return exchange.hub.db.prepare('SELECT stage, recall FROM deliveries WHERE document_id = ? AND recipient = ?').get(documentId, recipient) as
    | { stage: string; recall: string }
    | undefined;
}

/** A document as the hub recorded it (`documents` row). */
export function hubDocument(exchange: LocalExchange, documentId: string): { document_id: string; sender: string; response_for: string | null; bussiness_type: string | null } | undefined {
  return exchange.hub.db.prepare('SELECT document_id, sender, response_for, bussiness_type FROM documents WHERE document_id = ?').get(documentId) as
    | { document_id: string; sender: string; response_for: string | null; bussiness_type: string | null }
    | undefined;
}

/**
 * Poll `probe` until it holds or the deadline passes, and return its last value either way: for
 * waiting on something a test then asserts, so that a bug shows as a failed assertion, not a
 * timeout. The deadline is never shorter than EVENT_DEADLINE_MS: it costs nothing when the
 * event comes, and a busy machine must not turn a slow event into a failure.
 */
export async function settle<T>(probe: () => T, done: (value: T) => boolean, ms = EVENT_DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + Math.max(ms, EVENT_DEADLINE_MS);
  for (;;) {
    const value = probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// --- ClamAV ---------------------------------------------------------------------------------

/**
 * The 68-byte EICAR anti-virus test file, assembled at run time so that this source file is not
 * itself taken for it by a scanner on a developer's machine.
 */
export const EICAR = Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join(''), 'ascii');

export interface Clamd {
  /** The daemon's unix socket: the edge's `clamd` setting. */
  socket: string;
  /** The signature name clamd reports for EICAR. */
  signature: string;
  /** Stop the daemon (its socket goes with it); safe to call twice. */
  stop(): Promise<void>;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path: socket });
    let reply = '';
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(false));
    s.on('data', (d) => (reply += d.toString('utf8')));
    s.on('end', () => resolve(reply.replace(/\0/g, '').trim() === 'PONG'));
    s.on('connect', () => s.end('zPING\0'));
  });
}

/**
 * A ClamAV daemon of the test's own (`/usr/sbin/clamd`, foreground, child of the test), whose
 * only signature is the EICAR test file; it answers PING before this returns. Stopped at teardown.
 */
export async function startClamd(t: Test): Promise<Clamd> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-clamd-'));
  const db = join(dir, 'db');
  const socket = join(dir, 'clamd.sock');
  // A signature database of one line: name, target type 0 (any file), any offset, the bytes.
  const name = 'Lienthong.Test.EICAR';
  mkdirSync(db);
  writeFileSync(join(db, 'test.ndb'), `${name}:0:*:${EICAR.toString('hex')}\n`);
  const conf = join(dir, 'clamd.conf');
  writeFileSync(
    conf,
    [`LocalSocket ${socket}`, `DatabaseDirectory ${db}`, 'Foreground yes', `PidFile ${join(dir, 'clamd.pid')}`, `LogFile ${join(dir, 'clamd.log')}`, 'User root', ''].join('\n'),
  );
  // Tied to this process: a test that tap times out leaves no clamd behind.
  const child: ChildProcess = spawnTied('/usr/sbin/clamd', ['-c', conf], { stderr: 'pipe', graceMs: 5000 });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL'); // the wrapper's group: clamd with it
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      process.off('exit', killOnExit);
    }
  };
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('clamd to answer PING', async () => child.exitCode === null && existsSync(socket) && (await ping(socket)), {
    intervalMs: 50,
    describe: () => ({ exitCode: child.exitCode, stderr: stderr.slice(-500) }),
  });
  return { socket, signature: `${name}.UNOFFICIAL`, stop };
}
