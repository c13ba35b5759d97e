/**
 * What the hub holds about one document, gathered for its evidence file: every packet it
 * consumed about the document (routed or refused) byte-exact as the sender signed it, the
 * bounces it signed itself, the verification report made at receipt, the per-recipient timeline
 * and its audit rows about the document with the head of the audit chain.
 */
import type { VerificationReport } from '../crypto/verify.js';
import { LtError } from '../errors.js';
import type { EvidenceInput, EvidencePacket } from '../evidence/bundle.js';
import type { AuditRow } from '../store/audit.js';
import type { BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import { HubRecords } from './records.js';

interface PacketRow {
  packet_id: string;
  kind: string;
  sender: string | null;
  claimed_from: string | null;
  status_code: string | null;
  blob: string | null;
  received_at: string;
  verdict: 'routed' | 'refused';
  error_code: string | null;
  error_message: string | null;
  verification: string | null;
}

export async function collectHubEvidence(deps: { db: Db; blobs: BlobStore; hubOrganId: string }, documentId: string): Promise<EvidenceInput> {
  const document = new HubRecords(deps.db).document(documentId);
  const consumed = deps.db.prepare('SELECT * FROM packets WHERE document_id = ? ORDER BY received_at, packet_id').all(documentId) as PacketRow[];
  if (!document && consumed.length === 0) throw new LtError('DOCUMENT_UNKNOWN', `the hub has no record of document ${documentId}`, { documentId });

  const packets: EvidencePacket[] = [];
  for (const p of consumed) {
    if (!p.blob) continue;
    const role = p.verdict === 'refused' ? 'refused' : p.kind === 'document' ? 'document' : 'status';
    packets.push({
      packetId: p.packet_id,
      role,
      direction: 'received',
      // What the packet claims; the broker-validated publisher is in the summary of a refusal.
      from: p.claimed_from ?? p.sender ?? '',
      ...(p.status_code ? { statusCode: p.status_code } : {}),
      at: p.received_at,
      bytes: await deps.blobs.get(p.blob),
      ...(p.verification ? { verification: JSON.parse(p.verification) as VerificationReport } : {}),
      ...(p.verdict === 'refused' && p.error_code ? { refusal: { code: p.error_code, message: p.error_message ?? '' } } : {}),
    });
  }
  const bounces = deps.db
    .prepare(
      `SELECT packet_id, MIN(blob) AS blob, MIN(created_at) AS created_at FROM outbound
        WHERE type = 'status' AND json_extract(envelope, '$.documentId') = ? AND json_extract(envelope, '$.extra."x-lt-bounce"') IS NOT NULL
        GROUP BY packet_id ORDER BY created_at, packet_id`,
    )
    .all(documentId) as Array<{ packet_id: string; blob: string; created_at: string }>;
  for (const b of bounces) {
    packets.push({ packetId: b.packet_id, role: 'bounce', direction: 'sent', from: deps.hubOrganId, statusCode: '02', at: b.created_at, bytes: await deps.blobs.get(b.blob) });
  }

  const ids = consumed.map((p) => p.packet_id);
  const rows = deps.db
    .prepare(
      `SELECT * FROM audit WHERE json_extract(details, '$.documentId') = ?
          OR subject IN (SELECT value FROM json_each(?)) ORDER BY seq`,
    )
    .all(documentId, JSON.stringify(ids)) as AuditRow[];
  const head = deps.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const log = new DeliveryLog(deps.db);
  return {
    node: { kind: 'hub', organId: deps.hubOrganId },
    documentId,
    summary: document
      ? { sender: document.sender, subject: document.subject, code: document.code, priority: document.priority, sentAt: document.sentAt, responseFor: document.responseFor }
      : { routed: false, refusals: consumed.map((p) => ({ packetId: p.packet_id, publishedBy: p.sender, code: p.error_code, message: p.error_message })) },
    packets,
    deliveries: log.all(documentId),
    timeline: log.timeline(documentId),
    audit: { rows, head: head ?? { seq: 0, hash: '' } },
  };
}
