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

/**
 * CPU time (user + system, ms) of this process's main thread so far, from
 * /proc/self/task/<pid>/stat: process.cpuUsage() counts every thread, workers and libuv's pool
 * included, and Node 20 has no per-thread figure of its own.
 */
export function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerMs = CLOCK_TICKS_PER_SECOND / 1000;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
}

/** USER_HZ: Linux reports thread times in these units, 100 per second on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100;
