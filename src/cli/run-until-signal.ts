/**
 * Keep a long-running component (hub, edge) up until SIGINT/SIGTERM, then stop it cleanly.
 *
 * Under npm (`npx lienthong edge`, `npm start`), node is not npm's child but its grandchild:
 * npm runs it through `sh -c`, and dash does not exec the command, so a SIGTERM to npm ends npm
 * and the shell and never reaches node, which the system then adopts and nobody stops (it keeps
 * the agency's queues, and the next edge is refused). A process started by npm therefore also
 * stops when its parent goes away (it is re-parented): nobody is left to stop it. Outside npm
 * (systemd, docker, `exec node`, `nohup ... &`) outliving the parent can be intended, so only
 * LT_STOP_WITH_PARENT=1 asks for it there (and =0 turns it off under npm).
 */
import type { Io } from './command.js';

/** How often the parent is looked at: a getppid() call, and an orphan lives this long at most. */
const PARENT_CHECK_MS = 1000;

export async function runUntilSignal(io: Io, what: string, stop: () => Promise<void>): Promise<number> {
  await new Promise<void>((resolve) => {
    const parent = process.ppid;
    const watch = stopsWithParent(io.env)
      ? setInterval(() => {
          if (process.ppid !== parent) finish(`its parent process (PID ${parent}) has gone`);
        }, PARENT_CHECK_MS).unref()
      : undefined;
    const onSignal = (signal: NodeJS.Signals): void => finish(`${signal} received`);
    function finish(why: string): void {
      clearInterval(watch);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      io.stderr.write(`${what}: ${why}, stopping\n`);
      resolve();
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stop();
  return 0;
}

/** npm sets npm_execpath in what it runs (npm exec, npx, npm run/start). */
export function stopsWithParent(env: NodeJS.ProcessEnv): boolean {
  if (env.LT_STOP_WITH_PARENT === '1') return true;
  if (env.LT_STOP_WITH_PARENT === '0') return false;
  return env.npm_execpath !== undefined;
}
