/**
 * A unit's JSON description: the metadata the REST API and `lienthong send` take
 * (schemas/api/document-input.json, checked by the one schema, src/document-metadata.ts), plus
 * one key of the folder drop's own, "files": the attachment files of the unit, by file name,
 * each a name or `{ "file", "name"?, "contentType"?, "description"? }`. Attachments may also be
 * given inline (`attachments` with base64), as at the other doors.
 */
import { documentInput, documentMetadataViolation, type DocumentInputJson } from '../../document-metadata.js';
import type { AttachmentInput } from '../../envelope/compose.js';
import { LtError } from '../../errors.js';

export interface AttachmentFile {
  file: string;
  name?: string;
  contentType?: string;
  description?: string;
}

export interface Description {
  metadata: DocumentInputJson;
  files: AttachmentFile[];
}

/** A file name the unit may name: one plain name in the unit's own folder. */
function plainFileName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !/[/\\]/.test(value) && value !== '.' && value !== '..' && !value.startsWith('.');
}

/** The files a description names, read before the rest is checked (to gather a unit). Lenient: never throws. */
export function filesNamed(json: unknown): string[] {
  const files = (json as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return [];
  return files.map((f) => (typeof f === 'object' && f !== null ? (f as { file?: unknown }).file : f)).filter(plainFileName);
}

/** Parse and check a description; every refusal is PACKET_INVALID naming the file and the field. */
export function parseDescription(text: string, label: string): Description {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LtError('PACKET_INVALID', `${label} is not valid JSON (${(error as Error).message}); write it whole, then the marker`, { path: label });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LtError('PACKET_INVALID', `${label} must hold a JSON object: the document's metadata as for "lienthong send", plus "files"`, { path: label });
  }
  const { files: rawFiles, ...metadata } = json as Record<string, unknown>;
  const files: AttachmentFile[] = [];
  if (rawFiles !== undefined) {
    if (!Array.isArray(rawFiles)) throw new LtError('PACKET_INVALID', `${label}: "files" must be a list of the unit's attachment file names`, { path: `${label}/files` });
    rawFiles.forEach((f, i) => {
      const entry: Record<string, unknown> = typeof f === 'string' ? { file: f } : typeof f === 'object' && f !== null ? (f as Record<string, unknown>) : {};
      const path = `${label}/files/${i}`;
      if (!plainFileName(entry.file)) {
        throw new LtError('PACKET_INVALID', `${path} must be the name of a file of the unit (no folder, no "..", not hidden), not ${JSON.stringify(f)}`, { path });
      }
      for (const key of Object.keys(entry)) {
        if (!['file', 'name', 'contentType', 'description'].includes(key)) throw new LtError('PACKET_INVALID', `${path} has "${key}", which is none of file, name, contentType, description`, { path });
        if (typeof entry[key] !== 'string') throw new LtError('PACKET_INVALID', `${path}/${key} must be a string`, { path: `${path}/${key}` });
      }
      files.push(entry as unknown as AttachmentFile);
    });
  }
  const violation = documentMetadataViolation(metadata, label);
  if (violation) throw new LtError('PACKET_INVALID', violation.message, { path: violation.path });
  return { metadata: metadata as DocumentInputJson, files };
}

/** The outbox's input: inline attachments decoded, then the unit's files in the order named. */
export function descriptionInput(description: Description, contents: ReadonlyMap<string, Buffer>, label: string): ReturnType<typeof documentInput<DocumentInputJson>> {
  const files: AttachmentInput[] = description.files.map((f) => {
    const content = contents.get(f.file);
    if (!content) throw new LtError('PACKET_INVALID', `${label} names the file "${f.file}", which is not in the unit; put it beside the description before the marker`, { path: f.file });
    return { name: f.name ?? f.file, content, ...(f.contentType !== undefined ? { contentType: f.contentType } : {}), ...(f.description !== undefined ? { description: f.description } : {}) };
  });
  return documentInput(description.metadata, files, label);
}
