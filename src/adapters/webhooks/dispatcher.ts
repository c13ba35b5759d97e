/**
 * POSTs the edge's webhook deliveries. Every tick it turns new timeline entries into
 * deliveries (WebhookStore.collect) and sends what is due, a few at a time; a 2xx answer
 * delivers, anything else (another status, a timeout, a refused connection) schedules the next
 * try by the back-off, until the give-up time marks the delivery failed. All of it is in
 * SQLite, so a restart goes on where the last run stopped: at least once, same event id.
 *
 * Stopping aborts the calls in flight at once (they stay pending and are sent after the
 * restart): a slow receiver never holds up the edge's stop.
 */
import type { Logger } from '../../log.js';
import { packageVersion } from '../../version.js';
import type { Db } from '../../store/db.js';
import { DEFAULT_WEBHOOK_RETRY, type WebhookConfig, type WebhookRetry } from '../../edge/webhook-settings.js';
import { afterFailure } from './retry.js';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.js';
import { WebhookStore, type DueDelivery, type WebhookDelivery } from './store.js';

export type AttemptOutcome = 'delivered' | 'failed';

export interface WebhookDispatcherDeps {
  db: Db;
  webhooks: readonly WebhookConfig[];
  retry?: WebhookRetry;
  organId: string;
  /** The base of the links in the payloads ('' = relative paths). */
  publicBase: string;
  clock: () => Date;
  log: Logger;
  /** Told after each attempt (metrics). */
  onAttempt?: (outcome: AttemptOutcome) => void;
  /** How often new events and due retries are looked for, ms. Default 250. */
  pollMs?: number;
  /** Calls in flight at once. Default 4. */
  concurrency?: number;
}

export class WebhookDispatcher {
  readonly store: WebhookStore;
  private readonly retry: WebhookRetry;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private collectFailing = false;
  private sendFailing = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.store = new WebhookStore(deps.db);
    this.retry = deps.retry ?? DEFAULT_WEBHOOK_RETRY;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.deps.webhooks.length > 0) this.deps.log.info({ urls: this.deps.webhooks.map((w) => w.url) }, 'webhooks: posting events to the configured URLs');
    this.schedule(0);
  }

  /** Look now rather than at the next tick (a replay, a new event). */
  wake(): void {
    if (this.started) this.schedule(0);
  }

  /**
   * Send a delivery again now (failed, or delivered but lost by its receiver): the same event id
   * and body, a fresh give-up time. Undefined: no such delivery.
   */
  replay(id: number): WebhookDelivery | undefined {
    const delivery = this.store.replay(id, this.deps.clock(), this.retry.giveUpAfterSeconds);
    if (delivery) this.wake();
    return delivery;
  }

  /** Abort what is in flight (it stays pending) and wait for the calls to settle; quick whatever the receivers do. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    try {
      this.collect();
      this.sendDue();
      this.sendFailing = false;
    } catch (error) {
      // The database is busy or failing: the events wait in the timeline, the deliveries in their table. Said once.
      if (!this.sendFailing) this.deps.log.error({ err: error }, 'webhooks: reading the deliveries failed; trying again');
      this.sendFailing = true;
    }
    this.schedule(this.deps.pollMs ?? 250);
  }

  private collect(): void {
    const context = { organId: this.deps.organId, publicBase: this.deps.publicBase, giveUpAfterSeconds: this.retry.giveUpAfterSeconds };
    try {
      // A few batches per tick: a long backlog (events written while no edge ran) does not hold the event loop.
      for (let batch = 0; batch < 10 && !this.stopped; batch++) {
        if (this.store.collect(this.deps.webhooks, { ...context, now: this.deps.clock() }) === 0) break;
      }
      this.collectFailing = false;
    } catch (error) {
      if (!this.collectFailing) this.deps.log.error({ err: error }, 'webhooks: turning timeline events into deliveries failed; the events wait');
      this.collectFailing = true;
    }
  }

  private sendDue(): void {
    const slots = (this.deps.concurrency ?? 4) - this.inFlight.size;
    if (slots <= 0) return;
    const due = this.store.due(this.deps.clock(), slots + this.inFlight.size).filter((d) => !this.inFlight.has(d.id));
    for (const delivery of due.slice(0, slots)) {
      const sending = this.send(delivery)
        .catch((error: unknown) => this.deps.log.error({ err: error, eventId: delivery.eventId }, 'webhooks: recording an attempt failed; it is tried again'))
        .finally(() => {
          this.inFlight.delete(delivery.id);
          this.wake();
        });
      this.inFlight.set(delivery.id, sending);
    }
  }

  private async send(delivery: DueDelivery): Promise<void> {
    const log = this.deps.log.child({ eventId: delivery.eventId, url: delivery.url, delivery: delivery.id });
    const webhook = this.deps.webhooks.find((w) => w.url === delivery.url);
    if (!webhook) {
      // Its URL left edge.json: nobody to sign for, nowhere wanted; kept visible as failed.
      this.store.markFailedAttempt(delivery.id, this.deps.clock(), 'no webhook with this URL is configured any more (edge.json "webhooks")', null, { state: 'failed' });
      return;
    }
    const sentAt = this.deps.clock();
    let status: number | null = null;
    let problem: string | undefined;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': `lienthong/${packageVersion()} (webhooks)`,
          [SIGNATURE_HEADER]: signWebhook(webhook.secret, delivery.payload, sentAt),
          [EVENT_ID_HEADER]: delivery.eventId,
          [EVENT_TYPE_HEADER]: delivery.type,
        },
        body: delivery.payload,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(webhook.timeoutMs)]),
      });
      status = response.status;
      await response.body?.cancel().catch(() => {});
      if (status < 200 || status > 299) problem = `the receiver answered HTTP ${status}`;
    } catch (error) {
      // Stopping: not the receiver's fault; the delivery stays as it was and goes after the restart.
      if (this.abort.signal.aborted) return;
      problem = describeFetchError(error, webhook.timeoutMs);
    }
    const now = this.deps.clock();
    if (!problem) {
      this.store.markDelivered(delivery.id, now, status as number);
      this.deps.onAttempt?.('delivered');
      log.info({ status, attempts: delivery.attempts + 1 }, 'webhook delivered');
      return;
    }
    const next = afterFailure(delivery.attempts + 1, now, new Date(delivery.giveUpAt), this.retry);
    this.store.markFailedAttempt(delivery.id, now, problem, status, next);
    this.deps.onAttempt?.('failed');
    if (next.state === 'failed') {
      log.error({ status, attempts: delivery.attempts + 1, err: problem }, `webhook given up after ${delivery.attempts + 1} attempts: ${problem}; replay it with "lienthong webhooks replay ${delivery.id}"`);
    } else {
      log.warn({ status, attempts: delivery.attempts + 1, next: next.nextAttemptAt.toISOString(), err: problem }, `webhook not delivered: ${problem}; tried again later`);
    }
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `the call failed: ${cause}` : `the call failed: ${e.message ?? String(error)}`;
}
