/**
 * The hub's HTTP client of the national exchange axis: the client side of the SDK's protocol
 * (../shared/sdk-protocol.md), the hub being one system of the axis with its systemId and
 * secret. Every call is signed (src/sdk-protocol/signing.ts), has a deadline, and ends in one
 * of three ways:
 *  - success: the axis answered `status` "OK" with `ErrorCode` "0" and the call's field;
 *  - AXIS_REFUSED: the axis answered in its protocol that it will not (`FAIL`, or a non-zero
 *    `ErrorCode`): its code and text are in the message;
 *  - AXIS_UNREACHABLE: no answer in time, no connection, or an answer that is not the
 *    protocol's (a proxy's error page, an empty body, a reply missing its field).
 * Only the first says the axis took something; the caller decides what the other two mean.
 */
import { LtError } from '../../errors.js';
import {
  CALLS,
  EMPTY_JSON_BODY,
  isSuccess,
  readReply,
  receivedItems,
  sdkFileHash,
  sendEdocBody,
  SERVICE_TYPE,
  signedCallHeaders,
  TAKEN,
  type CallName,
  type MessageType,
  type ReceivedListItem,
  type SdkReply,
} from '../../sdk-protocol/index.js';

export interface AxisClientOptions {
  /** The axis's endpoint: calls go to `<baseUrl>/<callName>` (a trailing slash is dropped). */
  baseUrl: string;
  /** The system id the axis knows the hub by. */
  systemId: string;
  /** The HMAC secret shared with the axis for that system. */
  secret: string;
  /** Deadline of one call, answer included. Default 30 s. */
  timeoutMs?: number;
  /** The clock of the signed timestamp. Default: the system clock. */
  now?: () => Date;
}

/** What the hub says about a packet it sends (sendEdoc's `from`, `to` and `messagetype`). */
export interface SendMeta {
  messageType: MessageType;
  /** The sender's organ id (the packet's From). */
  from: string;
  /** The recipients' organ ids; sent as raw JSON text, as the SDK does (§3.1). */
  to?: readonly string[];
}

/** A document or status the axis holds for the hub (an item of getReceivedEdocList with its docId). */
export interface ReceivedEntry extends ReceivedListItem {
  docId: string;
}

export const DEFAULT_AXIS_TIMEOUT_MS = 30_000;

export class AxisClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: AxisClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_AXIS_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** Where the calls go (for logs). */
  get endpoint(): string {
    return this.baseUrl;
  }

  /**
   * sendEdoc (§4.1): the packet's bytes exactly as given, followed by the CRLF the SDK's client
   * appends (the axis drops it, guided by the signed `hash-file`). Returns the axis's DocId.
   */
  async sendEdoc(file: Buffer, meta: SendMeta): Promise<{ docId: string }> {
    const parameters: Record<string, string> = {
      servicetype: SERVICE_TYPE,
      messagetype: meta.messageType,
      from: meta.from,
      'hash-file': sdkFileHash(file),
      ...(meta.to && meta.to.length > 0 ? { to: JSON.stringify(meta.to) } : {}),
    };
    const reply = await this.call('sendEdoc', parameters, 'application/octet-stream', sendEdocBody(file));
    const docId = reply.DocId;
    if (typeof docId !== 'string' || docId.trim() === '') throw this.offProtocol('sendEdoc', 'accepted the packet but gave no DocId');
    return { docId: docId.trim() };
  }

  /**
   * getReceivedEdocList (§4.2): what the axis holds for the hub, documents (`edoc`) or status
   * packets (`status`). Items without a docId cannot be fetched and are left out.
   */
  async listReceived(messageType: MessageType): Promise<ReceivedEntry[]> {
    const reply = await this.call('getReceivedEdocList', { servicetype: SERVICE_TYPE, messagetype: messageType }, 'application/json', undefined);
    const items = receivedItems(reply);
    if (!items) throw this.offProtocol('getReceivedEdocList', 'answered OK without a "data" list');
    return items.filter((item): item is ReceivedEntry => typeof item.docId === 'string' && item.docId.trim() !== '').map((item) => ({ ...item, docId: item.docId.trim() }));
  }

  /** getEdoc (§4.3): the bytes of one packet the axis holds, decoded from the reply's base64 `data`. */
  async getEdoc(docId: string): Promise<Buffer> {
    const reply = await this.call('getEdoc', { docId }, 'application/json', Buffer.from(EMPTY_JSON_BODY));
    if (typeof reply.data !== 'string' || reply.data.trim() === '') throw this.offProtocol('getEdoc', `answered OK for ${docId} without the packet ("data")`);
    const bytes = Buffer.from(reply.data, 'base64');
    if (bytes.length === 0) throw this.offProtocol('getEdoc', `answered OK for ${docId} with a "data" that is not base64`);
    return bytes;
  }

  /** updateStatus (§4.4): `done` hands a fetched packet back as taken; other words are the axis's. */
  async updateStatus(docId: string, status: string = TAKEN.done): Promise<void> {
    await this.call('updateStatus', { docId, status }, 'application/json', Buffer.from(EMPTY_JSON_BODY));
  }

  /** countReceiveEdoc (§4.5): how many documents wait for the hub; the cheapest call that proves the link works. */
  async countReceived(): Promise<number> {
    const reply = await this.call('countReceiveEdoc', {}, 'application/json', Buffer.from(EMPTY_JSON_BODY));
    const count = typeof reply.count === 'number' ? reply.count : Number(reply.count);
    if (!Number.isInteger(count) || count < 0) throw this.offProtocol('countReceiveEdoc', 'answered OK without a "count"');
    return count;
  }

  private async call(call: CallName, parameters: Record<string, string>, contentType: 'application/json' | 'application/octet-stream', body: Buffer | undefined): Promise<SdkReply> {
    const headers = signedCallHeaders({ systemId: this.options.systemId, secret: this.options.secret, contentType, parameters, at: this.now() });
    const url = `${this.baseUrl}/${call}`;
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method: CALLS[call],
        headers,
        ...(body ? { body: new Uint8Array(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new LtError('AXIS_UNREACHABLE', `the national axis at ${this.baseUrl} did not answer ${call}: ${transportFailure(error, this.timeoutMs)}`, {}, { cause: error });
    }
    const reply = readReply(text);
    // The SDK reads the body whatever the HTTP status (§5): a protocol reply is the axis's word.
    if (!reply) throw this.offProtocol(call, `answered HTTP ${status} with ${text.trim() === '' ? 'an empty body' : 'a body that is not the protocol\'s JSON reply'}`);
    if (!isSuccess(reply)) {
      throw new LtError('AXIS_REFUSED', `the national axis refused ${call} (HTTP ${status}, ErrorCode ${JSON.stringify(reply.ErrorCode)}): ${reply.ErrorDesc || '(no description)'}`);
    }
    return reply;
  }

  private offProtocol(call: CallName, what: string): LtError {
    return new LtError('AXIS_UNREACHABLE', `the national axis at ${this.baseUrl} ${what} to ${call}: is the base URL that of the axis's SDK endpoint, or a proxy in front of it failing?`);
  }
}

/** Why a request got no answer, in words: the deadline, or the system error under fetch's "fetch failed". */
function transportFailure(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
}
