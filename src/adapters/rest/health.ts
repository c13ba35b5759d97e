/**
 * Liveness for load balancers and monitoring; needs no API key. Always 200 while the process
 * serves: a degraded edge (broker away, storage full) still keeps what it accepted and heals by
 * itself, and the answer says what is wrong.
 */
import type { FastifyInstance } from 'fastify';
import type { Edge } from '../../edge/edge.js';
import { ref } from './schemas.js';

export async function healthRoutes(app: FastifyInstance, { edge }: { edge: Edge }): Promise<void> {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'The edge is up, and what keeps it from doing all its work', security: [], response: { 200: ref('health.json') } }, config: { public: true }, logLevel: 'warn' },
    async () => {
      const { status, problems } = edge.health.snapshot();
      return { status, organId: edge.config.organId, problems };
    },
  );
}
