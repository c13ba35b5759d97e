/**
 * Content-addressed storage of packets and attachments outside the rows that name them: each
 * blob is named by its SHA-256, written once, never changed; deleted only by retention once no
 * row references it.
 *
 * Small blobs (most packets, statuses, small attachments) are rows of the node's own database;
 * larger ones are files (temporary file, fsync, rename). A file cost five trips through libuv's
 * threadpool and an fsync, 2.3 ms of CPU and 4.3 ms of wall time for a 6.5 KB packet on the
 * development VM, against 0.15 / 0.32 ms for the row: six such writes per document exchanged
 * were a third of the CPU an exchange spends on it. A row is as durable as the row that will
 * name it, written to the same log before it, so no crash keeps the reference without the bytes.
 * Files written before the database kept small blobs are still read, and deleted, as files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, statfsSync, type StatsFs } from 'node:fs';
import { readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './db.js';
import { LtError } from '../errors.js';
import { writeFileSynced } from './durable-files.js';
import { assertHeadroom } from './faults.js';

/** The table of the small blobs, in the edge's and the hub's schema alike. */
export const BLOB_TABLE_SCHEMA = `
-- Blobs of up to 256 KiB: packets and attachments named by the SHA-256 of their bytes, as the
-- larger ones are named in blobs/ on disk. stored_at is the last time they were stored:
-- retention leaves alone what was stored again after it decided nobody names it.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  content BLOB NOT NULL,
  stored_at TEXT NOT NULL
);
`;

/**
 * The largest blob kept in the database. SQLite reads and writes blobs of this size faster than
 * a file system does files; larger ones would make every checkpoint copy megabytes through the
 * write-ahead log on the event loop's thread.
 */
export const DATABASE_BLOB_MAX = 256 * 1024;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export class BlobStore {
  /**
   * The shard directories (the first two hex digits) made or found so far. A recursive mkdir on
   * every put was two blocking syscalls on the event loop, 5 % of an exchange's main thread.
   */
  private readonly shards = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly db: Db,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new LtError('NOT_FOUND', `"${hash}" is not a blob id`);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  /** Store bytes; returns their SHA-256 (hex). Storing the same bytes twice stores them once. */
  async put(data: Uint8Array | string): Promise<string> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const hash = sha256Hex(bytes);
    this.assertRoom();
    if (bytes.length <= DATABASE_BLOB_MAX) {
      // Stored again: marked in use, so that retention leaves it alone before the row that will
      // name it is committed. The row is written now, before put's caller can move the bytes away.
      this.db
        .prepare('INSERT INTO blobs (sha256, content, stored_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET stored_at = excluded.stored_at')
        .run(hash, bytes, new Date().toISOString());
      return hash;
    }
    const path = this.pathOf(hash);
    if (await stat(path).then(() => true, () => false)) {
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return hash;
    }
    const shard = hash.slice(0, 2);
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    this.makeShard(shard);
    try {
      await writeFileSynced(path, bytes, temporary);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The shard went behind the store's back (an operator's clean-up, a restore): made again, once.
      this.shards.delete(shard);
      this.makeShard(shard);
      await writeFileSynced(path, bytes, temporary);
    }
    return hash;
  }

  /**
   * A disk with less than the headroom free takes no packet (ENOSPC, a STORAGE_FULL fault): the
   * database's write-ahead log keeps the space it grew to, and commits into that space succeed
   * on a full disk, so without this a node noticed its full disk only megabytes of packets
   * later, and then in the middle of a checkpoint. The fault gate's probe reopens at the same
   * headroom. A statfs costs about 2 µs.
   */
  private assertRoom(): void {
    assertHeadroom(this.statfs(), this.dir);
  }

  private statfs(): StatsFs {
    try {
      return statfsSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The directory went behind the store's back (an operator's clean-up, a restore): made again.
      this.shards.clear();
      mkdirSync(this.dir, { recursive: true });
      return statfsSync(this.dir);
    }
  }

  private makeShard(shard: string): void {
    if (this.shards.has(shard)) return;
    mkdirSync(join(this.dir, shard), { recursive: true });
    this.shards.add(shard);
  }

  /** The bytes of a blob, a copy the caller owns. */
  async get(hash: string): Promise<Buffer> {
    const row = this.db.prepare('SELECT content FROM blobs WHERE sha256 = ?').pluck().get(hash) as Buffer | undefined;
    if (row) return row;
    try {
      return await readFile(this.pathOf(hash));
    } catch (error) {
      if (error instanceof LtError) throw error;
      // Stored data that is gone is a fault of this installation, not a wrong request.
      throw new LtError('IO', `stored content ${hash} is missing from the blob store (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, {}, { cause: error });
    }
  }

  /**
   * Delete a blob (retention) unless it was stored after `idleSince`. The store cannot know who
   * else holds the hash: the caller checks that no row references it any more. True when the
   * blob is gone (already gone included).
   */
  async remove(hash: string, idleSince: Date): Promise<boolean> {
    const path = this.pathOf(hash);
    const storedAt = this.db.prepare('SELECT stored_at FROM blobs WHERE sha256 = ?').pluck().get(hash) as string | undefined;
    if (storedAt !== undefined) {
      if (storedAt > idleSince.toISOString()) return false;
      this.db.prepare('DELETE FROM blobs WHERE sha256 = ? AND stored_at <= ?').run(hash, idleSince.toISOString());
    }
    try {
      if ((await stat(path)).mtimeMs > idleSince.getTime()) return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    await rm(path, { force: true });
    return true;
  }
}
