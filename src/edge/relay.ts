/**
 * Publishes the outbox: unsent rows, urgent lane first, with publisher confirms, then marks
 * them sent in one batch update. At-least-once: a crash between confirm and mark republishes
 * a row after restart, and the hub recognises the packet id. Rows written by another process
 * (`lienthong send` against the same database) are found by polling. A full hub queue nacks
 * the confirm (BROKER_QUEUE_FULL, back-pressure): the row stays unsent and the relay backs off
 * (0.5 s doubling to 30 s) until the hub has drained it.
 */
import type { ResourceNames } from '../broker/names.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import { publishOptions } from '../broker/message.js';
import { isLtError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { EdgeRecords, OutboxRow } from './records.js';

export interface RelayDeps {
  records: EdgeRecords;
  blobs: BlobStore;
  publisher: ConfirmPublisher;
  names: ResourceNames;
  organId: string;
  brokerUser: string;
  clock: () => Date;
  log: Logger;
  /** Rows published per round. Default 256. */
  batch?: number;
  /** Look for rows from other processes this often. Default 1000 ms. */
  pollMs?: number;
  onSent?: (rows: OutboxRow[]) => void;
}

export class Relay {
  private stopped = true;
  private wakeUp: (() => void) | undefined;
  private pending = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: RelayDeps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New rows were queued: publish now rather than at the next poll. */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }

  private async sleep(ms: number): Promise<void> {
    if (this.pending || this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.pending = false;
      try {
        const outcome = await this.round();
        // Some sent: the hub is taking packets again, just not all at once; retry soon.
        failures = outcome === 'all' ? 0 : outcome === 'some' ? 1 : failures + 1;
      } catch (error) {
        this.deps.log.error({ err: error }, 'relay round failed');
        failures += 1;
      }
      if (failures > 0) await this.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
    }
  }

  /** One pass over the unsent rows: were all, some or none of them published. */
  private async round(): Promise<'all' | 'some' | 'none'> {
    const rows = this.deps.records.unsent(this.deps.batch ?? 256);
    if (rows.length === 0) {
      await this.sleep(this.deps.pollMs ?? 1000);
      return 'all';
    }
    const sent: OutboxRow[] = [];
    const contents = await Promise.all(rows.map((row) => this.deps.blobs.get(row.blob)));
    // The packets of one document go one after the other and stop at the first refusal: a full
    // queue (back-pressure) may take the next packet a moment after refusing one, and a 04 that
    // overtook its 03, or a recall its document, would be refused by the hub. Different
    // documents still go out together.
    const chains = new Map<string, Array<{ row: OutboxRow; content: Buffer }>>();
    rows.forEach((row, i) => {
      const key = row.documentId ?? row.packetId;
      const chain = chains.get(key) ?? [];
      chain.push({ row, content: contents[i] as Buffer });
      chains.set(key, chain);
    });
    let backPressure = 0;
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        for (const { row, content } of chain) {
          try {
            await this.publish(row, content);
            sent.push(row);
          } catch (error) {
            this.deps.records.markFailed(row.packetId, (error as Error).message);
            if (isLtError(error) && error.code === 'BROKER_QUEUE_FULL') backPressure += 1;
            else if (this.stopped) return; // the stop gave up on it: it stays unsent, and the stop says so once
            else this.deps.log.warn({ packetId: row.packetId, documentId: row.documentId, err: (error as Error).message }, 'publishing failed; will retry');
            return;
          }
        }
      }),
    );
    if (backPressure > 0) {
      this.deps.log.warn({ refused: backPressure, unsent: rows.length - sent.length }, "the hub's inbound queue is full (back-pressure): the packets stay in the outbox and are retried with backoff");
    }
    if (sent.length > 0) {
      this.deps.records.markSent(
        sent.map((r) => r.packetId),
        this.deps.clock().toISOString(),
      );
      for (const row of sent) this.deps.log.info({ packetId: row.packetId, documentId: row.documentId, kind: row.kind, lane: row.lane }, 'packet sent to the hub');
      this.deps.onSent?.(sent);
    }
    return sent.length === rows.length ? 'all' : sent.length > 0 ? 'some' : 'none';
  }

  private async publish(row: OutboxRow, content: Buffer): Promise<void> {
    await this.deps.publisher.publish({
      exchange: this.deps.names.submit,
      routingKey: row.lane,
      content,
      options: publishOptions(
        {
          packetId: row.packetId,
          type: row.kind === 'document' ? 'edoc' : 'status',
          from: this.deps.organId,
          to: row.recipients,
          priority: row.priority,
          documentId: row.documentId,
          lane: row.lane,
          userId: this.deps.brokerUser,
          ...(row.statusCode ? { extra: { 'x-lt-status': row.statusCode } } : {}),
        },
        this.deps.clock(),
      ),
    });
  }
}
