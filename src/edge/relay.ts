/**
 * Publishes the outbox: unsent rows, urgent lane first, with publisher confirms, then marks
 * them sent in one batch update. At-least-once: a crash between confirm and mark republishes
 * a row after restart, and the hub recognises the packet id. Rows written by another process
 * (`lienthong send` against the same database) are found by polling. A full hub queue nacks
 * the confirm (BROKER_QUEUE_FULL, back-pressure): the row stays unsent and the relay backs off
 * (0.5 s doubling to 30 s) until the hub has drained it.
 *
 * A round waits for the confirms of every row it took, up to 256: behind a backlog of normal
 * statuses (a recipient working through thousands of documents) an urgent row queued meanwhile
 * would wait for the whole round. It is published at once instead, beside the round, by an
 * urgent round; the rows each round has in hand are kept apart so that none is published twice.
 */
import type { ResourceNames } from '../broker/names.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import { publishOptions } from '../broker/message.js';
import { isLtError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { QueuedBytes } from './outbox.js';
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
  /**
   * The documents (or lone packets) whose rows a round is publishing: another round takes none
   * of their rows, so neither publishes a row twice nor lets a later status of a document
   * overtake an earlier one still unconfirmed.
   */
  private readonly inHand = new Set<string>();
  private roundRunning = false;
  private urgentLoop: Promise<void> | undefined;
  private urgentPending = false;
  /**
   * The bytes of the packet queued last, as the outbox had them: published from here, not read
   * back from the blob store (a second copy of a 100 MB packet beside the one not yet collected).
   * Only the latest, and only until a round takes its row: a relay that cannot publish holds
   * no packet in memory.
   */
  private queued: QueuedBytes | undefined;

  constructor(private readonly deps: RelayDeps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New rows were queued: publish now rather than at the next poll; urgent ones even during a round. */
  wake(urgent = false, queued?: QueuedBytes): void {
    if (queued) this.queued = queued;
    this.pending = true;
    this.wakeUp?.();
    if (urgent && this.roundRunning && !this.stopped) this.publishUrgentNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queued = undefined;
    this.wakeUp?.();
    await this.loop;
    await this.urgentLoop;
  }

  /** Urgent rounds one after the other, as long as urgent rows keep coming during a round. */
  private publishUrgentNow(): void {
    this.urgentPending = true;
    if (this.urgentLoop) return;
    this.urgentLoop = (async () => {
      while (this.urgentPending && !this.stopped) {
        this.urgentPending = false;
        try {
          await this.round('urgent');
        } catch (error) {
          this.deps.log.error({ err: error }, 'urgent relay round failed');
          return; // the main loop retries it with its backoff
        }
      }
    })().finally(() => {
      this.urgentLoop = undefined;
    });
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
        this.roundRunning = true;
        const outcome = await this.round('any').finally(() => {
          this.roundRunning = false;
        });
        // Some sent: the hub is taking packets again, just not all at once; retry soon.
        failures = outcome === 'all' ? 0 : outcome === 'some' ? 1 : failures + 1;
      } catch (error) {
        this.deps.log.error({ err: error }, 'relay round failed');
        failures += 1;
      }
      if (failures > 0) await this.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
    }
  }

  /** One pass over the unsent rows (or only the urgent ones): were all, some or none of them published. */
  private async round(which: 'any' | 'urgent'): Promise<'all' | 'some' | 'none'> {
    const rows = this.deps.records.unsent(this.deps.batch ?? 256).filter((r) => !this.inHand.has(chainKey(r)) && (which === 'any' || r.lane === 'urgent'));
    if (rows.length === 0) {
      if (which === 'any') await this.sleep(this.deps.pollMs ?? 1000);
      return 'all';
    }
    const keys = new Set(rows.map(chainKey));
    for (const key of keys) this.inHand.add(key);
    try {
      return await this.publishRows(rows);
    } finally {
      for (const key of keys) this.inHand.delete(key);
    }
  }

  private async publishRows(rows: OutboxRow[]): Promise<'all' | 'some' | 'none'> {
    const sent: OutboxRow[] = [];
    const queued = this.queued;
    if (queued && rows.some((row) => row.blob === queued.blob)) this.queued = undefined;
    const contents = await Promise.all(rows.map((row) => (row.blob === queued?.blob ? queued.content : this.deps.blobs.get(row.blob))));
    // The packets of one document go one after the other and stop at the first refusal: a full
    // queue (back-pressure) may take the next packet a moment after refusing one, and a 04 that
    // overtook its 03, or a recall its document, would be refused by the hub. Different
    // documents still go out together.
    const chains = new Map<string, Array<{ row: OutboxRow; content: Buffer }>>();
    rows.forEach((row, i) => {
      const key = chainKey(row);
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

/** The packets of one document go in order; a packet without a document is its own chain. */
function chainKey(row: OutboxRow): string {
  return row.documentId ?? row.packetId;
}
