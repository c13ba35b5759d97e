/** The webhook dispatcher as a door of a running edge: its settings, database, clock and metrics. */
import type { Edge } from '../../edge/edge.js';
import type { EdgeConfig } from '../../edge/config.js';
import { componentLogger } from '../../log.js';
import { WebhookDispatcher } from './dispatcher.js';
import { registerWebhookMetrics } from './metrics.js';

export function webhookAdapter(edge: Edge): WebhookDispatcher {
  const { config } = edge;
  const dispatcher: WebhookDispatcher = new WebhookDispatcher({
    db: edge.db,
    webhooks: config.webhooks ?? [],
    ...(config.webhookRetry ? { retry: config.webhookRetry } : {}),
    organId: config.organId,
    publicBase: publicBaseOf(config),
    clock: edge.clock,
    log: componentLogger(edge.log, 'webhooks'),
    onAttempt: registerWebhookMetrics(edge.metrics.registry, () => dispatcher.store),
  });
  return dispatcher;
}

/**
 * The base of the links in webhook payloads: "api.publicUrl", else the address the API listens
 * on (a wildcard host read as localhost), else none (relative links).
 */
function publicBaseOf(config: EdgeConfig): string {
  const api = config.api;
  if (!api) return '';
  if (api.publicUrl) return api.publicUrl;
  const host = api.host === '0.0.0.0' || api.host === '::' ? 'localhost' : api.host.includes(':') ? `[${api.host}]` : api.host;
  return `${api.tls ? 'https' : 'http'}://${host}:${api.port}`;
}
