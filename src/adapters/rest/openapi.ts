/**
 * The OpenAPI description of the API, built by @fastify/swagger from the routes' JSON Schemas
 * (schemas/api/), served as JSON at /docs/json and browsable with Swagger UI at /docs. Both
 * are public: they describe the API, they give access to nothing.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { apiSchemas, packageVersion } from './schemas.js';

/** `document-view.json` → its title `DocumentView` as the component name. */
function componentName(json: Record<string, unknown>, i: number): string {
  const id = typeof json.$id === 'string' ? json.$id : undefined;
  const known = id ? apiSchemas().find((s) => s.$id === id) : undefined;
  return known?.title ?? (id ? id.replace(/\.json$/, '') : `def-${i}`);
}

/** Register before the routes: @fastify/swagger collects them as they are added. */
export function registerOpenApi(app: FastifyInstance, options: { organId: string; organName?: string }): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `lienthong edge API — ${options.organName ?? options.organId}`,
        version: packageVersion(),
        description:
          `The REST API of the lienthong edge of ${options.organId}: submit documents (JSON metadata with base64 attachments, ` +
          'multipart/form-data, or a ready edXML packet, unsigned or signed by the agency), list the outbox and inbox, follow each document\'s status with ' +
          'every recipient, download attachments and signed packets; act on received documents (statuses 02-06, answers to ' +
          'recalls), recall sent ones, reply to, update and replace documents, follow threads and chains, list what is overdue ' +
          'and the paper copies to send; see and replay webhook deliveries. Every /api/v1 route except /health needs an API key ' +
          '(`lienthong apikey new <client>`). Errors answer `{ "error": { "code", "message", ... } }` with the codes of the ' +
          'lienthong error catalogue.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The key made by `lienthong apikey new`.' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same key as a bearer token.' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
      tags: [
        { name: 'documents', description: 'Submit and read documents' },
        { name: 'mailboxes', description: 'The outbox and the inbox' },
        { name: 'lifecycle', description: "A document's life after sending: statuses, recalls, replies, updates, replacements, threads and chains" },
        { name: 'reports', description: 'Deadlines passed and paper copies to send' },
        { name: 'webhooks', description: 'Deliveries of new documents and status changes to the configured webhooks' },
        { name: 'metrics', description: 'Prometheus metrics' },
        { name: 'health', description: 'Liveness' },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => componentName(json as Record<string, unknown>, i) },
  });
  void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true }, logLevel: 'warn' });
}
