/**
 * Running the built CLI (bin/lienthong.js → dist/) as a child process, as a user would. Kept apart
 * from processes.ts (whole exchanges as processes) so a test that only runs commands loads little.
 *
 * Children get `childEnv()`: the test's environment minus tap's hooks. Inheriting tap's
 * NODE_OPTIONS (`--import @tapjs/processinfo`) made every command cost twice its CPU time, which
 * on a loaded machine is what makes a suite slow.
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EVENT_DEADLINE_MS } from './deadline.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'bin', 'lienthong.js');

/** What a one-shot CLI command left behind. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (`lienthong args...`) to its end in `cwd`. */
export function runCli(cwd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: EVENT_DEADLINE_MS,
    env: options.env ?? childEnv(),
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What a CLI command run with `lienthong()` ended with: its exit code and output. */
export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/**
 * `lienthong args...` in the repository, without blocking this process: for tests whose own
 * hub and edges (in this process) must go on answering while the command runs.
 */
export async function lienthong(...args: string[]): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: REPO, env: childEnv(), timeout: EVENT_DEADLINE_MS });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * The environment of every child: the test's, minus what would override the configuration
 * files (AMQP_URL would replace each edge's own credentials) and minus tap's coverage hooks
 * (NODE_OPTIONS --import of @tapjs/processinfo), so the children run like production.
 *
 * LT_STOP_WITH_PID ties every hub and edge to this test process: should it die without
 * cleaning up (tap's timeout, a SIGKILL), they stop by themselves within a second or two,
 * instead of running on against the broker. It reaches them through shells and wrappers too.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(AMQP_URL|LT_[A-Z_]+|NODE_OPTIONS|NODE_V8_COVERAGE|_TAPJS_.*)$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, LT_LOG_LEVEL: 'info', LT_STOP_WITH_PID: String(process.pid), ...extra };
}
