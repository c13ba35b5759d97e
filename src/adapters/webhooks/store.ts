/**
 * The webhook deliveries of an edge (SQLite, migration 4): made from the timeline after the
 * cursor, one per (event, URL) in the same commit that moves the cursor, so that an event is
 * neither missed nor made twice across restarts; then tried, retried, given up, replayed.
 */
import { EdgeRecords } from '../../edge/records.js';
import type { Db } from '../../store/db.js';
import type { WebhookConfig, WebhookEventType } from '../../edge/webhook-settings.js';
import { webhookEventOf, type TimelineRow } from './events.js';
import type { AfterFailure } from './retry.js';

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** A delivery as the REST API and the CLI show it (schemas/api/webhook-delivery.json). */
export interface WebhookDelivery {
  id: number;
  eventId: string;
  type: WebhookEventType;
  url: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string | null;
  giveUpAt: string;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

/** What the dispatcher sends. */
export interface DueDelivery {
  id: number;
  eventId: string;
  type: WebhookEventType;
  url: string;
  payload: string;
  attempts: number;
  giveUpAt: string;
}

const deliveryOf = (r: Record<string, unknown>): WebhookDelivery => ({
  id: r.id as number,
  eventId: r.event_id as string,
  type: r.type as WebhookEventType,
  url: r.url as string,
  state: r.state as DeliveryState,
  attempts: r.attempts as number,
  nextAttemptAt: r.state === 'pending' ? (r.next_attempt_at as string) : null,
  giveUpAt: r.give_up_at as string,
  lastError: (r.last_error as string | null) ?? null,
  lastStatus: (r.last_status as number | null) ?? null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
  deliveredAt: (r.delivered_at as string | null) ?? null,
});

export class WebhookStore {
  private readonly records: EdgeRecords;

  constructor(private readonly db: Db) {
    this.records = new EdgeRecords(db);
  }

  /**
   * Turn the timeline entries after the cursor (at most `limit`) into deliveries for the
   * webhooks that want them, and move the cursor past them, in one transaction. Returns how
   * many entries were read (0: caught up).
   */
  collect(webhooks: readonly WebhookConfig[], context: { organId: string; publicBase: string; now: Date; giveUpAfterSeconds: number; limit?: number }): number {
    return this.db.transaction(() => {
      const cursor = (this.db.prepare('SELECT last_event_id FROM webhook_cursor WHERE id = 1').get() as { last_event_id: number } | undefined)?.last_event_id ?? 0;
      const rows = (
        this.db.prepare('SELECT id, document_id, recipient, event, packet_id, description, at FROM events WHERE id > ? ORDER BY id LIMIT ?').all(cursor, context.limit ?? 200) as Array<
          Record<string, unknown>
        >
      ).map(
        (r): TimelineRow => ({
          id: r.id as number,
          documentId: r.document_id as string,
          recipient: r.recipient as string,
          event: r.event as string,
          packetId: (r.packet_id as string | null) ?? null,
          description: (r.description as string | null) ?? null,
          at: r.at as string,
        }),
      );
      if (rows.length === 0) return 0;
      const now = context.now.toISOString();
      const giveUpAt = new Date(context.now.getTime() + context.giveUpAfterSeconds * 1000).toISOString();
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (event_id, url, type, payload, state, attempts, next_attempt_at, give_up_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
      );
      for (const row of rows) {
        if (webhooks.length === 0) break;
        const earlier = (
          this.db.prepare('SELECT event FROM events WHERE document_id = ? AND recipient = ? AND id < ? ORDER BY id').all(row.documentId, row.recipient, row.id) as Array<{ event: string }>
        ).map((e) => e.event);
        const payload = webhookEventOf(row, this.records.document(row.documentId), earlier, this.records.attachments(row.documentId), context);
        if (!payload) continue;
        const body = JSON.stringify(payload);
        for (const webhook of webhooks) {
          if (webhook.events.includes(payload.type)) insert.run(payload.id, webhook.url, payload.type, body, now, giveUpAt, now, now);
        }
      }
      this.db.prepare('INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id').run(rows.at(-1)!.id);
      return rows.length;
    }).immediate();
  }

  /** Pending deliveries whose time has come, oldest due first. */
  due(now: Date, limit: number): DueDelivery[] {
    return (
      this.db
        .prepare("SELECT id, event_id, type, url, payload, attempts, give_up_at FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?")
        .all(now.toISOString(), limit) as Array<Record<string, unknown>>
    ).map((r) => ({
      id: r.id as number,
      eventId: r.event_id as string,
      type: r.type as WebhookEventType,
      url: r.url as string,
      payload: r.payload as string,
      attempts: r.attempts as number,
      giveUpAt: r.give_up_at as string,
    }));
  }

  /** When the next pending delivery is due, if any. */
  nextDue(): Date | undefined {
    const row = this.db.prepare("SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'").get() as { at: string | null };
    return row.at ? new Date(row.at) : undefined;
  }

  markDelivered(id: number, now: Date, status: number): void {
    const at = now.toISOString();
    this.db
      .prepare("UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, delivered_at = ?, updated_at = ? WHERE id = ?")
      .run(status, at, at, id);
  }

  markFailedAttempt(id: number, now: Date, error: string, status: number | null, next: AfterFailure): void {
    const at = now.toISOString();
    this.db
      .prepare('UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?')
      .run(next.state, status, error.slice(0, 1000), next.state === 'pending' ? next.nextAttemptAt.toISOString() : at, at, id);
  }

  /**
   * Try a delivery again now, whatever its state (a failed one, or a delivered one the receiver
   * lost), with a fresh give-up time; the same event id and body. Undefined: no such delivery.
   */
  replay(id: number, now: Date, giveUpAfterSeconds: number): WebhookDelivery | undefined {
    const at = now.toISOString();
    const giveUpAt = new Date(now.getTime() + giveUpAfterSeconds * 1000).toISOString();
    const changed = this.db
      .prepare("UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, give_up_at = ?, delivered_at = NULL, updated_at = ? WHERE id = ?")
      .run(at, giveUpAt, at, id).changes;
    return changed ? this.get(id) : undefined;
  }

  get(id: number): WebhookDelivery | undefined {
    const row = this.db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? deliveryOf(row) : undefined;
  }

  /** The body of a delivery, as it is (and was) sent. */
  payload(id: number): string | undefined {
    return (this.db.prepare('SELECT payload FROM webhook_deliveries WHERE id = ?').get(id) as { payload: string } | undefined)?.payload;
  }

  /** Newest first. */
  list(query: { state?: DeliveryState; limit?: number } = {}): WebhookDelivery[] {
    const limit = query.limit ?? 100;
    const rows = query.state
      ? this.db.prepare('SELECT * FROM webhook_deliveries WHERE state = ? ORDER BY id DESC LIMIT ?').all(query.state, limit)
      : this.db.prepare('SELECT * FROM webhook_deliveries ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Array<Record<string, unknown>>).map(deliveryOf);
  }

  counts(): Record<DeliveryState, number> {
    const counts: Record<DeliveryState, number> = { pending: 0, delivered: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state').all() as Array<{ state: DeliveryState; n: number }>) counts[r.state] = r.n;
    return counts;
  }
}
