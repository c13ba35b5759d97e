/**
 * The SDK door: the edge answers the HTTP calls of the national exchange SDK's client
 * (../shared/sdk-protocol.md), so that a document system written for that SDK works against
 * its agency's edge with only a new endpoint, systemid and secret. Mounted on the edge's REST
 * API under /sdk when edge.json lists `api.sdkClients`.
 *
 * Every call is `<endpoint>/<callName>`; an endpoint written with a trailing slash makes the
 * client send `//sendEdoc`, so each call is answered at both paths. Parameters come from the
 * signed `XroadVnpt-*` headers (protocol.ts); the work is the edge's own: documents go through
 * `Outbox.submitXml`, statuses through the Lifecycle's state machine, lists read the edge's
 * records (mailbox.ts). Every answer is the client's JSON shape, errors included:
 * `{"status":"FAIL","ErrorCode":"<lienthong code>","ErrorDesc":"..."}` with the HTTP status of
 * that code (the client reads the body whatever the status).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SdkClientConfig } from '../../edge/config.js';
import type { Edge } from '../../edge/edge.js';
import type { RecipientAction, RecipientCode } from '../../edge/lifecycle.js';
import { transition } from '../../envelope/status-machine.js';
import { LtError } from '../../errors.js';
import { DeliveryLog } from '../../store/deliveries.js';
import { errorAnswer } from '../rest/errors.js';
import { SdkMailbox } from './mailbox.js';
import {
  asciiJson,
  CALLS,
  failReply,
  fileOfBody,
  okReply,
  SERVICE_TYPE,
  verifySignedCall,
  sdkUpdateOf,
  UPDATE_WORDS,
  type CallName,
  type MessageType,
  type SdkReply,
  type SignedCall,
  type SignedParameters,
} from '../../sdk-protocol/index.js';

/** Where the door is mounted: the program's endpoint is `<edge API base URL>/sdk`. */
export const SDK_PREFIX = '/sdk';

declare module 'fastify' {
  interface FastifyRequest {
    /** The SDK client system and what it signed (set by the door's authentication). */
    sdkCall?: SignedCall;
  }
}

export interface SdkRoutesOptions {
  edge: Edge;
  clients: readonly SdkClientConfig[];
  /** Largest request body, bytes (sendEdoc carries the packet). */
  bodyLimit: number;
}

function required(parameters: SignedParameters, key: string, call: CallName): string {
  const value = parameters.get(key);
  if (value === undefined) throw new LtError('USAGE', `${call} needs the signed parameter "${key}" (header XroadVnpt-${key})`, { path: key });
  return value;
}

/**
 * A free-text parameter (a reason, a unit): header values travel as ASCII (the SDK's HTTP
 * library turns anything else into "?"), so Vietnamese text may come percent-encoded as UTF-8.
 */
function text(parameters: SignedParameters, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = parameters.get(key);
    if (value === undefined) continue;
    if (!/%[0-9A-Fa-f]{2}/.test(value)) return value;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** `servicetype` is always `eDoc` in the SDK's examples; another service is not this door's. */
function checkServiceType(parameters: SignedParameters): void {
  const serviceType = parameters.get('servicetype');
  if (serviceType !== undefined && serviceType.toLowerCase() !== SERVICE_TYPE.toLowerCase()) {
    throw new LtError('USAGE', `servicetype "${serviceType}" is not served here; this door exchanges documents and statuses (servicetype eDoc)`, { path: 'servicetype' });
  }
}

/** `messagetype`: `edoc` (documents) or `status` (status packets). */
function messageType(parameters: SignedParameters, call: CallName, fallback?: 'edoc'): MessageType {
  const value = parameters.get('messagetype')?.toLowerCase() ?? fallback;
  if (value === 'edoc' || value === 'status') return value;
  throw new LtError('USAGE', value === undefined ? `${call} needs messagetype "edoc" or "status"` : `messagetype "${value}" is neither "edoc" nor "status"`, { path: 'messagetype' });
}

export async function sdkRoutes(app: FastifyInstance, { edge, clients, bodyLimit }: SdkRoutesOptions): Promise<void> {
  const secrets = new Map(clients.map((c) => [c.systemId, c.secret]));
  const self = edge.config.organId;
  const mailbox = new SdkMailbox(edge.db, edge.blobs, self, (bytes) => edge.outbox.readPacket(bytes));
  const deliveries = new DeliveryLog(edge.db);

  // Bodies are what the client sends as they are: the packet (application/octet-stream), "{}"
  // or nothing (application/json with Content-Length 0, which fastify's JSON parser refuses),
  // a caller's JSON (registerAgency). No call reads a JSON body, so none is parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));

  app.addHook('onRequest', async (request) => {
    const call = verifySignedCall(request.headers, (systemId) => secrets.get(systemId));
    request.sdkCall = call;
    // Logs and the per-client rate limit name the system.
    request.apiClient = `sdk:${call.systemId}`;
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfter } = errorAnswer(error, request.id);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    if (status >= 500 && retryAfter === undefined) request.log.error({ err: error, errorCode: body.error.code }, 'SDK call failed');
    else request.log.info({ errorCode: body.error.code, status, client: request.apiClient }, body.error.message);
    // downloadEdoc's client saves whatever body comes and calls a non-empty one a success.
    if (request.url.endsWith('/downloadEdoc') || request.url.includes('/downloadEdoc?')) return reply.status(status).send('');
    // sendEdoc's client nulls every field of a reply without DocId (sdk-protocol.md §5).
    const extra = request.url.includes('sendEdoc') ? { DocId: '' } : {};
    return send(reply.status(status), failReply(body.error.code, body.error.message, extra));
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    send(reply.status(404), failReply('NOT_FOUND', `no SDK call ${request.method} ${request.url.split('?')[0]}; the calls are ${Object.keys(CALLS).join(', ')}`)),
  );

  const handlers: Record<CallName, (call: SignedCall, request: FastifyRequest, reply: FastifyReply) => Promise<SdkReply | Buffer>> = {
    async sendEdoc(call, request) {
      const p = call.parameters;
      checkServiceType(p);
      const kind = messageType(p, 'sendEdoc');
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new LtError('USAGE', 'sendEdoc carries the edXML file as its body, and the body is empty');
      const file = fileOfBody(body, p.get('hash-file'));
      const client = `sdk:${call.systemId}`;
      if (kind === 'edoc') {
        const submitted = await edge.outbox.submitXml(file, client);
        request.log.info({ client, documentId: submitted.documentId, packetId: submitted.packetId }, 'document submitted through the SDK door');
        const warnings = submitted.warnings.length ? ` (${submitted.warnings.length} warning(s): ${submitted.warnings.map((w) => w.code).join(', ')})` : '';
        return okReply({ DocId: submitted.packetId }, `Success: queued as ${submitted.documentId}${warnings}`);
      }
      return okReply(...(await sendStatus(file, client)));
    },

    async getReceivedEdocList(call) {
      checkServiceType(call.parameters);
      const kind = messageType(call.parameters, 'getReceivedEdocList', 'edoc');
      const data = kind === 'edoc' ? mailbox.receivedDocuments(call.systemId) : await mailbox.receivedStatuses(call.systemId);
      return okReply({ data });
    },

    async getEdoc(call) {
      const bytes = await packetBytes(required(call.parameters, 'docId', 'getEdoc'));
      return okReply({ data: bytes.toString('base64') });
    },

    async downloadEdoc(call, _request, reply) {
      const bytes = await packetBytes(required(call.parameters, 'docId', 'downloadEdoc'));
      void reply.type('application/xml');
      return bytes;
    },

    async updateStatus(call, request) {
      const p = call.parameters;
      const docId = required(p, 'docId', 'updateStatus');
      const word = required(p, 'status', 'updateStatus');
      const update = sdkUpdateOf(word);
      if (!update) throw new LtError('USAGE', `status "${word}" is not one this door knows: ${UPDATE_WORDS.join(', ')}`, { path: 'status' });
      const target = mailbox.takeable(docId);
      if (!target) throw new LtError('DOCUMENT_UNKNOWN', `no document or status ${docId} at this edge`, { path: 'docId' });
      const client = `sdk:${call.systemId}`;
      if (update.kind === 'take') {
        if (target.kind === 'document' && target.direction === 'out') {
          throw new LtError('USAGE', `${docId} is a document this agency sent; "${update.outcome}" marks what it received (getReceivedEdocList)`, { path: 'docId' });
        }
        mailbox.take(call.systemId, target.packetId, update.outcome, new Date().toISOString());
        request.log.info({ client, packetId: target.packetId, outcome: update.outcome }, 'SDK client marked a packet');
        return okReply({}, update.outcome === 'done' ? 'Success: taken; no longer listed' : 'Success: noted; listed again');
      }
      if (target.kind === 'status') {
        throw new LtError('USAGE', `${docId} is a status packet; give "${word}" on the document it is about (${target.documentId})`, { path: 'docId' });
      }
      if (update.kind === 'arrived') {
        if (target.direction !== 'in') throw new LtError('NOT_RECIPIENT', `${docId} is a document this agency sent`, { documentId: target.documentId });
        return okReply({}, 'Success: the edge answered 01 (arrived) when the document came');
      }
      if (update.kind === 'cancellation' && target.direction === 'out') {
        const reason = text(p, 'description', 'reason');
        if (!reason) throw new LtError('PACKET_INVALID', 'recalling a sent document (13) needs the reason: add "description" to the call', { path: 'description', documentId: target.documentId });
        const { packetIds } = await edge.lifecycle.recall(target.documentId, { reason, client });
        return okReply({}, `Success: recall (13) queued in ${packetIds.length} packet(s)`);
      }
      const code: RecipientCode = update.kind === 'cancellation' ? '15' : update.code;
      return okReply({}, await act(target.documentId, code, p, client));
    },

    async countReceiveEdoc(call) {
      return okReply({ count: mailbox.countDocuments(call.systemId) });
    },

    async countReceiveStatus(call) {
      return okReply({ count: mailbox.countStatuses(call.systemId) });
    },

    async getSentEdocList(call) {
      checkServiceType(call.parameters);
      // The client never clears its header map, so a docId may be left over from a getEdoc of a
      // received document: it filters only when it names a document this agency sent.
      const docId = call.parameters.get('docId');
      return okReply({ data: mailbox.sentDocuments(docId && mailbox.isSentDocument(docId) ? docId : undefined) });
    },

    async getAgenciesList() {
      return okReply(
        { data: knownAgencies().map(({ code, name }) => ({ code, id: code, mail: '', name, pid: '', oldCode: '' })) },
        AGENCIES_NOTE,
      );
    },

    async getAgenciesListQD20() {
      return okReply({ data: knownAgencies().map(({ code, name }) => ({ code, id: code, mail: '', name, code102: code })) }, AGENCIES_NOTE);
    },

    async getSynchronizeUnit() {
      return okReply(
        {
          data: knownAgencies().map(({ code, name }) => ({ code, id: code, mail: '', name, pid: '', version: 1, centerCode: '', deleted: false, modifyDate: '', isAgency: true })),
        },
        AGENCIES_NOTE,
      );
    },

    async registerAgency() {
      throw new LtError('FORBIDDEN', "agencies are registered at the province's hub by its operators (lienthong agency add), not through an edge");
    },

    async deleteAgency() {
      throw new LtError('FORBIDDEN', "agencies are removed at the province's hub by its operators (lienthong agency remove), not through an edge");
    },
  };

  const AGENCIES_NOTE = "Success: the agencies this edge has exchanged documents with; the province's directory is kept at the hub (lienthong agency list)";

  /** This agency and every organ it exchanged documents with (the edge keeps no directory). */
  const knownAgencies = (): Array<{ code: string; name: string }> => {
    // The edge knows the organ ids, not their names (those are the hub directory's).
    return [{ code: self, name: edge.config.organization.organName ?? self }, ...mailbox.knownOrgans().map((organ) => ({ code: organ, name: organ }))];
  };

  const packetBytes = async (docId: string): Promise<Buffer> => {
    const stored = mailbox.packet(docId);
    if (!stored) throw new LtError('DOCUMENT_UNKNOWN', `no document or status ${docId} at this edge`, { path: 'docId' });
    return edge.blobs.get(stored.blob);
  };

  /**
   * A recipient's action through the state machine (Lifecycle.act). The client retries a POST
   * that failed on the way, so the same status given again is answered OK without a second packet.
   */
  const act = async (documentId: string, code: RecipientCode, p: SignedParameters, client: string): Promise<string> => {
    const state = deliveries.state(documentId, self);
    if (state && transition(state, code).outcome === 'duplicate') return `Success: status ${code} was already given; nothing sent again`;
    const description = text(p, 'description', 'reason');
    const unit = text(p, 'unit');
    const person = text(p, 'person');
    const action: RecipientAction = {
      code,
      ...(description !== undefined ? { description } : {}),
      ...(code === '04' && (unit || person) ? { assignment: { ...(unit ? { unit } : {}), ...(person ? { person } : {}) } } : {}),
      client,
    };
    if ((code === '02' || code === '16') && !description) {
      throw new LtError('PACKET_INVALID', `status ${code} needs the reason: add "description" to the call (ASCII, or UTF-8 percent-encoded)`, { path: 'description', documentId });
    }
    if (code === '04' && !unit && !person) {
      throw new LtError('PACKET_INVALID', 'assignment (04) names whom: add "unit" or "person" to the call', { path: 'unit', documentId });
    }
    const { packetId } = await edge.lifecycle.act(documentId, action);
    return `Success: status ${code} queued as packet ${packetId}`;
  };

  /**
   * A status packet the program built (the SDK's StatusXmlBuilder, unsigned): its code,
   * description and staff go through the same state machine as every other door's statuses;
   * the edge signs the status it sends. Returns the reply's DocId and description.
   */
  const sendStatus = async (file: Buffer, client: string): Promise<[{ DocId: string }, string]> => {
    const packet = await edge.outbox.readPacket(file);
    if (packet.kind !== 'status') throw new LtError('USAGE', 'messagetype is "status" but the file is a document packet; send it with messagetype "edoc"', { path: 'messagetype' });
    if (packet.from.organId !== self) {
      throw new LtError('SENDER_MISMATCH', `the status is from ${packet.from.organId}; this edge sends for ${self}`, { path: 'from.organId' });
    }
    const documentId = packet.responseFor.documentId;
    if (!documentId) throw new LtError('PACKET_INVALID', 'the status names no document (ResponseFor/DocumentId)', { path: 'responseFor.documentId' });
    const code = packet.statusCode;
    const staff = packet.staffInfo;
    if (code === '01') {
      const sent = mailbox.sentStatus(documentId, '01');
      if (!sent) throw new LtError('STATUS_ILLEGAL_TRANSITION', `this edge sent no 01 about ${documentId}; 01 is given by the edge itself when a document arrives`, { documentId });
      return [{ DocId: sent }, 'Success: the edge answered 01 (arrived) when the document came; nothing sent again'];
    }
    if (code === '13') {
      const recipient = packet.responseFor.organId;
      const recipients = recipient && deliveries.state(documentId, recipient) ? [recipient] : undefined;
      const { packetIds } = await edge.lifecycle.recall(documentId, { reason: packet.description ?? '', ...(recipients ? { recipients } : {}), client });
      return [{ DocId: packetIds[0] ?? '' }, `Success: recall (13) queued in ${packetIds.length} packet(s)`];
    }
    if (!['02', '03', '04', '05', '06', '15', '16'].includes(code)) {
      throw new LtError('PACKET_INVALID', `status ${code} is not one an agency gives about a document it received (02-06, 15, 16) or sent (13)`, { path: 'statusCode', documentId });
    }
    const action: RecipientAction = {
      code: code as RecipientCode,
      ...(packet.description ? { description: packet.description } : {}),
      ...(staff?.department || staff?.staff ? { staff: { ...(staff.department ? { department: staff.department } : {}), ...(staff.staff ? { staff: staff.staff } : {}) } } : {}),
      // The SDK's status has no assignment fields: its StaffInfo names who the document went to.
      ...(code === '04' && (staff?.department || staff?.staff) ? { assignment: { ...(staff.department ? { unit: staff.department } : {}), ...(staff.staff ? { person: staff.staff } : {}) } } : {}),
      client,
    };
    const state = deliveries.state(documentId, self);
    if (state && transition(state, action.code).outcome === 'duplicate') {
      return [{ DocId: mailbox.sentStatus(documentId, code) ?? '' }, `Success: status ${code} was already given; nothing sent again`];
    }
    const { packetId } = await edge.lifecycle.act(documentId, action);
    return [{ DocId: packetId }, `Success: status ${code} queued`];
  };

  for (const [name, method] of Object.entries(CALLS) as Array<[CallName, 'GET' | 'POST']>) {
    const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const call = request.sdkCall as SignedCall;
      const answer = await handlers[name](call, request, reply);
      return Buffer.isBuffer(answer) ? reply.send(answer) : send(reply, answer);
    };
    // An endpoint configured with a trailing slash: sendEdoc then comes as //sendEdoc (§1).
    // Not in the OpenAPI description: the SDK's calls are described by its protocol, not by JSON schemas.
    for (const url of [`/${name}`, `//${name}`]) app.route({ method, url, handler, schema: { hide: true } });
  }
}

/** Replies in ASCII-only JSON (sendEdoc's client reads US-ASCII). */
function send(reply: FastifyReply, body: SdkReply): FastifyReply {
  return reply.type('application/json').send(asciiJson(body));
}
