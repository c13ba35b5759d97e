/**
 * Waiting for something no longer than a deadline, without abandoning it: a stop that must end
 * in time waits this long for work in hand, then takes the forcing step (dropping the broker
 * connection) that makes the work end by itself.
 */

/** Whether `work` settled (resolved or rejected) within `ms`; it is not cancelled either way. */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait `ms`, or less if `signal` aborts first (a stop must not wait out a back-off). */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
