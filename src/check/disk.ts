/**
 * The data directory: can this node write there (a probe file written, synced and removed), and
 * is there room (statfs) for what it must keep. A directory that does not exist yet is fine if
 * its parent lets the node create it, as the node does at first start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ok, problem, type CheckRow } from './rows.js';

/** Default free-space floor, MiB: a few hundred packets of the largest size, and SQLite's journal. */
export const DEFAULT_MIN_FREE_MB = 1024;

async function existing(path: string): Promise<{ path: string; isDirectory: boolean } | undefined> {
  try {
    return { path, isDirectory: (await stat(path)).isDirectory() };
  } catch (error) {
    // ENOTDIR: a file stands where a directory of the path should; the walk up finds it.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** The directory itself, or the nearest ancestor that exists (what statfs can measure). */
async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean; missing: boolean }> {
  let current = path;
  for (;;) {
    const found = await existing(current);
    if (found) return { ...found, missing: current !== path };
    const parent = dirname(current);
    if (parent === current) return { path: current, isDirectory: true, missing: true };
    current = parent;
  }
}

export async function dataDirChecks(dataDir: string, minFreeMb: number, setting: string): Promise<CheckRow[]> {
  const writable = 'data directory';
  const where = await nearestExisting(dataDir).catch((error: Error) => error);
  if (where instanceof Error) {
    return [problem(writable, `${dataDir} cannot be examined: ${where.message}`, `give the node's user access to ${dataDir}, or set ${setting} to a directory it owns`)];
  }
  if (!where.isDirectory) {
    const fix = `set ${setting} to a directory (or remove the file ${where.path})`;
    return [problem(writable, `${where.path} is a file, not a directory: ${dataDir} cannot ${where.missing ? 'be created' : 'hold the database'}`, fix)];
  }
  const rows: CheckRow[] = [];
  const probe = join(where.path, `.lienthong-check-${randomBytes(4).toString('hex')}`);
  try {
    if (where.missing) {
      // What the node will do at first start: create its directory there.
      await mkdir(probe);
      await rmdir(probe);
      rows.push(ok(writable, `${dataDir} does not exist yet; ${where.path} lets the node create it`));
    } else {
      const handle = await open(probe, 'wx', 0o600);
      try {
        await handle.write('lienthong check\n');
        await handle.sync();
      } finally {
        await handle.close();
        await unlink(probe).catch(() => {});
      }
      rows.push(ok(writable, `${dataDir} is writable`));
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    rows.push(
      problem(
        writable,
        `cannot write in ${where.path} (${code})`,
        code === 'ENOSPC'
          ? `free space on the file system of ${where.path}`
          : `let the node's user write there (chown/chmod ${where.path}; a read-only mount must be made writable), or set ${setting} to a directory it owns`,
      ),
    );
  }
  rows.push(await freeSpaceRow(where.path, minFreeMb));
  return rows;
}

async function freeSpaceRow(path: string, minFreeMb: number): Promise<CheckRow> {
  const name = 'free space';
  const fs = await statfs(path);
  const freeMb = Math.floor((Number(fs.bavail) * Number(fs.bsize)) / (1024 * 1024));
  const totalMb = Math.floor((Number(fs.blocks) * Number(fs.bsize)) / (1024 * 1024));
  const detail = `${freeMb} MiB free of ${totalMb} MiB on the file system of ${path}`;
  if (freeMb < minFreeMb) {
    return problem(name, `${detail}, under the ${minFreeMb} MiB floor`, `free space there (or grow the volume); a full disk stops the node from storing anything (STORAGE_FULL)`);
  }
  return ok(name, `${detail} (floor ${minFreeMb} MiB)`);
}
