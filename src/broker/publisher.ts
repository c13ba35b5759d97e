/**
 * Confirmed publishing: every `publish` resolves when the broker has taken responsibility for
 * the message (publisher confirm), and rejects when it refuses it or the channel dies first.
 * A window bounds the messages awaiting confirmation; back-pressure (`publish` returning
 * false) waits for `drain`. Urgent messages (lane header "urgent") have a window of their own:
 * a relay's round of normal messages fills its window, and an urgent one queued behind it would
 * wait for the round's confirms. While the connection is down, publishes wait for it to return.
 * Every message is mandatory: one no queue takes is an error, not a silent loss. A nack (a full
 * queue) rejects with BROKER_QUEUE_FULL, so that callers can treat it as back-pressure.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { LtError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { BrokerPart } from './connection.js';
import { explainBrokerFailure } from './failures.js';
import type { Lane } from './names.js';

export interface ConfirmPublisherOptions {
  name: string;
  /** Messages awaiting confirmation at most, per lane (normal, urgent). Default 256. */
  window?: number;
  /** Declares what this publisher owns, on every fresh channel. */
  topology?: (channel: ConfirmChannel) => Promise<void>;
  /**
   * Declares what is too much to declare again with every channel (a province's agency queues),
   * once per connection, before its first channel.
   */
  connectionTopology?: (model: ChannelModel) => Promise<void>;
  /** Give up waiting for a connection after this long. Default: wait forever. */
  connectTimeoutMs?: number;
  /** Where a channel the broker closed is reported. Default: a logger of component "broker". */
  log?: Logger;
}

/** Reopening a channel the broker closed: first after 250 ms, doubling up to 30 s. */
const REOPEN_FIRST_MS = 250;
const REOPEN_MAX_MS = 30_000;

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

type Waiter = () => void;

export class ConfirmPublisher implements BrokerPart {
  readonly name: string;
  private channel: ConfirmChannel | undefined;
  private readonly inFlight: Record<Lane, number> = { normal: 0, urgent: 0 };
  private readonly window: number;
  private readonly slotWaiters: Record<Lane, Waiter[]> = { normal: [], urgent: [] };
  private readonly channelWaiters: Waiter[] = [];
  private drainWaiter: Promise<void> | undefined;
  private model: ChannelModel | undefined;
  private stopped = false;
  /** Mandatory messages the broker returned as unroutable, awaiting their confirm. */
  private readonly returned = new Set<string>();
  private readonly log: Logger;
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConfirmPublisherOptions) {
    this.name = options.name;
    this.window = options.window ?? 256;
    this.log = options.log ?? createLogger('broker');
  }

  async attach(model: ChannelModel): Promise<void> {
    this.model = model;
    if (this.options.connectionTopology) await this.options.connectionTopology(model);
    await this.openChannel(model);
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    let channelError: Error | undefined;
    channel.on('error', (error: Error) => {
      channelError = error; // followed by 'close'
    });
    // RabbitMQ sends basic.return before the confirm of an unroutable mandatory message.
    channel.on('return', (message: { fields: { exchange: string; routingKey: string }; properties: { messageId?: string } }) => {
      this.returned.add(returnKey(message.fields.exchange, message.fields.routingKey, message.properties.messageId));
    });
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      // A channel-level error (e.g. a publish to a missing exchange) leaves the connection up:
      // reopen. A connection that goes down closes its channels just before it reports the
      // loss; by the time the reopen is due, detach() has told us.
      this.scheduleReopen(model, 1, channelError);
    });
    if (this.options.topology) await this.options.topology(channel);
    this.channel = channel;
    for (const wake of this.channelWaiters.splice(0)) wake();
  }

  private scheduleReopen(model: ChannelModel, attempt: number, cause: unknown): void {
    if (this.stopped || this.model !== model) return;
    const delay = Math.min(REOPEN_MAX_MS, REOPEN_FIRST_MS * 2 ** (attempt - 1));
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.stopped || this.model !== model || this.channel) return;
      if (attempt === 1) {
        const failure = explainBrokerFailure(cause ?? new Error('channel closed'), '', `publishing from ${this.name}`);
        this.log.warn({ publisher: this.name, code: failure.error.code, err: failure.error.message }, 'the broker closed a publishing channel; reopening it');
      }
      this.openChannel(model).then(
        () => {
          if (attempt > 1) this.log.info({ publisher: this.name, attempt }, 'publishing channel reopened');
        },
        (error: unknown) => {
          if (this.stopped || this.model !== model) return;
          const failure = explainBrokerFailure(error, '', `setting up ${this.name}`);
          this.log.error(
            { publisher: this.name, attempt, code: failure.error.code, err: failure.error.message },
            `cannot reopen a publishing channel (attempt ${attempt}); retrying`,
          );
          this.scheduleReopen(model, attempt + 1, error);
        },
      );
    }, delay);
  }

  /**
   * Publish the next messages on a fresh channel. A nack also comes from a quorum queue that had
   * no leader when this channel first published to it (a node of the cluster lost): RabbitMQ
   * 3.10 then refuses every later publish of that channel to the queue, although a new leader
   * was elected at once. A new channel registers with the queue again; against a queue that is
   * really full it costs one channel per retry of the caller, who backs off.
   */
  private retire(channel: ConfirmChannel): void {
    const model = this.model;
    if (this.channel !== channel || !model || this.stopped) return;
    this.channel = undefined; // its 'close' is then ours, not the broker's: no reopen scheduled there
    // Closed only once the messages still awaiting their confirm on it have one: closing at once
    // turned their confirms into errors, although the broker had stored them (a document to two
    // recipients, one queue full: the other copy delivered, yet never marked published).
    void channel
      .waitForConfirms()
      .catch(() => {})
      .then(() => channel.close())
      .catch(() => {});
    this.openChannel(model).catch((error: unknown) => this.scheduleReopen(model, 1, error));
  }

  detach(): void {
    this.model = undefined;
    this.channel = undefined;
    this.drainWaiter = undefined;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.detach();
    for (const wake of [...this.channelWaiters.splice(0), ...this.slotWaiters.normal.splice(0), ...this.slotWaiters.urgent.splice(0)]) wake();
  }

  private async ready(): Promise<ConfirmChannel> {
    const deadline = this.options.connectTimeoutMs === undefined ? undefined : Date.now() + this.options.connectTimeoutMs;
    while (!this.channel) {
      if (this.stopped) throw new LtError('BROKER_PUBLISH', `${this.name}: publisher stopped`);
      const wait = new Promise<void>((resolve) => this.channelWaiters.push(resolve));
      if (deadline === undefined) {
        await wait;
      } else {
        const left = deadline - Date.now();
        if (left <= 0) throw new LtError('BROKER_UNREACHABLE', `${this.name}: no broker connection within ${this.options.connectTimeoutMs} ms`);
        await Promise.race([wait, new Promise((r) => setTimeout(r, left))]);
      }
    }
    return this.channel;
  }

  /** Publish one message; resolves once the broker confirms it. */
  async publish(message: OutgoingMessage): Promise<void> {
    const lane = laneOf(message);
    while (this.inFlight[lane] >= this.window) await new Promise<void>((resolve) => this.slotWaiters[lane].push(resolve));
    this.inFlight[lane] += 1;
    try {
      const channel = await this.ready();
      if (this.drainWaiter) await this.drainWaiter;
      await new Promise<void>((resolve, reject) => {
        const key = returnKey(message.exchange, message.routingKey, message.options.messageId);
        const accepted = channel.publish(message.exchange, message.routingKey, message.content, { ...message.options, mandatory: true }, (error) => {
          const unroutable = this.returned.delete(key);
          if (error && isNack(error)) {
            // RabbitMQ nacks a confirm when a queue is at its byte limit (overflow reject-publish)
            // and stores nothing: the caller keeps the message and retries it later.
            this.retire(channel);
            reject(new LtError('BROKER_QUEUE_FULL', `${this.name}: the broker refused the message to ${message.exchange}/${message.routingKey}: the queue it routes to is full; it is kept and retried`));
          } else if (error) {
            reject(new LtError('BROKER_PUBLISH', `${this.name}: the broker did not confirm the message to ${message.exchange}/${message.routingKey}: ${messageOf(error)}`));
          } else if (unroutable) {
            reject(new LtError('BROKER_PUBLISH', `${this.name}: no queue is bound to ${message.exchange} with key ${message.routingKey}; the message was not stored`));
          } else {
            resolve();
          }
        });
        if (!accepted && !this.drainWaiter) {
          this.drainWaiter = new Promise<void>((resolve) => {
            const done = (): void => {
              channel.removeListener('drain', done);
              channel.removeListener('close', done);
              this.drainWaiter = undefined;
              resolve();
            };
            channel.once('drain', done);
            channel.once('close', done);
          });
        }
      });
    } finally {
      this.inFlight[lane] -= 1;
      this.slotWaiters[lane].shift()?.();
    }
  }
}

/** The lane a lienthong message names in its headers (publishOptions); anything else is normal. */
function laneOf(message: OutgoingMessage): Lane {
  return message.options.headers?.['x-lt-lane'] === 'urgent' ? 'urgent' : 'normal';
}

function returnKey(exchange: string, routingKey: string, messageId: unknown): string {
  return `${exchange}\u0000${routingKey}\u0000${String(messageId ?? '')}`;
}

/** A negative confirm from the broker, as opposed to a channel that closed before confirming. */
function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked'; // amqplib's wording
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : 'negative acknowledgement';
}
