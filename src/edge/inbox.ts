/**
 * The edge inbox: consumes this agency's two lanes (urgent first), verifies every packet,
 * stores it once (duplicate packet ids dropped), answers a document automatically with status
 * 01 — or 02 with the reason when it fails verification — and acknowledges only after the
 * commit. Status packets about the documents this agency sent update their per-recipient state.
 */
import type { Delivery, Verdict } from '../broker/consumer.js';
import { readProperties } from '../broker/message.js';
import type { CryptoPool } from '../crypto/pool.js';
import { LIVE_SIGNATURE_AGE_MS } from '../crypto/verify.js';
import { transition, INITIAL_STATE, type DeliveryEvent } from '../envelope/status-machine.js';
import type { DocumentPacket, StatusPacket, UncheckedDocument, UncheckedPacket } from '../envelope/types.js';
import { validatePacket } from '../envelope/validate.js';
import { documentCodeOf, isUrgent } from '../envelope/values.js';
import { repeatsOnRetry } from '../errors.js';
import { actedOnDocumentsOf, foreignActOn, relatedDocumentOf, replacedDocumentsFor } from '../envelope/links.js';
import { derivedPacketId, isPacketId } from '../ids.js';
import type { Logger } from '../log.js';
import { sha256Hex, type BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import type { Lifecycle } from './lifecycle.js';
import type { Outbox, PreparedStatus } from './outbox.js';
import { EdgeRecords, documentColumnsOf, type DocumentRow } from './records.js';

export interface InboxDeps {
  db: Db;
  blobs: BlobStore;
  pool: CryptoPool;
  outbox: Outbox;
  lifecycle: Lifecycle;
  organId: string;
  hubOrganId: string;
  maxPacketBytes: number;
  /** Refuse signatures claiming to be older than this. Default LIVE_SIGNATURE_AGE_MS. */
  maxSignatureAgeMs?: number;
  clock: () => Date;
  log: Logger;
  /** Told after each packet is committed (adapters, tests). */
  onReceived?: (event: InboxEvent) => void;
}

export type InboxEvent =
  | { type: 'document'; packetId: string; documentId: string; accepted: boolean; errorCode?: string }
  | { type: 'status'; packetId: string; documentId: string; from: string; statusCode: string; outcome: string }
  | { type: 'dropped'; packetId: string; reason: string };

export class Inbox {
  private readonly records: EdgeRecords;
  private readonly deliveries: DeliveryLog;

  constructor(private readonly deps: InboxDeps) {
    this.records = new EdgeRecords(deps.db);
    this.deliveries = new DeliveryLog(deps.db);
  }

  handle = async (delivery: Delivery): Promise<Verdict> => {
    const { message } = delivery;
    const props = readProperties(message);
    const content = message.content;
    const packetId = isPacketId(props.packetId) ? props.packetId : derivedPacketId('content', sha256Hex(content));
    const log = this.deps.log.child({ packetId, documentId: props.headers['x-lt-document-id'] });
    try {
      return await this.receive(message, props, content, packetId, log, delivery.lane === 'urgent');
    } catch (error) {
      if (!repeatsOnRetry(error)) throw error;
      // A bug met on this packet meets it again on every redelivery: dead-lettered at once, with why.
      const failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log.error({ errorCode: 'PACKET_UNPROCESSABLE', err: error }, 'handling the packet failed in a way every redelivery would repeat');
      return this.drop(packetId, `handling failed (${failure}) and would fail the same way on every delivery`, 'PACKET_UNPROCESSABLE', log);
    }
  };

  private async receive(message: Delivery['message'], props: ReturnType<typeof readProperties>, content: Buffer, packetId: string, log: Logger, urgent: boolean): Promise<Verdict> {
    if (this.records.hasReceived(packetId)) {
      log.info('duplicate delivery dropped');
      this.deps.onReceived?.({ type: 'dropped', packetId, reason: 'duplicate' });
      return 'ack';
    }
    const now = this.deps.clock();
    if (content.length > this.deps.maxPacketBytes) {
      return this.drop(packetId, `packet of ${content.length} bytes exceeds the limit of ${this.deps.maxPacketBytes}`, 'XML_TOO_LARGE', log);
    }
    // The hub judged the signature's age when it routed the packet; a packet that then waited in
    // this agency's queue (its edge was off over Tết) is judged at that same moment.
    const routedAt = typeof message.properties.timestamp === 'number' ? new Date(message.properties.timestamp * 1000) : undefined;
    // Lent, not copied: from here on the packet's bytes are the ones given back.
    const { verification, bytes } = await this.deps.pool.verifyLent(content, {
      now,
      maxSignatureAgeMs: this.deps.maxSignatureAgeMs ?? LIVE_SIGNATURE_AGE_MS,
      ...(routedAt && routedAt < now ? { ageReference: routedAt } : {}),
      urgent,
    });
    const report = verification.report;
    // Unchecked until validated: a refused packet is read as one that may lack any field.
    const packet: UncheckedPacket | undefined = verification.packet;
    if (!packet) {
      const first = report.errors[0];
      return this.drop(packetId, first?.message ?? 'unreadable packet', first?.code ?? 'XML_MALFORMED', log);
    }
    let problem = report.errors[0];
    if (!problem) {
      const first = validatePacket(packet, { now }).errors[0];
      if (first) problem = { code: first.code === 'SECRECY_MARK' ? 'PACKET_SECRET' : 'PACKET_INVALID', message: first.message };
    }
    const evidence = receiptEvidence(JSON.stringify(report), props.headers);
    if (packet.kind === 'document') return this.receiveDocument(packetId, bytes, packet, problem, evidence, log);
    // A status cannot be answered with a status; an operator looks at it.
    if (problem) return this.drop(packetId, problem.message, problem.code, log);
    return this.receiveStatus(packetId, bytes, packet as StatusPacket, props.headers, evidence, log);
  }

  private async receiveDocument(
    packetId: string,
    content: Buffer,
    unchecked: UncheckedDocument,
    verificationProblem: { code: string; message: string } | undefined,
    evidence: ReceiptEvidence,
    log: Logger,
  ): Promise<Verdict> {
    const now = this.deps.clock();
    const at = now.toISOString();
    let problem = verificationProblem;
    if (!problem && !(unchecked.to ?? []).some((t) => t.organId === this.deps.organId)) {
      problem = { code: 'NOT_RECIPIENT', message: `the document is not addressed to ${this.deps.organId}` };
    }
    // Without a problem it passed validation and has every field its type declares.
    const packet = problem ? undefined : (unchecked as DocumentPacket);
    const documentId = nonEmpty(unchecked.documentId);
    const sender = nonEmpty(unchecked.from?.organId);
    const refused = problem ? `; refused: [${problem.code}] ${problem.message}` : '';
    if (!documentId || !sender) {
      // A 02 goes to a sender about a document: without either, only an operator can help.
      return this.drop(packetId, `the document names no ${sender ? 'DocumentId' : 'sender (From/OrganId)'} to answer${refused}`, problem?.code ?? 'PACKET_INVALID', log);
    }
    if (this.records.document(documentId)) {
      // The same document under another packet id (a re-sent copy): keep the first.
      return this.dropKnown(packetId, 'document', sender, documentId, at, log);
    }
    const code = documentCodeOf(unchecked.code);
    const promulgationDate = nonEmpty(unchecked.promulgationInfo?.promulgationDate);
    // Its bytes and attachments are written while its answer is signed: the writes (fsyncs) and
    // the signature (a crypto worker) overlap instead of adding up before the 01 can be queued.
    const stored = Promise.all([
      this.deps.blobs.put(content),
      Promise.all((packet?.attachments ?? []).map(async (a) => ({ a, sha256: await this.deps.blobs.put(a.content) }))),
    ]);
    stored.catch(() => {}); // a packet no answer can be made for is dropped without waiting for them
    let reply: PreparedStatus;
    try {
      reply = await this.deps.outbox.prepareStatus({
        target: sender,
        responseFor: { organId: sender, documentId, ...(code ? { code } : {}), ...(promulgationDate ? { promulgationDate } : {}) },
        statusCode: problem ? '02' : '01',
        ...(problem ? { description: `[${problem.code}] ${problem.message}`.slice(0, 1000) } : {}),
        urgent: isUrgent(unchecked.otherInfo?.priority),
      });
    } catch (error) {
      // The answer names the document as its sender wrote it; a malformed DocumentId or organ id
      // makes a 02 no peer could read: an operator decides.
      if (!problem || !repeatsOnRetry(error)) throw error;
      return this.drop(packetId, `no 02 can be made about it (${error instanceof Error ? error.message : String(error)})${refused}`, problem.code, log);
    }
    const [blob, attachments] = await stored;
    const foreign = packet ? this.foreignActs(packet) : new Map<string, string>();
    this.deps.db.transaction(() => {
      this.records.insertReceived({
        packetId,
        kind: 'document',
        sender,
        documentId,
        blob,
        receivedAt: at,
        verdict: problem ? 'rejected' : 'accepted',
        errorCode: problem?.code ?? null,
        ...evidence.columns,
      });
      const columns = documentColumnsOf({ ...unchecked, documentId });
      this.records.insertDocument({
        ...columns,
        // An ignored claim links nothing: the other organ's document keeps its chain.
        relatedDocument: columns.relatedDocument && foreign.has(columns.relatedDocument) ? null : columns.relatedDocument,
        direction: 'in',
        sender,
        packetId,
        blob,
        createdAt: at,
        verdict: problem ? 'rejected' : 'accepted',
        errorCode: problem?.code ?? null,
        errorMessage: problem?.message ?? null,
      });
      for (const { a, sha256 } of attachments) {
        this.records.insertAttachment({ documentId, contentId: a.contentId, name: a.attachmentName ?? null, contentType: a.contentType ?? null, size: a.content.byteLength, sha256 });
      }
      this.deliveries.record(documentId, this.deps.organId, { ...INITIAL_STATE, stage: 'delivered' }, 'delivered', at, packetId, evidence.hopNote);
      this.deliveries.record(documentId, this.deps.organId, { ...INITIAL_STATE, stage: problem ? '02' : '01' }, problem ? '02' : '01', at, reply.packetId, reply.description);
      this.deps.outbox.queueStatus(reply, at);
      if (packet) {
        for (const [original, reason] of foreign) {
          this.deliveries.note(documentId, this.deps.organId, 'reference-ignored', at, packetId, reason);
          log.warn({ errorCode: 'DOCUMENT_NOT_OWNED', original, sender }, `reference ignored: ${reason}`);
        }
        this.linkToOriginal(packet, packetId, at, foreign);
        this.linkToLaterArrivals(documentId, sender, packetId, at);
      }
    }).immediate();
    this.deps.outbox.queued();
    if (problem) log.warn({ errorCode: problem.code, sender }, `document rejected and returned with 02: ${problem.message}`);
    else log.info({ sender, attachments: attachments.length }, 'document received; 01 queued');
    this.deps.onReceived?.({ type: 'document', packetId, documentId, accepted: !problem, ...(problem ? { errorCode: problem.code } : {}) });
    return 'ack';
  }

  private async receiveStatus(
    packetId: string,
    content: Buffer,
    packet: StatusPacket,
    headers: Record<string, string>,
    evidence: ReceiptEvidence,
    log: Logger,
  ): Promise<Verdict> {
    const at = this.deps.clock().toISOString();
    const documentId = packet.responseFor.documentId ?? '';
    const from = packet.from.organId;
    const document = this.records.document(documentId);
    const bounce = from === this.deps.hubOrganId && packet.statusCode === '02';
    if (!document && bounce) {
      // The hub refused something published with this agency's credentials that this edge never
      // sent (or whose document it does not know): worth an operator's attention, not a retry.
      const blob = await this.deps.blobs.put(content);
      this.records.insertReceived({
        packetId,
        kind: 'status',
        sender: from,
        documentId,
        blob,
        receivedAt: at,
        verdict: 'unmatched-bounce',
        errorCode: headers['x-lt-error-code'] ?? null,
        ...evidence.columns,
      });
      log.warn(
        { errorCode: headers['x-lt-error-code'], cause: headers['x-lt-cause'] },
        `the hub refused a packet published with this agency's broker credentials that this edge did not send: ${packet.description ?? ''}`,
      );
      this.deps.onReceived?.({ type: 'status', packetId, documentId, from, statusCode: packet.statusCode, outcome: 'unmatched-bounce' });
      return 'ack';
    }
    if (!document) return this.drop(packetId, `status ${packet.statusCode} is about unknown document ${documentId}`, 'DOCUMENT_UNKNOWN', log);
    // The hub checks who may say what; checked again here: a recall only from the document's
    // sender, any other status only from one of its recipients (or the hub's bounces).
    const entitled = bounce
      ? true
      : document.direction === 'in'
        ? from === document.sender
        : this.deliveries.state(documentId, from) !== undefined;
    if (!entitled) return this.drop(packetId, `${from} may not give status ${packet.statusCode} about ${documentId}`, 'NOT_RECIPIENT', log);
    const blob = await this.deps.blobs.put(content);
    const changes = this.statusChanges(packet, document.direction, document.documentId, headers['x-lt-cause'], headers['x-lt-bounce']);
    const answer = document.direction === 'in' && packet.statusCode === '13' ? await this.prepareRecallAnswer(document, packet) : undefined;
    let outcome = 'ignored';
    this.deps.db.transaction(() => {
      this.records.insertReceived({ packetId, kind: 'status', sender: from, documentId, blob, receivedAt: at, verdict: 'accepted', errorCode: null, ...evidence.columns });
      for (const change of changes) {
        if (change.event === 'refused-by-hub') {
          this.deliveries.note(documentId, change.recipient, 'refused-by-hub', at, packetId, packet.description ?? null);
          outcome = 'refused-by-hub';
          continue;
        }
        const state = this.deliveries.state(documentId, change.recipient) ?? INITIAL_STATE;
        const result = transition(state, change.event);
        outcome = result.outcome;
        if (result.outcome === 'applied') {
          this.deliveries.record(documentId, change.recipient, result.state, change.event, at, packetId, packet.description ?? null);
        } else if (result.outcome === 'illegal') {
          log.warn({ statusCode: packet.statusCode, recipient: change.recipient, reason: result.reason }, 'status refused by the state machine; recorded only');
          this.deliveries.record(documentId, change.recipient, state, change.event, at, packetId, `refused: ${result.reason}`);
        }
      }
      if (answer) {
        // The automatic answer to a recall commits with the request it answers.
        const state = this.deliveries.state(documentId, this.deps.organId) ?? INITIAL_STATE;
        const result = transition(state, answer.statusCode as DeliveryEvent);
        if (result.outcome === 'applied') {
          this.deliveries.record(documentId, this.deps.organId, result.state, answer.statusCode as DeliveryEvent, at, answer.packetId, answer.description);
          this.deps.outbox.queueStatus(answer, at);
        }
      }
    }).immediate();
    if (answer) this.deps.outbox.queued();
    log.info({ statusCode: packet.statusCode, from, outcome }, 'status received');
    this.deps.onReceived?.({ type: 'status', packetId, documentId, from, statusCode: packet.statusCode, outcome });
    return 'ack';
  }

  /**
   * An update, replacement or revocation marks the original document in this inbox: a replaced
   * or revoked one is superseded (it stays readable for the record), an updated one notes it.
   */
  private linkToOriginal(packet: DocumentPacket, packetId: string, at: string, foreign: ReadonlyMap<string, string>): void {
    const type = packet.bussiness?.bussinessDocType;
    const targets = type === '3' ? replacedDocumentsFor(packet, this.deps.organId) : type === '1' || type === '2' ? [relatedDocumentOf(packet)] : [];
    const event = type === '3' ? 'superseded' : type === '1' ? 'revoked' : 'updated';
    for (const original of targets) {
      if (!original || foreign.has(original) || !this.records.document(original)) continue;
      if (type !== '2') this.records.setSupersededBy(original, packet.documentId);
      this.deliveries.note(original, this.deps.organId, event, at, packetId, `${event} by ${packet.documentId}`);
    }
  }

  /**
   * The documents `packet` updates, replaces or revokes without owning them here, with why: its
   * sender did not send them (as this edge knows them) or, unseen, they carry another organ's id.
   * The hub refuses these; checked again so that an older or compromised hub cannot make one
   * agency supersede another's documents in this inbox.
   */
  private foreignActs(packet: DocumentPacket): Map<string, string> {
    const foreign = new Map<string, string>();
    for (const original of actedOnDocumentsOf(packet)) {
      const reason = foreignActOn(packet, original, this.records.document(original)?.sender);
      if (reason) foreign.set(original, reason);
    }
    return foreign;
  }

  /**
   * A replacement or revocation can overtake its original (an urgent replacement of a normal
   * document): when the original arrives, what already refers to it marks it.
   */
  private linkToLaterArrivals(documentId: string, sender: string, packetId: string, at: string): void {
    for (const later of this.records.documentsReferring('related_document', documentId)) {
      if (later.direction !== 'in' || later.verdict === 'rejected') continue;
      if (later.sender !== sender) {
        // It named this document's number before the document came, but another organ sent it.
        const reason = `${later.sender} may not act on document ${documentId}: it was sent by ${sender}, and only its sender can update, replace or revoke it`;
        this.deliveries.note(later.documentId, this.deps.organId, 'reference-ignored', at, packetId, reason);
        continue;
      }
      if (later.bussinessType === '3' || later.bussinessType === '1') {
        this.records.setSupersededBy(documentId, later.documentId);
        const event = later.bussinessType === '3' ? 'superseded' : 'revoked';
        this.deliveries.note(documentId, this.deps.organId, event, at, packetId, `${event} by ${later.documentId}`);
      } else if (later.bussinessType === '2') {
        this.deliveries.note(documentId, this.deps.organId, 'updated', at, packetId, `updated by ${later.documentId}`);
      }
    }
  }

  /**
   * The signed answer to a recall (13) of a document this agency received, when the recall
   * policy answers by itself: 16 for a completed document, else 15 ("accept") or none ("manual").
   */
  private async prepareRecallAnswer(document: DocumentRow, packet: StatusPacket): Promise<PreparedStatus | undefined> {
    const state = this.deliveries.state(document.documentId, this.deps.organId);
    if (!state) return undefined;
    const requested = transition(state, '13');
    if (requested.outcome !== 'applied') return undefined;
    const decision = this.deps.lifecycle.automaticRecallAnswer(requested.state);
    if (!decision) return undefined;
    return this.deps.outbox.prepareStatus({
      target: packet.from.organId,
      responseFor: {
        organId: packet.from.organId,
        documentId: document.documentId,
        ...(document.code ? { code: document.code } : {}),
        ...(document.promulgationDate ? { promulgationDate: document.promulgationDate } : {}),
      },
      statusCode: decision.code,
      description: decision.description,
      urgent: true,
    });
  }

  /** Which deliveries a status changes, and how. */
  private statusChanges(
    packet: StatusPacket,
    direction: 'in' | 'out',
    documentId: string,
    cause: string | undefined,
    bouncedRecipient: string | undefined,
  ): Array<{ recipient: string; event: DeliveryEvent | 'refused-by-hub' }> {
    const from = packet.from.organId;
    if (from === this.deps.hubOrganId && packet.statusCode === '02') {
      // The signed bounce names the document by its issuer, as peers expect; the hub names the
      // recipient it is about (or this agency, when the whole packet was refused) in x-lt-bounce,
      // and the refused packet in x-lt-cause, which may be a status this edge sent. Only the
      // hub publishes to agency queues, so these headers are its word.
      const refused = cause ? this.records.outboxEntry(cause) : undefined;
      if (refused?.kind === 'status') {
        return refused.recipients.map((recipient) => ({ recipient: direction === 'in' ? this.deps.organId : recipient, event: 'refused-by-hub' as const }));
      }
      // Without the header (a hub of another make, or an older lienthong, whose bounce named the
      // recipient in ResponseFor/OrganId) a recipient named there is taken at its word.
      const named = packet.responseFor.organId;
      const about = bouncedRecipient ?? (named !== this.deps.organId && this.deliveries.state(documentId, named) ? named : this.deps.organId);
      const recipients =
        about === this.deps.organId
          ? this.deliveries
              .all(documentId)
              .filter((d) => d.stage === 'sent')
              .map((d) => d.recipient)
          : [about];
      return recipients.map((recipient) => ({ recipient, event: 'bounced' as const }));
    }
    if (direction === 'in') {
      // The sender of a document we received: a recall request (13) is about our own delivery.
      return packet.statusCode === '13' ? [{ recipient: this.deps.organId, event: '13' }] : [];
    }
    return [{ recipient: from, event: packet.statusCode as DeliveryEvent }];
  }

  private dropKnown(packetId: string, kind: string, sender: string, documentId: string, at: string, log: Logger): Verdict {
    this.records.insertReceived({ packetId, kind, sender, documentId, blob: null, receivedAt: at, verdict: 'duplicate', errorCode: null });
    log.info('document already received under another packet id; dropped');
    this.deps.onReceived?.({ type: 'dropped', packetId, reason: 'duplicate document' });
    return 'ack';
  }

  /**
   * What cannot be answered goes to the dead letters for an operator; it is not recorded as
   * received, so that a replay from the dashboard is processed again.
   */
  private drop(packetId: string, reason: string, code: string, log: Logger): Verdict {
    log.warn({ errorCode: code }, `packet dead-lettered: ${reason}`);
    this.deps.onReceived?.({ type: 'dropped', packetId, reason });
    return 'dead-letter';
  }
}

/** What this edge keeps about a packet's receipt besides the packet: its verification and the hub's hop. */
interface ReceiptEvidence {
  columns: { verification: string; hop: string | null };
  /** The hop in words, for the document's timeline. */
  hopNote: string | null;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value : undefined;
}

function receiptEvidence(report: string, headers: Record<string, string>): ReceiptEvidence {
  const hub = headers['x-lt-hub'];
  if (!hub) return { columns: { verification: report, hop: null }, hopNote: null };
  const hop = { hub, routedAt: headers['x-lt-routed-at'] ?? null, lane: headers['x-lt-lane'] ?? null };
  return {
    columns: { verification: report, hop: JSON.stringify(hop) },
    hopNote: `routed by hub ${hub}${hop.routedAt ? ` at ${hop.routedAt}` : ''}${hop.lane ? ` (${hop.lane} lane)` : ''}`,
  };
}
