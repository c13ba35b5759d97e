/**
 * Dead letters: what a consumer refused for good, or what failed too often (the quorum queues'
 * delivery limit), lands in `P.dead-letters`. The hub collects each into its database with the
 * reason RabbitMQ recorded (x-death), and an operator replays or discards it; both are audited.
 *
 * Replay: a packet that died in the hub's own inbound queue goes through the router again (with
 * the publisher identity RabbitMQ validated when it was first published); one that died in an
 * agency's queue is delivered to that queue again.
 */
import type { ConsumeMessage, MessageProperties } from 'amqplib';
import type { Delivery, Verdict } from '../broker/consumer.js';
import type { ResourceNames } from '../broker/names.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import { LtError } from '../errors.js';
import type { Logger } from '../log.js';
import { appendAudit } from '../store/audit.js';
import type { BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';

export interface DeadLetter {
  id: number;
  receivedAt: string;
  queue: string;
  reason: string;
  exchange: string | null;
  routingKey: string | null;
  packetId: string | null;
  documentId: string | null;
  /**
   * Who really published it: the agency of the broker user RabbitMQ validated (AMQP user-id),
   * or, for what the hub itself delivered to an agency's queue, the sender the hub validated
   * when it routed the packet (or the hub, for its own bounces). Null when nobody can tell.
   */
  sender: string | null;
  /** The validated broker user (AMQP user-id), if the message carried one. */
  publisher: string | null;
  /** What the x-lt-from header claims: anyone who can publish can write it. */
  claimedFrom: string | null;
  type: string | null;
  size: number;
  status: 'pending' | 'replayed' | 'discarded';
  resolvedAt: string | null;
  resolvedBy: string | null;
}

interface Row {
  id: number;
  received_at: string;
  queue: string;
  reason: string;
  exchange: string | null;
  routing_key: string | null;
  packet_id: string | null;
  document_id: string | null;
  sender: string | null;
  publisher: string | null;
  claimed_from: string | null;
  type: string | null;
  properties: string;
  blob: string;
  size: number;
  status: DeadLetter['status'];
  resolved_at: string | null;
  resolved_by: string | null;
}

const toDeadLetter = (r: Row): DeadLetter => ({
  id: r.id,
  receivedAt: r.received_at,
  queue: r.queue,
  reason: r.reason,
  exchange: r.exchange,
  routingKey: r.routing_key,
  packetId: r.packet_id,
  documentId: r.document_id,
  sender: r.sender,
  publisher: r.publisher,
  claimedFrom: r.claimed_from,
  type: r.type,
  size: r.size,
  status: r.status,
  resolvedAt: r.resolved_at,
  resolvedBy: r.resolved_by,
});

/** What RabbitMQ says about why and where a message died (the newest x-death entry). */
export function deathOf(properties: MessageProperties): { queue: string; reason: string; exchange: string | null; routingKey: string | null } {
  const headers = properties.headers ?? {};
  const deaths = headers['x-death'] as Array<Record<string, unknown>> | undefined;
  const last = deaths?.[0];
  const text = (v: unknown): string | null => (v === undefined || v === null ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
  const keys = last?.['routing-keys'] as unknown[] | undefined;
  return {
    queue: text(last?.queue) ?? text(headers['x-first-death-queue']) ?? '(unknown)',
    reason: text(last?.reason) ?? text(headers['x-first-death-reason']) ?? 'unknown',
    exchange: text(last?.exchange) ?? text(headers['x-first-death-exchange']),
    routingKey: keys?.[0] !== undefined ? text(keys[0]) : null,
  };
}

export interface DeadLetterDeps {
  db: Db;
  blobs: BlobStore;
  names: ResourceNames;
  /** The hub's publisher (replays need the broker; listing does not). */
  publisher: () => ConfirmPublisher;
  /** The router's handler, for packets that died in the hub's inbound queues. */
  route: (delivery: Delivery) => Promise<Verdict>;
  /** The router's intake handler, for packets a linked hub forwarded that died in the federation intake. */
  routeIntake?: (delivery: Delivery) => Promise<Verdict>;
  clock: () => Date;
  log: Logger;
}

export class DeadLetters {
  constructor(private readonly deps: DeadLetterDeps) {}

  /** Consumer handler of `P.dead-letters`: store, then acknowledge. */
  collect = async (delivery: Delivery): Promise<Verdict> => {
    const { message } = delivery;
    const death = deathOf(message.properties);
    const blob = await this.deps.blobs.put(message.content);
    const headers = message.properties.headers ?? {};
    const text = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
    const at = this.deps.clock();
    const publisher = text(message.properties.userId);
    this.deps.db.transaction(() => {
      const { lastInsertRowid } = this.deps.db
        .prepare(
          `INSERT INTO dead_letters (received_at, queue, reason, exchange, routing_key, packet_id, document_id, sender, publisher, claimed_from, type, properties, blob, size)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          at.toISOString(),
          death.queue,
          death.reason,
          death.exchange,
          death.routingKey,
          text(message.properties.messageId),
          text(headers['x-lt-document-id']),
          this.validatedSender(publisher, death.exchange, text(message.properties.messageId)),
          publisher,
          text(headers['x-lt-from']),
          text(message.properties.type),
          JSON.stringify(storableProperties(message.properties)),
          blob,
          message.content.length,
        );
      appendAudit(this.deps.db, { actor: 'broker', action: 'dead-letter.collected', subject: String(lastInsertRowid), details: { ...death, packetId: text(message.properties.messageId) } }, at);
    }).immediate();
    this.deps.log.warn({ packetId: message.properties.messageId, documentId: headers['x-lt-document-id'], queue: death.queue, reason: death.reason }, 'packet dead-lettered');
    return 'ack';
  };

  /**
   * The sender as far as something other than the message's own headers vouches for it. A
   * message without a user-id was published by the hub only if it went through the deliver
   * exchange, which no agency may write to; its message id then names what the hub routed.
   */
  private validatedSender(publisher: string | null, exchange: string | null, packetId: string | null): string | null {
    const db = this.deps.db;
    if (publisher) {
      const row = db.prepare("SELECT organ_id FROM agencies WHERE broker_user = ? AND kind = 'agency'").get(publisher) as { organ_id: string } | undefined;
      return row?.organ_id ?? null;
    }
    if (exchange !== this.deps.names.deliver || !packetId) return null;
    const routed = db.prepare("SELECT sender FROM packets WHERE packet_id = ? AND verdict = 'routed'").get(packetId) as { sender: string | null } | undefined;
    if (routed) return routed.sender;
    // The hub's own packets (bounces) are in its outbound table under an id of their own, not the cause's.
    const ownBounce = db.prepare('SELECT 1 FROM outbound WHERE packet_id = ? AND packet_id <> cause').get(packetId) !== undefined;
    if (!ownBounce) return null;
    return (db.prepare("SELECT organ_id FROM agencies WHERE kind = 'hub'").get() as { organ_id: string } | undefined)?.organ_id ?? null;
  }

  list(filter: { status?: DeadLetter['status']; limit?: number; offset?: number } = {}): { total: number; items: DeadLetter[] } {
    const where = filter.status ? 'WHERE status = ?' : '';
    const args = filter.status ? [filter.status] : [];
    const total = (this.deps.db.prepare(`SELECT COUNT(*) AS n FROM dead_letters ${where}`).get(...args) as { n: number }).n;
    const items = (
      this.deps.db.prepare(`SELECT * FROM dead_letters ${where} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, filter.limit ?? 50, filter.offset ?? 0) as Row[]
    ).map(toDeadLetter);
    return { total, items };
  }

  get(id: number): DeadLetter | undefined {
    const row = this.deps.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    return row ? toDeadLetter(row) : undefined;
  }

  /** The bytes as they died (for an operator to look at), or undefined once retention deleted them. */
  async payload(id: number): Promise<Buffer | undefined> {
    const row = this.deps.db.prepare('SELECT blob FROM dead_letters WHERE id = ?').get(id) as { blob: string } | undefined;
    if (!row) throw new LtError('NOT_FOUND', `no dead letter ${id}`);
    return row.blob === '' ? undefined : this.deps.blobs.get(row.blob);
  }

  private pending(id: number): Row {
    const row = this.deps.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new LtError('NOT_FOUND', `no dead letter ${id}`);
    if (row.status !== 'pending') throw new LtError('DEAD_LETTER_RESOLVED', `dead letter ${id} was already ${row.status} by ${row.resolved_by ?? '?'} at ${row.resolved_at ?? '?'}`);
    return row;
  }

  async replay(id: number, actor: string): Promise<{ outcome: string }> {
    const row = this.pending(id);
    const content = await this.deps.blobs.get(row.blob);
    const properties = JSON.parse(row.properties) as MessageProperties;
    let outcome: string;
    const names = this.deps.names;
    const inbound = row.queue === names.hubInbound.normal || row.queue === names.hubInbound.urgent;
    const intake = row.queue === names.hubFederationIn.normal || row.queue === names.hubFederationIn.urgent;
    if (inbound || (intake && this.deps.routeIntake)) {
      // A redelivered packet the router refused before is routed afresh.
      if (row.packet_id) this.deps.db.prepare("DELETE FROM packets WHERE packet_id = ? AND verdict = 'refused'").run(row.packet_id);
      const message = { content, properties, fields: { deliveryTag: 0, redelivered: true, exchange: row.exchange ?? '', routingKey: row.routing_key ?? '', consumerTag: 'replay' } } as unknown as ConsumeMessage;
      const handler = inbound ? this.deps.route : (this.deps.routeIntake as (delivery: Delivery) => Promise<Verdict>);
      const urgent = row.queue === names.hubInbound.urgent || row.queue === names.hubFederationIn.urgent;
      const verdict = await handler({ lane: urgent ? 'urgent' : 'normal', queue: row.queue, message });
      if (verdict !== 'ack') {
        throw new LtError('PACKET_INVALID', `the router refused the packet again (the hub log says why, packet ${row.packet_id ?? '?'}); it stays in the dead letters`);
      }
      outcome = 'routed again';
    } else if (row.queue.startsWith(`${names.prefix}.federation.`)) {
      // A packet its link could not forward: back into that link's queue, as the router put it there.
      const { userId: _ignored, ...rest } = properties;
      await this.deps.publisher().publish({ exchange: '', routingKey: row.queue, content, options: { ...rest, persistent: true } });
      outcome = `queued again on ${row.queue}`;
    } else {
      const { userId: _ignored, ...rest } = properties; // only the original publisher may carry its user-id
      await this.deps.publisher().publish({
        exchange: this.deps.names.deliver,
        routingKey: row.routing_key ?? '',
        content,
        options: { ...rest, persistent: true },
      });
      outcome = `delivered again to ${row.queue}`;
    }
    this.resolve(row.id, 'replayed', actor, outcome);
    return { outcome };
  }

  discard(id: number, actor: string, reason?: string): void {
    this.pending(id);
    this.resolve(id, 'discarded', actor, reason ?? 'discarded by an operator');
  }

  private resolve(id: number, status: 'replayed' | 'discarded', actor: string, note: string): void {
    const now = this.deps.clock();
    this.deps.db.transaction(() => {
      this.deps.db.prepare('UPDATE dead_letters SET status = ?, resolved_at = ?, resolved_by = ? WHERE id = ?').run(status, now.toISOString(), actor, id);
      appendAudit(this.deps.db, { actor, action: `dead-letter.${status === 'replayed' ? 'replay' : 'discard'}`, subject: String(id), details: { note } }, now);
    }).immediate();
  }
}

/** The AMQP properties worth keeping to send a message again (no delivery-specific fields). */
function storableProperties(p: MessageProperties): Partial<MessageProperties> {
  const { headers, ...rest } = p;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) kept[key] = value;
  const cleanHeaders: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key === 'x-death' || key.startsWith('x-first-death') || key.startsWith('x-last-death')) continue;
    cleanHeaders[key] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  }
  return { ...kept, headers: cleanHeaders } as Partial<MessageProperties>;
}
