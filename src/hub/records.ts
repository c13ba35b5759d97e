/**
 * The hub's records (SQLite): packets, documents, per-recipient deliveries and their timeline,
 * and the outbound rows routing decided to publish. Plain statements; transactions are the
 * caller's, so a packet and everything it causes commit together.
 */
import type { Db } from '../store/db.js';
import type { PacketEnvelope } from '../broker/message.js';

export interface PacketRecord {
  packetId: string;
  kind: 'document' | 'status' | 'unknown';
  sender: string | null;
  claimedFrom: string | null;
  documentId: string | null;
  statusCode: string | null;
  priority: string | null;
  sha256: string;
  blob: string | null;
  size: number;
  receivedAt: string;
  verdict: 'routed' | 'refused';
  errorCode: string | null;
  errorMessage: string | null;
  /** The verification report made at receipt, JSON; null when the packet was never verified. */
  verification?: string | null;
  /** The link a packet from another hub came through. */
  via?: string | null;
  /** The hop records it carried (JSON). */
  hops?: string | null;
}

export interface DocumentRecord {
  documentId: string;
  sender: string;
  packetId: string;
  subject: string | null;
  code: string | null;
  priority: string;
  bussinessType: string | null;
  responseFor: string | null;
  sentAt: string;
  /** yyyy/MM/dd */
  dueDate: string | null;
}

export interface OutboundRow {
  id: number;
  packetId: string;
  cause: string;
  target: string;
  lane: 'urgent' | 'normal';
  type: 'edoc' | 'status';
  blob: string;
  envelope: PacketEnvelope;
  /** Set when the row goes to a link to another hub (target is then the link's name). */
  link?: string | null;
}

export class HubRecords {
  constructor(private readonly db: Db) {}

  packet(packetId: string): { sha256: string; verdict: string } | undefined {
    return this.db.prepare('SELECT sha256, verdict FROM packets WHERE packet_id = ?').get(packetId) as { sha256: string; verdict: string } | undefined;
  }

  insertPacket(p: PacketRecord): void {
    this.db
      .prepare(
        `INSERT INTO packets (packet_id, kind, sender, claimed_from, document_id, status_code, priority, sha256, blob, size, received_at, verdict, error_code, error_message, verification, via, hops)
         VALUES (@packetId, @kind, @sender, @claimedFrom, @documentId, @statusCode, @priority, @sha256, @blob, @size, @receivedAt, @verdict, @errorCode, @errorMessage, @verification, @via, @hops)`,
      )
      .run({ verification: null, via: null, hops: null, ...p });
  }

  document(documentId: string): DocumentRecord | undefined {
    const row = this.db.prepare('SELECT * FROM documents WHERE document_id = ?').get(documentId) as Record<string, string | null> | undefined;
    if (!row) return undefined;
    return {
      documentId: row.document_id as string,
      sender: row.sender as string,
      packetId: row.packet_id as string,
      subject: row.subject ?? null,
      code: row.code ?? null,
      priority: row.priority as string,
      bussinessType: row.bussiness_type ?? null,
      responseFor: row.response_for ?? null,
      sentAt: row.sent_at as string,
      dueDate: row.due_date ?? null,
    };
  }

  insertDocument(d: DocumentRecord): void {
    this.db
      .prepare(
        `INSERT INTO documents (document_id, sender, packet_id, subject, code, priority, bussiness_type, response_for, sent_at, due_date)
         VALUES (@documentId, @sender, @packetId, @subject, @code, @priority, @bussinessType, @responseFor, @sentAt, @dueDate)`,
      )
      .run(d);
  }

  insertOutbound(row: Omit<OutboundRow, 'id'>, at: string): void {
    this.db
      .prepare(
        `INSERT INTO outbound (packet_id, cause, target, lane, type, blob, envelope, created_at, link)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (packet_id, target) DO NOTHING`,
      )
      .run(row.packetId, row.cause, row.target, row.lane, row.type, row.blob, JSON.stringify(row.envelope), at, row.link ?? null);
  }

  /** The link that carries a remote recipient's delivery (caller's transaction). */
  setRoute(documentId: string, recipient: string, link: string): void {
    this.db.prepare('UPDATE deliveries SET route = ? WHERE document_id = ? AND recipient = ?').run(link, documentId, recipient);
  }

  unpublished(cause: string): OutboundRow[] {
    const rows = this.db
      .prepare('SELECT * FROM outbound WHERE cause = ? AND published_at IS NULL ORDER BY id')
      .all(cause) as Array<{ id: number; packet_id: string; cause: string; target: string; lane: 'urgent' | 'normal'; type: 'edoc' | 'status'; blob: string; envelope: string; link: string | null }>;
    return rows.map((r) => ({
      id: r.id,
      packetId: r.packet_id,
      cause: r.cause,
      target: r.target,
      lane: r.lane,
      type: r.type,
      blob: r.blob,
      envelope: JSON.parse(r.envelope) as PacketEnvelope,
      link: r.link,
    }));
  }

  markPublished(ids: readonly number[], at: string): void {
    const statement = this.db.prepare('UPDATE outbound SET published_at = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) statement.run(at, id);
    }).immediate();
  }
}
