/**
 * How documents refer to each other: a reply names what it answers (ResponseFor); an update
 * (BussinessDocType 2) or a revocation (1) names its original in Bussiness/DocumentId; a
 * replacement (3) names the documents it replaces in ReplacementInfoList, possibly per
 * recipient.
 */
import type { DocumentPacket, UncheckedDocument } from './types.js';
import { parseDocumentId } from './values.js';

/** The DocumentId this document answers, if it is a reply. */
export function answeredDocumentOf(packet: UncheckedDocument): string | undefined {
  return packet.responseFor?.find((r) => r.documentId)?.documentId;
}

/** The document an update, replacement or revocation is about. */
export function relatedDocumentOf(packet: UncheckedDocument): string | undefined {
  const b = packet.bussiness;
  switch (b?.bussinessDocType) {
    case '1':
      return b.documentId ?? answeredDocumentOf(packet);
    case '2':
      return b.documentId;
    case '3':
      return b.replacementInfoList?.[0]?.documentId ?? b.documentId;
    default:
      return undefined;
  }
}

/** The documents a replacement supersedes for `recipient` (an empty OrganIdList means all). */
export function replacedDocumentsFor(packet: DocumentPacket, recipient: string): string[] {
  if (packet.bussiness?.bussinessDocType !== '3') return [];
  return (packet.bussiness.replacementInfoList ?? [])
    .filter((r) => !r.organIdList || r.organIdList.length === 0 || r.organIdList.includes(recipient))
    .map((r) => r.documentId);
}

/**
 * Every document an update, replacement or revocation acts on, for any recipient: what any
 * recipient may mark, so what ownership is checked against. Replies (ResponseFor) answer other
 * organs' documents by design and are not in it, except as the fallback target of a revocation.
 */
export function actedOnDocumentsOf(packet: DocumentPacket): string[] {
  const type = packet.bussiness?.bussinessDocType;
  if (type !== '1' && type !== '2' && type !== '3') return [];
  const ids = [relatedDocumentOf(packet), ...(packet.bussiness?.replacementInfoList ?? []).map((r) => r.documentId)];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id !== ''))];
}

/** The organ a DocumentId belongs to: the one whose id it starts with, which numbered it. */
export function ownerOfDocumentId(documentId: string): string | undefined {
  return parseDocumentId(documentId)?.organId;
}

/**
 * Why `packet` may not carry its DocumentId: an organ numbers only its own documents, so another
 * organ's id is a squat that would make the real document a duplicate. Undefined when it is its own
 * (or unreadable, which validation reports).
 */
export function foreignDocumentIdOf(packet: DocumentPacket): string | undefined {
  const owner = ownerOfDocumentId(packet.documentId);
  if (owner === undefined || owner === packet.from.organId) return undefined;
  return `DocumentId ${packet.documentId} belongs to organ ${owner}, but the document is from ${packet.from.organId}; an agency numbers only its own documents: use ${packet.from.organId},{date},{number}/{notation}`;
}

/**
 * Why `packet` may not update, replace or revoke `documentId`: only the organ that sent a
 * document may. `knownSender` is who sent it as far as the caller knows; a document the caller
 * never saw must at least carry the new document's sender's organ id.
 */
export function foreignActOn(packet: DocumentPacket, documentId: string, knownSender: string | undefined): string | undefined {
  const from = packet.from.organId;
  const owner = knownSender ?? ownerOfDocumentId(documentId);
  if (owner === from) return undefined;
  const act = ACTS[packet.bussiness?.bussinessDocType ?? ''] ?? 'refer to';
  return knownSender !== undefined
    ? `${from} may not ${act} document ${documentId}: it was sent by ${knownSender}, and only its sender can ${act} it`
    : `${from} may not ${act} document ${documentId}: its DocumentId belongs to ${owner ?? 'no organ'}, and an agency can ${act} only its own documents`;
}

/** The first document `packet` acts on but does not own, with the reason; `senderOf` says who sent a document, if known. */
export function firstForeignAct(packet: DocumentPacket, senderOf: (documentId: string) => string | undefined): { documentId: string; reason: string } | undefined {
  for (const documentId of actedOnDocumentsOf(packet)) {
    const reason = foreignActOn(packet, documentId, senderOf(documentId));
    if (reason) return { documentId, reason };
  }
  return undefined;
}

const ACTS: Record<string, string> = { '1': 'revoke', '2': 'update', '3': 'replace' };
