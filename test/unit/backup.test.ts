/**
 * The parts of backup and restore that need no broker: the list of blob columns against the
 * schemas, a data directory whose blobs are missing or damaged (no backup is written), an
 * interrupted backup (no manifest) and a manifest edited to reach outside the backup, and the
 * shared lock of running hubs against the exclusive one of a restore. Real SQLite files.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BLOB_REFERENCES, restoreBackup, takeBackup, type NodeData } from '../../src/store/backup.js';
import { sha256Hex } from '../../src/store/blobs.js';
import { openDatabase, type Migration } from '../../src/store/db.js';
import { InstanceLock, type InstanceLockOptions } from '../../src/store/instance-lock.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';

const ORGAN = '000.00.05.H12';

function edgeNode(dataDir: string): NodeData {
  return { kind: 'edge', organId: ORGAN, dataDir, database: 'edge.sqlite', migrations: EDGE_MIGRATIONS };
}

function lockOf(dir: string, name = 'edge'): InstanceLockOptions {
  return { dir, name, code: 'NODE_RUNNING', field: 'dataDir', refusal: () => `running on ${dir}` };
}

/** An edge data directory with one received document whose packet is `packet`, stored as a blob unless `store` is false. */
function dataDirWith(dir: string, packet: string, store = true): string {
  const db = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  const hash = sha256Hex(packet);
  db.prepare(
    "INSERT INTO documents (document_id, direction, sender, packet_id, priority, lane, blob, created_at) VALUES ('d1', 'in', '000.00.01.H12', 'p1', '0', 'normal', ?, '2026-01-01T00:00:00Z')",
  ).run(hash);
  db.close();
  if (store) {
    mkdirSync(join(dir, 'blobs', hash.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, 'blobs', hash.slice(0, 2), hash), packet);
  }
  return hash;
}

t.test('every column named "blob" of the latest schemas is a blob reference the backup follows', async (t) => {
  for (const [kind, migrations] of [
    ['edge', EDGE_MIGRATIONS],
    ['hub', HUB_MIGRATIONS],
  ] as Array<['edge' | 'hub', readonly Migration[]]>) {
    const db = new Database(':memory:');
    for (const m of migrations) db.exec(m.sql);
    const blobColumns = db
      .prepare("SELECT m.name AS tbl FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND c.name = 'blob' ORDER BY m.name")
      .pluck()
      .all() as string[];
    const listed = BLOB_REFERENCES[kind].filter((r) => r.column === 'blob').map((r) => r.table);
    t.same([...listed].sort(), blobColumns, `${kind}: the blob columns`);
    for (const r of BLOB_REFERENCES[kind]) {
      t.ok((db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(r.table) as string[]).includes(r.column), `${kind}: ${r.table}.${r.column} exists`);
    }
    db.close();
  }
});

t.test('a data directory whose database names a missing or damaged blob gives no backup', async (t) => {
  const dir = t.testdir();
  const missing = dataDirWith(join(dir, 'missing'), 'packet one', false);
  await t.rejects(
    takeBackup({ node: edgeNode(join(dir, 'missing')), to: join(dir, 'backup-missing'), version: 'test' }),
    { code: 'BACKUP_INVALID', message: new RegExp(`names 1 blob\\(s\\) missing .*${missing}.*damaged`) },
  );
  t.same(readdirSync(join(dir, 'backup-missing')), [], 'nothing is left of the failed backup: the directory takes the next attempt');

  const hash = dataDirWith(join(dir, 'damaged'), 'packet two');
  writeFileSync(join(dir, 'damaged', 'blobs', hash.slice(0, 2), hash), 'packet 2');
  await t.rejects(takeBackup({ node: edgeNode(join(dir, 'damaged')), to: join(dir, 'backup-damaged'), version: 'test' }), {
    code: 'BACKUP_INVALID',
    message: /is damaged: its bytes hash to/,
  });
  t.same(readdirSync(join(dir, 'backup-damaged')), []);

  await t.rejects(takeBackup({ node: edgeNode(join(dir, 'none')), to: join(dir, 'backup-none'), version: 'test' }), { code: 'IO', message: /no database .*nothing to back up/ });
});

t.test('blobs held in the database travel inside it, checked like the files', async (t) => {
  const dir = t.testdir();
  const live = join(dir, 'live');
  const hash = dataDirWith(live, 'packet four', false);
  const db = openDatabase(join(live, 'edge.sqlite'), EDGE_MIGRATIONS);
  db.prepare('INSERT INTO blobs (sha256, content, stored_at) VALUES (?, ?, ?)').run(hash, Buffer.from('packet four'), new Date().toISOString());
  db.close();
  const manifest = await takeBackup({ node: edgeNode(live), to: join(dir, 'backup'), version: 'test' });
  t.equal(manifest.blobs.count, 0, 'no blob file: the packet is a row of the database');
  await restoreBackup({ node: edgeNode(join(dir, 'restored')), from: join(dir, 'backup'), lock: () => InstanceLock.acquire(lockOf(join(dir, 'restored'))) });
  const restored = new Database(join(dir, 'restored', 'edge.sqlite'), { readonly: true });
  t.equal((restored.prepare('SELECT content FROM blobs WHERE sha256 = ?').pluck().get(hash) as Buffer).toString(), 'packet four', 'restored with the database');
  restored.close();

  const damaged = new Database(join(live, 'edge.sqlite'));
  damaged.prepare('UPDATE blobs SET content = ? WHERE sha256 = ?').run(Buffer.from('packet 4'), hash);
  damaged.close();
  await t.rejects(takeBackup({ node: edgeNode(live), to: join(dir, 'backup-damaged'), version: 'test' }), {
    code: 'BACKUP_INVALID',
    message: new RegExp(`blob ${hash} held in the database .* is damaged: its bytes hash to`),
  });
  t.same(readdirSync(join(dir, 'backup-damaged')), [], 'no backup is written');
});

t.test('an interrupted backup, and a manifest naming files outside the backup, are refused', async (t) => {
  const dir = t.testdir();
  dataDirWith(join(dir, 'live'), 'packet three');
  const backup = join(dir, 'backup');
  const manifest = await takeBackup({ node: edgeNode(join(dir, 'live')), to: backup, version: 'test' });
  t.equal(manifest.blobs.count, 1);
  t.equal(statSync(backup).mode & 0o777, 0o700, 'only the operator reads the backup directory');
  t.equal(statSync(join(backup, 'edge.sqlite')).mode & 0o777, 0o600, 'nor the database copy');
  const target = edgeNode(join(dir, 'restored'));
  const lock = () => InstanceLock.acquire(lockOf(target.dataDir));

  const text = readFileSync(join(backup, 'manifest.json'), 'utf8');
  const edited = JSON.parse(text) as { files: Array<{ path: string }> };
  (edited.files[0] as { path: string }).path = '../live/edge.sqlite';
  writeFileSync(join(backup, 'manifest.json'), JSON.stringify(edited));
  await t.rejects(restoreBackup({ node: target, from: backup, lock }), { code: 'BACKUP_INVALID', message: /malformed/ }, 'a path with .. is refused');

  rmSync(join(backup, 'manifest.json'));
  await t.rejects(restoreBackup({ node: target, from: backup, lock }), { code: 'BACKUP_INVALID', message: /interrupted/ }, 'no manifest: an interrupted backup');
  t.notOk(existsSync(join(target.dataDir, 'edge.sqlite')), 'nothing was restored');

  writeFileSync(join(backup, 'manifest.json'), text);
  await restoreBackup({ node: target, from: backup, lock });
  const db = new Database(join(target.dataDir, 'edge.sqlite'), { readonly: true });
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'the restored database is in WAL mode, as the node keeps it');
  t.equal(db.prepare('SELECT count(*) FROM documents').pluck().get(), 1);
  db.close();
});

t.test('running hubs share their lock; a restore takes it alone', async (t) => {
  const dir = t.testdir();
  const first = InstanceLock.share(lockOf(dir, 'hub'));
  const second = InstanceLock.share(lockOf(dir, 'hub'));
  t.throws(() => InstanceLock.acquire(lockOf(dir, 'hub')), { code: 'NODE_RUNNING' }, 'no restore while a hub runs');
  first.release();
  t.throws(() => InstanceLock.acquire(lockOf(dir, 'hub')), { code: 'NODE_RUNNING' }, 'nor while the other one does');
  second.release();
  const restore = InstanceLock.acquire(lockOf(dir, 'hub'));
  t.throws(() => InstanceLock.share(lockOf(dir, 'hub')), { code: 'NODE_RUNNING' }, 'no hub starts during a restore');
  restore.release();
  InstanceLock.share(lockOf(dir, 'hub')).release();
});
