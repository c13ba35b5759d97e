/**
 * The edge's REST API (design.md, "Adapters"): a fastify instance over one Edge. Built here,
 * not listening: `lienthong edge` listens on the configured host and port, tests use
 * `inject()` or listen on 127.0.0.1:0. With "api.tls" it serves HTTPS.
 *
 *   /docs, /docs/json        OpenAPI (public)
 *   /health, /api/v1/health  liveness (public): the same answer at the root, where load
 *                            balancers and container health checks look first
 *   /api/v1/documents ...    submit, read, attachments, packet (API key)
 *   /api/v1/documents/{id}/status, recall, reply, update, replace, thread, chain
 *                            the document's life after sending (API key)
 *   /api/v1/outbox, /inbox   lists (API key)
 *   /api/v1/overdue, /paper  deadlines passed, paper copies to send (API key)
 *   /sdk/<call>              the national SDK's calls (its signed headers), when edge.json
 *                            lists api.sdkClients
 *   /api/v1/webhooks/deliveries ...  webhook deliveries, replay (API key)
 *   /metrics                 Prometheus text (API key)
 */
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { EdgeApiConfig } from '../../edge/config.js';
import type { Edge } from '../../edge/edge.js';
import { componentLogger, type Logger } from '../../log.js';
import { ApiKeyring, apiKeyHook } from './auth.js';
import { documentRoutes } from './documents.js';
import { errorAnswer, installErrorHandling } from './errors.js';
import { healthRoutes } from './health.js';
import { lifecycleRoutes } from './lifecycle.js';
import { metricsRoutes, webhookRoutes } from './webhooks.js';
import { mailboxRoutes } from './mailboxes.js';
import { registerOpenApi } from './openapi.js';
import { addApiSchemas } from './schemas.js';
import { PAYLOAD_VALIDATION } from '../../payload-schemas.js';
import { API_PREFIX } from './views.js';
import { loadHttpsFiles } from '../../https.js';
import { SDK_PREFIX, sdkRoutes } from '../sdk/routes.js';

export interface RateLimitOptions {
  /** Requests per client (API key) per window. Default 600. */
  max?: number;
  /** The window: milliseconds or a string such as "1 minute". Default 1 minute. */
  timeWindow?: number | string;
}

export interface EdgeApiOptions {
  /** Request logs. Default: a child of the edge's logger (`component: "api"`). */
  log?: Logger;
  /** Requests per API key; `false` turns the limit off. Default 600 per minute. */
  rateLimit?: RateLimitOptions | false;
  /** Files per multipart submission. Default 100. */
  maxFiles?: number;
  /** The keys in force, for a caller that replaces them later (SIGHUP). Default: config.keys. */
  keys?: ApiKeyring;
}

export const DEFAULT_RATE_LIMIT = { max: 600, timeWindow: 60_000 } as const;

export function createEdgeApi(edge: Edge, config: EdgeApiConfig, options: EdgeApiOptions = {}): FastifyInstance {
  // Checked now, so that a bad key entry stops `lienthong edge` before it listens.
  const authenticate = apiKeyHook(options.keys ?? new ApiKeyring(config.keys));
  const log = (options.log ?? componentLogger(edge.log, 'api')) as unknown as FastifyBaseLogger;
  const https = config.tls ? loadHttpsFiles(config.tls, 'api.tls') : undefined;
  // The https server's instance type differs from the http one's only in the server it wraps.
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: log,
    bodyLimit: config.bodyLimit,
    // A forwarded client address is believed only from the proxies named in edge.json (api.trustProxy).
    trustProxy: config.trustProxy ?? false,
    // DocumentIds are long once URL-encoded (%2C, %2F).
    routerOptions: { maxParamLength: 1000 },
    // The options the CLI checks its input with too: unknown properties are refused, not dropped.
    ajv: { customOptions: PAYLOAD_VALIDATION },
    frameworkErrors: (error, request, reply) => {
      const { status, body } = errorAnswer(error, request.id);
      void (reply as FastifyReply).status(status).send(body);
    },
  }) as unknown as FastifyInstance;
  const sdkClients = config.sdkClients ?? [];
  if (config.keys.length === 0 && sdkClients.length === 0) app.log.warn('no API keys are configured (edge.json api.keys): every API request will be refused; make one with "lienthong apikey new <client>"');
  if (sdkClients.length > 0) app.log.info({ sdkClients: sdkClients.map((c) => c.systemId) }, `SDK door open at ${SDK_PREFIX} for ${sdkClients.length} system(s)`);
  installErrorHandling(app);
  addApiSchemas(app);
  registerOpenApi(app, { organId: edge.config.organId, ...(edge.config.organization.organName ? { organName: edge.config.organization.organName } : {}) });
  void app.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: config.bodyLimit, files: options.maxFiles ?? 100, fields: 10, fieldSize: config.bodyLimit },
  });
  if (options.rateLimit !== false) {
    const { max, timeWindow } = { ...DEFAULT_RATE_LIMIT, ...options.rateLimit };
    void app.register(rateLimit, {
      global: true,
      max,
      timeWindow,
      // Per client system, counted after authentication; public routes are not limited.
      keyGenerator: (request) => `client:${request.apiClient ?? ''}`,
      allowList: (request) => request.apiClient === undefined,
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`too many requests: this API key may make ${context.max} requests per ${context.after}; retry in ${Math.ceil(context.ttl / 1000)} s`), {
          statusCode: context.statusCode,
        }),
    });
  }
  void app.register(healthRoutes, { edge });
  void app.register(
    async (api) => {
      api.addHook('onRequest', authenticate);
      await api.register(healthRoutes, { edge });
      await api.register(documentRoutes, { edge, bodyLimit: config.bodyLimit });
      await api.register(mailboxRoutes, { edge });
      await api.register(lifecycleRoutes, { edge, bodyLimit: config.bodyLimit });
      await api.register(webhookRoutes, { edge });
    },
    { prefix: API_PREFIX },
  );
  // The national SDK's calls, for document systems written against it (src/adapters/sdk/).
  if (sdkClients.length > 0) void app.register(sdkRoutes, { prefix: SDK_PREFIX, edge, clients: sdkClients, bodyLimit: config.bodyLimit });
  void app.register(async (root) => {
    root.addHook('onRequest', authenticate);
    await root.register(metricsRoutes, { edge });
  });
  return app;
}
