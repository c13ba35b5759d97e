/**
 * The metadata of a document to send, as both doors take it (schemas/api/document-input.json):
 * the REST API's JSON body or multipart `metadata` field, and the META.json of `lienthong build`
 * and `lienthong send`. Checked against the one schema, then turned into the outbox's input
 * (base64 attachments decoded). The edXML rules proper (required fields, lengths, code domains,
 * secrecy marks) are envelope/validate.ts's, after composing.
 */
import type { AttachmentInput, DocumentInput } from './envelope/compose.js';
import type { Organization } from './envelope/types.js';
import { LtError } from './errors.js';
import { payloadViolation } from './payload-schemas.js';

/** An attachment in the JSON metadata (schemas/api/attachment-input.json). */
export interface AttachmentInputJson {
  name: string;
  contentType?: string;
  description?: string;
  contentBase64: string;
}

/** The JSON metadata (schemas/api/document-input.json). */
export type DocumentInputJson = Omit<DocumentInput, 'from' | 'attachments'> & { from?: Organization; attachments?: AttachmentInputJson[] };

export const DOCUMENT_INPUT_SCHEMA = 'document-input.json';

/**
 * The first way `value` falls outside DocumentInput, worded with `part` as the root of the path
 * (`metadata must have required property 'to'`), or undefined. Types are coerced in place as
 * the REST API coerces them.
 */
export function documentMetadataViolation(value: unknown, part: string): { message: string; path: string } | undefined {
  return payloadViolation(DOCUMENT_INPUT_SCHEMA, value, part);
}

function decodeBase64(value: string, path: string): Buffer {
  if (value.length % 4 !== 0) throw new LtError('USAGE', `${path} is not padded base64 (its length must be a multiple of 4)`, { path });
  return Buffer.from(value, 'base64');
}

/**
 * Checked JSON metadata (and files given beside it: multipart parts, `--attach`) as the
 * outbox's input: base64 attachments decoded, the files appended. Also used for the follow-up
 * bodies (reply, update, replace), whose other fields the caller completes.
 */
export function documentInput<T extends { attachments?: AttachmentInputJson[] }>(
  json: T,
  files: AttachmentInput[] = [],
  part = 'body',
): Omit<T, 'attachments'> & { attachments: AttachmentInput[] } {
  const { attachments, ...metadata } = json;
  const decoded: AttachmentInput[] = (attachments ?? []).map((a, i) => ({
    name: a.name,
    content: decodeBase64(a.contentBase64, `${part}/attachments/${i}/contentBase64`),
    ...(a.contentType !== undefined ? { contentType: a.contentType } : {}),
    ...(a.description !== undefined ? { description: a.description } : {}),
  }));
  return { ...metadata, attachments: [...decoded, ...files] };
}
