/**
 * One error handler for the whole API: every failure answers
 * `{ "error": { "code", "message", "path"?, "documentId"?, "packetId"?, "findings"? } }`
 * (schemas/api/error.json) with the HTTP status of the code in the error catalogue.
 *  - LtError: its code and the catalogue's status; a ValidationError adds its findings.
 *  - fastify's own request errors: schema validation and malformed JSON → USAGE (400), body too
 *    large → REQUEST_TOO_LARGE, unsupported media type → UNSUPPORTED_MEDIA_TYPE, rate limit →
 *    RATE_LIMITED, each with fastify's 4xx status.
 *  - a local fault (the edge's disk full, its database locked: src/store/faults.ts): 503
 *    STORAGE_FULL or STORAGE_UNAVAILABLE with Retry-After; nothing was stored, sending again
 *    later is safe.
 *  - anything else: 500 INTERNAL with a request id to look up in the edge log; no stack trace
 *    or internal message leaves the server.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, LtError, type ErrorCode } from '../../errors.js';
import type { Finding } from '../../envelope/validate.js';
import { ValidationError } from '../../edge/outbox.js';
import { schemaViolation, type SchemaErrorLike } from '../../payload-schemas.js';
import { faultAsError, RETRY_AFTER_SECONDS } from '../../store/faults.js';

export { schemaViolation, type SchemaErrorLike };

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    path?: string;
    documentId?: string;
    packetId?: string;
    findings?: Finding[];
  };
}

export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  /** Seconds, for a Retry-After header: the same request may succeed then. */
  retryAfter?: number;
}

type RequestError = FastifyError & { validationContext?: string };

/** What to answer for a thrown value (pure, for the handler and the tests). */
export function errorAnswer(error: unknown, requestId: string): ErrorAnswer {
  const fault = faultAsError(error);
  if (fault) return { status: fault.status, body: { error: { code: fault.code, message: fault.message } }, retryAfter: RETRY_AFTER_SECONDS };
  if (error instanceof LtError) {
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.context.path !== undefined) body.error.path = error.context.path;
    if (error.context.documentId !== undefined) body.error.documentId = error.context.documentId;
    if (error.context.packetId !== undefined) body.error.packetId = error.context.packetId;
    if (error instanceof ValidationError) body.error.findings = error.findings;
    return { status: error.status, body };
  }
  const e = error as Partial<RequestError> | undefined;
  if (e && Array.isArray(e.validation) && e.validation.length > 0) {
    const { message, path } = schemaViolation(e.validationContext ?? 'body', e.validation[0] as SchemaErrorLike);
    return { status: 400, body: { error: { code: 'USAGE', message, path } } };
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 413 ? 'REQUEST_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 429 ? 'RATE_LIMITED' : 'USAGE';
    return { status, body: { error: { code, message: e?.message || ERROR_CATALOGUE[code].summary } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: `${ERROR_CATALOGUE.INTERNAL.summary}; the edge log has the details under request id ${requestId}` } } };
}

export function notFound(what: string, context: { documentId?: string } = {}): LtError {
  return new LtError('NOT_FOUND', what, context);
}

/** Install the error and not-found handlers on the root instance (children inherit them). */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfter } = errorAnswer(error, request.id);
    if (retryAfter !== undefined) {
      // The node's own temporary fault, logged once by its health board: one line per request is enough.
      request.log.warn({ errorCode: body.error.code, status, client: request.apiClient }, body.error.message);
      void reply.header('retry-after', String(retryAfter));
    } else if (status >= 500) request.log.error({ err: error, errorCode: body.error.code }, 'request failed');
    else request.log.info({ errorCode: body.error.code, status, client: request.apiClient }, body.error.message);
    return reply.status(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorAnswer(notFound(`no such resource: ${request.method} ${request.url.split('?')[0]}`), request.id);
    return reply.status(status).send(body);
  });
}
