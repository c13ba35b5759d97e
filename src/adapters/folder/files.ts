/**
 * The file operations the folder drop is built from, each safe against a crash: a file is
 * written through a temporary name, fsynced and renamed (a reader sees the whole file or
 * none), a move is one rename within the folder drop's file system, and the directories a
 * rename changed are fsynced so the move itself survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory, writeFileSynced } from '../../store/durable-files.js';

/** outgoing/, sent/, failed/ and incoming/ of a folder drop. */
export interface FolderLayout {
  root: string;
  outgoing: string;
  sent: string;
  failed: string;
  incoming: string;
  /** Units claimed from outgoing/, being submitted (hidden: writers and the scan leave it alone). */
  work: string;
}

export function folderLayout(root: string): FolderLayout {
  const outgoing = join(root, 'outgoing');
  return { root, outgoing, sent: join(root, 'sent'), failed: join(root, 'failed'), incoming: join(root, 'incoming'), work: join(outgoing, '.lienthong-work') };
}

/** Create the folders that are missing (at start: a new root is laid out by the edge). */
export function createLayout(layout: FolderLayout): void {
  for (const dir of [layout.outgoing, layout.sent, layout.failed, layout.incoming, layout.work]) mkdirSync(dir, { recursive: true });
}


const TEMPORARY_NAME = /^\.[0-9a-f]{12}\.tmp$/;

/** A temporary of writeFileAtomic that a crash left behind: not a file anyone dropped. */
export function isAtomicTemporary(name: string): boolean {
  return TEMPORARY_NAME.test(name);
}

/** Write a whole file through a temporary name beside it: readers never see half of it. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFileSynced(path, data, temporary);
  await syncDirectory(dirname(path));
}

/** Rename, then fsync both directories. */
export async function move(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDirectory(dirname(to));
  if (dirname(from) !== dirname(to)) await syncDirectory(dirname(from));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Entries of a directory with their kind; an absent directory has none. */
export async function entries(dir: string): Promise<Array<{ name: string; file: boolean; directory: boolean }>> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, file: d.isFile(), directory: d.isDirectory() }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function makeDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** Remove an empty directory; one that is not empty or gone is left as it is. */
export async function removeEmptyDirectory(dir: string): Promise<void> {
  await rmdir(dir).catch(() => {});
}
