/**
 * Publishes the outbox: unsent rows, urgent lane first, with publisher confirms, then marks
 * them sent in one batch update. At-least-once: a crash between confirm and mark republishes
 * a row after restart, and the hub recognises the packet id. Rows written by another process
 * (`lienthong send` against the same database) are found by polling.
 */
import type { ResourceNames } from '../broker/names.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import { publishOptions } from '../broker/message.js';
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
        failures = (await this.round()) ? 0 : failures + 1;
      } catch (error) {
        this.deps.log.error({ err: error }, 'relay round failed');
        failures += 1;
      }
      if (failures > 0) await this.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
    }
  }

  /** One pass over the unsent rows; false when some could not be published. */
  private async round(): Promise<boolean> {
    const rows = this.deps.records.unsent(this.deps.batch ?? 256);
    if (rows.length === 0) {
      await this.sleep(this.deps.pollMs ?? 1000);
      return true;
    }
    const sent: OutboxRow[] = [];
    // Contents first, then every publish started in row order: the statuses of one document
    // must reach the hub in the order they were made.
    const contents = await Promise.all(rows.map((row) => this.deps.blobs.get(row.blob)));
    await Promise.all(
      rows.map(async (row, i) => {
        try {
          await this.publish(row, contents[i] as Buffer);
          sent.push(row);
        } catch (error) {
          this.deps.records.markFailed(row.packetId, (error as Error).message);
          this.deps.log.warn({ packetId: row.packetId, documentId: row.documentId, err: (error as Error).message }, 'publishing failed; will retry');
        }
      }),
    );
    if (sent.length > 0) {
      this.deps.records.markSent(
        sent.map((r) => r.packetId),
        this.deps.clock().toISOString(),
      );
      for (const row of sent) this.deps.log.info({ packetId: row.packetId, documentId: row.documentId, kind: row.kind, lane: row.lane }, 'packet sent to the hub');
      this.deps.onSent?.(sent);
    }
    return sent.length === rows.length;
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
