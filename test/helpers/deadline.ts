/**
 * How long a test waits for an event before it calls it lost. Generous on purpose: the deadline
 * costs nothing when the event comes, and CI machines are shared (the suite must pass at a load
 * average of 10 on two cores, where what takes a second on a quiet machine can take thirty).
 * Tests wait for events (waitFor in exchange.ts, settle in lifecycle.ts), never for time.
 */
export const EVENT_DEADLINE_MS = 120_000;

/**
 * Wait for `count()` to reach `target`. The deadline is EVENT_DEADLINE_MS without progress (the
 * count changing), not a bound on the whole wait: how long hundreds of documents take depends on
 * the machine's load, and a flow that still moves is not lost.
 */
export async function waitForCount(what: string, count: () => number, target: number, options: { intervalMs?: number } = {}): Promise<void> {
  let last = count();
  let deadline = Date.now() + EVENT_DEADLINE_MS;
  for (;;) {
    if (last >= target) return;
    if (Date.now() > deadline) throw new Error(`no progress for ${EVENT_DEADLINE_MS} ms waiting for ${what} (${last} of ${target})`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    const now = count();
    if (now !== last) deadline = Date.now() + EVENT_DEADLINE_MS;
    last = now;
  }
}
