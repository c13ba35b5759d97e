/** The outbox and the inbox: filtered, paged, urgent documents first (Decree 30/2020). */
import type { FastifyInstance } from 'fastify';
import type { Edge } from '../../edge/edge.js';
import { ref } from './schemas.js';
import { documentQuery, documentSummary, type DocumentListJson, type ListQueryJson } from './views.js';

const ERRORS = { '4xx': ref('error.json'), '5xx': ref('error.json') };

export async function mailboxRoutes(app: FastifyInstance, { edge }: { edge: Edge }): Promise<void> {
  const mailbox = (direction: 'out' | 'in', path: string, summary: string): void => {
    app.get<{ Querystring: ListQueryJson }>(
      path,
      { schema: { tags: ['mailboxes'], summary, querystring: ref('list-query.json'), response: { 200: ref('document-list.json'), ...ERRORS } } },
      async (request): Promise<DocumentListJson> => {
        const query = documentQuery(direction, request.query);
        const { total, items } = edge.list(query);
        return { total, page: query.page, pageSize: query.pageSize, items: items.map(({ deliveries, ...document }) => documentSummary(document, deliveries)) };
      },
    );
  };
  mailbox('out', '/outbox', 'Documents this agency sent, with where each stands with every recipient');
  mailbox('in', '/inbox', 'Documents this agency received');
}
