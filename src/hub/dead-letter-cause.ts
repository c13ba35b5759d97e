/**
 * Why a dead letter died and what it is, for the operator who has to decide about it: RabbitMQ
 * only says "rejected" or "delivery_limit", but the hub's own records know more. A packet the
 * router refused without anyone to answer is in `packets` with its error; a packet id reused by
 * other content is in `packets` under other bytes; a packet from a broker user that was nobody's
 * agency names no sender. And the bytes themselves, read (never verified) as edXML, say which
 * document they claim to be about, or why they cannot be read.
 *
 * Read-only, over the database and the stored bytes; nothing here changes a dead letter.
 */
import type { ResourceNames } from '../broker/names.js';
import { parsePacket } from '../envelope/parse.js';
import { asLtError, type ErrorCode } from '../errors.js';
import { derivedPacketId, isPacketId } from '../ids.js';
import type { Db } from '../store/db.js';
import type { DeadLetter } from './dead-letters.js';

export interface DeadLetterCause {
  /** The error the hub decided (src/errors.ts), or null when RabbitMQ's reason is all there is. */
  code: ErrorCode | null;
  /** The hub's own words about it (English, as its log and records have them), or null. */
  message: string | null;
}

const NONE: DeadLetterCause = { code: null, message: null };

/** The id the router filed the packet under: its message id, or the hash of its bytes without a usable one. */
function routerPacketId(d: DeadLetter, sha256: string): string | undefined {
  if (isPacketId(d.packetId)) return d.packetId;
  return sha256 ? derivedPacketId('content', sha256) : undefined;
}

export function deadLetterCause(db: Db, names: ResourceNames, d: DeadLetter): DeadLetterCause {
  // A packet that died in an agency's queue was routed: its edge refused it or failed to take it,
  // and RabbitMQ's reason (with the queue) is what there is to say.
  if (d.queue !== names.hubInbound.normal && d.queue !== names.hubInbound.urgent) return NONE;
  // dead_letters.blob is the SHA-256 of the bytes ('' once retention deleted them).
  const sha256 = (db.prepare('SELECT blob FROM dead_letters WHERE id = ?').get(d.id) as { blob: string } | undefined)?.blob ?? '';
  const packetId = routerPacketId(d, sha256);
  const filed = packetId
    ? (db.prepare('SELECT sha256, verdict, error_code, error_message, received_at FROM packets WHERE packet_id = ?').get(packetId) as
        | { sha256: string; verdict: string; error_code: string | null; error_message: string | null; received_at: string }
        | undefined)
    : undefined;
  if (filed && sha256 && filed.sha256 !== sha256) {
    return {
      code: 'PACKET_ID_CONFLICT',
      message: `packet id ${packetId} was already used at ${filed.received_at} by a packet with other content (sha256 ${filed.sha256.slice(0, 16)}…, this one ${sha256.slice(0, 16)}…)`,
    };
  }
  if (filed?.verdict === 'refused' && filed.error_code) return { code: filed.error_code as ErrorCode, message: filed.error_message };
  if (d.publisher === null) {
    return { code: 'SENDER_UNKNOWN', message: 'the packet was published without an AMQP user-id, so no agency can be named as its sender and nobody can be answered' };
  }
  const agency = db.prepare("SELECT organ_id, created_at FROM agencies WHERE broker_user = ? AND kind = 'agency'").get(d.publisher) as { organ_id: string; created_at: string } | undefined;
  if (!agency) return { code: 'SENDER_UNKNOWN', message: `broker user ${d.publisher} belongs to no agency registered with this hub` };
  if (agency.created_at > d.receivedAt) {
    return {
      code: 'SENDER_UNKNOWN',
      message: `broker user ${d.publisher} belonged to no registered agency when the packet arrived; agency ${agency.organ_id} was registered with it at ${agency.created_at}, so a replay routes it now`,
    };
  }
  return NONE;
}

/** What the bytes of a dead letter say, read as edXML without verifying anything: claims, not facts. */
export type PayloadReading =
  | {
      readable: true;
      kind: 'document' | 'status';
      /** From/OrganId as the packet states it. */
      from: string | null;
      documentId: string | null;
      /** Số, ký hiệu and trích yếu of a document; the status code of a status. */
      code: string | null;
      subject: string | null;
      statusCode: string | null;
    }
  | { readable: false; code: ErrorCode; message: string };

export function readPayload(content: Uint8Array): PayloadReading {
  try {
    const packet = parsePacket(content);
    if (packet.kind === 'document') {
      return {
        readable: true,
        kind: 'document',
        from: packet.from?.organId ?? null,
        documentId: packet.documentId ?? null,
        code: packet.code ? `${packet.code.codeNumber}/${packet.code.codeNotation}` : null,
        subject: packet.subject ?? null,
        statusCode: null,
      };
    }
    return { readable: true, kind: 'status', from: packet.from?.organId ?? null, documentId: packet.responseFor?.documentId ?? null, code: null, subject: null, statusCode: packet.statusCode ?? null };
  } catch (error) {
    const e = asLtError(error, 'XML_NOT_EDXML');
    return { readable: false, code: e.code, message: e.message };
  }
}
