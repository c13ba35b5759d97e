/**
 * One long-running process per data directory. The lock is an exclusive transaction held open
 * on a small SQLite file: SQLite takes it with the operating system's file locks, which the
 * kernel releases when the process ends in any way (kill -9 and power loss included), so a
 * crash never leaves a stale lock behind, and a second process is refused at once (no busy
 * wait). Who holds it is written beside it, for the refusal message only: the lock, not that
 * file, decides.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LtError, type ErrorCode } from '../errors.js';

export interface Holder {
  pid: number;
  host: string;
  since: string;
}

export interface InstanceLockOptions {
  /** The directory guarded. */
  dir: string;
  /** File name stem inside it: `<name>.lock` and `<name>.lock.holder`. */
  name: string;
  /** Error code of the refusal. */
  code: ErrorCode;
  /** The configuration field that names the directory (the refusal's context path). */
  field: string;
  /** The refusal's sentence, given who holds the lock (undefined: unknown). */
  refusal: (holder: Holder | undefined, dir: string) => string;
}

export class InstanceLock {
  private constructor(
    private readonly db: Database.Database,
    readonly dir: string,
  ) {}

  static acquire(options: InstanceLockOptions): InstanceLock {
    mkdirSync(options.dir, { recursive: true });
    const path = join(options.dir, `${options.name}.lock`);
    const holderPath = `${path}.holder`;
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (error) {
      throw new LtError('IO', `cannot open the lock file ${path}: ${(error as Error).message}`, { path });
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw new LtError('IO', `cannot lock ${path}: ${(error as Error).message}`, { path });
      throw new LtError(options.code, options.refusal(readHolder(holderPath), options.dir), { path: options.field });
    }
    const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeFileSync(holderPath, `${JSON.stringify(holder)}\n`);
    return new InstanceLock(db, options.dir);
  }

  /**
   * A shared hold on the same lock: any number of processes may share it (several hubs on one
   * data directory), while none may take it with `acquire` (a restore). A read transaction held
   * open keeps SQLite's SHARED lock, which refuses another connection's EXCLUSIVE one.
   */
  static share(options: InstanceLockOptions): InstanceLock {
    mkdirSync(options.dir, { recursive: true });
    const path = join(options.dir, `${options.name}.lock`);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (error) {
      throw new LtError('IO', `cannot open the lock file ${path}: ${(error as Error).message}`, { path });
    }
    try {
      db.exec('BEGIN');
      // A read is what takes the SHARED lock; BEGIN alone takes none.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (error) {
      db.close();
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw new LtError('IO', `cannot lock ${path}: ${(error as Error).message}`, { path });
      throw new LtError(options.code, options.refusal(readHolder(`${path}.holder`), options.dir), { path: options.field });
    }
    return new InstanceLock(db, options.dir);
  }

  release(): void {
    if (!this.db.open) return;
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.since === 'string' ? (value as Holder) : undefined;
  } catch {
    return undefined;
  }
}
