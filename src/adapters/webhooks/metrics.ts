/** The webhook series of the edge's /metrics: deliveries by state (from the database at scrape time) and attempts by outcome. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AttemptOutcome } from './dispatcher.js';
import { DELIVERY_STATES, type WebhookStore } from './store.js';

export function registerWebhookMetrics(registry: Registry, store: () => WebhookStore | undefined): (outcome: AttemptOutcome) => void {
  new Gauge({
    name: 'lt_webhook_deliveries',
    help: 'Webhook deliveries by state: pending (waiting for a first try or a retry), delivered, failed (given up; replay them)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = store()?.counts();
      for (const state of DELIVERY_STATES) this.set({ state }, counts?.[state] ?? 0);
    },
  });
  const attempts = new Counter({
    name: 'lt_webhook_attempts_total',
    help: 'Webhook POSTs made since the edge started, by outcome: delivered (2xx) or failed (another answer, a timeout, no connection)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['delivered', 'failed'] as const) attempts.inc({ outcome }, 0);
  return (outcome) => attempts.inc({ outcome });
}
