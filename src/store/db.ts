/**
 * SQLite through better-sqlite3 (version 12: 13 crashes on Node 20). WAL journal so readers
 * (API, dashboard) never block the writer; synchronous=NORMAL by default (a commit survives a
 * process crash; an OS crash or power cut may lose the last transactions, and the nodes
 * acknowledge a delivery once its commit returns, so those packets are not redelivered),
 * FULL when configured (every commit on disk before it returns). Schema changes are numbered
 * migrations run at open.
 *
 * Every write transaction is BEGIN IMMEDIATE (`db.transaction(fn).immediate()`): a deferred one
 * that reads before it writes cannot wait for another process's write lock (SQLite answers
 * SQLITE_BUSY at once, ignoring busy_timeout), and edges and the CLI share a database file.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { LtError } from '../errors.js';

export type Db = Database.Database;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface OpenOptions {
  /** "normal" (default) or "full". */
  synchronous?: 'normal' | 'full';
  readonly?: boolean;
}

export function openDatabase(path: string, migrations: readonly Migration[], options: OpenOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false });
  } catch (error) {
    throw new LtError('IO', `cannot open the database ${path}: ${(error as Error).message}`, { path });
  }
  cachePreparedStatements(db);
  db.pragma('journal_mode = WAL');
  // The write-ahead log keeps at most 16 MiB between bursts, above the ~4 MiB it cycles
  // through between checkpoints: it is cut back only after a burst, not at every restart of
  // the log. Cutting it to nothing each time (limit 0) was an ftruncate on the event loop's
  // thread every few seconds under load, and those took 165-250 ms behind a backlog (perf
  // trace of hub and edges in the urgency bench): the node stalled. A full disk is noticed
  // before the log's kept space is used, by the blob store's free-space check.
  db.pragma('journal_size_limit = 16777216');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) migrate(db, migrations);
  return db;
}

/**
 * The repositories prepare their SQL where they use it; compiling it again on every call cost
 * more than running it (a third of the main thread in the exchange benchmark). Statements are
 * compiled once per connection and reused: nothing here changes a statement's mode (pluck, raw).
 */
function cachePreparedStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }) as Db['prepare'];
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) {
    throw new LtError('CONFIG_INVALID', `the database was written by a newer lienthong (schema ${newest}, this version knows ${known}); upgrade lienthong`);
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}
