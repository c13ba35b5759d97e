/**
 * Content-addressed storage of packets and attachments outside the database rows: each blob is
 * a file named by its SHA-256, written once (temporary file, fsync, rename), never changed;
 * deleted only by retention once no row references it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { LtError } from '../errors.js';
import { writeFileSynced } from './durable-files.js';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Small blobs written lately are also kept in memory, up to this many bytes in all: a packet
 * is read back a moment after it is written (the relay publishes what the outbox just queued),
 * and from disk that read waits in libuv's threadpool behind every other packet's writes.
 */
const RECENT_BYTES = 4 * 1024 * 1024;
/** Larger blobs (attachments, big packets) are read from disk: a few would fill the memory kept. */
const RECENT_BLOB_MAX = 256 * 1024;

export class BlobStore {
  /** Copies of the blobs written lately, oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, Buffer>();
  private recentBytes = 0;
  /**
   * The shard directories (the first two hex digits) made or found so far. A recursive mkdir on
   * every put was two blocking syscalls on the event loop, 5 % of an exchange's main thread.
   */
  private readonly shards = new Set<string>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private remember(hash: string, data: Uint8Array | string): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size > RECENT_BLOB_MAX || this.recent.has(hash)) return;
    // A copy: the caller may hand its bytes to a worker (moved, then empty) or reuse them.
    const copy = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this.recent.set(hash, copy);
    this.recentBytes += copy.length;
    for (const [old, bytes] of this.recent) {
      if (this.recentBytes <= RECENT_BYTES) break;
      this.recent.delete(old);
      this.recentBytes -= bytes.length;
    }
  }

  private forget(hash: string): void {
    const bytes = this.recent.get(hash);
    if (!bytes) return;
    this.recent.delete(hash);
    this.recentBytes -= bytes.length;
  }

  private pathOf(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new LtError('NOT_FOUND', `"${hash}" is not a blob id`);
    return join(this.dir, hash.slice(0, 2), hash);
  }

  /** Store bytes; returns their SHA-256 (hex). Storing the same bytes twice is a no-op. */
  async put(data: Uint8Array | string): Promise<string> {
    const hash = sha256Hex(data);
    const path = this.pathOf(hash);
    if (existsSync(path)) {
      // Marks the blob in use: retention leaves alone what was stored again a moment ago, before
      // the row that will reference it is committed.
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return hash;
    }
    const shard = hash.slice(0, 2);
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    this.makeShard(shard);
    try {
      await writeFileSynced(path, data, temporary);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The shard went behind the store's back (an operator's clean-up, a restore): made again, once.
      this.shards.delete(shard);
      this.makeShard(shard);
      await writeFileSynced(path, data, temporary);
    }
    this.remember(hash, data);
    return hash;
  }

  private makeShard(shard: string): void {
    if (this.shards.has(shard)) return;
    mkdirSync(join(this.dir, shard), { recursive: true });
    this.shards.add(shard);
  }

  async get(hash: string): Promise<Buffer> {
    const recent = this.recent.get(hash);
    if (recent) return Buffer.from(recent); // a copy: what the caller does with it stays its own
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
    try {
      if ((await stat(path)).mtimeMs > idleSince.getTime()) return false;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.forget(hash);
        return true;
      }
      throw error;
    }
    this.forget(hash);
    await rm(path, { force: true });
    return true;
  }

  async size(hash: string): Promise<number> {
    return (await stat(this.pathOf(hash))).size;
  }
}
