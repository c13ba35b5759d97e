/**
 * Backups taken while documents flow, restored into fresh data directories, and the restored
 * nodes exchanging documents again, against the real RabbitMQ:
 * - an edge's backup taken while it receives holds a database as of one commit and every blob
 *   that database names; restored, the edge keeps that inbox and outbox, acts on what it had,
 *   and receives new documents;
 * - the hub's, taken while it routes: restored, it routes between the agencies it knew;
 * - a restore is refused while the node runs, over an existing database unless --replace (which
 *   moves the old data aside), for another node's backup, a newer schema, or a backup changed
 *   after it was written; a refused restore leaves the data directory as it was.
 */
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { edgeBackupTarget, hubBackupTarget } from '../../src/cli/backup-targets.js';
import { Edge } from '../../src/edge/edge.js';
import { Hub } from '../../src/hub/hub.js';
import { silentLogger } from '../../src/log.js';
import { referencedBlobFiles, restoreBackup, takeBackup, type BackupManifest } from '../../src/store/backup.js';
import { DATABASE_BLOB_MAX } from '../../src/store/blobs.js';
import { schemaVersions } from '../../src/version.js';
import { A, B, agency, attachmentBytes, inboxOf, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';

const VERSION = 'test';

/** The document ids of one direction in a database file (a backup's, say). */
function documentIdsIn(path: string, direction: 'in' | 'out'): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT document_id FROM documents WHERE direction = ? ORDER BY document_id').pluck().all(direction) as string[]).sort();
  } finally {
    db.close();
  }
}

/** The bytes with one of them changed (offset from the end when negative). */
function flipByte(bytes: Buffer, at: number): Buffer {
  const index = at < 0 ? bytes.length + at : at;
  bytes.writeUInt8((bytes.readUInt8(index) ^ 0xff) & 0xff, index);
  return bytes;
}

/**
 * Every fourth letter carries an attachment too large for the database's blob table
 * (DATABASE_BLOB_MAX): a backup holds both kinds of blob, rows and files.
 */
function mixedLetter(to: readonly string[], n: number): ReturnType<typeof letter> {
  if (n % 4 !== 0) return letter(to, n);
  return letter(to, n, { attachments: [{ name: `ho-so-${n}.pdf`, content: Buffer.concat([attachmentBytes(n), Buffer.alloc(DATABASE_BLOB_MAX, n)]) }] });
}

function blobsIn(dir: string): string[] {
  const root = join(dir, 'blobs');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((d) => readdirSync(join(root, d))).sort();
}

t.test("an edge's backup taken while it receives restores into a fresh data directory that goes on exchanging", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const configB = exchange.edgeConfigs.get(B);
  if (!configB) throw new Error('no configuration for B');
  const dir = t.testdir();
  const backupDir = join(dir, 'backup-b');

  // Documents keep flowing A → B while B's backup is taken.
  const total = 24;
  const sent: string[] = [];
  const sending = (async () => {
    for (let n = 1; n <= total; n += 1) sent.push((await a.outbox.submitDocument(mixedLetter([B], n), 'test')).documentId);
  })();
  await waitFor('a first documents in B', () => inboxOf(exchange.edge(B)).total >= 3);
  const manifest = await takeBackup({ node: edgeBackupTarget(configB).node, to: backupDir, configFile: undefined, version: VERSION });
  const backedUp = documentIdsIn(join(backupDir, 'edge.sqlite'), 'in');
  await sending;
  await waitFor(`all ${total} documents at 01`, () => sent.every((id) => stageAt(a, id, B) === '01'));

  t.equal(manifest.kind, 'edge');
  t.equal(manifest.organId, B);
  t.equal(manifest.schemaVersion, schemaVersions().edge, 'the backup is at the schema this build writes');
  t.ok(backedUp.length >= 3, `the backup holds what had arrived (${backedUp.length} of ${total})`);
  const copy = new Database(join(backupDir, 'edge.sqlite'), { readonly: true });
  const named = [...referencedBlobFiles(copy, 'edge')].sort();
  const rows = (copy.prepare('SELECT count(*) FROM blobs').pluck().get() as number);
  copy.close();
  t.ok(named.length > 0 && rows > 0, `blobs of both kinds were backed up (${named.length} files, ${rows} rows of the database)`);
  t.same(blobsIn(backupDir), named, 'the backup holds exactly the blob files its database names');
  t.equal(manifest.blobs.count, named.length);

  // B's machine is lost: a new data directory, restored from the backup.
  const b = exchange.edge(B);
  await b.stop();
  exchange.edges.delete(B);
  const restoredConfig = { ...configB, dataDir: join(dir, 'b-restored') };
  const result = await restoreBackup({ node: edgeBackupTarget(restoredConfig).node, from: backupDir, lock: edgeBackupTarget(restoredConfig).lock });
  t.equal(result.replacedTo, undefined, 'nothing was replaced in an empty data directory');
  t.same(
    readdirSync(restoredConfig.dataDir).filter((f) => f.startsWith('.restore-')),
    [],
    'no staging directory is left behind',
  );

  const restored = new Edge(restoredConfig, { log: silentLogger() });
  exchange.edges.set(B, restored);
  await restored.start();
  const inbox = restored.list({ direction: 'in', page: 1, pageSize: 100 }).items.map((d) => d.documentId).sort();
  t.same(inbox, backedUp, 'the restored inbox is the one of the backup');
  const first = backedUp[0] as string;
  const attachments = restored.document(first)?.attachments ?? [];
  const file = await restored.attachment(first, attachments[0]?.contentId ?? 'cid:1');
  t.ok(file && file.content.length > 0, 'an attachment of a restored document is readable');
  const unreadable: string[] = [];
  for (const id of backedUp) {
    for (const meta of restored.document(id)?.attachments ?? []) {
      const read = await restored.attachment(id, meta.contentId);
      if (read?.content.length !== meta.size) unreadable.push(`${id} ${meta.contentId}`);
    }
  }
  t.same(unreadable, [], 'every attachment of every restored document reads back whole, rows and files alike');

  // It acts on a document it had, and receives a new one.
  await restored.lifecycle.act(first, { code: '03' });
  await waitFor('A sees 03 from the restored B', () => stageAt(a, first, B) === '03');
  const after = await a.outbox.submitDocument(letter([B], 900), 'test');
  await waitFor('the new document at 01', () => stageAt(a, after.documentId, B) === '01');
  const received = restored.document(after.documentId);
  const newFile = await restored.attachment(after.documentId, received?.attachments[0]?.contentId ?? 'cid:1');
  t.ok(newFile?.content.equals(attachmentBytes(900)), 'the restored edge stores new documents byte for byte');
});

t.test("the hub's backup taken while it routes restores into a hub that routes between the agencies it knew", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const dir = t.testdir();
  const backupDir = join(dir, 'backup-hub');
  const sent: string[] = [];
  const sending = (async () => {
    for (let n = 1; n <= 16; n += 1) sent.push((await a.outbox.submitDocument(mixedLetter([B], 100 + n), 'test')).documentId);
  })();
  await waitFor('a first documents routed', () => sent.length >= 2 && stageAt(a, sent[0] as string, B) === '01');
  const manifest = await takeBackup({ node: hubBackupTarget(exchange.hubConfig).node, to: backupDir, version: VERSION });
  await sending;
  await waitFor('all documents at 01', () => sent.every((id) => stageAt(a, id, B) === '01'));
  t.equal(manifest.kind, 'hub');
  t.equal(manifest.schemaVersion, schemaVersions().hub, 'the backup is at the schema this build writes');
  t.ok(manifest.blobs.count > 0, 'the packets the hub kept as files are in the backup');

  await t.rejects(
    restoreBackup({ node: hubBackupTarget(exchange.hubConfig).node, from: backupDir, replace: true, lock: hubBackupTarget(exchange.hubConfig).lock }),
    { code: 'NODE_RUNNING', message: /stop it before restoring/ },
    'a restore under the running hub is refused',
  );

  await exchange.hub.stop();
  const restoredConfig = { ...exchange.hubConfig, dataDir: join(dir, 'hub-restored') };
  await restoreBackup({ node: hubBackupTarget(restoredConfig).node, from: backupDir, lock: hubBackupTarget(restoredConfig).lock });
  const hub = new Hub(restoredConfig, { log: silentLogger() });
  t.teardown(() => hub.stop());
  await hub.start();
  t.same(
    hub.directory
      .list({ kind: 'agency' })
      .map((x) => x.organId)
      .sort(),
    [A, B].sort(),
    'the restored directory knows both agencies',
  );
  const after = await a.outbox.submitDocument(letter([B], 901), 'test');
  await waitFor('the restored hub routes a new document to B (01)', () => stageAt(a, after.documentId, B) === '01');
});

t.test('restores that must not happen are refused, and leave the data directory as it was', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  // With an attachment kept as a file: the backup holds a blob file to damage.
  const one = await a.outbox.submitDocument(mixedLetter([B], 4), 'test');
  await waitFor('01', () => stageAt(a, one.documentId, B) === '01');
  const configA = exchange.edgeConfigs.get(A);
  const configB = exchange.edgeConfigs.get(B);
  if (!configA || !configB) throw new Error('no configuration');
  const dir = t.testdir();
  const good = join(dir, 'good');
  await takeBackup({ node: edgeBackupTarget(configA).node, to: good, version: VERSION });
  const restoreA = (from: string, replace = false) => restoreBackup({ node: edgeBackupTarget(configA).node, from, replace, lock: edgeBackupTarget(configA).lock });

  await t.rejects(restoreA(good, true), { code: 'NODE_RUNNING' }, 'refused while the edge runs');
  await t.rejects(
    restoreBackup({ node: edgeBackupTarget(configB).node, from: good, lock: edgeBackupTarget(configB).lock }),
    { code: 'BACKUP_MISMATCH', message: new RegExp(`backup of the edge ${A.replace(/\./g, '\\.')}, not of this edge ${B.replace(/\./g, '\\.')}`) },
    "another agency's backup is refused",
  );

  await a.stop();
  exchange.edges.delete(A);
  const before = blobsIn(configA.dataDir);
  const liveDb = readFileSync(join(configA.dataDir, 'edge.sqlite'));
  await t.rejects(restoreA(good), { code: 'DATA_DIR_NOT_EMPTY', message: /--replace/ }, 'an existing database is not replaced unasked');

  // Damaged copies of the good backup.
  const { cpSync } = await import('node:fs');
  const damaged = (name: string, change: (root: string) => void): string => {
    const root = join(dir, name);
    cpSync(good, root, { recursive: true });
    change(root);
    return root;
  };
  const manifestOf = (root: string): BackupManifest => JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as BackupManifest;
  const blob = blobsIn(good)[0] as string;
  const flipped = damaged('blob-changed', (root) => {
    const path = join(root, 'blobs', blob.slice(0, 2), blob);
    writeFileSync(path, flipByte(readFileSync(path), -1));
  });
  await t.rejects(restoreA(flipped, true), { code: 'BACKUP_INVALID', message: new RegExp(`blob ${blob} holds other bytes`) }, 'a changed blob is refused');
  const dbChanged = damaged('db-changed', (root) => {
    const path = join(root, 'edge.sqlite');
    writeFileSync(path, flipByte(readFileSync(path), -100));
  });
  await t.rejects(restoreA(dbChanged, true), { code: 'BACKUP_INVALID', message: /edge\.sqlite does not match the manifest/ }, 'a changed database is refused');
  const blobGone = damaged('blob-missing', (root) => writeFileSync(join(root, 'blobs', blob.slice(0, 2), blob), ''));
  await t.rejects(restoreA(blobGone, true), { code: 'BACKUP_INVALID' }, 'an emptied blob is refused');
  const unfinished = damaged('no-manifest', (root) => writeFileSync(join(root, 'manifest.json'), '{"format": "lienthong-backup/1", "kind": "edge"'));
  await t.rejects(restoreA(unfinished, true), { code: 'BACKUP_INVALID', message: /not JSON/ }, 'a truncated manifest is refused');
  const newer = damaged('newer', (root) => writeFileSync(join(root, 'manifest.json'), JSON.stringify({ ...manifestOf(root), schemaVersion: 99 })));
  await t.rejects(restoreA(newer, true), { code: 'BACKUP_MISMATCH', message: /schema 99.*upgrade lienthong/ }, 'a backup of a newer schema is refused');

  t.same(blobsIn(configA.dataDir), before, 'the refused restores left the blobs as they were');
  t.ok(readFileSync(join(configA.dataDir, 'edge.sqlite')).equals(liveDb), 'and the database');
  t.same(
    readdirSync(configA.dataDir).filter((f) => f.startsWith('.restore-') || f.startsWith('replaced-')),
    [],
    'and left nothing behind',
  );

  // Something happens after the backup; --replace puts the backup back and keeps the rest aside.
  const edge = new Edge(configA, { log: silentLogger() });
  exchange.edges.set(A, edge);
  await edge.start();
  const two = await edge.outbox.submitDocument(mixedLetter([B], 8), 'test');
  await waitFor('01 of the second', () => stageAt(edge, two.documentId, B) === '01');
  await edge.stop();
  exchange.edges.delete(A);
  const result = await restoreA(good, true);
  t.notOk(existsSync(join(configA.dataDir, 'edge.sqlite-wal')), 'no WAL of the replaced database is left beside the restored one');
  t.ok(result.replacedTo?.startsWith(join(configA.dataDir, 'replaced-')), `the replaced data went aside: ${result.replacedTo}`);
  const aside = result.replacedTo as string;
  t.same(documentIdsIn(join(aside, 'edge.sqlite'), 'out'), [one.documentId, two.documentId].sort(), 'the replaced database, WAL folded in, is kept whole');
  t.same(documentIdsIn(join(configA.dataDir, 'edge.sqlite'), 'out'), [one.documentId], 'the data directory holds the backup');
  t.same(blobsIn(configA.dataDir), blobsIn(good), 'and exactly its blobs');
  t.ok(blobsIn(aside).length > 0, 'the blob files only the replaced database named went aside with it');
  const rowsOf = (path: string): string[] => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT sha256 FROM blobs').pluck().all() as string[];
    } finally {
      db.close();
    }
  };
  const restoredRows = new Set(rowsOf(join(configA.dataDir, 'edge.sqlite')));
  t.ok(rowsOf(join(aside, 'edge.sqlite')).some((h) => !restoredRows.has(h)), 'and its small blobs (the status packets of the second) inside it');
});
