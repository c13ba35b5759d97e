/**
 * A client of the national exchange SDK's HTTP protocol, written from its description
 * (../shared/sdk-protocol.md) and nothing else: it does not import lienthong's SDK door, so a
 * test that passes with it shows that the door speaks the protocol as documented, not merely
 * as lienthong understood it.
 *
 * As the SDK does (§3.1): one header map per client object, holding `timestamp` (formatted once
 * when the object is made, never refreshed) and `systemid`; every call sets `Content-Type` and
 * copies the caller's top-level JSON keys into it (`to` as raw JSON text); the map is never
 * cleared, so later calls repeat earlier keys. Each map entry goes out as `XroadVnpt-<key>`;
 * `XroadVnpt-sign-header` is the compact JSON of those headers in the map's order and
 * `XroadVnpt-hash-header` its HMAC-SHA256 (key: the secret string's UTF-8 bytes), lowercase hex.
 * The map's order here is deliberately not insertion order (the SDK's is a Java HashMap's), so a
 * server that rebuilt the signed string instead of taking it as received would fail.
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface SdkResult {
  /** HTTP status (the SDK ignores it). */
  httpStatus: number;
  headers: IncomingHttpHeaders;
  /** The body as bytes. */
  raw: Buffer;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

export interface SdkClientOptions {
  /** The configured endpoint; calls go to `<endpoint>/<callName>`, joined as plain strings (§1). */
  endpoint: string;
  systemId: string;
  secret: string;
  /** Fixed clock for the timestamp. */
  now?: Date;
  /** Send `Expect: 100-continue` on calls with a body, as the SDK's HttpClient does (§3.2). */
  expectContinue?: boolean;
}

/** ddMMyyyyTHHmmss+SSSS: local time, milliseconds padded to four digits; not a zone (§3.3). */
export function sdkTimestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getDate())}${two(d.getMonth() + 1)}${d.getFullYear()}T${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}+${String(d.getMilliseconds()).padStart(4, '0')}`;
}

/** SHA-256 of the file, each byte in hex without zero padding (§3.4). */
export function hashFile(file: Uint8Array): string {
  return [...createHash('sha256').update(file).digest()].map((b) => b.toString(16)).join('');
}

export function hmacHex(secret: string, message: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(message).digest('hex');
}

/** A stand-in for a HashMap's iteration order: by a hash of the key, neither sorted nor insertion order. */
function hashOrder(keys: string[]): string[] {
  const weight = (k: string) => createHash('md5').update(k).digest().readUInt32BE(0);
  return [...keys].sort((a, b) => weight(a) - weight(b));
}

/** Send one raw HTTP request and read the whole answer. */
export function rawRequest(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<SdkResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    // The path is sent as the client built it: a double slash stays a double slash.
    const path = url.slice(url.indexOf('/', u.protocol.length + 2));
    const request = httpRequest({ host: u.hostname, port: u.port, method, path, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : method === 'POST' ? { 'Content-Length': '0' } : {}) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const raw = Buffer.concat(chunks);
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ httpStatus: response.statusCode ?? 0, headers: response.headers, raw, json });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    if (body && headers.Expect === '100-continue') {
      // Like HttpClient: the body follows the interim 100 Continue (or is dropped on a final answer).
      request.on('continue', () => request.end(body));
    } else {
      request.end(body);
    }
  });
}

export class SdkClient {
  /** The header map, never cleared (§3.1). */
  readonly map = new Map<string, string>();

  constructor(private readonly options: SdkClientOptions) {
    this.map.set('timestamp', sdkTimestamp(options.now ?? new Date()));
    this.map.set('systemid', options.systemId);
  }

  /** The headers the SDK sends for the map as it stands (§3.2). */
  signedHeaders(): Record<string, string> {
    const keys = hashOrder([...this.map.keys()]);
    const headers: Record<string, string> = {};
    const signed: Record<string, string> = {};
    for (const key of keys) {
      headers[`XroadVnpt-${key}`] = this.map.get(key) as string;
      signed[`XroadVnpt-${key}`] = this.map.get(key) as string;
    }
    const signHeader = JSON.stringify(signed);
    const contentType = this.map.get('Content-Type');
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    headers['XroadVnpt-sign-header-key'] = keys.join(';');
    headers['XroadVnpt-sign-header'] = signHeader;
    headers['XroadVnpt-hash-header'] = hmacHex(this.options.secret, signHeader);
    headers['User-Agent'] = 'JAVASDKAgent/1.0.0 XRoad/VPCP';
    headers['XroadVnpt-version'] = '3.0.201608';
    return headers;
  }

  private copy(json: Record<string, unknown>, rawJsonKey?: string): void {
    for (const [key, value] of Object.entries(json)) {
      this.map.set(key, key === rawJsonKey || typeof value !== 'string' ? JSON.stringify(value) : value);
    }
  }

  private url(call: string): string {
    return `${this.options.endpoint}/${call}`;
  }

  private async call(call: string, method: 'GET' | 'POST', json: Record<string, unknown>, body: Buffer | undefined): Promise<SdkResult> {
    this.map.set('Content-Type', 'application/json');
    this.copy(json);
    const headers = this.signedHeaders();
    if (body && body.length > 0 && this.options.expectContinue) headers.Expect = '100-continue';
    return rawRequest(this.url(call), method, headers, body);
  }

  /** §4.1: the file then CRLF as an application/octet-stream body; `to` copied as raw JSON. */
  async sendEdoc(json: Record<string, unknown>, file: Buffer): Promise<SdkResult> {
    this.map.set('Content-Type', 'application/octet-stream');
    this.copy(json, 'to');
    this.map.set('hash-file', hashFile(file));
    const headers = this.signedHeaders();
    headers['Cache-Control'] = 'no-cache';
    headers.Pragma = 'no-cache';
    return rawRequest(this.url('sendEdoc'), 'POST', headers, Buffer.concat([file, Buffer.from('\r\n')]));
  }

  getReceivedEdocList(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('getReceivedEdocList', 'POST', json, undefined);
  }

  getEdoc(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('getEdoc', 'POST', json, Buffer.from('{}'));
  }

  updateStatus(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('updateStatus', 'POST', json, Buffer.from('{}'));
  }

  getSentEdocList(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('getSentEdocList', 'POST', json, undefined);
  }

  downloadEdoc(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('downloadEdoc', 'GET', json, undefined);
  }

  countReceiveEdoc(): Promise<SdkResult> {
    return this.call('countReceiveEdoc', 'POST', {}, Buffer.from('{}'));
  }

  countReceiveStatus(): Promise<SdkResult> {
    return this.call('countReceiveStatus', 'POST', {}, Buffer.from('{}'));
  }

  getAgenciesList(): Promise<SdkResult> {
    return this.call('getAgenciesList', 'POST', {}, undefined);
  }

  getAgenciesListQD20(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('getAgenciesListQD20', 'POST', json, undefined);
  }

  getSynchronizeUnit(): Promise<SdkResult> {
    return this.call('getSynchronizeUnit', 'POST', {}, undefined);
  }

  registerAgency(data: string): Promise<SdkResult> {
    return this.call('registerAgency', 'POST', {}, Buffer.from(data));
  }

  deleteAgency(json: Record<string, unknown>): Promise<SdkResult> {
    return this.call('deleteAgency', 'POST', json, Buffer.from('{}'));
  }
}

/** The fields the SDK requires of every reply (§5): status, ErrorCode, ErrorDesc as strings. */
export function isSdkReply(json: Record<string, unknown> | undefined): boolean {
  return json !== undefined && ['status', 'ErrorCode', 'ErrorDesc'].every((k) => typeof json[k] === 'string');
}
