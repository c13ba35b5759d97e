/**
 * How long a test waits for an event before it calls it lost. Generous on purpose: the deadline
 * costs nothing when the event comes, and CI machines are shared (the suite must pass at a load
 * average of 10 on two cores, where what takes a second on a quiet machine can take thirty).
 * Tests wait for events (waitFor in exchange.ts, settle in lifecycle.ts), never for time.
 */
export const EVENT_DEADLINE_MS = 120_000;
