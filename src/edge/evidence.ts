/**
 * What an edge holds about one document, gathered for its evidence file: the document packet
 * and every status packet about it, sent or received, byte-exact from the blob store, with the
 * verification report made at receipt and the hub's hop.
 */
import type { VerificationReport } from '../crypto/verify.js';
import type { Packet } from '../envelope/types.js';
import { LtError } from '../errors.js';
import type { EvidenceInput, EvidencePacket } from '../evidence/bundle.js';
import type { BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import type { EdgeRecords } from './records.js';

interface ReceivedRow {
  packet_id: string;
  kind: string | null;
  sender: string | null;
  blob: string | null;
  received_at: string;
  verification: string | null;
  hop: string | null;
}

interface SentRow {
  packet_id: string;
  status_code: string | null;
  blob: string;
  created_at: string;
}

export async function collectEdgeEvidence(
  deps: {
    db: Db;
    blobs: BlobStore;
    records: EdgeRecords;
    organId: string;
    hubOrganId: string;
    /** Reads a received status packet off the caller's thread (Outbox.readPacket): another agency wrote it. */
    readPacket: (bytes: Uint8Array) => Promise<Packet>;
  },
  documentId: string,
): Promise<EvidenceInput> {
  const document = deps.records.document(documentId);
  if (!document) throw new LtError('DOCUMENT_UNKNOWN', `no document ${documentId} in this edge's outbox or inbox`, { documentId });
  const packets: EvidencePacket[] = [];
  const received = deps.db
    .prepare('SELECT packet_id, kind, sender, blob, received_at, verification, hop FROM received_packets WHERE document_id = ? AND blob IS NOT NULL ORDER BY received_at, packet_id')
    .all(documentId) as ReceivedRow[];
  const receivedById = new Map(received.map((r) => [r.packet_id, r]));

  if (document.direction === 'out') {
    packets.push({ packetId: document.packetId, role: 'document', direction: 'sent', from: deps.organId, at: document.createdAt, bytes: await deps.blobs.get(document.blob) });
  } else {
    const row = receivedById.get(document.packetId);
    packets.push({
      packetId: document.packetId,
      role: 'document',
      direction: 'received',
      from: document.sender,
      at: document.createdAt,
      bytes: await deps.blobs.get(document.blob),
      ...receiptDetails(row),
    });
  }

  const sent = deps.db
    .prepare("SELECT packet_id, status_code, blob, created_at FROM outbox WHERE document_id = ? AND kind = 'status' ORDER BY created_at, packet_id")
    .all(documentId) as SentRow[];
  for (const s of sent) {
    packets.push({ packetId: s.packet_id, role: 'status', direction: 'sent', from: deps.organId, ...(s.status_code ? { statusCode: s.status_code } : {}), at: s.created_at, bytes: await deps.blobs.get(s.blob) });
  }
  for (const r of received) {
    if (r.kind !== 'status' || !r.blob) continue;
    const bytes = await deps.blobs.get(r.blob);
    const packet = await deps.readPacket(bytes);
    const statusCode = packet.kind === 'status' ? packet.statusCode : undefined;
    const from = r.sender ?? packet.from?.organId ?? '';
    packets.push({
      packetId: r.packet_id,
      role: from === deps.hubOrganId && statusCode === '02' ? 'bounce' : 'status',
      direction: 'received',
      from,
      ...(statusCode ? { statusCode } : {}),
      at: r.received_at,
      bytes,
      ...receiptDetails(r),
    });
  }
  const log = new DeliveryLog(deps.db);
  return {
    node: { kind: 'edge', organId: deps.organId },
    documentId,
    summary: {
      direction: document.direction,
      sender: document.sender,
      subject: document.subject,
      code: document.code,
      priority: document.priority,
      promulgationDate: document.promulgationDate,
      verdict: document.verdict,
      ...(document.errorCode ? { error: { code: document.errorCode, message: document.errorMessage } } : {}),
      relatedDocument: document.relatedDocument,
      supersededBy: document.supersededBy,
    },
    packets,
    deliveries: log.all(documentId),
    timeline: log.timeline(documentId),
  };
}

function receiptDetails(row: ReceivedRow | undefined): Pick<EvidencePacket, 'verification' | 'hop'> {
  return {
    ...(row?.verification ? { verification: JSON.parse(row.verification) as VerificationReport } : {}),
    ...(row?.hop ? { hop: JSON.parse(row.hop) as Record<string, unknown> } : {}),
  };
}
