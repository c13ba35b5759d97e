/**
 * `lienthong send --wait`: after queuing, follow the document in the edge's database until
 * every recipient has answered (arrived 01, or bounced by the hub, or returned 02), so that
 * whoever sends learns at once whether the document got there, and why not.
 */
import type { Edge } from '../edge/edge.js';
import type { Stage } from '../envelope/status-machine.js';
import { LtError } from '../errors.js';

export interface RecipientAnswer {
  recipient: string;
  stage: Stage;
  at: string;
  /** Why it did not get there (the bounce's or the 02's description). */
  reason: string | null;
}

const IN_FLIGHT: ReadonlySet<Stage> = new Set(['sent', 'delivered']);
const NOT_RECEIVED: ReadonlySet<Stage> = new Set(['bounced', '02']);
/** The other process (the running edge) writes; a poll of the shared database is how we learn. */
const POLL_MS = 200;

/**
 * Every recipient's answer, each passed to `onAnswer` as it comes; ANSWER_TIMEOUT naming the
 * recipients still silent when `timeoutMs` has passed.
 */
export async function awaitAnswers(edge: Edge, documentId: string, timeoutMs: number, onAnswer: (answer: RecipientAnswer) => void): Promise<RecipientAnswer[]> {
  const deadline = Date.now() + timeoutMs;
  const answers = new Map<string, RecipientAnswer>();
  for (;;) {
    const view = edge.document(documentId);
    if (!view) throw new LtError('DOCUMENT_UNKNOWN', `document ${documentId} is no longer in the outbox`, { documentId });
    for (const delivery of view.deliveries) {
      if (answers.has(delivery.recipient) || IN_FLIGHT.has(delivery.stage)) continue;
      const cause = NOT_RECEIVED.has(delivery.stage) ? [...view.timeline].reverse().find((e) => e.recipient === delivery.recipient && e.event === delivery.stage) : undefined;
      const answer = { recipient: delivery.recipient, stage: delivery.stage, at: delivery.updatedAt, reason: cause?.description ?? null };
      answers.set(delivery.recipient, answer);
      onAnswer(answer);
    }
    const silent = view.deliveries.filter((d) => !answers.has(d.recipient)).map((d) => d.recipient);
    if (silent.length === 0) return view.deliveries.map((d) => answers.get(d.recipient) as RecipientAnswer);
    if (Date.now() >= deadline) {
      throw new LtError(
        'ANSWER_TIMEOUT',
        `no answer from ${silent.join(', ')} within ${Math.round(timeoutMs / 1000)} s; the document is queued or on its way, not lost: is "lienthong edge" running for this agency and for the recipient? Follow it with "lienthong show"`,
        { documentId },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export function notReceived(answers: readonly RecipientAnswer[]): RecipientAnswer[] {
  return answers.filter((a) => NOT_RECEIVED.has(a.stage));
}
