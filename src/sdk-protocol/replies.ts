/**
 * The replies of the national exchange SDK's HTTP protocol (../shared/sdk-protocol.md §5),
 * pure: writing them (the edge's SDK door) and reading them (the hub's client of the axis).
 */

/** A reply as the client reads it (§5): `status`, `ErrorCode`, `ErrorDesc`, plus the call's field. */
export interface SdkReply {
  status: 'OK' | 'FAIL';
  ErrorCode: string;
  ErrorDesc: string;
  [field: string]: unknown;
}

export function okReply(extra: Record<string, unknown> = {}, description = 'Success'): SdkReply {
  return { status: 'OK', ErrorCode: '0', ErrorDesc: description, ...extra };
}

/**
 * A refusal. `ErrorCode` is lienthong's error code (never "0", the one value the client
 * tests); sendEdoc's reply must also carry `"DocId": ""` or the client nulls every field (§5).
 */
export function failReply(code: string, description: string, extra: Record<string, unknown> = {}): SdkReply {
  return { status: 'FAIL', ErrorCode: code, ErrorDesc: description, ...extra };
}

/**
 * JSON with every character outside ASCII written as a `\uXXXX` escape: sendEdoc's client
 * reads its reply as US-ASCII (§4.1), so Vietnamese text survives only escaped.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The reply fields every call carries, checked: the SDK nulls a reply missing any of them (§5). */
export function readReply(body: string): SdkReply | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const reply = json as Record<string, unknown>;
  if (typeof reply.status !== 'string' || typeof reply.ErrorCode !== 'string' || typeof reply.ErrorDesc !== 'string') return undefined;
  return { ...reply, status: reply.status === 'OK' ? 'OK' : 'FAIL', ErrorCode: reply.ErrorCode, ErrorDesc: reply.ErrorDesc };
}

/**
 * Success as the SDK's callers read it: `status` "OK" (§5); the lists and getEdoc also need
 * `ErrorCode` "0" before they use their data, so both are required.
 */
export function isSuccess(reply: SdkReply): boolean {
  return reply.status === 'OK' && reply.ErrorCode.trim() === '0';
}

/** An item of getReceivedEdocList as the SDK reads it (§4.2): every field an optional string. */
export interface ReceivedListItem {
  docId?: string;
  serviceType?: string;
  messageType?: string;
  created_time?: string;
  updated_time?: string;
  from?: string;
  to?: string;
  status?: string;
  status_desc?: string;
}

const ITEM_FIELDS = ['docId', 'serviceType', 'messageType', 'created_time', 'updated_time', 'from', 'to', 'status', 'status_desc'] as const;

/** The items of a list reply's `data`, keeping the string fields the SDK reads; undefined when `data` is not an array. */
export function receivedItems(reply: SdkReply): ReceivedListItem[] | undefined {
  if (!Array.isArray(reply.data)) return undefined;
  return reply.data
    .filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object')
    .map((item) => {
      const read: ReceivedListItem = {};
      for (const field of ITEM_FIELDS) if (typeof item[field] === 'string') read[field] = item[field];
      return read;
    });
}
