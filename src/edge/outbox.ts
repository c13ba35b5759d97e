/**
 * The edge outbox: a submitted document is admitted (validated, owned, not sent before, scanned),
 * signed — or, signed beforehand by its agency, verified and kept byte for byte — and written to
 * SQLite (packet, document, one delivery per recipient) in one transaction, and the caller gets
 * the packet id.
 * Publishing is the relay's job. Status packets this edge answers with are prepared (signed)
 * here and inserted in the caller's transaction, so a status is queued exactly when the state
 * change it reports is committed.
 */
import type { Lane } from '../broker/names.js';
import type { CryptoPool } from '../crypto/pool.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import { LIVE_SIGNATURE_AGE_MS, type VerificationReport } from '../crypto/verify.js';
import { buildPacket, buildPacketBytes } from '../envelope/build.js';
import { composeDocument, composeStatus, type DocumentInput } from '../envelope/compose.js';
import { DEFAULT_XML_LIMITS, xmlLimitsFor, type XmlLimits } from '../envelope/xml.js';
import { firstForeignAct, foreignDocumentIdOf, relatedDocumentOf } from '../envelope/links.js';
import { INITIAL_STATE } from '../envelope/status-machine.js';
import type { DocumentPacket, Organization, Packet, ResponseFor, StaffInfo, StatusPacket } from '../envelope/types.js';
import { validatePacket, type Finding } from '../envelope/validate.js';
import { isUrgent } from '../envelope/values.js';
import { DSIG_NS } from '../crypto/algorithms.js';
import { LtError } from '../errors.js';
import { newPacketId } from '../ids.js';
import type { BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import { EdgeRecords, documentColumnsOf } from './records.js';
import { scanAttachments, type Scanner } from './scanner.js';

export interface OutboxDeps {
  db: Db;
  blobs: BlobStore;
  pool: CryptoPool;
  identity: IdentityMaterial;
  organization: Organization;
  /** Who the statuses this edge signs name in StaffInfo when the caller names nobody. */
  staffInfo?: StaffInfo;
  clock: () => Date;
  /** Largest packet accepted, bytes. Default: the XML parser's limit. */
  maxPacketBytes?: number;
  /** Scans attachments before signing; none configured = no scanning. */
  scanner?: Scanner;
  /**
   * Called after a packet was queued (wakes the relay; an urgent one is published even during a
   * round), with a document's signed bytes when they are at hand: the relay publishes them as
   * they are instead of reading them back from the blob store.
   */
  onQueued?: (urgent: boolean, queued?: QueuedBytes) => void;
}

/** A queued packet's bytes, and the blob they are stored as. */
export interface QueuedBytes {
  blob: string;
  content: Buffer;
}

export interface Submitted {
  packetId: string;
  documentId: string;
  lane: Lane;
  /** Tolerated deviations, for the caller to show. */
  warnings: Finding[];
}

export interface PreparedStatus {
  packetId: string;
  documentId: string;
  target: string;
  statusCode: string;
  lane: Lane;
  blob: string;
  description: string | null;
  client: string;
}

export interface SubmitOptions {
  /**
   * Called inside the immediate transaction that writes the outbox row, after it: what the
   * caller records there (an adapter's "this input became this packet") commits with the
   * packet or not at all. Throwing rolls the submission back and rejects it with that error.
   */
  inTransaction?: (queued: { packetId: string; documentId: string }) => void;
}

/** The refusal of an invalid packet, carrying every finding for the API to return. */
export class ValidationError extends LtError {
  constructor(
    message: string,
    readonly findings: Finding[],
  ) {
    super(findings.some((f) => f.code === 'SECRECY_MARK') ? 'PACKET_SECRET' : 'PACKET_INVALID', message);
  }
}

function duplicateDocument(documentId: string): LtError {
  return new LtError(
    'DOCUMENT_DUPLICATE',
    `document ${documentId} was already sent; number a new document, or send an update (BussinessDocType 2) or a replacement (3)`,
    { documentId },
  );
}

export class Outbox {
  readonly records: EdgeRecords;
  private readonly deliveries: DeliveryLog;
  /** An urgent status was queued since the relay was last told (see queued). */
  private urgentQueued = false;

  constructor(private readonly deps: OutboxDeps) {
    this.records = new EdgeRecords(deps.db);
    this.deliveries = new DeliveryLog(deps.db);
  }

  /** Submit a document from metadata (the REST API, `lienthong send`). */
  async submitDocument(input: Omit<DocumentInput, 'from'> & { from?: Organization }, client: string, options: SubmitOptions = {}): Promise<Submitted> {
    if (input.from && input.from.organId !== this.deps.organization.organId) {
      throw new LtError('SENDER_MISMATCH', `this edge sends for ${this.deps.organization.organId}, not for ${input.from.organId}`, { path: 'from.organId' });
    }
    const packet = composeDocument({ ...input, from: this.deps.organization }, this.deps.clock());
    return this.signAndEnqueue(packet, client, options);
  }

  /**
   * Read untrusted edXML (a submitted packet, a stored packet another agency wrote) in a crypto
   * worker: parsing up to 32 MiB on this thread would stall every request the edge serves.
   */
  readPacket(xml: Uint8Array | string, options: { handOver?: boolean } = {}): Promise<Packet> {
    return this.deps.pool.parsePacket(xml, this.xmlLimits(), options);
  }

  /**
   * Submit a ready edXML document packet the agency system built. Unsigned, the edge signs it
   * (the bytes are handed over to the crypto worker: the caller must not use `xml` afterwards).
   * Signed beforehand with the agency's certificate, it is verified as strictly as a received
   * packet and its very bytes are queued: nobody changes a byte of a signed packet.
   */
  async submitXml(xml: Uint8Array | string, client: string, options: SubmitOptions = {}): Promise<Submitted> {
    // Without the XMLDSig namespace URI no ds:Signature can be in it: parsed with its bytes handed
    // over, as the edge re-serialises and signs it anyway. (A namespace spelt with character
    // references slips through here; it is then signed as if unsigned, its own signature dropped.)
    const mayBeSigned = typeof xml !== 'string' ? Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength).includes(DSIG_NS) : xml.includes(DSIG_NS);
    if (!mayBeSigned) return this.signAndEnqueue(this.ownDocument(await this.readPacket(xml, { handOver: true })), client, options);
    // Kept, not handed over: if it is signed, these are the bytes that travel.
    const { report, packet } = await this.deps.pool.verify(xml, { now: this.deps.clock(), maxSignatureAgeMs: LIVE_SIGNATURE_AGE_MS, limits: this.xmlLimits() });
    const problem = report.errors[0];
    if (!packet) throw new LtError(problem?.code ?? 'XML_NOT_EDXML', problem?.message ?? 'the packet cannot be read');
    if (problem?.code === 'SIG_MISSING') return this.signAndEnqueue(this.ownDocument(packet), client, options);
    const document = this.ownDocument(packet, report);
    // The hub's checks, in its order, so that what the edge accepts the hub routes. The signer
    // certificate's organ id is this edge's: verify ties it to From, ownDocument From to the edge.
    if (problem) throw new LtError(problem.code, `the packet's signature is refused: ${problem.message}`);
    if (report.unsignedTraceHeaders > 0) {
      throw new LtError('TRACE_FORGED', `the packet carries ${report.unsignedTraceHeaders} TraceHeader(s) added after it was signed; submit it exactly as it was signed`);
    }
    const { warnings } = await this.admit(document);
    return this.enqueue(document, xml, client, warnings, options);
  }

  private xmlLimits(): XmlLimits {
    return this.deps.maxPacketBytes === undefined ? DEFAULT_XML_LIMITS : xmlLimitsFor(this.deps.maxPacketBytes);
  }

  /** A submitted packet is a document from this agency (statuses go through the status actions). */
  private ownDocument(packet: Packet, signature?: VerificationReport): DocumentPacket {
    if (packet.kind !== 'document') throw new LtError('PACKET_INVALID', 'only document packets can be submitted; statuses are sent through the status actions');
    if (packet.from?.organId !== this.deps.organization.organId) {
      const signer = signature?.signer;
      // Whose key made the signature is only known when its value verified; else, whose certificate it shows.
      const how = signature?.checks.signatureValue === 'ok' ? 'signed with' : 'carrying';
      const signedBy = signer ? ` and ${how} the certificate of ${signer.organId ?? '(no organ id)'} ("${signer.subject}")` : '';
      throw new LtError('SENDER_MISMATCH', `the packet is from ${packet.from?.organId ?? '(nobody)'}${signedBy}; this edge sends for ${this.deps.organization.organId}`, { path: 'from.organId' });
    }
    return packet;
  }

  private async signAndEnqueue(packet: DocumentPacket, client: string, options: SubmitOptions): Promise<Submitted> {
    const { warnings } = await this.admit(packet);
    // Bytes both ways, moved to the worker and back: a large packet as text crossed the threads as
    // a two-byte string, copied on each side, and was encoded again to be stored.
    const signed = await this.deps.pool.signBytes(buildPacketBytes(packet), this.deps.identity, { urgent: isUrgent(packet.otherInfo.priority), handOver: true });
    return this.enqueue(packet, signed, client, warnings, options);
  }

  /**
   * Whether this edge may send the document at all, before anything is stored: the edXML rules,
   * ownership of its number and of what it acts on, not sent before, attachments clean.
   */
  private async admit(packet: DocumentPacket): Promise<{ warnings: Finding[] }> {
    const validation = validatePacket(packet, { now: this.deps.clock() });
    if (!validation.valid) {
      const first = validation.errors[0] as Finding;
      throw new ValidationError(`${first.message}${validation.errors.length > 1 ? ` (and ${validation.errors.length - 1} more)` : ''}`, validation.errors);
    }
    // Before the duplicate check: another organ's number is refused as such, not as "already sent".
    const squat = foreignDocumentIdOf(packet);
    if (squat) throw new LtError('DOCUMENT_NOT_OWNED', squat, { documentId: packet.documentId, path: 'documentId' });
    const foreign = firstForeignAct(packet, (id) => this.records.document(id)?.sender);
    if (foreign) throw new LtError('DOCUMENT_NOT_OWNED', foreign.reason, { documentId: foreign.documentId, path: 'bussiness' });
    if (this.records.document(packet.documentId)) {
      throw duplicateDocument(packet.documentId);
    }
    if (this.deps.scanner) {
      await scanAttachments(
        this.deps.scanner,
        (packet.attachments ?? []).map((a) => ({ name: a.attachmentName ?? a.contentId, content: a.content })),
      );
    }
    return { warnings: validation.warnings };
  }

  /**
   * Store the signed bytes and attachments, then queue the packet in one transaction: outbox
   * row, document, attachments, one delivery per recipient, and the caller's own record.
   */
  private async enqueue(packet: DocumentPacket, signed: Uint8Array | string, client: string, warnings: Finding[], options: SubmitOptions): Promise<Submitted> {
    const blob = await this.deps.blobs.put(signed);
    const attachments = await Promise.all((packet.attachments ?? []).map(async (a) => ({ a, sha256: await this.deps.blobs.put(a.content) })));
    const packetId = newPacketId();
    const lane: Lane = isUrgent(packet.otherInfo.priority) ? 'urgent' : 'normal';
    const recipients = [...new Set(packet.to.map((t) => t.organId))];
    const at = this.deps.clock().toISOString();
    // IMMEDIATE: this transaction reads before it writes, and another process may be writing
    // the same database (the running edge, while `lienthong send` submits). A deferred one
    // would then fail at once with SQLITE_BUSY (SQLite runs no busy handler to upgrade a read
    // transaction to a write one); taking the write lock at BEGIN waits for busy_timeout.
    this.deps.db.transaction(() => {
      // Checked again inside the transaction: two submissions may race past the first check.
      if (this.records.document(packet.documentId)) {
        throw duplicateDocument(packet.documentId);
      }
      this.records.insertOutbox({
        packetId,
        kind: 'document',
        documentId: packet.documentId,
        recipients,
        priority: packet.otherInfo.priority,
        lane,
        statusCode: null,
        blob,
        client,
        createdAt: at,
      });
      this.records.insertDocument({
        ...documentColumnsOf(packet),
        direction: 'out',
        sender: packet.from.organId,
        packetId,
        blob,
        createdAt: at,
        verdict: null,
        errorCode: null,
        errorMessage: null,
      });
      for (const { a, sha256 } of attachments) {
        this.records.insertAttachment({ documentId: packet.documentId, contentId: a.contentId, name: a.attachmentName ?? null, contentType: a.contentType ?? null, size: a.content.byteLength, sha256 });
      }
      for (const recipient of recipients) this.deliveries.record(packet.documentId, recipient, INITIAL_STATE, 'sent', at, packetId, null);
      // The sender's own copy of a replaced or revoked document is marked too.
      const type = packet.bussiness?.bussinessDocType;
      if (type === '1' || type === '3') {
        const originals = type === '3' ? (packet.bussiness?.replacementInfoList ?? []).map((r) => r.documentId) : [relatedDocumentOf(packet)];
        for (const original of originals) {
          if (original && this.records.document(original)?.direction === 'out') this.records.setSupersededBy(original, packet.documentId);
        }
      }
      options.inTransaction?.({ packetId, documentId: packet.documentId });
    }).immediate();
    this.deps.onQueued?.(lane === 'urgent', typeof signed === 'string' ? undefined : { blob, content: Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength) });
    return { packetId, documentId: packet.documentId, lane, warnings };
  }

  /** Compose and sign a status packet; insert it with `queueStatus` inside a transaction. */
  async prepareStatus(input: {
    target: string;
    responseFor: ResponseFor;
    statusCode: string;
    description?: string;
    staffInfo?: StaffInfo;
    urgent: boolean;
    /** Force the lane (default: urgent for urgent documents and recall statuses). */
    lane?: Lane;
    /** Who asked for it (API client, "cli", "edge"), kept in the outbox. */
    client?: string;
  }): Promise<PreparedStatus> {
    const status: StatusPacket = composeStatus(
      {
        from: this.deps.organization,
        responseFor: input.responseFor,
        statusCode: input.statusCode,
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.staffInfo ?? this.deps.staffInfo ? { staffInfo: input.staffInfo ?? this.deps.staffInfo } : {}),
      },
      this.deps.clock(),
    );
    const findings = validatePacket(status, { now: this.deps.clock() });
    if (!findings.valid) {
      throw new ValidationError(findings.errors.map((f) => f.message).join('; '), findings.errors);
    }
    const lane: Lane = input.lane ?? (input.urgent || ['13', '15', '16'].includes(input.statusCode) ? 'urgent' : 'normal');
    const signed = await this.deps.pool.sign(buildPacket(status), this.deps.identity, { urgent: lane === 'urgent' });
    return {
      packetId: newPacketId(),
      documentId: input.responseFor.documentId as string,
      target: input.target,
      statusCode: input.statusCode,
      lane,
      client: input.client ?? 'edge',
      blob: await this.deps.blobs.put(signed),
      description: status.description ?? null,
    };
  }

  queueStatus(status: PreparedStatus, at: string): void {
    if (status.lane === 'urgent') this.urgentQueued = true;
    this.records.insertOutbox({
      packetId: status.packetId,
      kind: 'status',
      documentId: status.documentId,
      recipients: [status.target],
      priority: status.lane === 'urgent' ? '1' : '0',
      lane: status.lane,
      statusCode: status.statusCode,
      blob: status.blob,
      client: status.client,
      createdAt: at,
    });
  }

  /** After the transaction that queued statuses committed. */
  queued(): void {
    const urgent = this.urgentQueued;
    this.urgentQueued = false;
    this.deps.onQueued?.(urgent);
  }
}
