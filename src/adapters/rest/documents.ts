/**
 * Documents: submit one (JSON metadata with base64 attachments, multipart/form-data with a
 * `metadata` field and file parts, or a ready edXML packet, signed or not), read one with its
 * deliveries and status timeline, download its attachments (and the files inside zipped ones)
 * and its signed packet.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isZip, listZip, readZipEntry } from '../../archive/zip.js';
import type { Edge } from '../../edge/edge.js';
import type { AttachmentRow } from '../../edge/records.js';
import type { Submitted } from '../../edge/outbox.js';
import { contentTypeFor, type AttachmentInput } from '../../envelope/compose.js';
import { documentInput, type DocumentInputJson } from '../../document-metadata.js';
import { LtError } from '../../errors.js';
import { contentDisposition, safeContentType } from './download.js';
import { notFound } from './errors.js';
import { payloadViolation } from '../../payload-schemas.js';
import { ref } from './schemas.js';
import { attachmentFiles, attachmentPath, documentPath, documentView, isZipMediaType } from './views.js';

export interface DocumentRoutesOptions {
  edge: Edge;
  /** Largest request body (bytes); multipart bodies are held to it too. */
  bodyLimit: number;
}

export { documentInput, type AttachmentInputJson, type DocumentInputJson } from '../../document-metadata.js';

type Params = { documentId: string };
type AttachmentParams = Params & { contentId: string };
type AttachmentFileParams = AttachmentParams & { '*': string };

export const ERRORS = { '4xx': ref('error.json'), '5xx': ref('error.json') };
const DOCUMENT_INPUT = ref('document-input.json');
const XML_TYPES = ['application/xml', 'text/xml'];

/** The multipart body as the OpenAPI document shows it: JSON metadata of `title` and file parts. */
export function multipartBody(title: string): { schema: Record<string, unknown> } {
  return {
    schema: {
      type: 'object',
      required: ['metadata'],
      properties: {
        metadata: { type: 'string', description: `The document metadata: JSON of ${title} (attachments may be left out).` },
        files: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'Any number of file parts: each becomes an attachment, named by its file name.' },
      },
    },
  };
}

/** What the OpenAPI document shows besides the JSON body (fastify validates only the JSON one). */
const OTHER_BODIES = {
  'multipart/form-data': multipartBody('DocumentInput'),
  'application/xml': {
    schema: {
      type: 'string',
      description: "A complete edXML document packet from this agency: unsigned (the edge signs it) or signed with the agency's certificate (verified, then sent byte for byte).",
    },
  },
};

function tooLarge(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 413 });
}

/**
 * A multipart body: one `metadata` field (JSON, checked against the same schema as the JSON
 * body: DocumentInput, or `schema` for the follow-up routes) and file parts. The metadata may
 * come as a plain field, as a field typed application/json (`curl -F "metadata=<m.json;type=application/json"`,
 * which @fastify/multipart has already parsed) or as a file part.
 */
export async function readMultipart<T = DocumentInputJson>(
  request: FastifyRequest,
  bodyLimit: number,
  schema: { $ref: string } = DOCUMENT_INPUT,
): Promise<{ metadata: T; files: AttachmentInput[] }> {
  let metadata: { json: unknown } | { text: string } | undefined;
  const files: AttachmentInput[] = [];
  let total = 0;
  try {
    for await (const part of request.parts()) {
      if (part.fieldname === 'metadata') {
        if (metadata !== undefined) throw new LtError('USAGE', 'the multipart body has more than one "metadata" field', { path: 'metadata' });
        if (part.type === 'file') metadata = { text: (await part.toBuffer()).toString('utf8') };
        else if (typeof part.value === 'string') metadata = { text: part.value };
        else metadata = { json: part.value };
        total += Buffer.byteLength('text' in metadata ? metadata.text : JSON.stringify(metadata.json));
      } else if (part.type === 'file') {
        const content = await part.toBuffer();
        total += content.byteLength;
        if (total > bodyLimit) throw tooLarge(`the multipart body is larger than the limit of ${bodyLimit} bytes`);
        const mimetype = part.mimetype && part.mimetype !== 'application/octet-stream' ? part.mimetype : undefined;
        files.push({ name: part.filename || part.fieldname, content, ...(mimetype ? { contentType: mimetype } : {}) });
      } else {
        throw new LtError('USAGE', `unexpected multipart field "${part.fieldname}": send "metadata" (the JSON metadata) and file parts`, { path: part.fieldname });
      }
    }
  } catch (error) {
    // A field declared application/json that does not parse: @fastify/multipart's 406.
    if ((error as { code?: unknown }).code === 'FST_INVALID_JSON_FIELD_ERROR') {
      throw new LtError('USAGE', 'a multipart field declared application/json is not JSON (or it carries a "__proto__" or "constructor" key); send the document metadata as JSON', { path: 'metadata' });
    }
    throw error;
  }
  if (metadata === undefined) throw new LtError('USAGE', 'the multipart body needs a "metadata" field with the document metadata as JSON', { path: 'metadata' });
  let value: unknown;
  if ('json' in metadata) value = metadata.json;
  else {
    try {
      value = JSON.parse(metadata.text);
    } catch (error) {
      throw new LtError('USAGE', `the "metadata" field is not JSON: ${(error as Error).message}`, { path: 'metadata' });
    }
  }
  const violation = payloadViolation(schema.$ref.replace(/#$/, ''), value, 'metadata');
  if (violation) throw new LtError('USAGE', violation.message, { path: violation.path });
  return { metadata: value as T, files };
}

async function findAttachment(edge: Edge, documentId: string, contentId: string): Promise<{ meta: AttachmentRow; content: Buffer }> {
  const found = await edge.attachment(documentId, contentId);
  if (found) return found;
  throw notFound(edge.records.document(documentId) ? `document ${documentId} has no attachment ${contentId}` : `no document ${documentId} in this edge's outbox or inbox`, { documentId });
}

/**
 * A zipped attachment read with `read`; every archive error names the attachment. A file that
 * is neither declared a zip nor starts like one is refused before any parsing.
 */
async function inZippedAttachment<T>(edge: Edge, documentId: string, contentId: string, read: (meta: AttachmentRow, content: Buffer) => T): Promise<T> {
  const { meta, content } = await findAttachment(edge, documentId, contentId);
  const what = `attachment ${contentId} of document ${documentId}`;
  if (!isZipMediaType(meta.contentType) && !isZip(content)) {
    throw new LtError('ZIP_INVALID', `${what} is ${meta.contentType ?? 'of no declared type'}, not a zip archive; download it whole from ${attachmentPath(documentId, contentId)}`, {
      documentId,
    });
  }
  try {
    return read(meta, content);
  } catch (error) {
    if (error instanceof LtError) throw new LtError(error.code, `${what}: ${error.message}`, { ...error.context, documentId }, { cause: error });
    throw error;
  }
}

/** Bytes copied at once while a body without a Content-Length is put together: about 1 ms each. */
const ASSEMBLY_SLICE = 1024 * 1024;

/**
 * An XML body as one Buffer that owns its memory, so that it can move to the crypto worker.
 * fastify's `parseAs: 'buffer'` concatenates the chunks when the body ends: for 30 MiB that one
 * copy into fresh pages held the event loop for 140-190 ms. With a Content-Length the buffer is
 * allocated up front and each chunk is copied as it arrives; without one the chunks are put
 * together a slice at a time, letting other requests in between.
 */
function readXmlBody(payload: NodeJS.ReadableStream, contentLength: string | undefined, limit: number): Promise<Buffer> {
  const expected = contentLength === undefined ? undefined : Number(contentLength);
  if (expected !== undefined && expected > limit) return Promise.reject(tooLarge(`the XML body is larger than the limit of ${limit} bytes`));
  const known = expected !== undefined && Number.isSafeInteger(expected) && expected >= 0 ? expected : undefined;
  return new Promise<Buffer>((resolve, reject) => {
    const body = known === undefined ? undefined : Buffer.allocUnsafeSlow(known);
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (error: Error): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (received + bytes.length > limit) return stop(tooLarge(`the XML body is larger than the limit of ${limit} bytes`));
      if (body) {
        if (received + bytes.length > body.length) return stop(badLength());
        bytes.copy(body, received);
      } else {
        chunks.push(bytes);
      }
      received += bytes.length;
    };
    const onEnd = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('error', onError);
      if (body) {
        if (received !== body.length) reject(badLength());
        else resolve(body);
        return;
      }
      assemble(chunks, received).then(resolve, reject);
    };
    const onError = (error: Error & { statusCode?: number }): void => {
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      stop(error);
    };
    payload.on('data', onData);
    payload.once('end', onEnd);
    payload.once('error', onError);
    payload.resume();
  });
}

async function assemble(chunks: Buffer[], total: number): Promise<Buffer> {
  const body = Buffer.allocUnsafeSlow(total);
  let at = 0;
  let sinceYield = 0;
  for (let k = 0; k < chunks.length; k++) {
    const chunk = chunks[k] as Buffer;
    chunk.copy(body, at);
    at += chunk.length;
    sinceYield += chunk.length;
    // Released as copied: the body and all its chunks are never held at once in full.
    chunks[k] = EMPTY;
    if (sinceYield >= ASSEMBLY_SLICE) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return body;
}

const EMPTY = Buffer.alloc(0);

function badLength(): Error {
  return Object.assign(new Error('the body does not have the length its Content-Length header gives'), { statusCode: 400 });
}

export async function documentRoutes(app: FastifyInstance, { edge, bodyLimit }: DocumentRoutesOptions): Promise<void> {
  // A ready edXML packet arrives as raw bytes: the outbox parses it with the one safe XML parser.
  app.addContentTypeParser(XML_TYPES, (request: FastifyRequest, payload: FastifyRequest['raw']) => readXmlBody(payload, request.headers['content-length'], bodyLimit));
  // Documents come as JSON, multipart or XML; plain text is none of them (415, not a string body).
  app.removeContentTypeParser('text/plain');

  app.post(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Submit a document',
        description:
          'Validates the document, signs it with the agency certificate and stores it in the outbox in one step; the edge sends it ' +
          'to the hub right after. Send JSON metadata (attachments in base64), multipart/form-data (a "metadata" JSON field and ' +
          'file parts), or a ready edXML packet (application/xml): unsigned, the edge signs it; already signed with this agency\'s ' +
          'certificate, the edge verifies it as strictly as a received packet (signature, chain to the trust anchors, revocation, ' +
          'the certificate\'s organ id = From = this agency, signing time neither in the future nor older than the hub accepts) and ' +
          'sends those exact bytes. Answers 202 with the packet id and a Location header. ' +
          'A document with a secrecy mark is refused with 422 PACKET_SECRET; one that breaks the edXML rules with 422 PACKET_INVALID ' +
          'and every finding; a packet from another agency with 403 SENDER_MISMATCH; a signed packet that does not verify with the ' +
          '422 code of the failed check (SIG_*, CERT_*, TRACE_FORGED); a DocumentId already sent with 409 DOCUMENT_DUPLICATE; ' +
          'an attachment the malware scanner flags with 422 MALWARE_FOUND (503 SCAN_FAILED when the scanner is unreachable); ' +
          "a DocumentId under another organ id, or an update, replacement or revocation of a document this agency did not send, with 422 DOCUMENT_NOT_OWNED.",
        body: { content: { 'application/json': { schema: DOCUMENT_INPUT } } },
        response: {
          202: { ...ref('submitted.json'), headers: { location: { type: 'string', description: 'Path of the new document' } } },
          ...ERRORS,
        },
      },
      config: {
        swaggerTransform: ({ schema, url }) => ({
          schema: { ...schema, body: { content: { 'application/json': { schema: DOCUMENT_INPUT }, ...OTHER_BODIES } } },
          url,
        }),
      },
    },
    async (request, reply) => {
      const client = request.apiClient ?? 'api';
      let submitted: Submitted;
      if (request.isMultipart()) {
        const { metadata, files } = await readMultipart(request, bodyLimit);
        submitted = await edge.outbox.submitDocument(documentInput(metadata, files), client);
      } else if (Buffer.isBuffer(request.body)) {
        submitted = await edge.outbox.submitXml(request.body, client);
      } else if (request.body !== null && typeof request.body === 'object' && !Array.isArray(request.body)) {
        submitted = await edge.outbox.submitDocument(documentInput(request.body as DocumentInputJson), client);
      } else {
        throw Object.assign(new Error('send the document as application/json, multipart/form-data or application/xml'), { statusCode: 415 });
      }
      request.log.info({ client, documentId: submitted.documentId, packetId: submitted.packetId, lane: submitted.lane }, 'document submitted');
      return reply.code(202).header('location', documentPath(submitted.documentId)).send(submitted);
    },
  );

  app.get<{ Params: Params }>(
    '/documents/:documentId',
    {
      schema: {
        tags: ['documents'],
        summary: 'A document with its deliveries, status timeline and attachments',
        params: ref('document-params.json'),
        response: { 200: ref('document-view.json'), ...ERRORS },
      },
    },
    async (request) => {
      const view = edge.document(request.params.documentId);
      if (!view) throw notFound(`no document ${request.params.documentId} in this edge's outbox or inbox`, { documentId: request.params.documentId });
      return documentView(view);
    },
  );

  app.get<{ Params: AttachmentParams }>(
    '/documents/:documentId/attachments/:contentId',
    {
      schema: {
        tags: ['documents'],
        summary: 'Download an attachment',
        params: ref('attachment-params.json'),
        response: {
          200: { description: 'The file, with its media type and file name', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { documentId, contentId } = request.params;
      const found = await findAttachment(edge, documentId, contentId);
      return reply
        .header('content-type', safeContentType(found.meta.contentType))
        .header('content-disposition', contentDisposition(found.meta.name ?? contentId.replace(/^cid:/, 'attachment-')))
        .header('x-content-type-options', 'nosniff')
        .send(found.content);
    },
  );

  app.get<{ Params: AttachmentParams }>(
    '/documents/:documentId/attachments/:contentId/files',
    {
      schema: {
        tags: ['documents'],
        summary: 'The files inside a zipped attachment',
        description:
          'Lists the files of an attachment that is a zip archive (declared application/zip or application/x-zip-compressed, or ' +
          'starting like one), with the path to download each. The archive is checked first: 422 ZIP_INVALID when it is not a ' +
          'zip or is corrupt, 422 ZIP_UNSUPPORTED when it is encrypted or compressed otherwise than with deflate, 422 ZIP_UNSAFE ' +
          'when a name leaves its folder, names collide, or the declared sizes pass the limits (a zip bomb).',
        params: ref('attachment-params.json'),
        response: { 200: ref('attachment-files.json'), ...ERRORS },
      },
    },
    async (request) => {
      const { documentId, contentId } = request.params;
      return inZippedAttachment(edge, documentId, contentId, (meta, content) => attachmentFiles(meta, listZip(content)));
    },
  );

  app.get<{ Params: AttachmentFileParams }>(
    '/documents/:documentId/attachments/:contentId/files/*',
    {
      schema: {
        tags: ['documents'],
        summary: 'Download one file from inside a zipped attachment',
        description:
          'The path is as the file list gives it. The whole archive is checked as for the list, then this file is inflated, ' +
          'no further than its declared size, and its CRC-32 checked (422 ZIP_UNSAFE or ZIP_INVALID otherwise). 404 when the ' +
          'archive has no such file.',
        params: ref('attachment-file-params.json'),
        response: {
          200: { description: 'The file, with a media type from its name and its file name', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { documentId, contentId, '*': path } = request.params;
      const file = await inZippedAttachment(edge, documentId, contentId, (_meta, content) => readZipEntry(content, path));
      if (!file) throw notFound(`attachment ${contentId} of document ${documentId} has no file ${JSON.stringify(path)}; list its files at ${attachmentPath(documentId, contentId)}/files`, { documentId });
      const name = file.path.slice(file.path.lastIndexOf('/') + 1);
      return reply
        .header('content-type', safeContentType(contentTypeFor(name)))
        .header('content-disposition', contentDisposition(name))
        .header('x-content-type-options', 'nosniff')
        .send(file.data);
    },
  );

  app.get<{ Params: Params }>(
    '/documents/:documentId/evidence',
    {
      schema: {
        tags: ['documents'],
        summary: "The document's evidence file: every original signed packet, verification reports, timeline, signed manifest (zip)",
        params: ref('document-params.json'),
        response: { 200: { description: 'The evidence zip, signed by this agency; check it with `lienthong evidence verify`', content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { documentId } = request.params;
      if (!edge.records.document(documentId)) throw notFound(`no document ${documentId} in this edge's outbox or inbox`, { documentId });
      const zip = await edge.evidence(documentId);
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', contentDisposition(`evidence-${documentId.replace(/[^A-Za-z0-9.-]+/g, '_')}.zip`))
        .header('x-content-type-options', 'nosniff')
        .send(zip);
    },
  );

  app.get<{ Params: Params }>(
    '/documents/:documentId/packet',
    {
      schema: {
        tags: ['documents'],
        summary: 'The signed edXML packet as stored',
        params: ref('document-params.json'),
        response: { 200: { description: 'The edXML packet, signed by the sending agency', content: { 'application/xml': { schema: { type: 'string' } } } }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { documentId } = request.params;
      const document = edge.records.document(documentId);
      if (!document) throw notFound(`no document ${documentId} in this edge's outbox or inbox`, { documentId });
      let packet: Buffer;
      try {
        packet = await edge.blobs.get(document.blob);
      } catch (error) {
        throw new LtError('IO', `the stored packet of document ${documentId} cannot be read`, { documentId, packetId: document.packetId }, { cause: error });
      }
      return reply
        .header('content-type', 'application/xml; charset=utf-8')
        .header('content-disposition', contentDisposition(`${document.packetId}.xml`))
        .header('x-content-type-options', 'nosniff')
        .send(packet);
    },
  );
}
