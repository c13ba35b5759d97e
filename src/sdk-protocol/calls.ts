/**
 * The calls of the national exchange SDK's HTTP protocol (../shared/sdk-protocol.md §2, §4)
 * and how sendEdoc frames its file, pure. Every call is `<endpoint>/<callName>`.
 */
import { LtError } from '../errors.js';
import { sdkFileHash } from './signing.js';

/** The calls of §2 and the method the SDK's client uses for each. */
export const CALLS = {
  sendEdoc: 'POST',
  getReceivedEdocList: 'POST',
  getEdoc: 'POST',
  updateStatus: 'POST',
  getSentEdocList: 'POST',
  downloadEdoc: 'GET',
  countReceiveEdoc: 'POST',
  countReceiveStatus: 'POST',
  getAgenciesList: 'POST',
  getAgenciesListQD20: 'POST',
  getSynchronizeUnit: 'POST',
  registerAgency: 'POST',
  deleteAgency: 'POST',
} as const;

export type CallName = keyof typeof CALLS;

/** `servicetype`: the only service the protocol's examples use, documents and statuses. */
export const SERVICE_TYPE = 'eDoc';

/** `messagetype`: `edoc` for a document packet, `status` for a status packet (§4.1, §4.2). */
export type MessageType = 'edoc' | 'status';

/** The body of getEdoc and updateStatus: the two bytes `{}` (§2). */
export const EMPTY_JSON_BODY = '{}';

/** sendEdoc's body (§4.1): the file's bytes, unchanged, then CRLF, as the SDK's client writes it. */
export function sendEdocBody(file: Uint8Array): Buffer {
  return Buffer.concat([file, CRLF]);
}

const CRLF = Buffer.from('\r\n');

/**
 * The file a sendEdoc body carries: the client appends CRLF to the file bytes (§4.1). The
 * signed `hash-file` says which bytes are the file: the body less that CRLF, or the whole body
 * when a client sends none. A body matching neither was changed or is not the file signed.
 */
export function fileOfBody(body: Uint8Array, hashFile: string | undefined): Buffer {
  if (!hashFile) throw new LtError('USAGE', 'sendEdoc needs the signed XroadVnpt-hash-file header (the SDK sets it): without it the signature does not cover the file');
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const endsWithCrlf = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a;
  const candidates = endsWithCrlf ? [bytes.subarray(0, bytes.length - 2), bytes] : [bytes];
  const wanted = hashFile.toLowerCase();
  const file = candidates.find((c) => sdkFileHash(c) === wanted);
  if (!file) throw new LtError('USAGE', 'the file sent does not match the signed XroadVnpt-hash-file: it was changed on the way, or the hash is of another file');
  return file;
}

