/**
 * Per (document, recipient) state and its timeline, the same tables on edge and hub: the
 * current state of envelope/status-machine.ts in `deliveries`, every event in `events`.
 */
import type { DeliveryEvent, DeliveryState, RecallState, Stage } from '../envelope/status-machine.js';
import type { Db } from './db.js';

/** The two tables of the delivery log, the same in the edge's and the hub's schema. */
export const DELIVERY_LOG_SCHEMA = `
-- One row per (document, recipient): the state machine of envelope/status-machine.ts.
CREATE TABLE deliveries (
  document_id TEXT NOT NULL REFERENCES documents (document_id),
  recipient TEXT NOT NULL,
  stage TEXT NOT NULL,
  recall TEXT NOT NULL DEFAULT 'none',
  updated_at TEXT NOT NULL,
  PRIMARY KEY (document_id, recipient)
);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  document_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  event TEXT NOT NULL,
  packet_id TEXT,
  description TEXT,
  at TEXT NOT NULL
);
CREATE INDEX events_document ON events (document_id, recipient, id);
`;

export interface TimelineEvent {
  recipient: string;
  event: string;
  packetId: string | null;
  description: string | null;
  at: string;
}

export interface DeliveryRow {
  recipient: string;
  stage: Stage;
  recall: RecallState;
  updatedAt: string;
}

export class DeliveryLog {
  constructor(private readonly db: Db) {}

  state(documentId: string, recipient: string): DeliveryState | undefined {
    const row = this.db.prepare('SELECT stage, recall FROM deliveries WHERE document_id = ? AND recipient = ?').get(documentId, recipient) as
      | { stage: Stage; recall: RecallState }
      | undefined;
    return row ? { stage: row.stage, recall: row.recall } : undefined;
  }

  all(documentId: string): DeliveryRow[] {
    return (
      this.db.prepare('SELECT recipient, stage, recall, updated_at FROM deliveries WHERE document_id = ? ORDER BY recipient').all(documentId) as Array<{
        recipient: string;
        stage: Stage;
        recall: RecallState;
        updated_at: string;
      }>
    ).map((r) => ({ recipient: r.recipient, stage: r.stage, recall: r.recall, updatedAt: r.updated_at }));
  }

  /** Write the new state of a delivery and the event that led to it (caller's transaction). */
  record(documentId: string, recipient: string, state: DeliveryState, event: DeliveryEvent | 'sent', at: string, packetId: string | null, description: string | null): void {
    this.db
      .prepare(
        `INSERT INTO deliveries (document_id, recipient, stage, recall, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (document_id, recipient) DO UPDATE SET stage = excluded.stage, recall = excluded.recall, updated_at = excluded.updated_at`,
      )
      .run(documentId, recipient, state.stage, state.recall, at);
    this.note(documentId, recipient, event, at, packetId, description);
  }

  /** A timeline event that changes no state (superseded, revoked, assignment details...). */
  note(documentId: string, recipient: string, event: string, at: string, packetId: string | null, description: string | null): void {
    this.db
      .prepare('INSERT INTO events (document_id, recipient, event, packet_id, description, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(documentId, recipient, event, packetId, description, at);
  }

  timeline(documentId: string): TimelineEvent[] {
    return (
      this.db.prepare('SELECT recipient, event, packet_id, description, at FROM events WHERE document_id = ? ORDER BY id').all(documentId) as Array<{
        recipient: string;
        event: string;
        packet_id: string | null;
        description: string | null;
        at: string;
      }>
    ).map((e) => ({ recipient: e.recipient, event: e.event, packetId: e.packet_id, description: e.description, at: e.at }));
  }
}
