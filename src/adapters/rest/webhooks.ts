/**
 * The webhook deliveries of this edge (src/adapters/webhooks/): list them by state, replay one
 * (a failed delivery, or one the receiver lost), and the edge's Prometheus metrics. API key.
 */
import type { FastifyInstance } from 'fastify';
import type { Edge } from '../../edge/edge.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { WebhookStore, type DeliveryState, type WebhookDelivery } from '../webhooks/store.js';
import { notFound } from './errors.js';
import { ref } from './schemas.js';

const ERRORS = { '4xx': ref('error.json'), '5xx': ref('error.json') };

export async function webhookRoutes(app: FastifyInstance, { edge }: { edge: Edge }): Promise<void> {
  app.get<{ Querystring: { state?: DeliveryState; limit: number } }>(
    '/webhooks/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Webhook deliveries: pending, delivered, failed',
        description:
          'The POSTs of new documents and status changes to the configured webhooks, newest first, with the counts by state. ' +
          'A pending delivery waits for its next try (nextAttemptAt); a failed one was given up after webhookRetry.giveUpAfterSeconds ' +
          'and waits for a replay.',
        querystring: ref('webhook-delivery-query.json'),
        response: { 200: ref('webhook-delivery-list.json'), ...ERRORS },
      },
    },
    async (request): Promise<{ counts: Record<DeliveryState, number>; items: WebhookDelivery[] }> => {
      const store = edge.adapter(WebhookDispatcher)?.store ?? new WebhookStore(edge.db);
      return { counts: store.counts(), items: store.list({ ...(request.query.state ? { state: request.query.state } : {}), limit: request.query.limit }) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/webhooks/deliveries/:id/replay',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Send a webhook delivery again',
        description:
          'Makes the delivery pending and tries it at once (then by the back-off again, with a fresh give-up time): the same ' +
          'event id and body, signed anew. For a failed delivery, or a delivered one the receiver lost. 404 when there is no such delivery.',
        params: ref('webhook-delivery-params.json'),
        response: { 202: ref('webhook-delivery.json'), ...ERRORS },
      },
    },
    async (request, reply) => {
      const delivery = dispatcherOf(edge).replay(request.params.id);
      if (!delivery) throw notFound(`no webhook delivery ${request.params.id} at this edge; list them at GET /api/v1/webhooks/deliveries`);
      request.log.info({ client: request.apiClient, delivery: delivery.id, eventId: delivery.eventId }, 'webhook delivery replayed');
      return reply.code(202).send(delivery);
    },
  );
}

/** GET /metrics: Prometheus text, with an API key like the rest of the API. */
export async function metricsRoutes(app: FastifyInstance, { edge }: { edge: Edge }): Promise<void> {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: "The edge's Prometheus metrics",
        description: 'Prometheus text: lt_webhook_deliveries{state}, lt_webhook_attempts_total{outcome}, lt_health_degraded, lt_signing_certificate_expiry_seconds{subject}, lt_crl_next_update_seconds{issuer}. Needs an API key (a scraper sends it as a bearer token).',
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...ERRORS },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => reply.type(edge.metrics.contentType).send(await edge.metrics.text()),
  );
}

function dispatcherOf(edge: Edge): WebhookDispatcher {
  const dispatcher = edge.adapter(WebhookDispatcher);
  if (!dispatcher) throw Object.assign(new Error('this edge runs without its webhook dispatcher; start it with "lienthong edge"'), { statusCode: 503 });
  return dispatcher;
}
