/**
 * A figure of a running process read from /proc/PID/status, as the kernel counts it: every
 * thread of the process (the crypto workers too), nothing loaded into the process measured.
 */
import { readFileSync } from 'node:fs';

/** `VmRSS` (resident now) or `VmHWM` (the highest resident since the process started), bytes. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no ${field} for process ${pid}`);
  return Number(line[1]) * 1024;
}
