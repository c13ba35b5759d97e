/**
 * incoming/<folder>/status.json: what the agency's program needs to know about a received
 * document without asking the API (pure: the edge's records in, the JSON out).
 */
import type { DocumentView } from '../../edge/edge.js';
import type { DocumentRow } from '../../edge/records.js';

export interface StatusFileAttachment {
  /** The file in attachments/. */
  file: string;
  /** The name the sender gave it. */
  name: string | null;
  contentType: string | null;
  size: number;
  sha256: string;
}

export interface StatusFile {
  documentId: string;
  packetId: string;
  sender: string;
  subject: string | null;
  code: string | null;
  priority: string;
  receivedAt: string;
  /** "accepted", or "rejected" (answered with 02: error says why; no attachments are written). */
  verdict: string | null;
  error: { code: string | null; message: string | null } | null;
  /** This agency's stage: delivered, 01, 02, 03, 04, 05, 06. */
  stage: string | null;
  /** none, requested (the sender asks to recall it: answer 15 or 16), recalled, refused. */
  recall: string | null;
  dueDate: string | null;
  assignment: DocumentRow['assignment'];
  /** The replacement that superseded this document, if any. */
  supersededBy: string | null;
  /** Documents answering this one (ResponseFor), either way. */
  replies: Array<{ documentId: string; direction: 'in' | 'out'; sender: string; subject: string | null; code: string | null; at: string }>;
  timeline: Array<{ event: string; at: string; description: string | null; packetId: string | null }>;
  attachments: StatusFileAttachment[];
  /** The time of the last event shown. */
  updatedAt: string;
}

export function statusFile(view: DocumentView, self: string, replies: readonly DocumentRow[], attachments: readonly StatusFileAttachment[]): StatusFile {
  const d = view.document;
  const own = view.deliveries.find((r) => r.recipient === self) ?? view.deliveries[0];
  const timeline = view.timeline.map((e) => ({ event: e.event, at: e.at, description: e.description, packetId: e.packetId }));
  return {
    documentId: d.documentId,
    packetId: d.packetId,
    sender: d.sender,
    subject: d.subject,
    code: d.code,
    priority: d.priority,
    receivedAt: d.createdAt,
    verdict: d.verdict,
    error: d.errorCode || d.errorMessage ? { code: d.errorCode, message: d.errorMessage } : null,
    stage: own?.stage ?? null,
    recall: own?.recall ?? null,
    dueDate: d.dueDate,
    assignment: d.assignment,
    supersededBy: d.supersededBy,
    replies: replies.map((r) => ({ documentId: r.documentId, direction: r.direction, sender: r.sender, subject: r.subject, code: r.code, at: r.createdAt })),
    timeline,
    attachments: [...attachments],
    updatedAt: timeline.at(-1)?.at ?? d.createdAt,
  };
}
