/**
 * Keep a long-running component (hub, edge) up until SIGINT/SIGTERM, then stop it cleanly
 * within a deadline.
 *
 * Under npm (`npx lienthong edge`, `npm start`), node is not npm's child but its grandchild:
 * npm runs it through `sh -c`, and dash does not exec the command, so a SIGTERM to npm ends npm
 * and the shell and never reaches node, which the system then adopts and nobody stops (it keeps
 * the agency's queues, and the next edge is refused). A process started by npm therefore also
 * stops when its parent goes away (it is re-parented): nobody is left to stop it. Outside npm
 * (systemd, docker, `exec node`, `nohup ... &`) outliving the parent can be intended, so only
 * LT_STOP_WITH_PARENT=1 asks for it there (and =0 turns it off under npm). LT_STOP_WITH_PID=<pid>
 * ties it to any process further up (a test runner, a wrapper script that does not exec): it
 * stops when that one is gone, however it ended (SIGKILL included: nothing is asked of it).
 *
 * The stop itself is bounded (stopTimeoutSeconds): the component gives up waiting on the broker
 * at its deadline, and should anything still hold the process after it (a socket the broker
 * never closes), the process exits a moment later anyway. Nothing is lost that way: what was not
 * confirmed is still in the outbox or its queue, and SQLite is safe across an exit.
 */
import type { Io } from './command.js';

/** How often the parent is looked at: a getppid() call, and an orphan lives this long at most. */
const PARENT_CHECK_MS = 1000;
/** After the component's own deadline, what still holds the process gets this long. */
const EXIT_GRACE_MS = 3000;
/** Once stopped, what still holds the process (nothing of ours) gets this long. */
const AFTER_STOP_MS = 500;

export interface RunOptions {
  /** The deadline of the stop, in seconds (the component's stopTimeoutSeconds). */
  stopTimeoutSeconds: number;
  /** Resolves when the component cannot go on (e.g. a late refusal of the broker): stop, exit 1. */
  failed?: Promise<Error>;
  /** Tells the operator why the component stops when `failed` resolves. */
  onFailed?: (error: Error) => void;
  /**
   * Called on SIGHUP (systemd ExecReload=/bin/kill -HUP $MAINPID): read identity and trust files
   * again. Reloads run one after another; one that fails is logged by the component and the
   * process runs on. Without it, SIGHUP stops the process as SIGTERM does.
   */
  reload?: () => Promise<unknown>;
}

/** Runs until a stop signal (or a failure); the exit code: 0 after a signal, 1 after a failure. */
export async function runUntilSignal(io: Io, what: string, stop: (deadlineMs: number) => Promise<void>, options: RunOptions): Promise<number> {
  const failure = await new Promise<Error | undefined>((resolve) => {
    const watches = parentWatches(io.env).map((gone) =>
      setInterval(() => {
        const why = gone();
        if (why) finish(why);
      }, PARENT_CHECK_MS).unref(),
    );
    const onSignal = (signal: NodeJS.Signals): void => finish(`${signal} received`);
    let reloading: Promise<unknown> = Promise.resolve();
    const onReload = (): void => {
      const reload = options.reload as () => Promise<unknown>;
      io.stderr.write(`${what}: SIGHUP received, reading identity and trust files again\n`);
      reloading = reloading.then(reload).catch((error: unknown) => io.stderr.write(`${what}: reload failed: ${(error as Error).message}\n`));
    };
    const hangup = options.reload ? onReload : onSignal;
    let finished = false;
    function finish(why: string, error?: Error): void {
      if (finished) return;
      finished = true;
      for (const watch of watches) clearInterval(watch);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', hangup);
      io.stderr.write(`${what}: ${why}, stopping (within ${options.stopTimeoutSeconds} s)\n`);
      resolve(error);
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', hangup);
    options.failed?.then((error) => {
      options.onFailed?.(error);
      finish('it cannot go on', error);
    });
  });
  const deadlineMs = options.stopTimeoutSeconds * 1000;
  const began = Date.now();
  const code = failure ? 1 : 0;
  // Unref'd: it ends only a process that something else still holds.
  const lastResort = setTimeout(() => {
    io.stderr.write(`${what}: still not stopped ${options.stopTimeoutSeconds} s after the stop began; exiting (what was not confirmed stays in the outbox or its queue)\n`);
    process.exit(process.exitCode ?? code);
  }, deadlineMs + EXIT_GRACE_MS).unref();
  await stop(deadlineMs);
  io.stderr.write(`${what}: stopped in ${Date.now() - began} ms\n`);
  // Stopped: a keep-alive socket or a timer of a library must not keep the process a few seconds more.
  clearTimeout(lastResort);
  setTimeout(() => process.exit(process.exitCode ?? code), AFTER_STOP_MS).unref();
  return code;
}

/** The checks of the processes this one stops with: each returns why it should stop, or undefined. */
function parentWatches(env: NodeJS.ProcessEnv): Array<() => string | undefined> {
  const watches: Array<() => string | undefined> = [];
  if (stopsWithParent(env)) {
    const parent = process.ppid;
    watches.push(() => (process.ppid !== parent ? `its parent process (PID ${parent}) has gone` : undefined));
  }
  const pid = Number(env.LT_STOP_WITH_PID);
  if (Number.isInteger(pid) && pid > 1) watches.push(() => (alive(pid) ? undefined : `the process it stops with (PID ${pid}, LT_STOP_WITH_PID) has gone`));
  return watches;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // no signal sent: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** npm sets npm_execpath in what it runs (npm exec, npx, npm run/start). */
export function stopsWithParent(env: NodeJS.ProcessEnv): boolean {
  if (env.LT_STOP_WITH_PARENT === '1') return true;
  if (env.LT_STOP_WITH_PARENT === '0') return false;
  return env.npm_execpath !== undefined;
}
