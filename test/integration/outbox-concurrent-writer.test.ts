/**
 * `lienthong send` writes into the outbox of an edge that is running (design: "rows written by
 * another process are found by polling"), so a submission must wait for the other writer's
 * transaction (busy_timeout), not fail with "database is locked".
 *
 * A deferred transaction that reads before it writes cannot wait: SQLite runs the busy
 * handler only for a connection that holds no read transaction yet, so the upgrade from read to
 * write fails at once with SQLITE_BUSY while another connection holds the write lock (and with
 * SQLITE_BUSY_SNAPSHOT when one committed since the read). Here a worker thread, standing for
 * the edge process (its inbox committing a status, its relay marking rows sent), holds the
 * write lock of A's database for two seconds (less than busy_timeout) while this thread submits a document.
 *
 * No broker needed: the Edge is only opened (keys, crypto workers, database), as `lienthong
 * send` does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { devPath, devTrust, DEV_HUB } from '../../src/demo/local-exchange.js';
import { edgeConfigFrom, edgeDatabasePath } from '../../src/edge/config.js';
import { Edge } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/log.js';

const A = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
const B = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };

/** Holds BEGIN IMMEDIATE on `path` for `holdMs`, posting "locked" once it has the lock. */
const HOLDER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.exec('BEGIN IMMEDIATE');
db.prepare("UPDATE outbox SET attempts = attempts WHERE 0").run();
parentPort.postMessage('locked');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
db.exec('COMMIT');
db.close();
parentPort.postMessage('released');
`;

t.test('a submission waits for another writer of the edge database instead of failing with SQLITE_BUSY', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-outbox-writer-'));
  // Through the file parser, so the defaults of every other setting apply.
  const config = edgeConfigFrom(
    {
      organId: A.organId,
      organization: A,
      hubOrganId: DEV_HUB.organId,
      amqpUrl: 'amqp://unused:unused@127.0.0.1:1',
      prefix: 'lt-outbox-writer',
      dataDir: dir,
      identity: { key: devPath('agencies', `${A.organId}.key.pem`), cert: devPath('agencies', `${A.organId}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    },
    dir,
    join(dir, 'edge.json'),
    {},
  );
  const edge = new Edge(config, { log: silentLogger() });
  t.teardown(async () => {
    await edge.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await edge.open();
  const submit = (n: number) =>
    edge.outbox.submitDocument({ to: [B], code: { codeNumber: String(n), codeNotation: 'KT-LOCK' }, subject: `V/v kiểm thử khoá ghi ${n}` }, 'test');
  await submit(1); // warm: workers started, key loaded

  const worker = new Worker(HOLDER, {
    eval: true,
    workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path: edgeDatabasePath(config), holdMs: 2000 },
  });
  const released = new Promise<void>((resolve, reject) => {
    worker.on('message', (m) => m === 'released' && resolve());
    worker.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m) => (m === 'locked' ? resolve() : reject(new Error(String(m)))));
    worker.once('error', reject);
  });

  const submitted = await submit(2).then(
    (s) => s,
    (error: unknown) => error as Error,
  );
  await released;
  await worker.terminate();
  t.notOk(submitted instanceof Error, `submitted while another connection held the write lock${submitted instanceof Error ? ` (failed: ${submitted.message})` : ''}`);
  if (!(submitted instanceof Error)) {
    t.ok(edge.records.outboxEntry(submitted.packetId), 'the document is in the outbox');
  }
});
