/**
 * Writing files so that a crash or power cut leaves the whole file or none: through a temporary
 * name, fsynced, renamed; and the directory a rename changed fsynced, so the rename itself
 * survives. The blob store, backups and the folder drop all write this way.
 */
import { open, rename, rm } from 'node:fs/promises';

/** fsync a file (or a directory) by path. */
export async function syncFile(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** fsync a directory, so the renames in it are on disk; file systems that refuse it are left be (the files are synced). */
export async function syncDirectory(dir: string): Promise<void> {
  await syncFile(dir).catch(() => {});
}

/**
 * Write `data` to `temporary`, fsync it and rename it to `path`. On failure the temporary file is
 * removed: a write cut short by a full disk must not keep the space it took.
 */
export async function writeFileSynced(path: string, data: string | Uint8Array, temporary: string): Promise<void> {
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw error;
  }
}
