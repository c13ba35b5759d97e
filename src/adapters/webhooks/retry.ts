/**
 * When a failed webhook delivery is tried again: exponential back-off from the first delay,
 * capped at the longest, with jitter so that many deliveries failed by one outage do not all
 * come back in the same second; and never later than its give-up time, which gets one last try.
 * Pure.
 */
import type { WebhookRetry } from '../../edge/webhook-settings.js';

/** Seconds to wait after the `failures`-th failed attempt (1 = the first): first·2^(n-1), capped, ±20 % jitter below the cap. */
export function retryDelaySeconds(failures: number, retry: WebhookRetry, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 52);
  const base = Math.min(retry.maxDelaySeconds, retry.firstDelaySeconds * 2 ** exponent);
  const jittered = base * (0.8 + 0.4 * random());
  return Math.min(retry.maxDelaySeconds, jittered);
}

export type AfterFailure = { state: 'pending'; nextAttemptAt: Date } | { state: 'failed' };

/** What follows a failed attempt at `now`: the next try (at the latest at `giveUpAt`), or failed once that has passed. */
export function afterFailure(failures: number, now: Date, giveUpAt: Date, retry: WebhookRetry, random: () => number = Math.random): AfterFailure {
  if (now.getTime() >= giveUpAt.getTime()) return { state: 'failed' };
  const next = now.getTime() + retryDelaySeconds(failures, retry, random) * 1000;
  return { state: 'pending', nextAttemptAt: new Date(Math.min(next, giveUpAt.getTime())) };
}
