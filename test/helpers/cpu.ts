/**
 * The CPU time this process spends on some work (all its threads, user and system), for the
 * safety bounds of the hostile-input tests: "a bomb is refused without doing its work" is a
 * bound on work, and CPU time measures work whatever else runs on the machine, where the wall
 * clock measures the machine's load. Speed targets belong in bench/ (npm run bench).
 */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Run `work` and return its result with the CPU milliseconds the process spent meanwhile. */
export async function withCpuMs<T>(work: () => Promise<T> | T): Promise<{ result: T; cpuMs: number }> {
  const start = process.cpuUsage();
  const result = await work();
  return { result, cpuMs: cpuMsSince(start) };
}
