/**
 * The edge's records (SQLite): outbox, documents of both directions, received packets,
 * attachments. Transactions are the caller's.
 */
import type { Lane } from '../broker/names.js';
import { answeredDocumentOf, relatedDocumentOf } from '../envelope/links.js';
import type { UncheckedDocument } from '../envelope/types.js';
import { documentCodeOf, isUrgent } from '../envelope/values.js';
import type { Db } from '../store/db.js';

export interface OutboxRow {
  packetId: string;
  kind: 'document' | 'status';
  documentId: string;
  recipients: string[];
  priority: string;
  lane: Lane;
  statusCode: string | null;
  blob: string;
  client: string | null;
  createdAt: string;
  sentAt: string | null;
  attempts: number;
  lastError: string | null;
}

export interface DocumentRow {
  documentId: string;
  direction: 'out' | 'in';
  sender: string;
  packetId: string;
  subject: string | null;
  code: string | null;
  priority: string;
  lane: Lane;
  bussinessType: string | null;
  responseFor: string | null;
  blob: string;
  createdAt: string;
  verdict: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** yyyy/MM/dd */
  promulgationDate: string | null;
  /** yyyy/MM/dd: processing due (DueDate). */
  dueDate: string | null;
  /** A paper original travels too (Paper = 1). */
  paper: boolean;
  /** The document an update, replacement or revocation refers to. */
  relatedDocument: string | null;
  /** The replacement that superseded this document. */
  supersededBy: string | null;
  /** Latest assignment (status 04) of an incoming document. */
  assignment: Assignment | null;
}

export interface Assignment {
  unit?: string;
  person?: string;
  role: 'main' | 'co' | 'info';
  at: string;
}

export interface AttachmentRow {
  documentId: string;
  contentId: string;
  name: string | null;
  contentType: string | null;
  size: number;
  sha256: string;
}

export interface DocumentQuery {
  direction: 'out' | 'in';
  /** Current stage of the delivery (in: this agency's; out: any recipient's). */
  stage?: string;
  priority?: string;
  /** Free text in subject, code or document id. */
  search?: string;
  /** Documents created at or after / before (ISO). */
  from?: string;
  to?: string;
  page: number;
  pageSize: number;
}

/** The columns of a document row that come from the packet itself. */
/** The columns of a document row; read from a refused document too, so every field may be missing but its id. */
export function documentColumnsOf(packet: UncheckedDocument & { documentId: string }): Pick<
  DocumentRow,
  'documentId' | 'subject' | 'code' | 'priority' | 'lane' | 'bussinessType' | 'responseFor' | 'promulgationDate' | 'dueDate' | 'paper' | 'relatedDocument'
> {
  return {
    documentId: packet.documentId,
    subject: packet.subject ?? null,
    code: documentCodeOf(packet.code) ?? null,
    priority: packet.otherInfo?.priority ?? '0',
    lane: isUrgent(packet.otherInfo?.priority) ? 'urgent' : 'normal',
    bussinessType: packet.bussiness?.bussinessDocType ?? null,
    responseFor: answeredDocumentOf(packet) ?? null,
    promulgationDate: packet.promulgationInfo?.promulgationDate ?? null,
    dueDate: packet.dueDate ?? null,
    paper: packet.bussiness?.paper === '1',
    relatedDocument: relatedDocumentOf(packet) ?? null,
  };
}

/** An outbox row as SQLite returns it, typed (the edge and the read-only CLI read it alike). */
export const toOutbox = (r: Record<string, unknown>): OutboxRow => ({
  packetId: r.packet_id as string,
  kind: r.kind as OutboxRow['kind'],
  documentId: r.document_id as string,
  recipients: JSON.parse(r.recipients as string) as string[],
  priority: r.priority as string,
  lane: r.lane as Lane,
  statusCode: (r.status_code as string | null) ?? null,
  blob: r.blob as string,
  client: (r.client as string | null) ?? null,
  createdAt: r.created_at as string,
  sentAt: (r.sent_at as string | null) ?? null,
  attempts: r.attempts as number,
  lastError: (r.last_error as string | null) ?? null,
});

const documentRowOf = (r: Record<string, unknown>): DocumentRow => ({
  documentId: r.document_id as string,
  direction: r.direction as DocumentRow['direction'],
  sender: r.sender as string,
  packetId: r.packet_id as string,
  subject: (r.subject as string | null) ?? null,
  code: (r.code as string | null) ?? null,
  priority: r.priority as string,
  lane: r.lane as Lane,
  bussinessType: (r.bussiness_type as string | null) ?? null,
  responseFor: (r.response_for as string | null) ?? null,
  blob: r.blob as string,
  createdAt: r.created_at as string,
  verdict: (r.verdict as string | null) ?? null,
  errorCode: (r.error_code as string | null) ?? null,
  errorMessage: (r.error_message as string | null) ?? null,
  promulgationDate: (r.promulgation_date as string | null) ?? null,
  dueDate: (r.due_date as string | null) ?? null,
  paper: r.paper === 1,
  relatedDocument: (r.related_document as string | null) ?? null,
  supersededBy: (r.superseded_by as string | null) ?? null,
  assignment: r.assignment ? (JSON.parse(r.assignment as string) as Assignment) : null,
});

export class EdgeRecords {
  constructor(private readonly db: Db) {}

  insertOutbox(row: Omit<OutboxRow, 'sentAt' | 'attempts' | 'lastError'>): void {
    this.db
      .prepare(
        `INSERT INTO outbox (packet_id, kind, document_id, recipients, priority, lane, status_code, blob, client, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(row.packetId, row.kind, row.documentId, JSON.stringify(row.recipients), row.priority, row.lane, row.statusCode, row.blob, row.client, row.createdAt);
  }

  /** Unsent packets, urgent lane first, oldest first. */
  unsent(limit: number): OutboxRow[] {
    return (
      this.db
        .prepare(`SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY CASE lane WHEN 'urgent' THEN 0 ELSE 1 END, created_at, rowid LIMIT ?`)
        .all(limit) as Array<Record<string, unknown>>
    ).map(toOutbox);
  }

  outboxEntry(packetId: string): OutboxRow | undefined {
    const row = this.db.prepare('SELECT * FROM outbox WHERE packet_id = ?').get(packetId) as Record<string, unknown> | undefined;
    return row ? toOutbox(row) : undefined;
  }

  markSent(packetIds: readonly string[], at: string): void {
    const statement = this.db.prepare('UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE packet_id = ?');
    this.db.transaction(() => {
      for (const id of packetIds) statement.run(at, id);
    }).immediate();
  }

  markFailed(packetId: string, error: string): void {
    this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE packet_id = ?').run(error, packetId);
  }

  insertDocument(d: Omit<DocumentRow, 'supersededBy' | 'assignment'>): void {
    this.db
      .prepare(
        `INSERT INTO documents (document_id, direction, sender, packet_id, subject, code, priority, lane, bussiness_type, response_for, blob, created_at,
           verdict, error_code, error_message, promulgation_date, due_date, paper, related_document)
         VALUES (@documentId, @direction, @sender, @packetId, @subject, @code, @priority, @lane, @bussinessType, @responseFor, @blob, @createdAt,
           @verdict, @errorCode, @errorMessage, @promulgationDate, @dueDate, @paperFlag, @relatedDocument)`,
      )
      .run({ ...d, paperFlag: d.paper ? 1 : 0 });
  }

  setSupersededBy(documentId: string, by: string): void {
    this.db.prepare('UPDATE documents SET superseded_by = ? WHERE document_id = ?').run(by, documentId);
  }

  setAssignment(documentId: string, assignment: Assignment): void {
    this.db.prepare('UPDATE documents SET assignment = ? WHERE document_id = ?').run(JSON.stringify(assignment), documentId);
  }

  /** Documents whose `column` names `documentId` (replies, updates/replacements). */
  documentsReferring(column: 'response_for' | 'related_document', documentId: string): DocumentRow[] {
    return (this.db.prepare(`SELECT * FROM documents WHERE ${column} = ? ORDER BY created_at`).all(documentId) as Array<Record<string, unknown>>).map(documentRowOf);
  }

  /** Every document of one direction, for deadline and paper reports. */
  allDocuments(direction: 'in' | 'out', since?: string): DocumentRow[] {
    const rows = since
      ? this.db.prepare('SELECT * FROM documents WHERE direction = ? AND created_at >= ? ORDER BY created_at').all(direction, since)
      : this.db.prepare('SELECT * FROM documents WHERE direction = ? ORDER BY created_at').all(direction);
    return (rows as Array<Record<string, unknown>>).map(documentRowOf);
  }

  document(documentId: string): DocumentRow | undefined {
    const row = this.db.prepare('SELECT * FROM documents WHERE document_id = ?').get(documentId) as Record<string, unknown> | undefined;
    return row ? documentRowOf(row) : undefined;
  }

  documentByPacket(packetId: string): DocumentRow | undefined {
    const row = this.db.prepare('SELECT * FROM documents WHERE packet_id = ?').get(packetId) as Record<string, unknown> | undefined;
    return row ? documentRowOf(row) : undefined;
  }

  listDocuments(q: DocumentQuery): { total: number; items: DocumentRow[] } {
    const where = ['d.direction = @direction'];
    const args: Record<string, unknown> = { direction: q.direction, limit: q.pageSize, offset: (q.page - 1) * q.pageSize };
    if (q.priority !== undefined) {
      where.push('d.priority = @priority');
      args.priority = q.priority;
    }
    if (q.search) {
      where.push("(d.subject LIKE @search ESCAPE '\\' OR d.code LIKE @search ESCAPE '\\' OR d.document_id LIKE @search ESCAPE '\\')");
      args.search = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    if (q.from) {
      where.push('d.created_at >= @from');
      args.from = q.from;
    }
    if (q.to) {
      where.push('d.created_at < @to');
      args.to = q.to;
    }
    if (q.stage) {
      where.push('EXISTS (SELECT 1 FROM deliveries x WHERE x.document_id = d.document_id AND x.stage = @stage)');
      args.stage = q.stage;
    }
    const clause = where.join(' AND ');
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM documents d WHERE ${clause}`).get(args) as { n: number }).n;
    // Urgent documents are listed first everywhere (Decree 30/2020), then the newest.
    const items = (
      this.db
        .prepare(`SELECT d.* FROM documents d WHERE ${clause} ORDER BY CASE d.lane WHEN 'urgent' THEN 0 ELSE 1 END, d.created_at DESC, d.rowid DESC LIMIT @limit OFFSET @offset`)
        .all(args) as Array<Record<string, unknown>>
    ).map(documentRowOf);
    return { total, items };
  }

  hasReceived(packetId: string): boolean {
    return this.db.prepare('SELECT 1 FROM received_packets WHERE packet_id = ?').get(packetId) !== undefined;
  }

  insertReceived(r: {
    packetId: string;
    kind: string | null;
    sender: string | null;
    documentId: string | null;
    blob: string | null;
    receivedAt: string;
    verdict: string;
    errorCode: string | null;
    /** The verification report made at receipt, JSON. */
    verification?: string | null;
    /** The hub's hop from the message headers, JSON. */
    hop?: string | null;
  }): void {
    this.db
      .prepare(
        `INSERT INTO received_packets (packet_id, kind, sender, document_id, blob, received_at, verdict, error_code, verification, hop)
         VALUES (@packetId, @kind, @sender, @documentId, @blob, @receivedAt, @verdict, @errorCode, @verification, @hop)`,
      )
      .run({ verification: null, hop: null, ...r });
  }

  insertAttachment(a: AttachmentRow): void {
    this.db
      .prepare('INSERT OR IGNORE INTO attachments (document_id, content_id, name, content_type, size, sha256) VALUES (?, ?, ?, ?, ?, ?)')
      .run(a.documentId, a.contentId, a.name, a.contentType, a.size, a.sha256);
  }

  attachments(documentId: string): AttachmentRow[] {
    return (
      this.db.prepare('SELECT * FROM attachments WHERE document_id = ? ORDER BY rowid').all(documentId) as Array<{
        document_id: string;
        content_id: string;
        name: string | null;
        content_type: string | null;
        size: number;
        sha256: string;
      }>
    ).map((r) => ({ documentId: r.document_id, contentId: r.content_id, name: r.name, contentType: r.content_type, size: r.size, sha256: r.sha256 }));
  }
}
