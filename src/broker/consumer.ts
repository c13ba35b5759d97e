/**
 * Consuming two lanes, urgent first. Both queues are consumed with manual acknowledgement and a
 * per-consumer prefetch (a global QoS closes the connection on quorum queues); deliveries wait
 * in a local two-lane buffer and the next one handled is always the oldest urgent one. So an
 * urgent packet never waits behind more than the handful of normal ones already being handled
 * (Decree 30/2020: urgent documents are handled immediately).
 *
 * The handler's verdict decides the acknowledgement: `ack` after the work is committed,
 * `dead-letter` for what can never succeed, `retry` for a transient failure (the queue's
 * delivery limit then dead-letters a packet that keeps failing).
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { BrokerPart } from './connection.js';
import type { Lane } from './names.js';

export type Verdict = 'ack' | 'dead-letter' | 'retry';

export interface LaneQueue {
  queue: string;
  lane: Lane;
  /** Unacknowledged deliveries the broker may push to this consumer. */
  prefetch: number;
}

export interface Delivery {
  lane: Lane;
  queue: string;
  message: ConsumeMessage;
}

export interface LaneConsumerOptions {
  name: string;
  queues: LaneQueue[];
  /** Deliveries handled at the same time. Default 4. */
  concurrency?: number;
  handler: (delivery: Delivery) => Promise<Verdict>;
  /** Runs on each fresh channel before consuming (declarations by the queues' owner). */
  topology?: (channel: Channel) => Promise<void>;
  /** Told about handler failures (the delivery is retried). */
  onError?: (error: unknown, delivery: Delivery) => void;
  /**
   * Deliveries with the same key are handled one after the other, in arrival order (e.g. the
   * statuses of one document: a 03 must not overtake its 01). Default: no ordering.
   */
  orderKey?: (delivery: Delivery) => string | undefined;
}

interface Buffered extends Delivery {
  channel: Channel;
  key: string | undefined;
}

export class LaneConsumer implements BrokerPart {
  readonly name: string;
  private readonly buffers: Record<Lane, Buffered[]> = { urgent: [], normal: [] };
  private running = 0;
  private readonly concurrency: number;
  private channels: Channel[] = [];
  private consumerTags: Array<{ channel: Channel; tag: string }> = [];
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly runningKeys = new Set<string>();

  constructor(private readonly options: LaneConsumerOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 4;
  }

  async attach(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const channels: Channel[] = [];
    try {
      for (const lane of this.options.queues) {
        // One channel per queue: its prefetch then bounds exactly that lane.
        const channel = await model.createChannel();
        channels.push(channel);
        channel.on('error', () => {});
        if (this.options.topology && channels.length === 1) await this.options.topology(channel);
        await channel.prefetch(lane.prefetch, false);
        const { consumerTag } = await channel.consume(
          lane.queue,
          (message) => {
            if (!message) return; // consumer cancelled by the broker; the reconnect re-attaches
            const delivery: Delivery = { lane: lane.lane, queue: lane.queue, message };
            this.buffers[lane.lane].push({ ...delivery, channel, key: this.options.orderKey?.(delivery) });
            this.pump();
          },
          { noAck: false },
        );
        this.consumerTags.push({ channel, tag: consumerTag });
      }
    } catch (error) {
      for (const c of channels) await c.close().catch(() => {});
      throw error;
    }
    this.channels = channels;
  }

  detach(): void {
    // Unacknowledged deliveries go back to their queues with the channel; forget them here.
    this.channels = [];
    this.consumerTags = [];
    this.buffers.urgent.length = 0;
    this.buffers.normal.length = 0;
  }

  /** Stop taking deliveries, finish (and acknowledge) the ones being handled, give back the rest. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { channel, tag } of this.consumerTags) await channel.cancel(tag).catch(() => {});
    for (const d of [...this.buffers.urgent.splice(0), ...this.buffers.normal.splice(0)]) {
      try {
        d.channel.nack(d.message, false, true);
      } catch {
        // channel already gone: the broker has them back
      }
    }
    while (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const channels = this.channels;
    this.detach();
    for (const c of channels) await c.close().catch(() => {});
  }

  get busy(): number {
    return this.running + this.buffers.urgent.length + this.buffers.normal.length;
  }

  /** The oldest urgent delivery, else the oldest normal one, skipping keys being handled. */
  private next(): Buffered | undefined {
    for (const buffer of [this.buffers.urgent, this.buffers.normal]) {
      const index = buffer.findIndex((d) => d.key === undefined || !this.runningKeys.has(d.key));
      if (index !== -1) return buffer.splice(index, 1)[0];
    }
    return undefined;
  }

  private pump(): void {
    while (this.running < this.concurrency && !this.stopped) {
      const delivery = this.next();
      if (!delivery) return;
      this.running += 1;
      if (delivery.key !== undefined) this.runningKeys.add(delivery.key);
      void this.handle(delivery).finally(() => {
        this.running -= 1;
        if (delivery.key !== undefined) this.runningKeys.delete(delivery.key);
        if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        this.pump();
      });
    }
  }

  private async handle(delivery: Buffered): Promise<void> {
    let verdict: Verdict;
    try {
      verdict = await this.options.handler(delivery);
    } catch (error) {
      this.options.onError?.(error, delivery);
      verdict = 'retry';
    }
    // A delivery from a channel that has died was already returned to its queue.
    if (!this.channels.includes(delivery.channel)) return;
    try {
      if (verdict === 'ack') delivery.channel.ack(delivery.message);
      else delivery.channel.nack(delivery.message, false, verdict === 'retry');
    } catch {
      // channel closed meanwhile: the broker redelivers
    }
  }
}
