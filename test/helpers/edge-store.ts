/** An edge's database, records and blob store in a fresh folder, as a relay or adapter test needs them; removed with `t`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { EdgeRecords } from '../../src/edge/records.js';
import { BlobStore } from '../../src/store/blobs.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';

export function openEdgeStore(t: Test, name = 'lt-edge-store-'): { dir: string; db: Db; records: EdgeRecords; blobs: BlobStore } {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  t.teardown(() => db.close());
  return { dir, db, records: new EdgeRecords(db), blobs: new BlobStore(join(dir, 'blobs'), db) };
}
