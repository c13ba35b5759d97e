/**
 * Databases written by the first released lienthong (schema 1 of edge and hub, kept as SQL in
 * test/fixtures/schema/) open with today's migrations and stay usable: the migrated edge shows
 * its old documents and attachments, sends nothing twice, and exchanges new documents through
 * the real RabbitMQ; the migrated hub reads its directory and is backed up and restored.
 * Also: schema 1 of today's migration lists is still the schema of the fixtures, since a
 * migration changed in place would leave the databases in the field behind.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hubBackupTarget } from '../../src/cli/backup-targets.js';
import type { HubConfig } from '../../src/hub/config.js';
import { Directory } from '../../src/hub/directory.js';
import { restoreBackup, takeBackup } from '../../src/store/backup.js';
import { openDatabase, type Migration } from '../../src/store/db.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { A, B, agency, hubPacket, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';
import { REPO } from '../helpers/pki.js';

const FIXTURES = join(REPO, 'test', 'fixtures', 'schema');
const OLD_IN = '000.00.01.H12,2025/06/02,7/UBND-VP';
const OLD_OUT = '000.00.05.H12,2025/06/03,12/STC-NS';
const OLD_OUT_PACKET = '6a1f4c2e-0d6b-4f6e-9a57-3b8f2f0c1a03';

/** A data directory as the first lienthong left it: the database from the SQL, the blobs beside it. */
function oldDataDir(dir: string, sql: string, database: string): string {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, database));
  db.exec(readFileSync(join(FIXTURES, sql), 'utf8'));
  db.close();
  for (const hash of readdirSync(join(FIXTURES, 'v1-blobs'))) {
    mkdirSync(join(dir, 'blobs', hash.slice(0, 2)), { recursive: true });
    copyFileSync(join(FIXTURES, 'v1-blobs', hash), join(dir, 'blobs', hash.slice(0, 2), hash));
  }
  return dir;
}

/** Each table's columns (name, type, not null, default, key): what a schema is, comments aside. */
function columns(db: Database.Database): Record<string, unknown[]> {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name").pluck().all() as string[];
  return Object.fromEntries(tables.map((table) => [table, db.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)').all(table)]));
}

function schemaOne(migrations: readonly Migration[]): Record<string, unknown[]> {
  const db = new Database(':memory:');
  db.exec((migrations.find((m) => m.version === 1) as Migration).sql);
  const result = columns(db);
  db.close();
  return result;
}

t.test('schema 1 of the migrations is still the one the fixtures hold', async (t) => {
  for (const [sql, migrations] of [
    ['edge-v1.sql', EDGE_MIGRATIONS],
    ['hub-v1.sql', HUB_MIGRATIONS],
  ] as const) {
    const db = new Database(':memory:');
    db.exec(readFileSync(join(FIXTURES, sql), 'utf8'));
    t.same(columns(db), schemaOne(migrations), `${sql} has the tables and columns of migration 1`);
    db.close();
  }
});

t.test("an edge database of schema 1 migrates to today's and the edge goes on exchanging", async (t) => {
  const observed = await openExchange(t, [agency(A), agency(B, { start: false })]);
  const { exchange } = observed;
  const configB = exchange.edgeConfigs.get(B);
  if (!configB) throw new Error('no configuration for B');
  oldDataDir(configB.dataDir, 'edge-v1.sql', 'edge.sqlite');
  const b = await observed.startEdge(B);
  const a = exchange.edge(A);

  const versions = b.db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
  t.same(versions, EDGE_MIGRATIONS.map((m) => m.version), 'every migration ran, once');
  t.same(
    b.list({ direction: 'in', page: 1, pageSize: 10 }).items.map((d) => d.documentId),
    [OLD_IN],
    'the document received under schema 1 is in the inbox',
  );
  const old = b.document(OLD_IN);
  t.equal(old?.document.sender, A);
  t.same(old?.deliveries.map((d) => [d.recipient, d.stage]), [[B, '01']]);
  const file = await b.attachment(OLD_IN, 'cid:1');
  t.equal(file?.content.toString('utf8'), '%PDF-1.4 tệp đính kèm công văn 7\n', 'its attachment is read from the blob store');
  const sent = b.document(OLD_OUT);
  t.same(sent?.timeline.map((e) => e.event), ['sent', '01'], "the sent document's timeline is kept");

  // New documents both ways, through the migrated tables.
  const toB = await a.outbox.submitDocument(letter([B], 301), 'test');
  await waitFor('01 from the migrated edge', () => stageAt(a, toB.documentId, B) === '01');
  await b.lifecycle.act(toB.documentId, { code: '03' });
  await waitFor('03 from the migrated edge', () => stageAt(a, toB.documentId, B) === '03');
  const fromB = await b.outbox.submitDocument(letter([A], 302), 'test');
  await waitFor('01 at the migrated edge', () => stageAt(b, fromB.documentId, A) === '01');
  t.equal(hubPacket(exchange, OLD_OUT_PACKET), undefined, 'a packet sent under schema 1 is not sent again');
});

t.test("a hub database of schema 1 migrates to today's, reads its directory, and is backed up and restored", async (t) => {
  const dir = t.testdir();
  const dataDir = oldDataDir(join(dir, 'hub'), 'hub-v1.sql', 'hub.sqlite');
  const db = openDatabase(join(dataDir, 'hub.sqlite'), HUB_MIGRATIONS);
  t.same(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), HUB_MIGRATIONS.map((m) => m.version), 'every migration ran, once');
  const agencies = new Directory(db).list({ kind: 'agency' });
  t.same(
    agencies.map((x) => [x.organId, x.status, x.queueToken]),
    [
      [A, 'active', ''],
      [B, 'active', ''],
    ],
    'the agencies are in the directory, with the old queue names (no token) until provisioned again',
  );
  t.same(db.prepare('SELECT stage FROM deliveries WHERE document_id = ?').pluck().all(OLD_IN), ['01']);
  db.close();

  // Backup and restore need of a hub's configuration its organ id and data directory only.
  const hubAt = (at: string): HubConfig => ({ organId: '000.00.90.H12', dataDir: at, identity: { key: 'hub.key.pem', cert: 'hub.pem' }, trust: { anchors: ['root.pem'] } }) as HubConfig;
  const manifest = await takeBackup({ node: hubBackupTarget(hubAt(dataDir)).node, to: join(dir, 'backup'), version: 'test' });
  t.equal(manifest.schemaVersion, HUB_MIGRATIONS.length, 'the backup is at the migrated schema');
  t.equal(manifest.blobs.count, 2, 'with the two blobs its rows name');
  const restored = hubBackupTarget(hubAt(join(dir, 'restored')));
  await restoreBackup({ node: restored.node, from: join(dir, 'backup'), lock: restored.lock });
  const again = openDatabase(join(dir, 'restored', 'hub.sqlite'), HUB_MIGRATIONS);
  t.equal(new Directory(again).list({ kind: 'agency' }).length, 2, 'the restored hub database reads the same directory');
  again.close();
});
