/**
 * The blob store keeps small blobs as rows of the node's database and larger ones as files
 * (src/store/blobs.ts). Seen from outside: where each blob lands, that it reads back as the
 * caller's bytes were when stored, that a blob stored again is kept from retention, and that
 * small blobs written as files by an earlier lienthong are still read and removed, and that a
 * disk with less than the headroom free takes none.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BlobStore, DATABASE_BLOB_MAX, sha256Hex } from '../../src/store/blobs.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { classifyFault, STORAGE_HEADROOM_BYTES } from '../../src/store/faults.js';
import { cannotMount, fill, smallDisk } from '../helpers/small-disk.js';

function openStore(t: Test, migrations = EDGE_MIGRATIONS): { store: BlobStore; db: Db; dir: string } {
  const dir = t.testdir();
  const db = openDatabase(join(dir, 'node.sqlite'), migrations);
  t.teardown(() => db.close());
  return { store: new BlobStore(join(dir, 'blobs'), db), db, dir };
}

const fileOf = (store: BlobStore, hash: string): string => join(store.dir, hash.slice(0, 2), hash);
const rowOf = (db: Db, hash: string): { content: Buffer; stored_at: string } | undefined =>
  db.prepare('SELECT content, stored_at FROM blobs WHERE sha256 = ?').get(hash) as { content: Buffer; stored_at: string } | undefined;

t.test('a small blob is a row of the database, read back as it was stored', async (t) => {
  for (const migrations of [EDGE_MIGRATIONS, HUB_MIGRATIONS]) {
    const { store, db } = openStore(t, migrations);
    const bytes = Buffer.from('<edXML>văn bản hỏa tốc</edXML>');
    const hash = await store.put(bytes);
    t.equal(hash, sha256Hex('<edXML>văn bản hỏa tốc</edXML>'), 'named by the SHA-256 of its bytes');
    bytes.fill(0); // the caller's buffer stays its own
    t.notOk(existsSync(fileOf(store, hash)), 'no file is written');
    t.equal(rowOf(db, hash)?.content.toString(), '<edXML>văn bản hỏa tốc</edXML>', 'the row holds the bytes as they were stored');
    const read = await store.get(hash);
    t.equal(read.toString(), '<edXML>văn bản hỏa tốc</edXML>');
    read.fill(0);
    t.equal((await store.get(hash)).toString(), '<edXML>văn bản hỏa tốc</edXML>', 'what get returns is a copy the caller may change');
    const text = await store.put('trạng thái 01');
    t.equal((await store.get(text)).toString('utf8'), 'trạng thái 01', 'text is stored as its UTF-8 bytes');
    const view = new Uint8Array(Buffer.from('..đã nhận..')).subarray(2, -2);
    t.equal((await store.get(await store.put(view))).toString('utf8'), 'đã nhận', 'a view stores only its own bytes');
  }
});

t.test('the largest blob kept in the database, and the first that is a file', async (t) => {
  const { store, db } = openStore(t);
  const inDb = await store.put(Buffer.alloc(DATABASE_BLOB_MAX, 1));
  const onDisk = await store.put(Buffer.alloc(DATABASE_BLOB_MAX + 1, 2));
  t.ok(rowOf(db, inDb), `${DATABASE_BLOB_MAX} bytes: a row`);
  t.notOk(existsSync(fileOf(store, inDb)));
  t.notOk(rowOf(db, onDisk), 'one byte more: no row');
  t.same(readFileSync(fileOf(store, onDisk)), Buffer.alloc(DATABASE_BLOB_MAX + 1, 2), '…but a file with its bytes');
  t.same(await store.get(onDisk), Buffer.alloc(DATABASE_BLOB_MAX + 1, 2));
  t.equal(await store.put(Buffer.alloc(DATABASE_BLOB_MAX + 1, 2)), onDisk, 'stored again: the same name');
});

t.test('a blob nobody has, and a name that is no blob id', async (t) => {
  const { store } = openStore(t);
  await t.rejects(store.get(sha256Hex('never stored')), { code: 'IO', message: /is missing from the blob store/ });
  await t.rejects(store.get('../../etc/passwd'), { code: 'NOT_FOUND' });
});

t.test('retention removes an idle blob, not one stored again since', async (t) => {
  const { store, db } = openStore(t);
  const idle = await store.put('đã nhận');
  const busy = await store.put('đã từ chối');
  const large = await store.put(Buffer.alloc(DATABASE_BLOB_MAX * 2, 3));
  const decidedAt = new Date(Date.now() + 60_000);
  t.equal(await store.remove(idle, decidedAt), true, 'an idle row is removed');
  t.notOk(rowOf(db, idle));
  await t.rejects(store.get(idle), { code: 'IO' }, 'and reads no more');
  t.equal(await store.remove(idle, decidedAt), true, 'removing what is gone: gone');

  // Stored again after retention decided that nobody names it: a row about to name it is coming.
  db.prepare('UPDATE blobs SET stored_at = ? WHERE sha256 = ?').run(new Date(Date.now() - 120_000).toISOString(), busy);
  const decided = new Date(Date.now() - 60_000);
  await store.put('đã từ chối');
  t.equal(await store.remove(busy, decided), false, 'kept');
  t.equal((await store.get(busy)).toString(), 'đã từ chối');

  t.equal(await store.remove(large, decidedAt), true, 'a file is removed too');
  t.notOk(existsSync(fileOf(store, large)));
});

t.test('small blobs written as files by an earlier lienthong are read and removed as files', async (t) => {
  const { store, db } = openStore(t);
  const content = 'văn bản lưu trước khi nâng cấp';
  const hash = sha256Hex(content);
  mkdirSync(join(store.dir, hash.slice(0, 2)), { recursive: true });
  writeFileSync(fileOf(store, hash), content);
  t.equal((await store.get(hash)).toString(), content, 'read from its file');
  t.equal(await store.remove(hash, new Date(Date.now() + 60_000)), true);
  t.notOk(existsSync(fileOf(store, hash)), 'its file is gone');
  t.notOk(rowOf(db, hash));

  // Stored again by this lienthong: a row, and both copies go when retention removes it.
  writeFileSync(fileOf(store, hash), content);
  await store.put(content);
  t.ok(rowOf(db, hash));
  t.equal(await store.remove(hash, new Date(Date.now() + 60_000)), true);
  t.notOk(existsSync(fileOf(store, hash)), 'the file');
  t.notOk(rowOf(db, hash), 'and the row');
});

t.test('a row survives the database being closed and opened again by another connection', async (t) => {
  const dir = t.testdir();
  const first = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  const hash = await new BlobStore(join(dir, 'blobs'), first).put('công văn số 7');
  first.close();
  const again = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  t.teardown(() => again.close());
  t.equal((await new BlobStore(join(dir, 'blobs'), again).get(hash)).toString(), 'công văn số 7');
});

t.test('a shard directory removed behind the store is made again', async (t) => {
  const { store } = openStore(t);
  const large = (n: number): Buffer => Buffer.concat([Buffer.from(`văn bản ${n}`), Buffer.alloc(DATABASE_BLOB_MAX)]);
  const first = await store.put(large(1));
  rmSync(join(store.dir, first.slice(0, 2)), { recursive: true });
  // Another blob in the same shard: the store remembers the directory it made, which is gone.
  let n = 2;
  while (sha256Hex(large(n)).slice(0, 2) !== first.slice(0, 2)) n += 1;
  const second = await store.put(large(n));
  t.same(readFileSync(fileOf(store, second)), large(n), 'written to disk in the re-made shard');
  t.equal(await store.put(large(1)), first, 'and the first one stored again');
  t.same(readFileSync(fileOf(store, first)), large(1));
});

t.test('the blob directory removed behind the store is made again, for rows and files alike', async (t) => {
  const { store, db } = openStore(t);
  const large = Buffer.concat([Buffer.from('phụ lục'), Buffer.alloc(DATABASE_BLOB_MAX)]);
  await store.put(large);
  rmSync(store.dir, { recursive: true });
  const small = await store.put(Buffer.from('<edXML>sau khi dọn thư mục</edXML>'));
  t.equal(rowOf(db, small)?.content.toString(), '<edXML>sau khi dọn thư mục</edXML>', 'a small blob is stored as its row');
  const again = await store.put(large);
  t.same(readFileSync(fileOf(store, again)), large, 'a large one is written in the re-made directory');
});

t.test('a disk with less than the headroom free takes no blob, small or large', { skip: cannotMount('the free-space test') }, async (t) => {
  const disk = smallDisk(t, 'blobs', '4m');
  const db = openDatabase(join(disk, 'node.sqlite'), EDGE_MIGRATIONS);
  t.teardown(() => db.close());
  const store = new BlobStore(join(disk, 'blobs'), db);
  const kept = await store.put(Buffer.from('stored before the disk filled'));
  const filler = fill(disk);
  const freeAfter = (bytes: number): void => truncateSync(filler, statSync(filler).size - bytes);

  // SQLite would still commit into the space its write-ahead log already holds; the store refuses first.
  freeAfter(STORAGE_HEADROOM_BYTES - 64 * 1024);
  for (const bytes of [Buffer.from('<edXML>văn bản</edXML>'), Buffer.alloc(DATABASE_BLOB_MAX + 1, 0x41)]) {
    const error = await store.put(bytes).then(() => undefined, (e: unknown) => e);
    t.equal(classifyFault(error)?.code, 'STORAGE_FULL', `a ${bytes.length}-byte blob is refused as a full disk`);
    t.match(String((error as Error | undefined)?.message), /bytes free in .*blobs, fewer than the 1048576 a node keeps free/);
    t.notOk(rowOf(db, sha256Hex(bytes)), 'no row is written');
    t.notOk(existsSync(fileOf(store, sha256Hex(bytes))), 'no file is written');
  }
  t.equal((await store.get(kept)).toString(), 'stored before the disk filled', 'what was stored stays readable');

  freeAfter(2 * STORAGE_HEADROOM_BYTES);
  const small = await store.put(Buffer.from('<edXML>văn bản</edXML>'));
  t.equal((await store.get(small)).toString(), '<edXML>văn bản</edXML>', 'with the headroom free again, blobs are stored');
});
