/**
 * The life of a document after delivery, on the edge: the recipient's actions (accept 03,
 * assign 04, processing 05, complete 06, return 02), the sender's recall (13) and the
 * recipient's answer (15 / 16), the links between documents (replies, updates, replacements),
 * and what is overdue or must go on paper. Every action is checked against the state machine
 * first; an illegal one is refused and nothing is sent. A legal one commits the new state and
 * the signed status packet in one transaction; the relay then sends it.
 */
import { transition, type DeliveryState } from '../envelope/status-machine.js';
import { issueDue, processingDue, receiptDue, type WorkingCalendar } from '../envelope/calendar.js';
import type { ResponseFor } from '../envelope/types.js';
import { LtError } from '../errors.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import type { Outbox, PreparedStatus } from './outbox.js';
import type { Assignment, DocumentRow, EdgeRecords } from './records.js';

export type RecipientCode = '02' | '03' | '04' | '05' | '06' | '15' | '16';

export interface RecipientAction {
  code: RecipientCode;
  /** Required for 02 (return) and 16 (recall refused); free text otherwise. */
  description?: string;
  /** For 04: to whom the document is assigned. */
  assignment?: { unit?: string; person?: string; role?: 'main' | 'co' | 'info' };
  staff?: { department?: string; staff?: string };
  /** Who acts (API client, "cli"), kept with the queued status. */
  client?: string;
}

export type RecallPolicy = 'accept' | 'manual';

export interface LifecycleDeps {
  db: Db;
  records: EdgeRecords;
  outbox: Outbox;
  organId: string;
  clock: () => Date;
  calendar: WorkingCalendar;
  /** Receipt deadline of urgent documents, minutes after arrival. */
  urgentReceiptMinutes: number;
  /** How recalls are answered: automatically (15, or 16 when completed) or by a clerk. */
  recallPolicy: RecallPolicy;
}

export interface OverdueItem {
  /** receipt: no 01 yet; acceptance: arrived (01) but the văn thư has not accepted it (03); processing: past DueDate; issue: sent late. */
  kind: 'receipt' | 'acceptance' | 'processing' | 'issue';
  direction: 'in' | 'out';
  documentId: string;
  subject: string | null;
  /** The agency that is late: the recipient (receipt, processing) or this agency (issue). */
  organId: string;
  due: string;
  stage: string;
}

export interface PaperItem {
  documentId: string;
  subject: string | null;
  recipient: string;
  reason: string;
}

const ROLE_NAME: Record<'main' | 'co' | 'info', string> = { main: 'xử lý chính', co: 'phối hợp', info: 'để biết' };
const REASON_REQUIRED = new Set(['02', '16', '13']);

export class Lifecycle {
  private readonly deliveries: DeliveryLog;

  constructor(private readonly deps: LifecycleDeps) {
    this.deliveries = new DeliveryLog(deps.db);
  }

  private incoming(documentId: string): DocumentRow {
    const document = this.deps.records.document(documentId);
    if (!document) throw new LtError('NOT_FOUND', `no document ${documentId} at this edge`, { documentId });
    if (document.direction !== 'in') {
      throw new LtError('NOT_RECIPIENT', `document ${documentId} was sent by this agency; only its recipients act on it`, { documentId });
    }
    return document;
  }

  private outgoing(documentId: string): DocumentRow {
    const document = this.deps.records.document(documentId);
    if (!document) throw new LtError('NOT_FOUND', `no document ${documentId} at this edge`, { documentId });
    if (document.direction !== 'out') throw new LtError('NOT_RECIPIENT', `only the sender can recall document ${documentId}`, { documentId });
    return document;
  }

  private responseFor(document: DocumentRow, organId: string): ResponseFor {
    return {
      organId,
      documentId: document.documentId,
      ...(document.code ? { code: document.code } : {}),
      ...(document.promulgationDate ? { promulgationDate: document.promulgationDate } : {}),
    };
  }

  /** A recipient's action on an incoming document. */
  async act(documentId: string, action: RecipientAction): Promise<{ packetId: string; state: DeliveryState }> {
    const document = this.incoming(documentId);
    if (REASON_REQUIRED.has(action.code) && !action.description?.trim()) {
      throw new LtError('PACKET_INVALID', `status ${action.code} needs a reason (description)`, { path: 'description', documentId });
    }
    const self = this.deps.organId;
    const expected = this.check(documentId, self, action.code);
    let description = action.description;
    let assignment: Assignment | undefined;
    if (action.code === '04') {
      const a = action.assignment ?? {};
      if (!a.unit && !a.person) throw new LtError('PACKET_INVALID', 'an assignment (04) names a unit or a person', { path: 'assignment', documentId });
      const role = a.role ?? 'main';
      assignment = { ...(a.unit ? { unit: a.unit } : {}), ...(a.person ? { person: a.person } : {}), role, at: this.deps.clock().toISOString() };
      description ??= `Phân công ${[a.unit, a.person].filter(Boolean).join(' - ')} (${ROLE_NAME[role]})`;
    }
    const prepared = await this.deps.outbox.prepareStatus({
      target: document.sender,
      responseFor: this.responseFor(document, document.sender),
      statusCode: action.code,
      ...(description !== undefined ? { description } : {}),
      ...(action.staff ? { staffInfo: action.staff } : {}),
      urgent: document.lane === 'urgent',
      ...(action.client ? { client: action.client } : {}),
    });
    const at = this.deps.clock().toISOString();
    const state = this.deps.db.transaction(() => {
      // The state may have moved while the status was being signed (another clerk, a recall).
      const next = this.check(documentId, self, action.code);
      if (next.stage !== expected.stage || next.recall !== expected.recall) {
        throw new LtError('STATUS_ILLEGAL_TRANSITION', `document ${documentId} changed meanwhile; reload it and try again`, { documentId });
      }
      this.deliveries.record(documentId, self, next, action.code, at, prepared.packetId, description ?? null);
      if (assignment) this.deps.records.setAssignment(documentId, assignment);
      this.deps.outbox.queueStatus(prepared, at);
      return next;
    }).immediate();
    this.deps.outbox.queued();
    return { packetId: prepared.packetId, state };
  }

  /** The state `code` leads to, or the refusal naming why it is not allowed. */
  private check(documentId: string, recipient: string, code: RecipientCode | '13'): DeliveryState {
    const state = this.deliveries.state(documentId, recipient);
    if (!state) throw new LtError('NOT_RECIPIENT', `${recipient} is not a recipient of ${documentId}`, { documentId });
    const outcome = transition(state, code);
    if (outcome.outcome === 'illegal') throw new LtError('STATUS_ILLEGAL_TRANSITION', outcome.reason, { documentId });
    if (outcome.outcome === 'stale') {
      throw new LtError('STATUS_ILLEGAL_TRANSITION', `status ${code} comes before the document's current stage (${state.stage}) for ${recipient}; nothing was sent`, { documentId });
    }
    if (outcome.outcome !== 'applied') {
      throw new LtError('STATUS_ILLEGAL_TRANSITION', `status ${code} was already given for ${documentId} (${recipient}); nothing was sent`, { documentId });
    }
    return outcome.state;
  }

  /** The sender recalls a document from all or some recipients (13, urgent lane). */
  async recall(documentId: string, input: { reason: string; recipients?: string[]; client?: string }): Promise<{ packetIds: string[]; recipients: string[] }> {
    const document = this.outgoing(documentId);
    if (!input.reason?.trim()) throw new LtError('PACKET_INVALID', 'a recall (13) needs a reason', { path: 'reason', documentId });
    const deliveries = this.deliveries.all(documentId);
    const all = deliveries.map((d) => d.recipient);
    const named = Boolean(input.recipients?.length);
    const unknown = (input.recipients ?? []).filter((r) => !all.includes(r));
    if (unknown.length) throw new LtError('NOT_RECIPIENT', `${unknown.join(', ')} did not receive ${documentId}`, { documentId });
    const refused: string[] = [];
    const recipients: string[] = [];
    for (const recipient of named ? [...new Set(input.recipients)] : all) {
      try {
        this.check(documentId, recipient, '13');
        recipients.push(recipient);
      } catch (error) {
        refused.push(`${recipient}: ${(error as Error).message}`);
      }
    }
    // Recipients named by the clerk must all be recallable; "all recipients" means those that still are.
    if ((named && refused.length) || recipients.length === 0) {
      throw new LtError('STATUS_ILLEGAL_TRANSITION', `the recall cannot be sent (nothing was sent): ${refused.join('; ')}`, { documentId });
    }
    const prepared: PreparedStatus[] = [];
    for (const recipient of recipients) {
      const stage = deliveries.find((d) => d.recipient === recipient)?.stage;
      prepared.push(
        await this.deps.outbox.prepareStatus({
          target: recipient,
          responseFor: this.responseFor(document, recipient),
          statusCode: '13',
          description: input.reason,
          urgent: true,
          // Before the recipient confirmed arrival the document may still be on its way: the
          // recall then follows it in its lane so that it cannot overtake it anywhere.
          lane: stage === 'sent' || stage === 'delivered' ? document.lane : 'urgent',
          ...(input.client ? { client: input.client } : {}),
        }),
      );
    }
    const at = this.deps.clock().toISOString();
    this.deps.db.transaction(() => {
      for (const status of prepared) {
        const next = this.check(documentId, status.target, '13');
        this.deliveries.record(documentId, status.target, next, '13', at, status.packetId, input.reason);
        this.deps.outbox.queueStatus(status, at);
      }
    }).immediate();
    this.deps.outbox.queued();
    return { packetIds: prepared.map((p) => p.packetId), recipients };
  }

  /**
   * How this edge answers a recall of `documentId` under its policy: 16 when the document is
   * completed, else 15 (policy "accept") or nothing (policy "manual": a clerk answers).
   */
  automaticRecallAnswer(state: DeliveryState): { code: '15' | '16'; description: string } | undefined {
    if (state.stage === '06') return { code: '16', description: 'Văn bản đã xử lý xong (06), không thể thu hồi' };
    if (this.deps.recallPolicy === 'manual') return undefined;
    return { code: '15', description: 'Đồng ý thu hồi văn bản' };
  }

  /** Replies: what a document answers (up the chain) and what answers it (down), in order. */
  thread(documentId: string): { ancestors: DocumentRow[]; replies: DocumentRow[] } {
    const ancestors: DocumentRow[] = [];
    const seen = new Set([documentId]);
    let current = this.deps.records.document(documentId)?.responseFor;
    while (current && !seen.has(current)) {
      seen.add(current);
      const parent = this.deps.records.document(current);
      if (!parent) break;
      ancestors.unshift(parent);
      current = parent.responseFor;
    }
    const replies: DocumentRow[] = [];
    const queue = [documentId];
    while (queue.length) {
      for (const reply of this.deps.records.documentsReferring('response_for', queue.shift() as string)) {
        if (seen.has(reply.documentId)) continue;
        seen.add(reply.documentId);
        replies.push(reply);
        queue.push(reply.documentId);
      }
    }
    return { ancestors, replies };
  }

  /** Updates, replacements and revocations around a document: the original first. */
  chain(documentId: string): DocumentRow[] {
    let root = documentId;
    const seen = new Set<string>();
    for (let related = this.deps.records.document(root)?.relatedDocument; related && !seen.has(related); ) {
      seen.add(related);
      if (!this.deps.records.document(related)) break;
      root = related;
      related = this.deps.records.document(root)?.relatedDocument;
    }
    const chain: DocumentRow[] = [];
    const visited = new Set<string>();
    const walk = (id: string): void => {
      if (visited.has(id)) return;
      visited.add(id);
      const document = this.deps.records.document(id);
      if (document) chain.push(document);
      for (const next of this.deps.records.documentsReferring('related_document', id)) walk(next.documentId);
    };
    walk(root);
    return chain;
  }

  /** What is late at `now`: receipts, processing past DueDate, documents issued late. */
  overdue(now: Date = this.deps.clock()): OverdueItem[] {
    const items: OverdueItem[] = [];
    const cal = this.deps.calendar;
    for (const direction of ['in', 'out'] as const) {
      for (const document of this.deps.records.allDocuments(direction)) {
        // A replaced or revoked document is no longer due; its replacement is.
        if (document.supersededBy) continue;
        const urgent = document.lane === 'urgent';
        const arrival = new Date(document.createdAt);
        for (const d of this.deliveries.all(document.documentId)) {
          if (d.recall === 'recalled' || d.stage === '02' || d.stage === 'bounced') continue;
          const receipt = receiptDue(cal, arrival, urgent, this.deps.urgentReceiptMinutes);
          if ((d.stage === 'sent' || d.stage === 'delivered') && now > receipt) {
            items.push({ kind: 'receipt', direction, documentId: document.documentId, subject: document.subject, organId: d.recipient, due: receipt.toISOString(), stage: d.stage });
          }
          // The văn thư registers what arrived the same working day (Decree 30/2020, art. 20).
          if (d.stage === '01' && now > receipt) {
            items.push({ kind: 'acceptance', direction, documentId: document.documentId, subject: document.subject, organId: d.recipient, due: receipt.toISOString(), stage: d.stage });
          }
          const processing = processingDue(document.dueDate);
          if (processing && d.stage !== '06' && now > processing) {
            items.push({ kind: 'processing', direction, documentId: document.documentId, subject: document.subject, organId: d.recipient, due: processing.toISOString(), stage: d.stage });
          }
        }
        if (direction === 'out' && document.promulgationDate) {
          const due = issueDue(cal, document.promulgationDate);
          if (due && arrival > due) {
            items.push({ kind: 'issue', direction, documentId: document.documentId, subject: document.subject, organId: this.deps.organId, due: due.toISOString(), stage: 'sent' });
          }
        }
      }
    }
    return items;
  }

  /** Recipients the văn thư must send a paper copy to: Paper = 1, or not connected. */
  paper(): PaperItem[] {
    const items: PaperItem[] = [];
    for (const document of this.deps.records.allDocuments('out')) {
      const events = this.deliveries.timeline(document.documentId);
      for (const d of this.deliveries.all(document.documentId)) {
        if (document.paper) {
          items.push({ documentId: document.documentId, subject: document.subject, recipient: d.recipient, reason: 'bản giấy gửi kèm (Paper = 1)' });
        } else if (d.stage === 'bounced') {
          const bounce = [...events].reverse().find((e) => e.recipient === d.recipient && e.event === 'bounced');
          if (bounce?.description && /AGENCY_(UNKNOWN|SUSPENDED)/.test(bounce.description)) {
            items.push({ documentId: document.documentId, subject: document.subject, recipient: d.recipient, reason: `chưa kết nối: ${bounce.description}` });
          }
        }
      }
    }
    return items;
  }
}
