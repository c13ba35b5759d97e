/**
 * How the national exchange SDK's HTTP protocol signs a call (../shared/sdk-protocol.md §3),
 * both sides, pure: the client's signed headers (the hub acting as a system of the national
 * axis) and the server's check of them (the edge's SDK door).
 *
 * What the client sends (sdk-protocol.md §3): every parameter as an `XroadVnpt-<key>` header;
 * the header `XroadVnpt-sign-header` holds a compact JSON object of those headers, in an order
 * that cannot be predicted (a Java HashMap's), and `XroadVnpt-hash-header` the lowercase hex
 * HMAC-SHA256 of that header's bytes, keyed with the UTF-8 bytes of the system's secret. The
 * signed string is therefore never rebuilt here: the HMAC is computed over the bytes received,
 * and each signed entry must then equal the header actually sent.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { LtError } from '../errors.js';

/** The prefix of every parameter header (the client keeps the caller's spelling of the key). */
export const PARAMETER_PREFIX = 'XroadVnpt-';
const SIGN_HEADER = 'xroadvnpt-sign-header';
const HASH_HEADER = 'xroadvnpt-hash-header';
const SYSTEM_ID_HEADER = 'xroadvnpt-systemid';
const HMAC_HEX = /^[0-9a-fA-F]{64}$/;

/** Request headers as Node gives them: lowercased names, values decoded as latin1. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** The parameters a request signed, by key without the prefix, in the caller's spelling. */
export class SignedParameters {
  constructor(readonly entries: ReadonlyArray<readonly [string, string]>) {}

  /**
   * The value of `key`: its exact spelling first, then any other spelling (the client's
   * examples write both `docId` and `docid`). Blank values count as absent.
   */
  get(key: string): string | undefined {
    const exact = this.entries.find(([k]) => k === key);
    const found = exact ?? this.entries.find(([k]) => k.toLowerCase() === key.toLowerCase());
    const value = found?.[1].trim();
    return value ? value : undefined;
  }
}

export interface SignedCall {
  systemId: string;
  parameters: SignedParameters;
}

/** HMAC-SHA256 of `message` keyed with the secret's UTF-8 bytes (not base64-decoded), lowercase hex. */
export function signatureOf(secret: string, message: Uint8Array): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(message).digest('hex');
}

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A header's bytes as they came: Node decodes header values as latin1, one byte per character. */
const rawBytes = (value: string): Buffer => Buffer.from(value, 'latin1');

function refused(message: string): LtError {
  return new LtError('AUTH_REQUIRED', message);
}

/**
 * Authenticates an SDK request and returns who sent it and what it signed. `secretOf` gives
 * the configured secret of a system id. Refusals are AUTH_REQUIRED with what is wrong: a
 * missing header, an unknown system, a signature that does not match, a header changed after
 * signing. Parameters come only from the signed object: an unsigned `XroadVnpt-*` header is
 * ignored. The timestamp is not judged: the client formats it once per service object and
 * never refreshes it (§3.1, §3.3), so a long-running program sends the same one for ever.
 */
export function verifySignedCall(headers: RequestHeaders, secretOf: (systemId: string) => string | undefined): SignedCall {
  const systemId = header(headers, SYSTEM_ID_HEADER)?.trim();
  if (!systemId) throw refused('the request has no XroadVnpt-systemid header: configure the SDK with the systemId this edge issued ("lienthong apikey new --sdk")');
  const signHeader = header(headers, SIGN_HEADER);
  const hash = header(headers, HASH_HEADER)?.trim();
  if (!signHeader || !hash) {
    throw refused(`the request is not signed: XroadVnpt-${signHeader ? 'hash-header' : 'sign-header'} is missing`);
  }
  const secret = secretOf(systemId);
  if (secret === undefined) throw refused(`system "${systemId}" is not an SDK client of this edge (edge.json api.sdkClients)`);
  const expected = Buffer.from(signatureOf(secret, rawBytes(signHeader)), 'hex');
  const presented = HMAC_HEX.test(hash) ? Buffer.from(hash, 'hex') : Buffer.alloc(0);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    throw refused(`the signature (XroadVnpt-hash-header) does not match: check the secret configured for "${systemId}" in the SDK`);
  }
  let signed: unknown;
  try {
    signed = JSON.parse(rawBytes(signHeader).toString('utf8'));
  } catch {
    throw new LtError('USAGE', 'XroadVnpt-sign-header is not JSON: it must be the object of the signed XroadVnpt-* headers');
  }
  if (signed === null || typeof signed !== 'object' || Array.isArray(signed)) {
    throw new LtError('USAGE', 'XroadVnpt-sign-header must be a JSON object of the signed XroadVnpt-* headers');
  }
  const entries: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(signed as Record<string, unknown>)) {
    if (!name.toLowerCase().startsWith(PARAMETER_PREFIX.toLowerCase())) {
      throw new LtError('USAGE', `XroadVnpt-sign-header names "${name}", which is not an XroadVnpt-* header`);
    }
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const sent = header(headers, name.toLowerCase());
    if (sent === undefined) throw refused(`the signed header ${name} was not sent`);
    // Two spellings of one key (docId, docid) arrive as one header, joined with ", ".
    const decoded = rawBytes(sent).toString('utf8');
    if (decoded !== text && !decoded.split(', ').includes(text)) throw refused(`the header ${name} differs from its signed value`);
    entries.push([name.slice(PARAMETER_PREFIX.length), text]);
  }
  const parameters = new SignedParameters(entries);
  if (parameters.get('systemid') !== systemId) throw refused('XroadVnpt-systemid is not among the signed headers');
  return { systemId, parameters };
}

/**
 * The SDK's `hash-file`: SHA-256 of the file with each byte in hex **without** zero padding
 * (0x0a is written `a`), so 32 to 64 characters (§3.4).
 */
export function sdkFileHash(file: Uint8Array): string {
  return [...createHash('sha256').update(file).digest()].map((b) => b.toString(16)).join('');
}


/**
 * The SDK's `timestamp` (§3.3): ddMMyyyyTHHmmss+SSSS in local time, the milliseconds padded
 * to four digits; the `+nnnn` is not a zone offset.
 */
export function sdkTimestamp(at: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const date = `${two(at.getDate())}${two(at.getMonth() + 1)}${at.getFullYear()}`;
  const time = `${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  return `${date}T${time}+${String(at.getMilliseconds()).padStart(4, '0')}`;
}

/** What a client call signs: its parameters (without the prefix) and the body's content type. */
export interface CallToSign {
  systemId: string;
  secret: string;
  contentType: 'application/json' | 'application/octet-stream';
  /** The call's parameters (`from`, `docId`, `status`, `hash-file`...): printable ASCII only (§3.5). */
  parameters: Readonly<Record<string, string>>;
  at: Date;
}

/**
 * The headers of a signed call as the SDK's client sends them (§3.2): one `XroadVnpt-<key>`
 * per parameter plus `systemid`, `timestamp` and `Content-Type`, the plain `Content-Type`, the
 * key list, the compact JSON of the signed headers and its HMAC. A fresh map per call: the
 * SDK's stale keys (§3.1) are a habit of its client, not part of what a server checks.
 */
export function signedCallHeaders(call: CallToSign): Record<string, string> {
  const entries: Array<[string, string]> = [
    ['systemid', call.systemId],
    ...Object.entries(call.parameters),
    ['timestamp', sdkTimestamp(call.at)],
    ['Content-Type', call.contentType],
  ];
  const headers: Record<string, string> = {};
  const signed: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new LtError('USAGE', `the SDK parameter "${key}" must be printable ASCII: header values are sent as bytes and the server's HMAC check fails on anything else`, { path: key });
    }
    headers[`${PARAMETER_PREFIX}${key}`] = value;
    signed[`${PARAMETER_PREFIX}${key}`] = value;
  }
  const signHeader = JSON.stringify(signed);
  headers['Content-Type'] = call.contentType;
  headers[`${PARAMETER_PREFIX}sign-header-key`] = entries.map(([key]) => key).join(';');
  headers[`${PARAMETER_PREFIX}sign-header`] = signHeader;
  headers[`${PARAMETER_PREFIX}hash-header`] = signatureOf(call.secret, Buffer.from(signHeader, 'utf8'));
  headers[`${PARAMETER_PREFIX}version`] = SDK_VERSION;
  return headers;
}

/** The protocol version the SDK's client announces (`XroadVnpt-version`, §8). */
export const SDK_VERSION = '3.0.201608';

/** What can travel as the `systemid` header: printable ASCII without blanks, at most 100 characters. */
export const SYSTEM_ID_PATTERN = /^[\x21-\x7e]{1,100}$/;
