/**
 * CPU used over a stretch of time, as the kernel counts it (/proc): by the whole machine, as a
 * share of all its cores, and by given processes (their threads included), in cores. On a
 * machine shared by a hub, its edges and the broker, an urgent document's hops run as fast as
 * the CPU the normal work leaves them; these figures say how much that was.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ): 100 on Linux. */
const TICKS = 100;

function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

function processTicks(pid: number): number {
  // utime and stime: fields 14 and 15, counted after the command name's closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export interface CpuShare {
  /** Share of all the machine's cores that was busy (0-1). */
  machine: number;
  cores: number;
  /** Cores each process used on average (1 = one core all the time), by name. */
  processes: Record<string, number>;
}

/** Start counting; the returned function ends the stretch and gives the figures. */
export function startCpuShare(pids: Record<string, number | undefined>): () => CpuShare {
  const started = performance.now();
  const machine = machineTicks();
  const before = Object.fromEntries(Object.entries(pids).flatMap(([name, pid]) => (pid ? [[name, { pid, ticks: processTicks(pid) }]] : [])));
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const now = machineTicks();
    const processes: Record<string, number> = {};
    for (const [name, { pid, ticks }] of Object.entries(before)) {
      try {
        processes[name] = (processTicks(pid) - ticks) / TICKS / seconds;
      } catch {
        // gone meanwhile: no figure
      }
    }
    return { machine: (now.busy - machine.busy) / Math.max(1, now.total - machine.total), cores: availableParallelism(), processes };
  };
}
