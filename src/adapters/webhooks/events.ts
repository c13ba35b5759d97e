/**
 * Which entries of the edge's timeline (the `events` table) are webhook events, and the JSON
 * each one is POSTed as. Pure: the store reads the rows, this decides.
 *
 * - document.received: the receipt of a document this edge accepted (its "delivered" entry,
 *   written in the inbox's commit); a refused document is not "received" (its 02 is a
 *   status.changed).
 * - status.changed: an entry that moved a delivery's stage or recall state, whichever side
 *   wrote it: a recipient's status about a document this agency sent, the sender's recall of a
 *   document it received, and this agency's own statuses (01 on arrival, 03 … 06, 15/16). A
 *   status the state machine refused, a repeat, and notes (superseded, refused-by-hub) are not.
 *   Whether an entry changed anything is found by replaying the delivery's earlier entries
 *   through the same state machine the inbox and the lifecycle use.
 */
import { INITIAL_STATE, transition, type DeliveryEvent, type DeliveryState } from '../../envelope/status-machine.js';
import { STATUS_CODES, isUrgent } from '../../envelope/values.js';
import type { AttachmentRow, DocumentRow } from '../../edge/records.js';
import { attachmentPath, documentPath } from '../rest/views.js';
import type { WebhookEventType } from '../../edge/webhook-settings.js';

/** One row of the `events` table. */
export interface TimelineRow {
  id: number;
  documentId: string;
  recipient: string;
  event: string;
  packetId: string | null;
  description: string | null;
  at: string;
}

export interface WebhookPayload {
  /** Stable across retries and replays: a receiver drops a repeat by it. */
  id: string;
  type: WebhookEventType;
  createdAt: string;
  /** The agency whose edge sends the webhook. */
  organId: string;
  data: {
    documentId: string;
    /** The document's own packet. */
    packetId: string;
    direction: 'in' | 'out';
    sender: string;
    /** The delivery the event is about: this agency for a document it received, else the recipient. */
    recipient: string;
    subject: string | null;
    code: string | null;
    priority: string;
    urgent: boolean;
    attachments?: Array<{ contentId: string; name: string | null; contentType: string | null; size: number; sha256: string }>;
    status?: {
      code: string;
      stage: string;
      recall: string;
      previousStage: string;
      previousRecall: string;
      /** The status's description: the reason of a 02, 13 or 16. */
      reason: string | null;
      /** The status packet. */
      packetId: string | null;
    };
  };
  links: {
    document: string;
    packet: string;
    attachments: Array<{ contentId: string; name: string | null; url: string }>;
  };
}

const DELIVERY_EVENTS: ReadonlySet<string> = new Set<string>(['delivered', 'bounced', ...STATUS_CODES]);

export function webhookEventId(organId: string, eventRowId: number): string {
  return `evt_${organId}_${eventRowId}`;
}

/** The delivery's state before `row`, replayed from the entries before it (same recipient, ordered by id). */
export function stateBefore(earlier: readonly string[]): DeliveryState {
  let state = INITIAL_STATE;
  for (const event of earlier) {
    if (!DELIVERY_EVENTS.has(event)) continue;
    const outcome = transition(state, event as DeliveryEvent);
    if (outcome.outcome === 'applied') state = outcome.state;
  }
  return state;
}

/**
 * The webhook event a timeline row makes, if any. `earlier`: the events of the same
 * (document, recipient) written before it; `publicBase`: where the links point ('' = relative).
 */
export function webhookEventOf(
  row: TimelineRow,
  document: DocumentRow | undefined,
  earlier: readonly string[],
  attachments: readonly AttachmentRow[],
  context: { organId: string; publicBase: string },
): WebhookPayload | undefined {
  if (!document || !DELIVERY_EVENTS.has(row.event)) return undefined;
  const receipt = document.direction === 'in' && row.event === 'delivered';
  if (receipt && document.verdict !== 'accepted') return undefined;
  let status: NonNullable<WebhookPayload['data']['status']> | undefined;
  if (!receipt) {
    const before = stateBefore(earlier);
    const outcome = transition(before, row.event as DeliveryEvent);
    if (outcome.outcome !== 'applied') return undefined;
    status = {
      code: row.event,
      stage: outcome.state.stage,
      recall: outcome.state.recall,
      previousStage: before.stage,
      previousRecall: before.recall,
      reason: row.description,
      packetId: row.packetId,
    };
  }
  const base = context.publicBase;
  const documentUrl = `${base}${documentPath(document.documentId)}`;
  return {
    id: webhookEventId(context.organId, row.id),
    type: receipt ? 'document.received' : 'status.changed',
    createdAt: row.at,
    organId: context.organId,
    data: {
      documentId: document.documentId,
      packetId: document.packetId,
      direction: document.direction,
      sender: document.sender,
      recipient: row.recipient,
      subject: document.subject,
      code: document.code,
      priority: document.priority,
      urgent: isUrgent(document.priority),
      ...(receipt
        ? { attachments: attachments.map((a) => ({ contentId: a.contentId, name: a.name, contentType: a.contentType, size: a.size, sha256: a.sha256 })) }
        : {}),
      ...(status ? { status } : {}),
    },
    links: {
      document: documentUrl,
      packet: `${documentUrl}/packet`,
      attachments: attachments.map((a) => ({ contentId: a.contentId, name: a.name, url: `${base}${attachmentPath(a.documentId, a.contentId)}` })),
    },
  };
}
