/**
 * The folder drop's row of `lienthong edge check`: the edge can write its folders and they are
 * on one file system (units move by rename, which cannot cross file systems). Nothing is made.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ok, problem, type CheckRow } from '../../check/rows.js';
import type { FolderConfig } from '../../edge/folder-settings.js';
import { folderLayout } from './files.js';

const NAME = 'folder drop';

export async function folderCheckRow(config: FolderConfig): Promise<CheckRow> {
  const layout = folderLayout(config.root);
  const existing: Array<{ path: string; dev: number }> = [];
  for (const path of [layout.root, layout.outgoing, layout.sent, layout.failed, layout.incoming]) {
    try {
      const s = await stat(path);
      if (!s.isDirectory()) return problem(NAME, `${path} is not a folder`, 'remove or rename it, or set "folder.root" to another folder');
      await access(path, constants.W_OK | constants.X_OK);
      existing.push({ path, dev: s.dev });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // made at start
      return problem(NAME, `${path}: ${code ?? (error as Error).message}`, "give the edge's user write access to the folder, or set \"folder.root\" to one it may write");
    }
  }
  if (existing.length === 0) {
    // The root itself is made at start: its nearest existing parent must be writable.
    let parent = dirname(layout.root);
    for (;;) {
      try {
        await access(parent, constants.W_OK | constants.X_OK);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' || dirname(parent) === parent) {
          return problem(NAME, `${layout.root} does not exist and ${parent} is not writable (${code})`, 'make the folder for the edge\'s user, or set "folder.root" to one it may write');
        }
        parent = dirname(parent);
      }
    }
  }
  const devices = new Set(existing.map((e) => e.dev));
  if (devices.size > 1) {
    return problem(NAME, `the subfolders of ${layout.root} are on different file systems`, 'keep outgoing/, sent/, failed/ and incoming/ on one file system (no separate mounts): units move by rename');
  }
  return ok(NAME, `${layout.root} (mode ${config.mode}, every ${config.pollSeconds} s)`);
}
