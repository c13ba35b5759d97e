/**
 * A node's backup, taken while it runs, and its restore into a stopped node.
 *
 * Consistency: the database is copied with SQLite's online backup API in one step, that is
 * under one read transaction, so the copy is the database as of one commit while the node
 * goes on writing (WAL: readers never block the writer). Small blobs are rows of the database
 * (store/blobs.ts) and come with it. Blob files are written, fsynced and renamed before the
 * row that names them commits and never change, so every blob file the copy names existed
 * when the copy was taken; the backup copies exactly those. Only retention deletes blobs,
 * after the commit that stops naming them: a blob gone between the snapshot and its copy
 * means a newer snapshot no longer names it, so the backup takes one again.
 *
 * A backup directory holds the database (rollback journal, one self-contained file), the
 * blob files it names (blobs/xx/<sha256>, as in the data directory), a copy of the configuration
 * file, and manifest.json, written last: a directory without one is an interrupted backup.
 * The manifest lists each file with its size and SHA-256; the blob files, named by their own
 * SHA-256, are summed up (count, bytes, a digest of the sorted list) rather than listed again.
 *
 * A restore verifies everything while copying it into a staging directory inside the data
 * directory (same file system: the moves below are renames), checks the database, then
 * commits in an order where a crash at any point leaves a node that starts consistent:
 * blobs are added first (content-addressed: the old database still finds its own), the
 * database file is renamed into place (the commit), then the old database's own blobs move
 * aside with it.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LtError } from '../errors.js';
import type { Migration } from './db.js';
import type { InstanceLock } from './instance-lock.js';
import { syncDirectory, syncFile } from './durable-files.js';

export const BACKUP_FORMAT = 'lienthong-backup/1';
export const MANIFEST_FILE = 'manifest.json';
const BLOBS = 'blobs';
const CONFIG_DIR = 'config';
/** Snapshots taken before a backup gives up on blobs retention keeps deleting under it. */
const SNAPSHOT_ATTEMPTS = 3;
/** Blobs copied at the same time. */
const COPIES_AT_ONCE = 8;

export type NodeKind = 'edge' | 'hub';

/** What is backed up: one node's data directory. */
export interface NodeData {
  kind: NodeKind;
  organId: string;
  dataDir: string;
  /** The database's file name, in the data directory and in the backup. */
  database: string;
  migrations: readonly Migration[];
}

/**
 * Every column that names a blob. A migration that adds one adds it here too (a unit test
 * compares this list with the schema).
 */
export const BLOB_REFERENCES: Readonly<Record<NodeKind, ReadonlyArray<{ table: string; column: string }>>> = {
  edge: [
    { table: 'outbox', column: 'blob' },
    { table: 'documents', column: 'blob' },
    { table: 'received_packets', column: 'blob' },
    { table: 'attachments', column: 'sha256' },
  ],
  hub: [
    { table: 'packets', column: 'blob' },
    { table: 'outbound', column: 'blob' },
    // '' marks bytes retention deleted (the column is NOT NULL).
    { table: 'dead_letters', column: 'blob' },
  ],
};

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface BlobSummary {
  count: number;
  bytes: number;
  /** SHA-256 of the lines "<sha256> <size>\n" of every blob, sorted. */
  listSha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  kind: NodeKind;
  organId: string;
  /** When the database was copied. */
  createdAt: string;
  /** The lienthong that wrote the backup. */
  lienthong: string;
  schemaVersion: number;
  /** The database first, then the configuration file when there is one. */
  files: ManifestFile[];
  blobs: BlobSummary;
  /** Files the configuration names that the backup does not hold (keys, certificates, CRLs): the operator keeps them. */
  notIncluded: string[];
}

export interface BackupOptions {
  node: NodeData;
  to: string;
  /** The configuration file, copied into config/. */
  configFile?: string;
  notIncluded?: string[];
  version: string;
  clock?: () => Date;
}

export async function takeBackup(options: BackupOptions): Promise<BackupManifest> {
  const { node, to } = options;
  const source = join(node.dataDir, node.database);
  if (!existsSync(source)) {
    throw new LtError('IO', `there is no database at ${source}: nothing to back up (has this ${node.kind} ever started? check dataDir / LT_DATA_DIR)`, { path: 'dataDir' });
  }
  await prepareEmptyDirectory(to);
  try {
    return await writeBackup(options, source);
  } catch (error) {
    // What was written is no backup: the directory is left empty for the next attempt.
    for (const entry of await readdir(to).catch(() => [])) await rm(join(to, entry), { recursive: true, force: true });
    throw error;
  }
}

async function writeBackup(options: BackupOptions, source: string): Promise<BackupManifest> {
  const { node, to } = options;
  const target = join(to, node.database);
  const copied = new Map<string, number>();
  let snapshot: Snapshot | undefined;
  let createdAt = new Date();
  for (let attempt = 1; !snapshot; attempt += 1) {
    createdAt = (options.clock ?? (() => new Date()))();
    await rm(target, { force: true });
    const taken = await snapshotDatabase(source, target, node.kind);
    const missing: string[] = [];
    await forEachAtOnce(
      [...taken.blobs].filter((hash) => !copied.has(hash)),
      async (hash) => {
        const size = await copyBlob(node.dataDir, to, hash);
        if (size === undefined) missing.push(hash);
        else copied.set(hash, size);
      },
    );
    if (missing.length === 0) snapshot = taken;
    else if (attempt >= SNAPSHOT_ATTEMPTS) {
      throw new LtError(
        'BACKUP_INVALID',
        `the database of ${source} names ${missing.length} blob(s) missing from ${join(node.dataDir, BLOBS)} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}): ` +
          'the data directory is damaged; nothing usable was written to the backup',
        { path: 'dataDir' },
      );
    }
    // else: retention deleted them after the snapshot; a new snapshot no longer names them.
  }
  // Blobs copied for an earlier snapshot that the final one no longer names (retention) go.
  for (const hash of [...copied.keys()]) {
    if (snapshot.blobs.has(hash)) continue;
    await rm(blobPath(to, hash), { force: true });
    copied.delete(hash);
  }
  await chmod(target, 0o600);
  const files: ManifestFile[] = [{ path: node.database, ...(await hashFile(target)) }];
  if (options.configFile) {
    const path = join(CONFIG_DIR, basename(options.configFile));
    await mkdir(join(to, CONFIG_DIR), { mode: 0o700 });
    await copyFile(options.configFile, join(to, path));
    await chmod(join(to, path), 0o600);
    await syncFile(join(to, path));
    files.push({ path, ...(await hashFile(join(to, path))) });
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    kind: node.kind,
    organId: node.organId,
    createdAt: createdAt.toISOString(),
    lienthong: options.version,
    schemaVersion: snapshot.schemaVersion,
    files,
    blobs: summarise(copied),
    notIncluded: options.notIncluded ?? [],
  };
  for (const dir of await blobDirectories(to)) await syncDirectory(dir);
  await syncDirectory(join(to, BLOBS));
  // Written last, through a rename: its presence says the backup is whole.
  await writeFile(join(to, `${MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await syncFile(join(to, `${MANIFEST_FILE}.tmp`));
  await rename(join(to, `${MANIFEST_FILE}.tmp`), join(to, MANIFEST_FILE));
  await syncDirectory(to);
  return manifest;
}

interface Snapshot {
  schemaVersion: number;
  blobs: Set<string>;
}

/** The database as of one commit, copied to `target` and checked there; what it names. */
async function snapshotDatabase(source: string, target: string, kind: NodeKind): Promise<Snapshot> {
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true, timeout: 5000 });
  } catch (error) {
    throw new LtError('IO', `cannot open the database ${source}: ${(error as Error).message}`, { path: 'dataDir' });
  }
  try {
    // Every page in one step: one read transaction, so no write of the running node restarts it.
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const copy = new Database(target);
  try {
    // One self-contained file, readable by any sqlite3 without a -wal beside it.
    copy.pragma('journal_mode = DELETE');
    assertIntact(copy, target);
    assertDatabaseBlobsIntact(copy, target);
    return { schemaVersion: schemaVersionOf(copy), blobs: referencedBlobFiles(copy, kind) };
  } finally {
    copy.close();
  }
}

function assertIntact(db: Database.Database, path: string): void {
  const problems = (db.pragma('integrity_check', { simple: false }) as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new LtError('BACKUP_INVALID', `the database ${path} fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`, { path });
  }
}

export function schemaVersionOf(db: Database.Database): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!exists) return 0;
  return (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
}

/**
 * Every blob the database names (columns of tables its schema has) that it does not hold
 * itself: the files a backup copies and a restore needs.
 */
export function referencedBlobFiles(db: Database.Database, kind: NodeKind): Set<string> {
  const held = hasTable(db, 'blobs') ? db.prepare('SELECT 1 FROM blobs WHERE sha256 = ?').pluck() : undefined;
  const hashes = new Set<string>();
  for (const { table, column } of BLOB_REFERENCES[kind]) {
    const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>;
    if (!columns.some((c) => c.name === column)) continue; // an older schema without it
    const rows = db.prepare(`SELECT DISTINCT "${column}" AS h FROM "${table}" WHERE "${column}" IS NOT NULL AND "${column}" <> ''`).pluck().all() as string[];
    for (const h of rows) if (held?.get(h) === undefined) hashes.add(h);
  }
  return hashes;
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The blobs the database holds have the bytes their names say, as the copied files are checked to. */
function assertDatabaseBlobsIntact(db: Database.Database, path: string): void {
  if (!hasTable(db, 'blobs')) return;
  for (const row of db.prepare('SELECT sha256, content FROM blobs').iterate() as Iterable<{ sha256: string; content: Buffer }>) {
    const found = createHash('sha256').update(row.content).digest('hex');
    if (found !== row.sha256) {
      throw new LtError('BACKUP_INVALID', `the blob ${row.sha256} held in the database ${path} is damaged: its bytes hash to ${found}; the data directory needs repair`, { path: 'dataDir' });
    }
  }
}

function blobPath(root: string, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new LtError('BACKUP_INVALID', `"${hash}" is not a blob id`);
  return join(root, BLOBS, hash.slice(0, 2), hash);
}

/** Copy one blob of a data directory into the backup, checking its bytes; undefined when it is gone. */
async function copyBlob(dataDir: string, to: string, hash: string): Promise<number | undefined> {
  const target = blobPath(to, hash);
  await mkdir(join(to, BLOBS, hash.slice(0, 2)), { recursive: true, mode: 0o700 });
  let copied: { size: number; sha256: string };
  try {
    copied = await copyHashed(blobPath(dataDir, hash), target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (copied.sha256 !== hash) {
    await rm(target, { force: true });
    throw new LtError('BACKUP_INVALID', `the blob ${blobPath(dataDir, hash)} is damaged: its bytes hash to ${copied.sha256}; the data directory needs repair`, { path: 'dataDir' });
  }
  return copied.size;
}

/**
 * Run `fn` over `items`, `COPIES_AT_ONCE` at a time: copying blobs one by one waits on each
 * fsync in turn; a few in flight overlap them (a blob store is thousands of small files).
 */
async function forEachAtOnce<T>(items: Iterable<T>, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  let failed = false;
  const worker = async (): Promise<void> => {
    // After a failure the others stop taking items, and all have settled when this returns:
    // nothing writes into a staging directory once its caller removes it.
    for (let item = queue.shift(); item !== undefined && !failed; item = queue.shift()) {
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(COPIES_AT_ONCE, queue.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Copy a file, fsynced, and say what was copied (size and SHA-256 of the bytes written). */
async function copyHashed(from: string, to: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(from), tap, createWriteStream(to, { mode: 0o600 }));
  await syncFile(to);
  return { size, sha256: hash.digest('hex') };
}

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

function summarise(blobs: ReadonlyMap<string, number>): BlobSummary {
  const sorted = [...blobs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = createHash('sha256');
  let bytes = 0;
  for (const [hash, size] of sorted) {
    digest.update(`${hash} ${size}\n`);
    bytes += size;
  }
  return { count: sorted.length, bytes, listSha256: digest.digest('hex') };
}

async function prepareEmptyDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new LtError('IO', `cannot use ${dir}: ${(error as Error).message}`, { path: dir });
    entries = [];
  }
  if (entries.length > 0) throw new LtError('USAGE', `${dir} is not empty: a backup goes into a new or empty directory (one directory per backup)`, { path: dir });
  await mkdir(join(dir, BLOBS), { recursive: true, mode: 0o700 });
  // Documents of the agencies: only the operator reads them.
  await chmod(dir, 0o700).catch(() => {});
}

async function blobDirectories(root: string): Promise<string[]> {
  const dir = join(root, BLOBS);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)).map((e) => join(dir, e.name));
}

/** Every blob file under root/blobs, by hash; other files (a writer's *.tmp) are not blobs. */
async function listBlobs(root: string): Promise<string[]> {
  const hashes: string[] = [];
  for (const dir of await blobDirectories(root)) {
    for (const name of await readdir(dir)) if (/^[0-9a-f]{64}$/.test(name) && name.startsWith(basename(dir))) hashes.push(name);
  }
  return hashes;
}

// --- verifying and restoring -----------------------------------------------------------------

/** The manifest of a backup directory, checked for shape (not yet against the files). */
export async function readManifest(from: string): Promise<BackupManifest> {
  const path = join(from, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LtError('BACKUP_INVALID', `${from} holds no ${MANIFEST_FILE}: it is not a lienthong backup, or the backup was interrupted before it finished`, { path });
    }
    throw new LtError('IO', `cannot read ${path}: ${(error as Error).message}`, { path });
  }
  let value: Partial<BackupManifest>;
  try {
    value = JSON.parse(text) as Partial<BackupManifest>;
  } catch (error) {
    throw new LtError('BACKUP_INVALID', `${path} is not JSON (${(error as Error).message}): the backup was damaged`, { path });
  }
  const file = (f: unknown): f is ManifestFile =>
    typeof f === 'object' && f !== null && typeof (f as ManifestFile).path === 'string' && Number.isInteger((f as ManifestFile).size) && /^[0-9a-f]{64}$/.test(String((f as ManifestFile).sha256));
  if (value.format !== BACKUP_FORMAT) {
    throw new LtError('BACKUP_MISMATCH', `${path} is of format ${JSON.stringify(value.format)}, not ${BACKUP_FORMAT}: written by another lienthong; restore it with that one`, { path });
  }
  const valid =
    (value.kind === 'edge' || value.kind === 'hub') &&
    typeof value.organId === 'string' &&
    typeof value.createdAt === 'string' &&
    Number.isInteger(value.schemaVersion) &&
    Array.isArray(value.files) &&
    value.files.length > 0 &&
    value.files.every(file) &&
    value.files.every((f) => !f.path.split(/[\\/]/).includes('..')) &&
    typeof value.blobs === 'object' &&
    value.blobs !== null &&
    Number.isInteger(value.blobs.count) &&
    Number.isInteger(value.blobs.bytes) &&
    /^[0-9a-f]{64}$/.test(String(value.blobs.listSha256));
  if (!valid) throw new LtError('BACKUP_INVALID', `${path} lacks fields a backup manifest has, or has them malformed: the backup was damaged or edited`, { path });
  return { notIncluded: [], lienthong: 'unknown', ...value } as BackupManifest;
}

/** A backup of this node, at a schema this lienthong knows; otherwise why not. */
export function assertBackupOf(manifest: BackupManifest, node: NodeData, from: string): void {
  if (manifest.kind !== node.kind || manifest.organId !== node.organId) {
    throw new LtError(
      'BACKUP_MISMATCH',
      `${from} is a backup of the ${manifest.kind} ${manifest.organId}, not of this ${node.kind} ${node.organId}: restore it with that node's configuration`,
      { path: from },
    );
  }
  const known = Math.max(0, ...node.migrations.map((m) => m.version));
  if (manifest.schemaVersion > known) {
    throw new LtError(
      'BACKUP_MISMATCH',
      `${from} was written by lienthong ${manifest.lienthong} at ${node.kind} schema ${manifest.schemaVersion}; this lienthong knows schema ${known}: upgrade lienthong, then restore`,
      { path: from },
    );
  }
}

export interface RestoreOptions {
  node: NodeData;
  from: string;
  /** Move an existing database (and its blobs) aside instead of refusing. */
  replace?: boolean;
  /** Takes the data directory's lock, refused while the node runs. */
  lock: () => InstanceLock;
  clock?: () => Date;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Where the data that was replaced went (inside the data directory). */
  replacedTo?: string;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { node, from } = options;
  const manifest = await readManifest(from);
  assertBackupOf(manifest, node, from);
  const lock = options.lock();
  try {
    const live = join(node.dataDir, node.database);
    const existing = existsSync(live);
    if (existing && !options.replace) {
      throw new LtError(
        'DATA_DIR_NOT_EMPTY',
        `${node.dataDir} already holds a database (${node.database}); to replace it, run the restore again with --replace: ` +
          'the current database and its blobs are moved aside into a replaced-<time> directory inside it',
        { path: 'dataDir' },
      );
    }
    const staging = join(node.dataDir, `.restore-${randomBytes(4).toString('hex')}`);
    await mkdir(join(staging, BLOBS), { recursive: true, mode: 0o700 });
    try {
      const staged = await stageVerified(manifest, from, staging, node);
      const stamp = (options.clock ?? (() => new Date()))().toISOString().replace(/[:.]/g, '-');
      const replacedTo = await commit(node, staging, staged, join(node.dataDir, `replaced-${stamp}`));
      return { manifest, ...(replacedTo ? { replacedTo } : {}) };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

/** Copy the backup into `staging`, checking every byte against the manifest, then the database itself. */
async function stageVerified(manifest: BackupManifest, from: string, staging: string, node: NodeData): Promise<Set<string>> {
  const damaged = (what: string): LtError => new LtError('BACKUP_INVALID', `${what}: the backup was damaged or changed after it was written; use another backup`, { path: from });
  const database = manifest.files[0];
  if (!database || database.path !== node.database) throw damaged(`the manifest does not list the database ${node.database} first`);
  for (const f of manifest.files) {
    const source = join(from, f.path);
    if (!existsSync(source)) throw damaged(`${f.path} is missing`);
    // The database is staged; the rest (the configuration) is only checked.
    const found = f === database ? await copyHashed(source, join(staging, node.database)) : await hashFile(source);
    if (found.size !== f.size || found.sha256 !== f.sha256) {
      throw damaged(`${f.path} does not match the manifest (${found.size} bytes, sha256 ${found.sha256}; the manifest says ${f.size} bytes, sha256 ${f.sha256})`);
    }
  }
  const blobs = new Map<string, number>();
  await forEachAtOnce(await listBlobs(from), async (hash) => {
    await mkdir(join(staging, BLOBS, hash.slice(0, 2)), { recursive: true, mode: 0o700 });
    const found = await copyHashed(blobPath(from, hash), blobPath(staging, hash));
    if (found.sha256 !== hash) throw damaged(`the blob ${hash} holds other bytes (sha256 ${found.sha256})`);
    blobs.set(hash, found.size);
  });
  const summary = summarise(blobs);
  if (summary.count !== manifest.blobs.count || summary.bytes !== manifest.blobs.bytes || summary.listSha256 !== manifest.blobs.listSha256) {
    throw damaged(`the blobs are not those the manifest lists (${summary.count} of ${summary.bytes} bytes found; it lists ${manifest.blobs.count} of ${manifest.blobs.bytes} bytes)`);
  }
  const db = new Database(join(staging, node.database), { fileMustExist: true });
  try {
    assertIntact(db, join(from, node.database));
    const version = schemaVersionOf(db);
    if (version !== manifest.schemaVersion) throw damaged(`the database is at schema ${version}, the manifest says ${manifest.schemaVersion}`);
    const missing = [...referencedBlobFiles(db, node.kind)].filter((h) => !blobs.has(h));
    if (missing.length > 0) throw damaged(`the database names ${missing.length} blob(s) the backup lacks (${missing.slice(0, 3).join(', ')})`);
    // The node's journal mode, set now: a reader that cannot write ("lienthong inbox" before
    // the node starts) could not switch it; closing leaves no -wal behind.
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return new Set(blobs.keys());
}

/**
 * Put the staged data in place. Every step leaves a data directory a node starts consistently
 * on: the old database with (at least) its blobs, or the new one with (at least) its blobs.
 */
async function commit(node: NodeData, staging: string, staged: ReadonlySet<string>, aside: string): Promise<string | undefined> {
  const live = join(node.dataDir, node.database);
  const blobsDir = join(node.dataDir, BLOBS);
  let movedAside = false;
  const ensureAside = async (): Promise<void> => {
    if (!movedAside) await mkdir(join(aside, BLOBS), { recursive: true, mode: 0o700 });
    movedAside = true;
  };
  const existing = existsSync(live);
  if (existing) {
    // The old database becomes one file (its WAL folded in) and is kept aside, by a link: it
    // stays in place until the new one replaces it in one rename.
    const old = new Database(live, { fileMustExist: true });
    try {
      old.pragma('wal_checkpoint(TRUNCATE)');
      old.pragma('journal_mode = DELETE');
    } finally {
      old.close();
    }
    await ensureAside();
    await link(live, join(aside, node.database)).catch(async () => copyFile(live, join(aside, node.database)));
  }
  // A -wal or -shm left beside no database (or by a crash) would be replayed into the new one.
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (!existsSync(live + suffix)) continue;
    await ensureAside();
    await rename(live + suffix, join(aside, node.database + suffix));
  }
  await mkdir(blobsDir, { recursive: true });
  const present = new Set(await listBlobs(node.dataDir));
  for (const hash of staged) {
    if (present.has(hash)) continue; // same name, same bytes
    await mkdir(join(blobsDir, hash.slice(0, 2)), { recursive: true });
    await rename(blobPath(staging, hash), blobPath(node.dataDir, hash));
  }
  for (const dir of await blobDirectories(node.dataDir)) await syncDirectory(dir);
  await rename(join(staging, node.database), live); // the commit
  await syncDirectory(node.dataDir);
  if (existing) {
    for (const hash of present) {
      if (staged.has(hash)) continue;
      await mkdir(join(aside, BLOBS, hash.slice(0, 2)), { recursive: true });
      await rename(blobPath(node.dataDir, hash), blobPath(aside, hash));
    }
  }
  return movedAside ? aside : undefined;
}
