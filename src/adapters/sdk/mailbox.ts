/**
 * What the SDK door shows an SDK client system, read from the edge's own records (documents,
 * deliveries, events, received packets, outbox) plus the one table of its own, `sdk_taken`
 * (migration 6): which packets each system marked `done` or `fail`.
 *
 * The SDK's `docId` is a packet id: a document's docId is the packet id of the document
 * packet, the same at the sender's edge (sendEdoc's DocId) and at every recipient's (the list
 * item's docId); a status's docId is the packet id of the status packet. Packet ids are UUIDs,
 * the shape the SDK's platform hands out.
 */
import type { DeliveryState, RecallState, Stage } from '../../envelope/status-machine.js';
import type { Packet } from '../../envelope/types.js';
import type { BlobStore } from '../../store/blobs.js';
import type { Db } from '../../store/db.js';
import { sdkStatusDescription, sdkStatusOfCode, sdkStatusOfState } from '../../sdk-protocol/index.js';

/** At most this many items per list: the SDK has no paging; taken items make room for the next. */
export const LIST_LIMIT = 500;

/** An item of getReceivedEdocList (sdk-protocol.md §4.2): the fields the SDK reads, all strings. */
export interface ReceivedItem {
  docId: string;
  serviceType: 'eDoc';
  messageType: 'edoc' | 'status';
  created_time: string;
  updated_time: string;
  from: string;
  to: string;
  status: string;
  status_desc: string;
}

/** An item of getSentEdocList (§4.5): one per (document, recipient). */
export interface SentItem {
  serviceType: 'eDoc';
  messageType: 'edoc';
  senderDocId: string;
  receiverDocId: string;
  fromCode: string;
  toCode: string;
  title: string;
  notation: string;
  sentTime: string;
  sendStatus: string;
  sendStatusDesc: string;
  receivedTime: string;
  receiveStatus: string;
  receiveStatusDesc: string;
}

/** A packet a docId names, for getEdoc and downloadEdoc. */
export interface StoredPacket {
  packetId: string;
  blob: string;
}

/** What a docId names among the packets an SDK client may mark done/fail. */
export type Takeable =
  | { kind: 'document'; packetId: string; documentId: string; direction: 'in' | 'out' }
  | { kind: 'status'; packetId: string; documentId: string };

export class SdkMailbox {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly organId: string,
    /** Reads a stored packet (in a crypto worker, as every untrusted XML). */
    private readonly readPacket: (bytes: Uint8Array) => Promise<Packet>,
  ) {}

  /** Documents this agency received and verified that `systemId` has not marked done: urgent first, then oldest. */
  receivedDocuments(systemId: string, limit = LIST_LIMIT): ReceivedItem[] {
    const rows = this.db
      .prepare(
        `SELECT d.packet_id, d.sender, d.created_at, l.stage, l.recall, l.updated_at
           FROM documents d JOIN deliveries l ON l.document_id = d.document_id AND l.recipient = @self
          WHERE d.direction = 'in' AND d.verdict = 'accepted'
            AND NOT EXISTS (SELECT 1 FROM sdk_taken t WHERE t.system_id = @system AND t.packet_id = d.packet_id AND t.outcome = 'done')
          ORDER BY CASE d.lane WHEN 'urgent' THEN 0 ELSE 1 END, d.created_at, d.rowid
          LIMIT @limit`,
      )
      .all({ self: this.organId, system: systemId, limit }) as Array<{
      packet_id: string;
      sender: string;
      created_at: string;
      stage: Stage;
      recall: RecallState;
      updated_at: string;
    }>;
    return rows.map((r) => {
      const status = sdkStatusOfState({ stage: r.stage, recall: r.recall });
      return {
        docId: r.packet_id,
        serviceType: 'eDoc',
        messageType: 'edoc',
        created_time: r.created_at,
        updated_time: r.updated_at,
        from: r.sender,
        to: this.organId,
        status,
        status_desc: sdkStatusDescription(status),
      };
    });
  }

  countDocuments(systemId: string): number {
    return (
      this.db
        .prepare(
          `SELECT COUNT(*) AS n FROM documents d
            WHERE d.direction = 'in' AND d.verdict = 'accepted'
              AND NOT EXISTS (SELECT 1 FROM sdk_taken t WHERE t.system_id = ? AND t.packet_id = d.packet_id AND t.outcome = 'done')`,
        )
        .get(systemId) as { n: number }
    ).n;
  }

  /**
   * Status packets this agency received (answers about the documents it sent, recalls of the
   * ones it received, the hub's bounces) that `systemId` has not marked done, oldest first.
   */
  async receivedStatuses(systemId: string, limit = LIST_LIMIT): Promise<ReceivedItem[]> {
    const rows = this.db
      .prepare(
        `SELECT r.packet_id, r.sender, r.blob, r.received_at,
                (SELECT e.event FROM events e WHERE e.packet_id = r.packet_id ORDER BY e.id LIMIT 1) AS event,
                (SELECT e.description FROM events e WHERE e.packet_id = r.packet_id ORDER BY e.id LIMIT 1) AS description
           FROM received_packets r
          WHERE r.kind = 'status' AND r.verdict = 'accepted' AND r.blob IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM sdk_taken t WHERE t.system_id = ? AND t.packet_id = r.packet_id AND t.outcome = 'done')
          ORDER BY r.received_at, r.rowid
          LIMIT ?`,
      )
      .all(systemId, limit) as Array<{ packet_id: string; sender: string; blob: string; received_at: string; event: string | null; description: string | null }>;
    const items: ReceivedItem[] = [];
    for (const r of rows) {
      // A status that changed nothing (a late or repeated one) left no event: its own bytes say
      // what it is (they were verified at receipt).
      const said = r.event && r.event !== 'refused-by-hub' ? { code: r.event, description: r.description } : await this.statusOf(r.blob);
      const status = sdkStatusOfCode(said.code);
      items.push({
        docId: r.packet_id,
        serviceType: 'eDoc',
        messageType: 'status',
        created_time: r.received_at,
        updated_time: r.received_at,
        from: r.sender,
        to: this.organId,
        status,
        status_desc: said.description ?? sdkStatusDescription(status),
      });
    }
    return items;
  }

  countStatuses(systemId: string): number {
    return (
      this.db
        .prepare(
          `SELECT COUNT(*) AS n FROM received_packets r
            WHERE r.kind = 'status' AND r.verdict = 'accepted' AND r.blob IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM sdk_taken t WHERE t.system_id = ? AND t.packet_id = r.packet_id AND t.outcome = 'done')`,
        )
        .get(systemId) as { n: number }
    ).n;
  }

  /** The documents this agency sent, one item per recipient, newest first; or only the one `packetId` names. */
  sentDocuments(packetId?: string, limit = LIST_LIMIT): SentItem[] {
    const rows = this.db
      .prepare(
        `SELECT d.document_id, d.packet_id, d.subject, d.code, d.created_at, o.sent_at,
                l.recipient, l.stage, l.recall, l.updated_at,
                (SELECT e.at FROM events e WHERE e.document_id = d.document_id AND e.recipient = l.recipient AND e.event = '01' ORDER BY e.id LIMIT 1) AS received_at,
                (SELECT e.description FROM events e WHERE e.document_id = d.document_id AND e.recipient = l.recipient ORDER BY e.id DESC LIMIT 1) AS last_description
           FROM documents d
           JOIN deliveries l ON l.document_id = d.document_id
           LEFT JOIN outbox o ON o.packet_id = d.packet_id
          WHERE d.direction = 'out' AND (@packet IS NULL OR d.packet_id = @packet)
          ORDER BY d.created_at DESC, d.rowid DESC, l.recipient
          LIMIT @limit`,
      )
      .all({ packet: packetId ?? null, limit }) as Array<{
      document_id: string;
      packet_id: string;
      subject: string | null;
      code: string | null;
      created_at: string;
      sent_at: string | null;
      recipient: string;
      stage: Stage;
      recall: RecallState;
      updated_at: string;
      received_at: string | null;
      last_description: string | null;
    }>;
    return rows.map((r) => {
      const state: DeliveryState = { stage: r.stage, recall: r.recall };
      const receiveStatus = sdkStatusOfState(state);
      const sendStatus = r.stage === 'bounced' ? 'bounced' : r.sent_at ? 'sent' : 'queued';
      return {
        serviceType: 'eDoc',
        messageType: 'edoc',
        senderDocId: r.packet_id,
        // The recipient's edge lists the same packet id.
        receiverDocId: r.packet_id,
        fromCode: this.organId,
        toCode: r.recipient,
        title: r.subject ?? '',
        notation: r.code ?? '',
        sentTime: r.sent_at ?? r.created_at,
        sendStatus,
        sendStatusDesc: sdkStatusDescription(sendStatus),
        receivedTime: r.received_at ?? '',
        receiveStatus,
        receiveStatusDesc: r.last_description ?? sdkStatusDescription(receiveStatus),
      };
    });
  }

  /** Whether `packetId` is a document this agency sent (getSentEdocList's filter). */
  isSentDocument(packetId: string): boolean {
    return this.db.prepare("SELECT 1 FROM documents WHERE direction = 'out' AND packet_id = ?").get(packetId) !== undefined;
  }

  /**
   * The stored packet a docId names: a document of either direction, a status received, a
   * packet this edge queued; a DocumentId is taken for its document packet too.
   */
  packet(docId: string): StoredPacket | undefined {
    const row = this.db
      .prepare(
        `SELECT packet_id, blob FROM documents WHERE packet_id = @id
         UNION ALL SELECT packet_id, blob FROM received_packets WHERE packet_id = @id AND blob IS NOT NULL AND verdict = 'accepted'
         UNION ALL SELECT packet_id, blob FROM outbox WHERE packet_id = @id
         UNION ALL SELECT packet_id, blob FROM documents WHERE document_id = @id
         LIMIT 1`,
      )
      .get({ id: docId }) as { packet_id: string; blob: string } | undefined;
    return row ? { packetId: row.packet_id, blob: row.blob } : undefined;
  }

  /** What updateStatus may act on: a document (by packet id or DocumentId) or a received status. */
  takeable(docId: string): Takeable | undefined {
    const document = this.db
      .prepare('SELECT packet_id, document_id, direction FROM documents WHERE packet_id = ? OR document_id = ? ORDER BY packet_id = ? DESC LIMIT 1')
      .get(docId, docId, docId) as { packet_id: string; document_id: string; direction: 'in' | 'out' } | undefined;
    if (document) return { kind: 'document', packetId: document.packet_id, documentId: document.document_id, direction: document.direction };
    const status = this.db
      .prepare("SELECT packet_id, document_id FROM received_packets WHERE packet_id = ? AND kind = 'status' AND verdict = 'accepted'")
      .get(docId) as { packet_id: string; document_id: string } | undefined;
    return status ? { kind: 'status', packetId: status.packet_id, documentId: status.document_id } : undefined;
  }

  /** The status packet this edge queued with `code` about `documentId` (the latest), for a repeated status's DocId. */
  sentStatus(documentId: string, code: string): string | undefined {
    const row = this.db
      .prepare("SELECT packet_id FROM outbox WHERE document_id = ? AND kind = 'status' AND status_code = ? ORDER BY created_at DESC, rowid DESC LIMIT 1")
      .get(documentId, code) as { packet_id: string } | undefined;
    return row?.packet_id;
  }

  /** Every organ this agency exchanged documents with (senders of what it received, recipients of what it sent). */
  knownOrgans(): string[] {
    return (
      this.db
        .prepare(
          `SELECT sender AS organ FROM documents WHERE direction = 'in'
           UNION SELECT l.recipient FROM deliveries l JOIN documents d ON d.document_id = l.document_id WHERE d.direction = 'out'
           ORDER BY 1`,
        )
        .all() as Array<{ organ: string }>
    )
      .map((r) => r.organ)
      .filter((organ) => organ !== this.organId);
  }

  /** StatusCode and Description of a stored status packet. */
  private async statusOf(blob: string): Promise<{ code: string; description: string | null }> {
    const packet = await this.readPacket(await this.blobs.get(blob));
    return packet.kind === 'status' ? { code: packet.statusCode, description: packet.description ?? null } : { code: '', description: null };
  }

  /** Marks a packet done (no longer listed to `systemId`) or fail (listed again); the last word counts. */
  take(systemId: string, packetId: string, outcome: 'done' | 'fail', at: string): void {
    this.db
      .prepare(
        `INSERT INTO sdk_taken (system_id, packet_id, outcome, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (system_id, packet_id) DO UPDATE SET outcome = excluded.outcome, at = excluded.at`,
      )
      .run(systemId, packetId, outcome, at);
  }
}
