/**
 * A document's life after it was sent, over the edge's Lifecycle: a recipient's actions
 * (statuses 02-06, answers 15/16 to a recall), the sender's recall (13), follow-up documents
 * (a reply to a received document; an update or a replacement of a sent one), the links
 * between documents (thread, chain) and the reports (overdue, paper copies).
 *
 * The state machine and the signing are the Lifecycle's and the outbox's: the routes check
 * which document the request is about, fill in what the edge knows (whom a reply answers, what
 * an update refers to, the recipients) and map the library's refusals through the one error
 * handler (409 STATUS_ILLEGAL_TRANSITION, 422 PACKET_INVALID, 403 NOT_RECIPIENT, 404 NOT_FOUND).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Edge } from '../../edge/edge.js';
import type { RecipientAction } from '../../edge/lifecycle.js';
import type { Submitted } from '../../edge/outbox.js';
import type { DocumentRow } from '../../edge/records.js';
import type { AttachmentInput, DocumentInput } from '../../envelope/compose.js';
import type { Bussiness, DocumentPacket, Organization, Packet } from '../../envelope/types.js';
import { LtError } from '../../errors.js';
import { DeliveryLog } from '../../store/deliveries.js';
import { documentInput, ERRORS, multipartBody, readMultipart, type AttachmentInputJson, type DocumentInputJson } from './documents.js';
import { notFound } from './errors.js';
import { ref } from './schemas.js';
import { chainDocument, documentPath, documentSummary, overdueItem, paperItem, type ChainDocumentJson, type DocumentSummaryJson, type OverdueItemJson, type PaperItemJson } from './views.js';

export interface LifecycleRoutesOptions {
  edge: Edge;
  /** Largest request body (bytes); multipart bodies are held to it too. */
  bodyLimit: number;
}

/** The body of POST /documents/{id}/status (schemas/api/status-input.json). */
export type StatusInputJson = RecipientAction;

/** The body of POST /documents/{id}/recall (schemas/api/recall-input.json). */
export interface RecallInputJson {
  reason: string;
  recipients?: string[];
}

/** The body of reply, update and replace (schemas/api/follow-up-input.json). */
export type FollowUpInputJson = Omit<DocumentInputJson, 'to' | 'responseFor' | 'bussiness' | 'attachments'> & {
  to?: Organization[];
  bussiness?: Pick<Bussiness, 'bussinessDocReason' | 'paper' | 'bussinessDocumentInfo'>;
  attachments?: AttachmentInputJson[];
};

type Params = { documentId: string };
type FollowUp = 'reply' | 'update' | 'replace';

const FOLLOW_UP_INPUT = ref('follow-up-input.json');
const PARAMS = ref('document-params.json');

const FOLLOW_UPS: Record<FollowUp, { summary: string; description: string }> = {
  reply: {
    summary: 'Reply to a received document',
    description:
      'Sends a new document that answers a document this agency received: the edge fills in ResponseFor (the received document, ' +
      'its sender, number and promulgation date) and, when "to" is left out, addresses it to that sender. Otherwise the same as ' +
      'POST /documents (JSON or multipart, validated, signed, queued; 202 with the packet id). A document this agency sent: 403 ' +
      'NOT_RECIPIENT; an unknown one: 404.',
  },
  update: {
    summary: 'Send an update of a document this agency sent',
    description:
      'Sends a new document (its own number) that updates one this agency sent: BussinessDocType 2 with Bussiness/DocumentId = the ' +
      'original; "to" defaults to the original\'s recipients. Otherwise the same as POST /documents. A received document: 403 ' +
      'NOT_RECIPIENT; an unknown one: 404.',
  },
  replace: {
    summary: 'Send a replacement of a document this agency sent',
    description:
      'Sends a new document (its own number) that replaces one this agency sent: BussinessDocType 3 with ReplacementInfoList naming ' +
      'the original; the recipients mark the original superseded. "to" defaults to the original\'s recipients. Otherwise the same as ' +
      'POST /documents. A received document: 403 NOT_RECIPIENT; an unknown one: 404.',
  },
};

export async function lifecycleRoutes(app: FastifyInstance, { edge, bodyLimit }: LifecycleRoutesOptions): Promise<void> {
  // The follow-up documents come as JSON or multipart, like POST /documents; plain text is neither.
  app.removeContentTypeParser('text/plain');
  const deliveries = new DeliveryLog(edge.db);
  const summary = (d: DocumentRow): DocumentSummaryJson => documentSummary(d, deliveries.all(d.documentId));

  const known = (documentId: string): DocumentRow => {
    const document = edge.records.document(documentId);
    if (!document) throw notFound(`no document ${documentId} in this edge's outbox or inbox`, { documentId });
    return document;
  };

  /** The signed packet of a stored document, parsed: its From and To blocks as they travelled. */
  const storedPacket = async (document: DocumentRow): Promise<DocumentPacket> => {
    let packet: Packet;
    try {
      packet = await edge.outbox.readPacket(await edge.blobs.get(document.blob));
    } catch (error) {
      throw new LtError('IO', `the stored packet of document ${document.documentId} cannot be read`, { documentId: document.documentId, packetId: document.packetId }, { cause: error });
    }
    if (packet.kind !== 'document') throw new LtError('INTERNAL', `the stored packet of document ${document.documentId} is not a document packet`, { documentId: document.documentId });
    return packet;
  };

  app.post<{ Params: Params; Body: StatusInputJson }>(
    '/documents/:documentId/status',
    {
      schema: {
        tags: ['lifecycle'],
        summary: "Give a status on a received document (this agency's action)",
        description:
          'Records the action on a document this agency received and queues the signed status packet to its sender: 03 accepted, ' +
          '04 assigned (with "assignment"), 05 processing, 06 completed, 02 returned (with the reason in "description"), and the ' +
          'answers 15 (recall accepted) / 16 (recall refused, with the reason) to a recall. Answers 202 with the status packet id ' +
          'and the new state. A step the state machine does not allow (06 before 03, anything after 02 or 06, a repeated 03, 15 ' +
          'without a pending recall, anything after the document was recalled) is refused with 409 STATUS_ILLEGAL_TRANSITION and ' +
          'nothing is sent; 02 or 16 without a reason, or 04 without a unit or person: 422 PACKET_INVALID; a document this agency ' +
          'sent: 403 NOT_RECIPIENT; an unknown one: 404.',
        params: PARAMS,
        body: ref('status-input.json'),
        response: { 202: ref('status-queued.json'), ...ERRORS },
      },
    },
    async (request, reply) => {
      const { documentId } = request.params;
      const body = request.body;
      if (body.assignment !== undefined && body.code !== '04') {
        throw new LtError('USAGE', `"assignment" goes with status 04 (assigned), not ${body.code}`, { path: 'body/assignment', documentId });
      }
      const { packetId, state } = await edge.lifecycle.act(documentId, { ...body, ...(request.apiClient ? { client: request.apiClient } : {}) });
      request.log.info({ client: request.apiClient, documentId, statusCode: body.code, packetId }, 'status queued');
      return reply.code(202).send({ packetId, state: { stage: state.stage, recall: state.recall } });
    },
  );

  app.post<{ Params: Params; Body: RecallInputJson }>(
    '/documents/:documentId/recall',
    {
      schema: {
        tags: ['lifecycle'],
        summary: 'Recall a document this agency sent (status 13)',
        description:
          'Queues one signed status 13 with the reason per recipient (all those that can still be recalled from, or those listed): on the ' +
          "urgent lane once a recipient confirmed arrival (01), before that in the document's own lane so that it cannot overtake it; each " +
          "recipient's edge answers 15 (recalled) or 16 (refused, e.g. already completed). Answers 202 with the packet ids. The " +
          'recall is refused as a whole, nothing sent, with 409 STATUS_ILLEGAL_TRANSITION when a listed recipient (or, unlisted, every one) cannot be recalled from ' +
          '(it bounced, returned the document with 02, was already recalled, or a recall is pending); a recipient that did not ' +
          'receive the document, or a document this agency received: 403 NOT_RECIPIENT; a blank reason: 422 PACKET_INVALID.',
        params: PARAMS,
        body: ref('recall-input.json'),
        response: { 202: ref('recall-queued.json'), ...ERRORS },
      },
    },
    async (request, reply) => {
      const { documentId } = request.params;
      const { packetIds } = await edge.lifecycle.recall(documentId, { ...request.body, ...(request.apiClient ? { client: request.apiClient } : {}) });
      request.log.info({ client: request.apiClient, documentId, packetIds }, 'recall queued');
      return reply.code(202).send({ packetIds });
    },
  );

  /** The metadata of a follow-up: JSON, or multipart with a `metadata` field and file parts. */
  const followUpBody = async (request: FastifyRequest): Promise<{ json: FollowUpInputJson; files: AttachmentInput[] }> => {
    if (request.isMultipart()) {
      const { metadata, files } = await readMultipart<FollowUpInputJson>(request, bodyLimit, FOLLOW_UP_INPUT);
      return { json: metadata, files };
    }
    if (request.body !== null && typeof request.body === 'object' && !Array.isArray(request.body)) return { json: request.body as FollowUpInputJson, files: [] };
    throw Object.assign(new Error('send the document as application/json or multipart/form-data'), { statusCode: 415 });
  };

  /** A reply answers a received document; only the sender updates or replaces its own. */
  const checkFollows = (kind: FollowUp, original: DocumentRow): void => {
    const documentId = original.documentId;
    if (kind === 'reply' && original.direction !== 'in') {
      throw new LtError('NOT_RECIPIENT', `document ${documentId} was sent by this agency; a reply answers a document it received`, { documentId });
    }
    if (kind !== 'reply' && original.direction !== 'out') {
      throw new LtError('NOT_RECIPIENT', `document ${documentId} was received from ${original.sender}; only its sender can ${kind} it`, { documentId });
    }
  };

  /** What the edge fills in for each kind of follow-up, from the document it follows. */
  const links = async (kind: FollowUp, original: DocumentRow, json: FollowUpInputJson): Promise<Pick<DocumentInput, 'to' | 'responseFor' | 'bussiness'>> => {
    const documentId = original.documentId;
    if (kind === 'reply') {
      return {
        to: json.to ?? [(await storedPacket(original)).from],
        responseFor: [
          {
            organId: original.sender,
            documentId,
            ...(original.code ? { code: original.code } : {}),
            ...(original.promulgationDate ? { promulgationDate: original.promulgationDate } : {}),
          },
        ],
      };
    }
    const bussiness: Partial<Bussiness> =
      kind === 'update'
        ? { ...json.bussiness, bussinessDocType: '2', documentId }
        : { ...json.bussiness, bussinessDocType: '3', replacementInfoList: [{ documentId }] };
    return { to: json.to ?? (await storedPacket(original)).to, bussiness };
  };

  for (const kind of ['reply', 'update', 'replace'] as const) {
    app.post<{ Params: Params }>(
      `/documents/:documentId/${kind}`,
      {
        schema: {
          tags: ['lifecycle'],
          ...FOLLOW_UPS[kind],
          params: PARAMS,
          body: { content: { 'application/json': { schema: FOLLOW_UP_INPUT } } },
          response: {
            202: { ...ref('submitted.json'), headers: { location: { type: 'string', description: 'Path of the new document' } } },
            ...ERRORS,
          },
        },
        config: {
          swaggerTransform: ({ schema, url }) => ({
            schema: { ...schema, body: { content: { 'application/json': { schema: FOLLOW_UP_INPUT }, 'multipart/form-data': multipartBody('FollowUpInput') } } },
            url,
          }),
        },
      },
      async (request, reply) => {
        const original = known(request.params.documentId);
        checkFollows(kind, original);
        const client = request.apiClient ?? 'api';
        const { json, files } = await followUpBody(request);
        const submitted: Submitted = await edge.outbox.submitDocument({ ...documentInput(json, files), ...(await links(kind, original, json)) }, client);
        request.log.info({ client, documentId: submitted.documentId, packetId: submitted.packetId, follows: original.documentId, kind }, `${kind} submitted`);
        return reply.code(202).header('location', documentPath(submitted.documentId)).send(submitted);
      },
    );
  }

  app.get<{ Params: Params }>(
    '/documents/:documentId/thread',
    {
      schema: {
        tags: ['lifecycle'],
        summary: 'The replies around a document',
        description: 'What the document answers (up to the first document of the thread) and every reply to it, as far as this edge holds them.',
        params: PARAMS,
        response: { 200: ref('thread.json'), ...ERRORS },
      },
    },
    async (request): Promise<{ ancestors: DocumentSummaryJson[]; replies: DocumentSummaryJson[] }> => {
      known(request.params.documentId);
      const { ancestors, replies } = edge.lifecycle.thread(request.params.documentId);
      return { ancestors: ancestors.map(summary), replies: replies.map(summary) };
    },
  );

  app.get<{ Params: Params }>(
    '/documents/:documentId/chain',
    {
      schema: {
        tags: ['lifecycle'],
        summary: 'A document with its updates, replacements and revocations',
        description: 'The original first, then every document that updates, replaces or revokes it (and those that follow them), as far as this edge holds them.',
        params: PARAMS,
        response: { 200: ref('chain.json'), ...ERRORS },
      },
    },
    async (request): Promise<{ documents: ChainDocumentJson[] }> => {
      known(request.params.documentId);
      return { documents: edge.lifecycle.chain(request.params.documentId).map((d) => chainDocument(d, deliveries.all(d.documentId))) };
    },
  );

  app.get<{ Querystring: { at?: string } }>(
    '/overdue',
    {
      schema: {
        tags: ['reports'],
        summary: 'Deadlines passed',
        description:
          'Receipts not given in time, processing past the DueDate and documents issued late, for incoming and outgoing documents, ' +
          'on the working-day calendar (weekends, Vietnamese holidays and the configured days), at "at" (default now).',
        querystring: ref('overdue-query.json'),
        response: { 200: ref('overdue-list.json'), ...ERRORS },
      },
    },
    async (request): Promise<{ at: string; items: OverdueItemJson[] }> => {
      const at = request.query.at !== undefined ? new Date(request.query.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new LtError('USAGE', `"${request.query.at}" is not an ISO date-time`, { path: 'querystring/at' });
      return { at: at.toISOString(), items: edge.lifecycle.overdue(at).map(overdueItem) };
    },
  );

  app.get(
    '/paper',
    {
      schema: {
        tags: ['reports'],
        summary: 'Paper copies to send',
        description: 'Recipients of documents this agency sent that need a paper copy: the document has Paper = 1, or the recipient is not connected (bounced as unknown or suspended).',
        response: { 200: ref('paper-list.json'), ...ERRORS },
      },
    },
    async (): Promise<{ items: PaperItemJson[] }> => ({ items: edge.lifecycle.paper().map(paperItem) }),
  );
}
