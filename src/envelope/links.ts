/**
 * How documents refer to each other: a reply names what it answers (ResponseFor); an update
 * (BussinessDocType 2) or a revocation (1) names its original in Bussiness/DocumentId; a
 * replacement (3) names the documents it replaces in ReplacementInfoList, possibly per
 * recipient.
 */
import type { DocumentPacket } from './types.js';

/** The DocumentId this document answers, if it is a reply. */
export function answeredDocumentOf(packet: DocumentPacket): string | undefined {
  return packet.responseFor?.find((r) => r.documentId)?.documentId;
}

/** The document an update, replacement or revocation is about. */
export function relatedDocumentOf(packet: DocumentPacket): string | undefined {
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
