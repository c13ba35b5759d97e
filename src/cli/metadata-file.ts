/**
 * META.json of `lienthong build` and `lienthong send`: checked against the schema the REST API
 * checks its metadata with (src/document-metadata.ts), in the same words, so that no shape of
 * metadata gets further at one door than at the other; then the `--attach` files added.
 */
import { basename } from 'node:path';
import { documentInput, documentMetadataViolation, type DocumentInputJson } from '../document-metadata.js';
import type { AttachmentInput } from '../envelope/compose.js';
import type { Organization } from '../envelope/types.js';
import { LtError } from '../errors.js';
import { readInput, readJsonFile } from '../files.js';

export type MetadataInput = Omit<DocumentInputJson, 'attachments'> & { attachments: AttachmentInput[] };

/**
 * Read META.json and the files to attach. A shape the schema refuses is PACKET_INVALID (the
 * input is invalid: exit 1), named by the file and worded as the REST API words it for a
 * multipart `metadata` field.
 */
export async function readMetadataFile(file: string, attach: readonly string[] = []): Promise<MetadataInput> {
  const json = await readJsonFile<unknown>(file);
  const violation = documentMetadataViolation(json, 'metadata');
  if (violation) throw new LtError('PACKET_INVALID', `${file}: ${violation.message}`, { path: violation.path });
  const files: AttachmentInput[] = [];
  for (const path of attach) files.push({ name: basename(path), content: await readInput(path) });
  return documentInput(json as DocumentInputJson, files, 'metadata');
}

/** `build` has no edge to fill in the sender: its metadata must name it. */
export function requireSender(meta: MetadataInput, file: string): MetadataInput & { from: Organization } {
  if (meta.from) return meta as MetadataInput & { from: Organization };
  throw new LtError('PACKET_INVALID', `${file}: metadata must have required property 'from' (the sending agency; "lienthong send" fills it in from edge.json)`, {
    path: 'metadata/from',
  });
}
