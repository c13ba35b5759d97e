/**
 * The blob store keeps copies of the small blobs it wrote lately: a packet read back a moment
 * after it was written (the relay publishing what the outbox just queued) does not wait for a
 * file read behind every other write in the threadpool. Seen by taking the file away behind the
 * store's back: a blob kept in memory still reads, one that is not kept (too large, or removed
 * by retention) does not.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BlobStore, sha256Hex } from '../../src/store/blobs.js';

const fileOf = (store: BlobStore, hash: string): string => join(store.dir, hash.slice(0, 2), hash);

t.test('a small blob just written is read from memory, as written', async (t) => {
  const store = new BlobStore(t.testdir());
  const bytes = Buffer.from('<edXML>văn bản hỏa tốc</edXML>');
  const hash = await store.put(bytes);
  bytes.fill(0); // the caller's buffer is its own: the store kept a copy
  rmSync(fileOf(store, hash));
  t.equal((await store.get(hash)).toString(), '<edXML>văn bản hỏa tốc</edXML>');
  const text = await store.put('trạng thái 01');
  rmSync(fileOf(store, text));
  t.equal((await store.get(text)).toString(), 'trạng thái 01', 'text too');
});

t.test('a large blob is read from disk, and a removed one is forgotten', async (t) => {
  const store = new BlobStore(t.testdir());
  const large = await store.put(Buffer.alloc(1024 * 1024, 7));
  rmSync(fileOf(store, large));
  await t.rejects(store.get(large), { code: 'IO' }, 'a megabyte is not kept in memory');
  const small = await store.put(Buffer.from('đã nhận'));
  t.equal(await store.remove(small, new Date(Date.now() + 60_000)), true);
  await t.rejects(store.get(small), { code: 'IO' }, 'what retention removed is gone from memory too');
});

t.test('a shard directory removed behind the store is made again', async (t) => {
  const store = new BlobStore(t.testdir());
  const first = await store.put('văn bản 1');
  rmSync(join(store.dir, first.slice(0, 2)), { recursive: true });
  // Another blob in the same shard: the store remembers the directory it made, which is gone.
  let n = 2;
  let content = `văn bản ${n}`;
  while (sha256Hex(content).slice(0, 2) !== first.slice(0, 2)) content = `văn bản ${++n}`;
  const second = await store.put(content);
  t.equal(readFileSync(fileOf(store, second), 'utf8'), content, 'written to disk in the re-made shard');
  t.equal((await store.put('văn bản 1')), first, 'and the first one stored again');
  t.equal(readFileSync(fileOf(store, first), 'utf8'), 'văn bản 1');
});
