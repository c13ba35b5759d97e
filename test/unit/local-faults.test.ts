/**
 * Whose fault a failure is (src/store/faults.ts), on the errors the real components throw: a
 * SQLite database at its size limit (SQLITE_FULL, as on a full disk), a write lock held by
 * another connection (SQLITE_BUSY), a write to /dev/full (ENOSPC), a dead crypto worker; and
 * what a person sees for them at the REST API and the CLI. Then the gate (src/fault-gate.ts):
 * one pause per fault, probing with capped backoff, one resume, logged once per change.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { errorAnswer } from '../../src/adapters/rest/errors.js';
import { reportError, EXIT_TEMPORARY } from '../../src/cli/command.js';
import { LtError } from '../../src/errors.js';
import { FaultGate, nodeProbe, probeDelay } from '../../src/fault-gate.js';
import { HealthBoard } from '../../src/health.js';
import { classifyFault, faultAsError, type LocalFault } from '../../src/store/faults.js';
import { waitFor } from '../helpers/exchange.js';
import { captureLog } from '../helpers/log-capture.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'lt-faults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the node\'s faults are told from the packet\'s', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, 'full.sqlite'));
  t.teardown(() => db.close());
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)');
  db.pragma('max_page_count = 3');
  const full = caught(() => {
    for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run('x'.repeat(2000) + i);
  });
  t.match(classifyFault(full), { component: 'storage', code: 'STORAGE_FULL', packetMayCause: false, detail: /^SQLITE_FULL: database or disk is full/ });

  db.pragma('max_page_count = 100000');
  db.prepare('INSERT INTO t (v) VALUES (?)').run('same');
  const constraint = caught(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('same'));
  t.equal(classifyFault(constraint), undefined, 'a constraint violation is about the data, not the node');

  const other = new Database(join(dir, 'full.sqlite'));
  t.teardown(() => other.close());
  other.pragma('busy_timeout = 0');
  db.prepare('BEGIN IMMEDIATE').run();
  const busy = caught(() => other.transaction(() => other.prepare('INSERT INTO t (v) VALUES (?)').run('busy')).immediate());
  db.prepare('COMMIT').run();
  t.match(classifyFault(busy), { component: 'storage', code: 'STORAGE_UNAVAILABLE', detail: /^SQLITE_BUSY/ });

  if (existsSync('/dev/full')) {
    const enospc = await rejected(writeFile('/dev/full', 'x'));
    t.match(classifyFault(enospc), { component: 'storage', code: 'STORAGE_FULL', detail: /^ENOSPC/ });
    // Wrapped, as the stores wrap what they cannot do: the cause still tells.
    t.match(classifyFault(new LtError('IO', 'cannot store the packet', {}, { cause: enospc })), { code: 'STORAGE_FULL' });
  }

  t.match(classifyFault(new LtError('WORKER_FAILED', 'crypto worker failed: exited with code 1')), { component: 'crypto', packetMayCause: true });
  for (const error of [new LtError('SIG_DIGEST_MISMATCH', 'changed'), new LtError('WORKER_OUT_OF_MEMORY', 'too big'), new TypeError("Cannot read properties of undefined (reading 'code')"), Object.assign(new Error('gone'), { code: 'ENOENT' }), 'a string', undefined]) {
    t.equal(classifyFault(error), undefined, `not the node's: ${String(error)}`);
  }
});

t.test('a full disk answers 503 STORAGE_FULL with Retry-After at the REST API, exit 75 at the CLI', async (t) => {
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
  const answer = errorAnswer(full, 'req-1');
  t.equal(answer.status, 503);
  t.equal(answer.retryAfter, 30);
  t.equal(answer.body.error.code, 'STORAGE_FULL');
  t.match(answer.body.error.message, /data directory is full: nothing was stored; free space .* and send again/);
  t.equal(errorAnswer(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), 'req-2').body.error.code, 'STORAGE_UNAVAILABLE');
  t.same(errorAnswer(new Error('boom'), 'req-3').status, 500, 'anything else stays INTERNAL');
  t.equal(errorAnswer(new Error('boom'), 'req-3').retryAfter, undefined);

  let stderr = '';
  const io = { stdout: { write: () => true }, stderr: { write: (s: string) => ((stderr += s), true) } } as unknown as Parameters<typeof reportError>[0];
  t.equal(reportError(io, 'send', full), EXIT_TEMPORARY);
  t.match(stderr, /^lienthong send: the edge's data directory is full: nothing was stored.*\(STORAGE_FULL\)\n$/);
  t.equal(faultAsError(new LtError('PACKET_INVALID', 'bad')), undefined);
});

t.test('the gate pauses once, probes with capped backoff, resumes once, and says so once each way', async (t) => {
  const { log, lines } = captureLog('edge');
  const health = new HealthBoard(log);
  let healed = false;
  const probes: number[] = [];
  const started = Date.now();
  const gate = new FaultGate({
    health,
    log,
    firstDelayMs: 5,
    maxDelayMs: 20,
    probe: async () => {
      probes.push(Date.now() - started);
      if (!healed) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    },
  });
  t.teardown(() => gate.stop());
  const events: string[] = [];
  gate.on('pause', (f) => events.push(`pause ${f.code}`));
  gate.on('resume', () => events.push('resume'));
  const fault: LocalFault = { component: 'storage', code: 'STORAGE_FULL', detail: 'ENOSPC: no space left on device', packetMayCause: false };
  gate.report(fault);
  gate.report(fault);
  t.same(events, ['pause STORAGE_FULL'], 'one pause for a fault reported by every handler that met it');
  t.match(health.snapshot(), { status: 'degraded', problems: [{ component: 'storage', code: 'STORAGE_FULL', message: /data directory is full .* neither refused nor dead-lettered/ }] });
  await waitFor('several probes', () => probes.length >= 6);
  healed = true;
  await waitFor('the gate to open', () => events.includes('resume'));
  t.same(events, ['pause STORAGE_FULL', 'resume']);
  t.equal(gate.paused, undefined);
  t.same(health.snapshot(), { status: 'ok', problems: [] });
  t.equal(lines.filter((l) => l.health === 'storage' && l.level === 40).length, 1, 'degraded logged once');
  t.equal(lines.filter((l) => l.health === 'storage' && l.level === 30).length, 1, 'recovered logged once');
});

t.test('probes back off from 250 ms, doubling, to 5 s at most', async (t) => {
  t.same(
    Array.from({ length: 8 }, (_, i) => probeDelay(i, 250, 5_000)),
    [250, 500, 1000, 2000, 4000, 5_000, 5_000, 5_000],
  );
  t.equal(probeDelay(1000, 250, 5_000), 5_000, 'no overflow however long it lasts');
});

t.test('the node probe finds no room on a full file system and the write lock when it is free', async (t) => {
  const dir = tempDir(t);
  const db = new Database(join(dir, 'edge.sqlite'));
  t.teardown(() => db.close());
  const probe = nodeProbe({ db, dataDir: dir, pool: () => undefined });
  const fault: LocalFault = { component: 'storage', code: 'STORAGE_FULL', detail: 'ENOSPC', packetMayCause: false };
  await probe(fault);
  t.pass('a data directory with room passes');
  const other = new Database(join(dir, 'edge.sqlite'));
  t.teardown(() => other.close());
  db.pragma('busy_timeout = 0');
  other.prepare('BEGIN IMMEDIATE').run();
  t.match(classifyFault(await rejected(probe(fault))), { code: 'STORAGE_UNAVAILABLE' }, 'a write lock held elsewhere fails the probe');
  other.prepare('COMMIT').run();
  await probe(fault);
});
