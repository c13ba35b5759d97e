/**
 * One child process measured from outside, as an operator's shell would see it: wall time,
 * CPU (user + system) and peak RSS. GNU time reads the child's rusage when it is reaped, so
 * nothing is loaded into the process measured (an in-process probe would cost start-up time
 * and memory of its own).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface ChildCost {
  wallMs: number;
  cpuMs: number;
  maxRssBytes: number;
}

const TIME = '/usr/bin/time';

/** The environment of a production run: no loader or coverage hooks of the benchmark's own. */
export function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^(NODE_OPTIONS|NODE_V8_COVERAGE|LT_[A-Z_]+|AMQP_URL)$/.test(key)) env[key] = value;
  return env;
}

/** Run `node args...` to its end; throws with its stderr when it fails (a figure of a failed run would mean nothing). */
export function measureNode(args: readonly string[], cwd: string): ChildCost {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-time-'));
  const out = join(dir, 'time');
  try {
    const start = performance.now();
    const r = spawnSync(TIME, ['-f', '%U %S %M', '-o', out, process.execPath, ...args], { cwd, env: plainEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const wallMs = performance.now() - start;
    if (r.error) throw new Error(`${TIME} could not run (GNU time is needed for CPU and peak RSS): ${r.error.message}`);
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
    // GNU time writes "Command exited with non-zero status" first when it does; the figures are the last line.
    const [user, system, maxRssKiB] = (readFileSync(out, 'utf8').trim().split('\n').pop() as string).split(' ').map(Number);
    return { wallMs, cpuMs: ((user as number) + (system as number)) * 1000, maxRssBytes: (maxRssKiB as number) * 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
