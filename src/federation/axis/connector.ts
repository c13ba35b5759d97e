/**
 * The link process of a federation link of kind "axis": the hub acting as one system of the
 * national exchange axis (sdk-protocol.md).
 *
 * Outbound: the link's two queues are consumed (src/broker/consumer.ts), urgent lane first;
 * each packet's bytes go to the axis exactly as they were signed (sendEdoc) and the delivery is
 * acknowledged only once the axis accepted it. Packets go one at a time, the oldest urgent one
 * first (priority-turns.ts).
 *  - The axis unreachable (AXIS_UNREACHABLE): the packet goes back to its place in line and the
 *    line stops; every delivery stays with the link, unacknowledged, and is neither returned
 *    to the broker nor dead-lettered (a return counts toward a quorum queue's delivery limit).
 *    The axis is probed with capped exponential backoff, each attempt logged; once it answers,
 *    the line opens and the urgent packets go first.
 *  - The axis refuses a packet (AXIS_REFUSED): if it still answers the link's own calls, the
 *    refusal is the packet's and the packet is dead-lettered for an operator (the dashboard's
 *    dead letters); if it refuses those too (a wrong secret, a system it no longer knows), the
 *    link is what is wrong and the packet waits as in an outage.
 *
 * Inbound: inbound.ts polls the axis and hands each packet to the hub's sink before telling
 * the axis it was taken.
 *
 * The connector is handed its queues, the broker connection and the sink; the hub owns the
 * queues' declaration (with a dead-letter exchange, like every quorum queue of the topology).
 * `counters` is what the hub's metrics read.
 */
import { EventEmitter } from 'node:events';
import type { BrokerPart } from '../../broker/connection.js';
import { LaneConsumer, type Delivery, type Verdict } from '../../broker/consumer.js';
import { readProperties } from '../../broker/message.js';
import type { Lane } from '../../broker/names.js';
import { isLtError, LtError } from '../../errors.js';
import { probeDelay } from '../../fault-gate.js';
import { createLogger, type Logger } from '../../log.js';
import type { MessageType } from '../../sdk-protocol/index.js';
import { AxisClient } from './client.js';
import { AxisPoller, type AxisSink } from './inbound.js';
import { LineStopped, PriorityTurns, Superseded } from './priority-turns.js';
import type { AxisSettings } from './settings.js';

/** What the connector needs of the hub's broker connection (src/broker/connection.ts's BrokerConnection). */
export interface LinkBroker {
  add(part: BrokerPart): Promise<void>;
  remove(part: BrokerPart): void;
}

export interface AxisConnectorOptions {
  /** The link's name (hub.json `federation.links[].name`): in logs, counters and the sink's meta. */
  link: string;
  /** The link's `axis` block, read by `axisSettings`. */
  settings: AxisSettings;
  broker: LinkBroker;
  /** The link's two queues (`P.federation.<name>.urgent` and `P.federation.<name>`). */
  queues: Record<Lane, string>;
  /** Where packets from the axis go (the hub's federation intake). */
  sink: AxisSink;
  /** Default: a logger of component "federation". */
  log?: Logger;
  /** First wait after the axis failed to answer, doubling up to `settings.retryMaxSeconds`. Default 1 s. */
  retryFirstDelayMs?: number;
}

/** What the hub's metrics and dashboard read about the link. */
export interface AxisLinkCounters {
  link: string;
  /** The last call to the axis was answered (a refusal of one packet counts as an answer). */
  up: boolean;
  /** Packets the axis accepted. */
  forwarded: number;
  /** Packets taken from the axis and handed to the sink. */
  received: number;
  /** Packets the axis refused while answering the link: dead-lettered. */
  refused: number;
  /** Calls to the axis that failed (each retry counts). */
  failures: number;
  /** Packets taken from the link's queues and not yet accepted by the axis. */
  waiting: number;
  lastSuccessAt: Date | undefined;
  lastFailureAt: Date | undefined;
  lastError: { code: string; message: string } | undefined;
}

export interface AxisConnectorEvents {
  forwarded: [{ packetId: string | undefined; axisId: string; lane: Lane; messageType: MessageType }];
  received: [{ axisId: string; messageType: MessageType }];
  refused: [{ packetId: string | undefined; error: LtError }];
  /** The axis stopped answering: sending waits. */
  down: [LtError];
  /** A probe of the axis is scheduled. */
  retry: [{ attempt: number; delayMs: number; error: LtError }];
  /** The axis answers again: sending resumes, urgent first. */
  up: [];
  /** An inbound round ended. */
  polled: [];
}

export class AxisConnector extends EventEmitter<AxisConnectorEvents> {
  readonly client: AxisClient;
  private readonly log: Logger;
  private readonly turns = new PriorityTurns();
  private readonly consumer: LaneConsumer;
  private readonly poller: AxisPoller;
  private readonly stats: Omit<AxisLinkCounters, 'waiting' | 'link'> = {
    up: true,
    forwarded: 0,
    received: 0,
    refused: 0,
    failures: 0,
    lastSuccessAt: undefined,
    lastFailureAt: undefined,
    lastError: undefined,
  };
  /** Deliveries in hand (waiting or being sent). */
  private inHand = 0;
  private outage: { attempt: number; error: LtError; timer: NodeJS.Timeout | undefined } | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly options: AxisConnectorOptions) {
    super();
    const { settings, link } = options;
    this.log = options.log ?? createLogger('federation');
    this.client = new AxisClient({ baseUrl: settings.baseUrl, systemId: settings.systemId, secret: settings.secret, timeoutMs: settings.timeoutSeconds * 1000 });
    this.consumer = new LaneConsumer({
      name: `federation link ${link} (national axis)`,
      queues: [
        { queue: options.queues.urgent, lane: 'urgent', prefetch: settings.prefetch },
        { queue: options.queues.normal, lane: 'normal', prefetch: settings.prefetch },
      ],
      // Every delivery taken waits in the link's own line (priority-turns.ts), none in the consumer's buffer.
      concurrency: settings.prefetch * 2,
      handler: (delivery) => this.forward(delivery),
      onError: (error, delivery) =>
        this.log.error({ link, packetId: delivery.message.properties.messageId, err: (error as Error).message }, 'forwarding a packet to the national axis failed unexpectedly; it is retried'),
      log: this.log,
    });
    this.poller = new AxisPoller({
      link,
      client: this.client,
      sink: options.sink,
      intervalMs: settings.pollSeconds * 1000,
      log: this.log,
      hooks: {
        answered: () => this.answered(),
        failed: (error) => this.failed(error),
        received: ({ axisId, messageType }) => {
          this.stats.received += 1;
          this.emit('received', { axisId, messageType });
        },
        isDown: () => this.outage !== undefined,
        polled: () => this.emit('polled'),
      },
    });
  }

  get link(): string {
    return this.options.link;
  }

  /** Start consuming the link's queues and polling the axis. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.options.broker.add(this.consumer);
    this.poller.start();
    this.log.info({ link: this.link, axis: this.client.endpoint, queues: this.options.queues }, 'federation link to the national axis started');
  }

  /**
   * Stop: no more polling or probing; the packet being sent is finished (and acknowledged if
   * the axis takes it), the ones waiting go back to their queues.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.outage?.timer);
    this.turns.stop();
    await this.poller.stop();
    await this.consumer.stop();
    this.options.broker.remove(this.consumer);
  }

  /** Ask the axis now for what it holds (instead of at the end of the poll interval). */
  pollNow(): void {
    this.poller.wake();
  }

  counters(): AxisLinkCounters {
    return { link: this.link, ...this.stats, lastError: this.stats.lastError && { ...this.stats.lastError }, waiting: this.inHand };
  }

  private async forward(delivery: Delivery): Promise<Verdict> {
    const properties = readProperties(delivery.message);
    const packetId = properties.packetId;
    const messageType: MessageType = properties.type === 'status' ? 'status' : 'edoc';
    const from = properties.headers['x-lt-from'] || this.options.settings.systemId;
    const to = (properties.headers['x-lt-to'] ?? '').split(',').filter((organ) => organ !== '');
    const ticket = this.turns.ticket(delivery.lane, packetId);
    const context = { link: this.link, packetId, documentId: properties.headers['x-lt-document-id'], lane: delivery.lane };
    this.inHand += 1;
    try {
      for (;;) {
        try {
          await this.turns.turn(ticket);
        } catch (error) {
          // Superseded: the broker gave this packet again on a new channel; that delivery goes instead.
          if (error instanceof Superseded) return 'ack';
          if (error instanceof LineStopped) return 'retry';
          throw error;
        }
        try {
          // The signed bytes exactly as they came: the axis and every verifier after it check them.
          const { docId } = await this.client.sendEdoc(delivery.message.content, { messageType, from, to });
          this.turns.done(ticket);
          this.answered();
          this.stats.forwarded += 1;
          this.log.info({ ...context, axisId: docId, messageType }, 'packet forwarded to the national axis');
          this.emit('forwarded', { packetId, axisId: docId, lane: delivery.lane, messageType });
          return 'ack';
        } catch (error) {
          const failure = asLtError(error);
          this.noteFailure(failure);
          if (failure.code !== 'AXIS_UNREACHABLE' && (failure.code !== 'AXIS_REFUSED' || (await this.answersTheLink()))) {
            this.turns.done(ticket);
            this.stats.refused += 1;
            this.log.error({ ...context, errorCode: failure.code, err: failure.message }, 'the national axis refused the packet; it is dead-lettered for an operator (replay it once the cause is fixed)');
            this.emit('refused', { packetId, error: failure });
            return 'dead-letter';
          }
          // Back to its place in line; the line stays closed until the axis answers.
          this.turns.close(ticket);
          this.linkDown(failure);
        }
      }
    } finally {
      this.inHand -= 1;
    }
  }

  /** After a refusal: does the axis still answer the link's own calls (then the refusal was the packet's)? */
  private async answersTheLink(): Promise<boolean> {
    try {
      await this.client.countReceived();
      this.answered();
      return true;
    } catch (error) {
      this.noteFailure(asLtError(error));
      return false;
    }
  }

  private answered(): void {
    this.stats.up = true;
    this.stats.lastSuccessAt = new Date();
  }

  private noteFailure(error: LtError): void {
    this.stats.failures += 1;
    this.stats.lastFailureAt = new Date();
    this.stats.lastError = { code: error.code, message: error.message };
  }

  /** A call of the poller failed: an unreachable axis stops sending too (a refusal is about one packet). */
  private failed(error: LtError): void {
    this.noteFailure(error);
    if (error.code === 'AXIS_UNREACHABLE') this.linkDown(error);
  }

  /** The axis is unreachable (or refuses the link itself): stop sending, probe until it answers. */
  private linkDown(error: LtError): void {
    if (this.stopped) return;
    if (this.outage) {
      this.outage.error = error;
      return;
    }
    this.stats.up = false;
    this.turns.close();
    this.outage = { attempt: 0, error, timer: undefined };
    this.log.warn({ link: this.link, axis: this.client.endpoint, errorCode: error.code, err: error.message }, 'the national axis cannot be used; packets for it wait in the link, nothing is lost');
    this.emit('down', error);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    const outage = this.outage;
    if (!outage || this.stopped) return;
    const delayMs = probeDelay(outage.attempt, this.options.retryFirstDelayMs ?? 1000, this.options.settings.retryMaxSeconds * 1000);
    outage.attempt += 1;
    this.log.warn(
      { link: this.link, attempt: outage.attempt, delayMs, waiting: this.inHand, errorCode: outage.error.code, err: outage.error.message },
      `the national axis is still not usable; trying again in ${delayMs} ms (attempt ${outage.attempt})`,
    );
    this.emit('retry', { attempt: outage.attempt, delayMs, error: outage.error });
    outage.timer = setTimeout(() => void this.probe(), delayMs);
  }

  private async probe(): Promise<void> {
    const outage = this.outage;
    if (!outage || this.stopped) return;
    outage.timer = undefined;
    try {
      await this.client.countReceived();
    } catch (error) {
      if (this.stopped) return;
      const failure = asLtError(error);
      this.noteFailure(failure);
      outage.error = failure;
      this.scheduleProbe();
      return;
    }
    if (this.stopped) return;
    this.outage = undefined;
    this.answered();
    this.log.info({ link: this.link, attempts: outage.attempt, waiting: this.inHand }, 'the national axis answers again; sending resumes, urgent packets first');
    this.emit('up');
    this.turns.open();
    this.poller.wake();
  }
}

function asLtError(error: unknown): LtError {
  return isLtError(error) ? error : new LtError('INTERNAL', (error as Error | undefined)?.message ?? String(error), {}, { cause: error });
}
