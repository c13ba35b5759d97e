/** Liveness for load balancers and monitoring; needs no API key. */
import type { FastifyInstance } from 'fastify';
import type { Edge } from '../../edge/edge.js';
import { ref } from './schemas.js';

export async function healthRoutes(app: FastifyInstance, { edge }: { edge: Edge }): Promise<void> {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'The edge is up', security: [], response: { 200: ref('health.json') } }, config: { public: true }, logLevel: 'warn' },
    async () => ({ status: 'ok' as const, organId: edge.config.organId }),
  );
}
