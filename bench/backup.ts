/**
 * What a backup and a restore of an edge's data directory cost: `docs` received documents, each
 * a packet blob of 64 KiB and an attachment blob of 32 KiB (synthetic bytes; the rows as the
 * inbox writes them), backed up with takeBackup and restored with restoreBackup into a fresh
 * directory. Blobs of that size are rows of the database (store/blobs.ts), so the figures are
 * about copying the database and hashing every blob in it; "blob files" counts the larger
 * blobs a backup copies as files (none here).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { restoreBackup, takeBackup, type NodeData } from '../src/store/backup.js';
import { BlobStore } from '../src/store/blobs.js';
import { openDatabase } from '../src/store/db.js';
import { InstanceLock } from '../src/store/instance-lock.js';
import { EDGE_MIGRATIONS } from '../src/store/migrations/edge.js';
import { fmt, table } from './harness.js';

const ORGAN = '000.00.05.H12';

function node(dataDir: string): NodeData {
  return { kind: 'edge', organId: ORGAN, dataDir, database: 'edge.sqlite', migrations: EDGE_MIGRATIONS };
}

async function fill(dataDir: string, docs: number): Promise<number> {
  const db = openDatabase(join(dataDir, 'edge.sqlite'), EDGE_MIGRATIONS);
  const blobs = new BlobStore(join(dataDir, 'blobs'), db);
  const document = db.prepare(
    "INSERT INTO documents (document_id, direction, sender, packet_id, priority, lane, blob, created_at) VALUES (?, 'in', '000.00.01.H12', ?, '0', 'normal', ?, ?)",
  );
  const attachment = db.prepare("INSERT INTO attachments (document_id, content_id, name, size, sha256) VALUES (?, 'cid:1', 'a.pdf', ?, ?)");
  let bytes = 0;
  for (let i = 0; i < docs; i += 1) {
    const packet = randomBytes(64 * 1024);
    const file = randomBytes(32 * 1024);
    const [p, f] = [await blobs.put(packet), await blobs.put(file)];
    bytes += packet.length + file.length;
    db.transaction(() => {
      document.run(`doc-${i}`, `packet-${i}`, p, new Date().toISOString());
      attachment.run(`doc-${i}`, file.length, f);
    }).immediate();
  }
  db.close();
  return bytes;
}

export async function benchBackup(docs = 2000): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-backup-'));
  try {
    const bytes = await fill(join(dir, 'live'), docs);
    let start = performance.now();
    const manifest = await takeBackup({ node: node(join(dir, 'live')), to: join(dir, 'backup'), version: 'bench' });
    const backupMs = performance.now() - start;
    const target = node(join(dir, 'restored'));
    start = performance.now();
    await restoreBackup({ node: target, from: join(dir, 'backup'), lock: () => InstanceLock.acquire({ dir: target.dataDir, name: 'edge', code: 'NODE_RUNNING', field: 'dataDir', refusal: () => 'running' }) });
    const restoreMs = performance.now() - start;
    const mib = bytes / 1024 / 1024;
    return table([
      { step: 'backup', documents: docs, 'blob files': manifest.blobs.count, MiB: fmt(mib), seconds: fmt(backupMs / 1000, 2), 'MiB/s': fmt(mib / (backupMs / 1000)) },
      { step: 'restore', documents: docs, 'blob files': manifest.blobs.count, MiB: fmt(mib), seconds: fmt(restoreMs / 1000, 2), 'MiB/s': fmt(mib / (restoreMs / 1000)) },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
