/**
 * Consuming two lanes, urgent first. Both queues are consumed with manual acknowledgement and a
 * per-consumer prefetch (a global QoS closes the connection on quorum queues); deliveries wait
 * in a local two-lane buffer and the next one handled is always the oldest urgent one. Each
 * lane has `concurrency` slots of its own: an urgent packet starts as soon as it comes, beside
 * the normal ones already being handled, not when one of them finishes, which behind a backlog
 * (or while a node starts its crypto workers) took a normal packet's whole handling time
 * (Decree 30/2020: urgent documents are handled immediately).
 *
 * When both lanes hold a backlog they drain side by side, each in its own slots (with
 * `narrowBesideUrgent`, only one normal delivery runs while an urgent one is in hand). With
 * `strictUrgent` a normal delivery is taken only when the urgent queue is known to hold nothing
 * ready: its buffer is empty and the broker said so, asked on the urgent lane's own channel (a
 * passive declare, answered after every delivery that channel was sent before it), with no urgent
 * delivery come since. Where urgent traffic is rare it costs one round trip per urgent burst.
 *
 * The handler's verdict decides the acknowledgement: `ack` after the work is committed,
 * `dead-letter` for what can never succeed, `retry` for a transient failure (the queue's
 * delivery limit then dead-letters a packet that keeps failing). A failure that is the node's,
 * not the packet's (a full disk: src/store/faults.ts), is no verdict at all: with a `gate`, the
 * delivery is held, unacknowledged, every lane stops consuming until the gate opens again, and
 * then the held deliveries are handled first (src/fault-gate.ts says why holding costs them
 * nothing toward the delivery limit and returning them would).
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { FaultGate } from '../fault-gate.js';
import { createLogger, type Logger } from '../log.js';
import type { BrokerPart } from './connection.js';
import { explainBrokerFailure } from './failures.js';
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
  /**
   * Deliveries of each lane handled at the same time. Default 4. Urgent deliveries have slots
   * of their own: one never waits for normal ones in hand to finish (see above).
   */
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
  /** Where a lane the broker closed or cancelled is reported. Default: a logger of component "broker". */
  log?: Logger;
  /** The node's gate: local faults pause consuming instead of returning deliveries. */
  gate?: FaultGate;
  /**
   * Take a normal delivery only once the urgent queue holds nothing ready (see above): a whole
   * urgent backlog goes before a normal one that waited beside it. Default false.
   */
  strictUrgent?: boolean;
  /**
   * While an urgent delivery is in hand, normal ones start only when no other normal one runs.
   * For handlers that work rather than wait: on a busy node the normal packets beside an urgent
   * one took the CPU and crypto workers it needed, and its handling took four times as long
   * (bench/urgency.ts). One goes on, so a stream of urgent packets slows normal traffic but never
   * stops it. Not for handlers that hold deliveries while they wait (the axis link's turns):
   * normal ones would stop being taken in hand. Default false.
   */
  narrowBesideUrgent?: boolean;
}

interface Buffered extends Delivery {
  channel: Channel;
  key: string | undefined;
  /** Local faults this delivery met that it may have caused (a crypto worker dying on it). */
  suspectFaults: number;
}

/** A delivery a crypto worker died on this often is suspected, no longer held: it goes back, toward the limit. */
const SUSPECT_FAULTS = 3;

/** Asking again whether urgent deliveries wait, when the broker said some did and none came. */
const URGENT_PROBE_RETRY_MS = 100;

/** Reopening a lane the broker closed: first after 250 ms, doubling up to 30 s. */
const REOPEN_FIRST_MS = 250;
const REOPEN_MAX_MS = 30_000;

/** A lane's channel, and its consumer tag while it consumes (none while the gate is closed). */
interface OpenLane {
  channel: Channel;
  lane: LaneQueue;
  tag: string | undefined;
  /** basic.consume sent, not yet answered (a pause and resume in between must not start a second consumer). */
  starting?: boolean;
}

export class LaneConsumer implements BrokerPart {
  readonly name: string;
  private readonly buffers: Record<Lane, Buffered[]> = { urgent: [], normal: [] };
  private running = 0;
  /** Deliveries being handled, per lane: each lane has `concurrency` slots. */
  private readonly runningIn: Record<Lane, number> = { urgent: 0, normal: 0 };
  private readonly concurrency: number;
  private readonly log: Logger;
  /** The connection's model while attached. */
  private model: ChannelModel | undefined;
  /** Open lanes by queue name; a channel not in here is dead or being closed by us. */
  private readonly open = new Map<string, OpenLane>();
  private readonly reopenTimers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly runningKeys = new Set<string>();
  /** The gate is closed: no lane consumes, nothing buffered is handled. */
  private paused = false;
  /** strictUrgent: the urgent queue held nothing ready when last asked, and no urgent delivery came since. */
  private urgentClear = false;
  private urgentProbe: 'idle' | 'asking' | 'waiting' = 'idle';
  private urgentProbeTimer: NodeJS.Timeout | undefined;
  private readonly onPause = (): void => this.pause();
  private readonly onResume = (): void => this.resume();

  constructor(private readonly options: LaneConsumerOptions) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 4;
    this.log = options.log ?? createLogger('broker');
    if (options.gate) {
      this.paused = options.gate.paused !== undefined;
      options.gate.on('pause', this.onPause);
      options.gate.on('resume', this.onResume);
    }
  }

  async attach(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    this.model = model;
    try {
      // The topology is declared once per connection, on the first lane's channel.
      for (const [i, lane] of this.options.queues.entries()) await this.openLane(model, lane, i === 0);
    } catch (error) {
      await this.closeLanes();
      this.model = undefined;
      throw error;
    }
  }

  detach(): void {
    // Unacknowledged deliveries go back to their queues with the channel; forget them here.
    this.model = undefined;
    this.open.clear();
    this.clearReopenTimers();
    this.urgentClear = false;
    this.buffers.urgent.length = 0;
    this.buffers.normal.length = 0;
  }

  /** Stop taking deliveries, finish (and acknowledge) the ones being handled, give back the rest. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.gate?.off('pause', this.onPause);
    this.options.gate?.off('resume', this.onResume);
    this.clearReopenTimers();
    for (const lane of this.open.values()) if (lane.tag !== undefined) await lane.channel.cancel(lane.tag).catch(() => {});
    for (const d of [...this.buffers.urgent.splice(0), ...this.buffers.normal.splice(0)]) {
      try {
        d.channel.nack(d.message, false, true);
      } catch {
        // channel already gone: the broker has them back
      }
    }
    while (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.closeLanes();
    this.detach();
  }

  get busy(): number {
    return this.running + this.buffers.urgent.length + this.buffers.normal.length;
  }

  /** Queues consumed right now (a lane the broker closed is missing until it is reopened, every lane while the gate is closed). */
  get consuming(): string[] {
    return [...this.open.entries()].filter(([, lane]) => lane.tag !== undefined).map(([queue]) => queue);
  }

  /** One channel per queue: its prefetch then bounds exactly that lane. */
  private async openLane(model: ChannelModel, lane: LaneQueue, declare: boolean): Promise<void> {
    const channel = await model.createChannel();
    keepLateDeliveries(channel, (message) => this.accept(lane, channel, message));
    let channelError: Error | undefined;
    channel.on('error', (error: Error) => {
      channelError = error; // followed by 'close'
    });
    channel.on('close', () => this.laneClosed(model, lane, channel, channelError));
    if (this.options.topology && declare) await this.options.topology(channel);
    await channel.prefetch(lane.prefetch, false);
    // While the gate is closed the lane is ready but takes nothing; resume() starts it.
    const tag = this.paused ? undefined : await this.consume(model, lane, channel);
    this.open.set(lane.queue, { channel, lane, tag });
    // A normal lane held back while the urgent one was closed may go on, once asked.
    if (this.options.strictUrgent && lane.lane === 'urgent') this.pump();
  }

  private async consume(model: ChannelModel, lane: LaneQueue, channel: Channel): Promise<string> {
    const { consumerTag } = await channel.consume(
      lane.queue,
      (message) => {
        if (!message) {
          this.consumerCancelled(model, lane, channel);
          return;
        }
        this.accept(lane, channel, message);
      },
      { noAck: false },
    );
    return consumerTag;
  }

  private accept(lane: LaneQueue, channel: Channel, message: ConsumeMessage): void {
    if (lane.lane === 'urgent') this.urgentClear = false;
    const delivery: Delivery = { lane: lane.lane, queue: lane.queue, message };
    this.buffers[lane.lane].push({ ...delivery, channel, key: this.options.orderKey?.(delivery), suspectFaults: 0 });
    this.pump();
  }

  /**
   * The gate closed: stop every lane's consumer (basic.cancel) but keep its channel, so that the
   * deliveries held stay ours, unacknowledged and uncounted, until resume() handles them.
   */
  private pause(): void {
    if (this.paused || this.stopped) return;
    this.paused = true;
    for (const lane of this.open.values()) {
      const tag = lane.tag;
      if (tag === undefined) continue;
      lane.tag = undefined;
      void lane.channel.cancel(tag).catch(() => {}); // a channel closing meanwhile gave them back anyway
    }
    // The gate's health board says it once for the node; this is the detail per consumer.
    this.log.debug({ consumer: this.name, held: this.busy }, 'consuming paused by a local fault; deliveries held, not returned');
  }

  /** The gate opened: consume again and handle the held deliveries first. */
  private resume(): void {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    const model = this.model;
    for (const lane of this.open.values()) {
      if (lane.tag !== undefined || lane.starting || !model) continue;
      lane.starting = true;
      this.consume(model, lane.lane, lane.channel).then(
        (tag) => {
          lane.starting = false;
          if (this.open.get(lane.lane.queue) !== lane) return; // the channel died meanwhile: reopened on its own
          if (this.paused || this.stopped) void lane.channel.cancel(tag).catch(() => {});
          else lane.tag = tag;
        },
        () => {
          lane.starting = false; // the channel closed meanwhile; laneClosed() reopens it
        },
      );
    }
    this.log.debug({ consumer: this.name, held: this.busy }, 'consuming resumed');
    this.pump();
  }

  /** Put a delivery back where it came from in its lane's buffer: handled again, in order, after the pause. */
  private hold(delivery: Buffered): void {
    const buffer = this.buffers[delivery.lane];
    const tag = delivery.message.fields.deliveryTag;
    const index = buffer.findIndex((d) => d.channel === delivery.channel && d.message.fields.deliveryTag > tag);
    buffer.splice(index === -1 ? buffer.length : index, 0, delivery);
  }

  /** Close every open lane ourselves (their 'close' is then not mistaken for the broker's). */
  private async closeLanes(): Promise<void> {
    const lanes = [...this.open.values()];
    this.open.clear();
    for (const { channel } of lanes) await channel.close().catch(() => {});
  }

  /**
   * A lane's channel closed while the connection stays up: the broker closed it (a refused
   * acknowledgement, a deleted queue...). Reopen it rather than leave the lane dead.
   */
  private laneClosed(model: ChannelModel, lane: LaneQueue, channel: Channel, error: Error | undefined): void {
    if (this.open.get(lane.queue)?.channel !== channel) return; // closed by us, or never opened
    this.open.delete(lane.queue);
    this.dropBuffered(channel);
    // A connection that goes down closes its channels just before it reports the loss: decide
    // once that report had its chance, so a lost connection is not also logged as a lost lane.
    setImmediate(() => {
      if (this.stopped || this.model !== model) return; // the reconnect re-attaches every lane
      const failure = explainBrokerFailure(error ?? new Error('channel closed'), '', `consuming ${lane.queue}`);
      this.log.warn({ consumer: this.name, queue: lane.queue, code: failure.error.code, err: failure.error.message }, 'the broker closed a consumer channel; reopening it');
      this.scheduleReopen(model, lane, 1);
    });
  }

  /** The broker cancelled the consumer (its queue was deleted): the channel lives on, idle. */
  private consumerCancelled(model: ChannelModel, lane: LaneQueue, channel: Channel): void {
    if (this.open.get(lane.queue)?.channel !== channel) return;
    this.open.delete(lane.queue);
    this.dropBuffered(channel);
    void channel.close().catch(() => {});
    if (this.stopped || this.model !== model) return;
    this.log.warn({ consumer: this.name, queue: lane.queue }, 'the broker cancelled a consumer (was its queue deleted?); consuming again');
    this.scheduleReopen(model, lane, 1);
  }

  private scheduleReopen(model: ChannelModel, lane: LaneQueue, attempt: number): void {
    const delay = Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.reopenTimers.delete(timer);
      if (this.stopped || this.model !== model || this.open.has(lane.queue)) return;
      this.openLane(model, lane, true).then(
        () => this.log.info({ consumer: this.name, queue: lane.queue, attempt }, 'consumer channel reopened'),
        (error: unknown) => {
          if (this.stopped || this.model !== model) return;
          const failure = explainBrokerFailure(error, '', `consuming ${lane.queue}`);
          const next = Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** attempt);
          this.log.error(
            { consumer: this.name, queue: lane.queue, attempt, delayMs: next, code: failure.error.code, err: failure.error.message },
            `cannot reopen a consumer channel (attempt ${attempt}); retrying in ${next} ms`,
          );
          this.scheduleReopen(model, lane, attempt + 1);
        },
      );
    }, delay);
    this.reopenTimers.add(timer);
  }

  private clearReopenTimers(): void {
    for (const timer of this.reopenTimers) clearTimeout(timer);
    this.reopenTimers.clear();
    clearTimeout(this.urgentProbeTimer);
    this.urgentProbeTimer = undefined;
    if (this.urgentProbe === 'waiting') this.urgentProbe = 'idle';
  }

  /**
   * Ask the broker, on the urgent lane's channel, whether urgent messages are ready. Deliveries
   * it sent that channel before answering are in the buffer by the time the answer is read
   * (amqplib hands them over as their frames come in), so "none" means none is on its way either.
   * Some: they come to this lane, which takes them before any normal one; asked again shortly,
   * in case another consumer of the queue took them.
   */
  private probeUrgent(): void {
    if (this.urgentProbe !== 'idle' || this.stopped) return;
    const lane = [...this.open.values()].find((l) => l.lane.lane === 'urgent');
    if (!lane) return; // being reopened: asked again once it is open and something pumps
    this.urgentProbe = 'asking';
    lane.channel.checkQueue(lane.lane.queue).then(
      ({ messageCount }) => {
        if (this.urgentProbe !== 'asking') return;
        if (!this.isOpen(lane.channel)) {
          this.urgentProbe = 'idle'; // an answer about a channel given up: worth nothing now
          return;
        }
        if (messageCount === 0) {
          this.urgentProbe = 'idle';
          // An urgent delivery that came with the answer is taken first anyway.
          this.urgentClear = this.buffers.urgent.length === 0;
          this.pump();
          return;
        }
        this.urgentProbe = 'waiting';
        this.urgentProbeTimer = setTimeout(() => {
          this.urgentProbeTimer = undefined;
          this.urgentProbe = 'idle';
          this.pump();
        }, URGENT_PROBE_RETRY_MS);
      },
      () => {
        // The channel closed (laneClosed reopens it): ask again when it is back.
        if (this.urgentProbe === 'asking') this.urgentProbe = 'idle';
      },
    );
  }

  /** Buffered deliveries of a dead channel went back to their queue with it. */
  private dropBuffered(channel: Channel): void {
    for (const lane of ['urgent', 'normal'] as const) this.buffers[lane] = this.buffers[lane].filter((d) => d.channel !== channel);
  }

  private isOpen(channel: Channel): boolean {
    for (const lane of this.open.values()) if (lane.channel === channel) return true;
    return false;
  }

  /**
   * The oldest urgent delivery, else the oldest normal one, each while its lane has a free slot,
   * skipping keys being handled; with strictUrgent a normal one only while the urgent queue is
   * known empty (else the broker is asked).
   */
  private next(): Buffered | undefined {
    for (const lane of ['urgent', 'normal'] as const) {
      const buffer = this.buffers[lane];
      if (this.runningIn[lane] >= this.concurrency) continue;
      if (lane === 'normal' && this.options.narrowBesideUrgent && this.runningIn.urgent > 0 && this.runningIn.normal > 0) continue;
      if (lane === 'normal' && this.options.strictUrgent && buffer.length > 0) {
        if (this.buffers.urgent.length > 0) return undefined;
        if (!this.urgentClear) {
          this.probeUrgent();
          return undefined;
        }
      }
      const index = buffer.findIndex((d) => d.key === undefined || !this.runningKeys.has(d.key));
      if (index !== -1) return buffer.splice(index, 1)[0];
    }
    return undefined;
  }

  private pump(): void {
    while (!this.stopped && !this.paused) {
      const delivery = this.next();
      if (!delivery) return;
      this.running += 1;
      this.runningIn[delivery.lane] += 1;
      if (delivery.key !== undefined) this.runningKeys.add(delivery.key);
      void this.handle(delivery).finally(() => {
        this.running -= 1;
        this.runningIn[delivery.lane] -= 1;
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
      const gate = this.options.gate;
      const fault = gate?.classify(error);
      if (gate && fault && !(fault.packetMayCause && ++delivery.suspectFaults >= SUSPECT_FAULTS)) {
        // The node's fault: the delivery waits, held, for the node to heal (a dead channel gave it back already).
        this.log.debug({ consumer: this.name, errorCode: fault.code, packetId: delivery.message.properties.messageId }, 'delivery held by a local fault');
        if (this.isOpen(delivery.channel)) this.hold(delivery);
        gate.report(fault);
        return;
      }
      this.options.onError?.(error, delivery);
      verdict = 'retry';
    }
    // A delivery from a channel that has died was already returned to its queue.
    if (!this.isOpen(delivery.channel)) return;
    try {
      if (verdict === 'ack') delivery.channel.ack(delivery.message);
      else delivery.channel.nack(delivery.message, false, verdict === 'retry');
    } catch {
      // channel closed meanwhile: the broker redelivers
    }
  }
}

/**
 * A delivery can reach a channel after the cancel-ok of its consumer (a pause): a quorum queue's
 * deliveries and the cancel's reply travel different paths inside RabbitMQ. amqplib then throws
 * "Unknown consumer", which kills the channel, and every delivery held unacknowledged on it goes
 * back to its queue counted toward the poison limit: exactly what a pause is there to avoid.
 * Such a delivery is ours (unacknowledged on this channel): it is taken like any other and held
 * with them. Uses amqplib's channel internals; another version without them is left as it is.
 */
export function keepLateDeliveries(channel: Channel, late: (message: ConsumeMessage) => void): void {
  const internal = channel as unknown as {
    consumers?: unknown;
    dispatchMessage?: (fields: { consumerTag: string }, message: ConsumeMessage | null) => unknown;
  };
  const dispatch = internal.dispatchMessage;
  if (typeof dispatch !== 'function' || !(internal.consumers instanceof Map)) return;
  internal.dispatchMessage = function (this: unknown, fields, message) {
    if (message && internal.consumers instanceof Map && !internal.consumers.has(fields.consumerTag)) return late(message);
    return dispatch.call(this, fields, message);
  };
}
