/**
 * A national exchange axis for tests, written from ../shared/sdk-protocol.md and nothing else:
 * it imports nothing of lienthong's, so a client that passes against it speaks the protocol as
 * documented, not merely as lienthong understood it.
 *
 * It knows systems (systemId + secret), checks each request as §3.2 suggests (the HMAC over the
 * `XroadVnpt-sign-header` bytes as received, then every signed entry against the header
 * actually sent), keeps what systems send (sendEdoc, §4.1: the file is the body less the
 * SDK's trailing CRLF, as the signed `hash-file` tells) and what waits for each system
 * (getReceivedEdocList, getEdoc, updateStatus, countReceiveEdoc). A document marked `done` is
 * no longer listed (the protocol's "likely intent", §4.4).
 *
 * Replies follow §5: `{"status":"OK","ErrorCode":"0","ErrorDesc":"Success",...}` or
 * `{"status":"FAIL","ErrorCode":"<non-zero>","ErrorDesc":"..."}` (+ `"DocId":""` on sendEdoc).
 * The real platform's error codes are unknown (§9): the ones here are the simulator's own.
 *
 * Outages: `stop()` closes the listener and every open connection; `start()` listens again on
 * the same port with everything it held. Every call handled is an event ('call'), so tests wait
 * on what happened, never on the clock.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SimulatedSystem {
  systemId: string;
  secret: string;
}

/** A packet a system sent (sendEdoc), as the axis keeps it. */
export interface SentPacket {
  docId: string;
  systemId: string;
  messageType: string;
  from: string | undefined;
  /** `to` as it came: raw JSON text (§3.1). */
  to: string | undefined;
  /** The file: the body without the SDK's CRLF. */
  file: Buffer;
}

/** A packet waiting for a system. */
export interface HeldPacket {
  docId: string;
  systemId: string;
  messageType: 'edoc' | 'status';
  from: string;
  file: Buffer;
  /** The last updateStatus word ("" until one comes). */
  status: string;
  created: Date;
  updated: Date;
}

export interface CallRecord {
  call: string;
  systemId: string | undefined;
  ok: boolean;
  errorCode: string;
  docId?: string;
  status?: string;
}

interface Refusal {
  call: string;
  errorCode: string;
  errorDesc: string;
  times: number;
}

const PREFIX = 'xroadvnpt-';

export class AxisSimulator extends EventEmitter<{ call: [CallRecord] }> {
  readonly sent: SentPacket[] = [];
  readonly held: HeldPacket[] = [];
  readonly calls: CallRecord[] = [];
  private readonly secrets = new Map<string, string>();
  private readonly refusals: Refusal[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(systems: readonly SimulatedSystem[]) {
    super();
    for (const s of systems) this.secrets.set(s.systemId, s.secret);
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  /** A simulator listening on 127.0.0.1 (`port` 0: any free port, kept for restarts). */
  static async start(systems: readonly SimulatedSystem[], port = 0): Promise<AxisSimulator> {
    const simulator = new AxisSimulator(systems);
    simulator.port = port;
    await simulator.start();
    return simulator;
  }

  /** The endpoint a client is configured with. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** Listen (again) on the same port. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** An outage: stop listening and cut every open connection, kept-alive ones included. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** A packet from elsewhere on the axis, waiting for `systemId`; returns its docId. */
  hold(systemId: string, file: Buffer, options: { messageType?: 'edoc' | 'status'; from: string }): string {
    const now = new Date();
    const docId = randomUUID();
    this.held.push({ docId, systemId, messageType: options.messageType ?? 'edoc', from: options.from, file, status: '', created: now, updated: now });
    return docId;
  }

  /** The system's secret changes (the axis re-issued it). */
  rekey(systemId: string, secret: string): void {
    this.secrets.set(systemId, secret);
  }

  /** The next `times` calls named `call` are refused with this ErrorCode. */
  refuse(call: string, errorCode: string, errorDesc: string, times = 1): void {
    this.refusals.push({ call, errorCode, errorDesc, times });
  }

  /** The first call record matching, already seen or still to come. */
  next(match: (record: CallRecord) => boolean, from = 0): Promise<CallRecord> {
    const seen = this.calls.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (record: CallRecord): void => {
        if (!match(record)) return;
        this.off('call', listener);
        resolve(record);
      };
      this.on('call', listener);
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    // An endpoint written with a trailing slash makes the client send //call (§1).
    const call = (request.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    const record: CallRecord = { call, systemId: undefined, ok: false, errorCode: '' };
    let reply: Record<string, unknown>;
    try {
      const signed = this.authenticate(request);
      record.systemId = signed.systemId;
      const refusal = this.refusals.find((r) => r.call === call && r.times > 0);
      if (refusal) {
        refusal.times -= 1;
        throw new Refused(refusal.errorCode, refusal.errorDesc);
      }
      reply = this.answer(call, signed.systemId, signed.parameters, body, record);
      record.ok = true;
      record.errorCode = '0';
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      record.errorCode = error.code;
      reply = { status: 'FAIL', ErrorCode: error.code, ErrorDesc: error.message, ...(call === 'sendEdoc' ? { DocId: '' } : {}) };
    }
    this.calls.push(record);
    // Non-ASCII as \u escapes: sendEdoc's client reads its reply as US-ASCII (§4.1).
    const text = JSON.stringify(reply).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    response.writeHead(200, { 'content-type': 'application/json' }).end(text);
    this.emit('call', record);
  }

  /** §3.2's suggested check; returns the system and its signed parameters (keys lowercased, without the prefix). */
  private authenticate(request: IncomingMessage): { systemId: string; parameters: Map<string, string> } {
    const single = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const systemId = single(`${PREFIX}systemid`);
    const signHeader = single(`${PREFIX}sign-header`);
    const hash = single(`${PREFIX}hash-header`);
    if (!systemId || !signHeader || !hash) throw new Refused('401', 'not signed: XroadVnpt-systemid, -sign-header and -hash-header are required');
    const secret = this.secrets.get(systemId);
    if (secret === undefined) throw new Refused('401', `unknown system ${systemId}`);
    // The HMAC is over the header's bytes as received (Node hands them over as latin1).
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(signHeader, 'latin1')).digest();
    const presented = /^[0-9a-f]{64}$/i.test(hash) ? Buffer.from(hash, 'hex') : Buffer.alloc(0);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw new Refused('401', 'XroadVnpt-hash-header does not match');
    let entries: Record<string, unknown>;
    try {
      entries = JSON.parse(Buffer.from(signHeader, 'latin1').toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new Refused('400', 'XroadVnpt-sign-header is not JSON');
    }
    const parameters = new Map<string, string>();
    for (const [name, value] of Object.entries(entries)) {
      const sent = single(name.toLowerCase());
      if (typeof value !== 'string' || sent !== value) throw new Refused('401', `${name} differs from its signed value`);
      if (name.toLowerCase().startsWith(PREFIX)) parameters.set(name.slice(PREFIX.length).toLowerCase(), value);
    }
    if (parameters.get('systemid') !== systemId) throw new Refused('401', 'XroadVnpt-systemid is not signed');
    return { systemId, parameters };
  }

  private answer(call: string, systemId: string, p: Map<string, string>, body: Buffer, record: CallRecord): Record<string, unknown> {
    const ok = { status: 'OK', ErrorCode: '0', ErrorDesc: 'Success' };
    const waiting = (type: string | undefined) => this.held.filter((h) => h.systemId === systemId && h.status !== 'done' && (type === undefined || h.messageType === type));
    switch (call) {
      case 'sendEdoc': {
        const hashFile = p.get('hash-file');
        if (!hashFile) throw new Refused('400', 'sendEdoc without hash-file');
        const crlf = body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a;
        const file = [crlf ? body.subarray(0, body.length - 2) : undefined, body].find((c) => c !== undefined && sdkHashFile(c) === hashFile.toLowerCase());
        if (!file) throw new Refused('400', 'the body does not match hash-file');
        const docId = randomUUID();
        this.sent.push({ docId, systemId, messageType: p.get('messagetype') ?? '', from: p.get('from'), to: p.get('to'), file: Buffer.from(file) });
        record.docId = docId;
        return { ...ok, DocId: docId };
      }
      case 'getReceivedEdocList': {
        const data = waiting(p.get('messagetype') ?? 'edoc').map((h) => ({
          docId: h.docId,
          serviceType: 'eDoc',
          messageType: h.messageType,
          created_time: h.created.toISOString(),
          updated_time: h.updated.toISOString(),
          from: h.from,
          to: systemId,
          status: h.status || 'inbox',
          status_desc: '',
        }));
        return { ...ok, data };
      }
      case 'getEdoc': {
        const docId = p.get('docid');
        record.docId = docId;
        const held = this.held.find((h) => h.systemId === systemId && h.docId === docId);
        if (!held) throw new Refused('404', `no document ${docId ?? '(none named)'} for ${systemId}`);
        return { ...ok, data: held.file.toString('base64') };
      }
      case 'updateStatus': {
        const docId = p.get('docid');
        const status = p.get('status');
        record.docId = docId;
        if (status !== undefined) record.status = status;
        const held = this.held.find((h) => h.systemId === systemId && h.docId === docId);
        if (!held || !status) throw new Refused('404', `no document ${docId ?? '(none named)'} for ${systemId}, or no status`);
        held.status = status;
        held.updated = new Date();
        return ok;
      }
      case 'countReceiveEdoc':
        return { ...ok, count: waiting('edoc').length };
      case 'countReceiveStatus':
        return { ...ok, count: waiting('status').length };
      default:
        throw new Refused('501', `${call} is not simulated`);
    }
  }
}

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** SHA-256 of the file, each byte in hex without zero padding (§3.4). */
function sdkHashFile(file: Buffer): string {
  return [...createHash('sha256').update(file).digest()].map((b) => b.toString(16)).join('');
}
