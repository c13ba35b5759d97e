/**
 * Small disks for the tests of a full disk: a tmpfs mounted on a fresh directory (needs root;
 * `cannotMount` says why not, for tap's skip), and a file that fills one to its last byte.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

/** Why this machine cannot mount a small disk for `purpose` (mounting a tmpfs is refused), or false. */
export function cannotMount(purpose: string): string | false {
  const dir = mkdtempSync(join(tmpdir(), 'lt-mount-check-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return false;
  } catch (error) {
    const why = ((error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message).trim();
    return `cannot mount a tmpfs here (${why}): ${purpose} needs root (mount -t tmpfs)`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh directory on a tmpfs of `size` (mount's notation: "48m"), unmounted and removed at teardown. */
export function smallDisk(t: Test, name: string, size: string): string {
  // Registered before a cluster's cleanup (last registered, first run): unmounted after the processes are gone.
  const dir = mkdtempSync(join(tmpdir(), `lt-disk-${name}-`));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  t.teardown(() => {
    // Lazy: a process killed a moment ago may still hold a file there.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Fill the file system of `dir` to its last byte; deleting the returned file frees it. */
export function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x55);
  try {
    for (let size = chunk.length; size >= 1; size >>= 1) {
      try {
        for (;;) writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}
