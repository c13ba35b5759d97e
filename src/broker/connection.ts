/**
 * One AMQP connection with automatic recovery (amqplib's `recovery` option). Channels do not
 * survive a reconnect, so everything that uses the broker is a `BrokerPart`: on every
 * (re)connect the connection asks each part to attach (open its channels, re-declare the
 * topology it owns, start consuming); on loss it tells each part to forget its channels.
 *
 * At start-up a failure that retrying cannot cure (a refused login, a vhost the user may not
 * open, a declaration the broker refuses) is refused at once with advice; one that may pass (no
 * broker listening yet, a broker stopping) is retried a few times. Once up, the connection is
 * retried for ever. Every attempt, loss and recovery is logged here, so hub and edge say the
 * same thing about their broker.
 */
import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { createLogger, type Logger } from '../log.js';
import { explainBrokerFailure, type BrokerFailure } from './failures.js';
import { redactUrl, withHeartbeat } from './url.js';

export { redactUrl, withCredentials } from './url.js';

export interface BrokerPart {
  /** Name used in logs. */
  readonly name: string;
  /** Called on every (re)connect; a failure makes the connection retry later. */
  attach(model: ChannelModel): Promise<void>;
  /** The connection is gone: its channels are dead. */
  detach(reason: Error): void;
}

export interface BrokerConnectionOptions {
  /** Shown in the broker's connection list. */
  name: string;
  /** Connect attempts before `connect` gives up at start-up. Default 5 (about 6 s). */
  initialRetries?: number;
  /** Heartbeat in seconds. Default 15. */
  heartbeat?: number;
  /** Where losses, retries and recoveries are told. Default: a logger of component "broker". */
  log?: Logger;
}

export interface BrokerConnectionEvents {
  up: [];
  down: [Error];
  retry: [{ attempt: number; delay: number; error: Error }];
}

interface RetryInfo {
  attempt: number;
  delay: number;
  error: Error;
}

export class BrokerConnection extends EventEmitter<BrokerConnectionEvents> {
  private readonly parts = new Set<BrokerPart>();
  private model: ChannelModel | undefined;
  private closing = false;
  private everConnected = false;
  /** The last attempt scheduled since the connection was last up. */
  private attempt = 0;
  /** Why the connection was last lost (the cause of the first reconnect attempt). */
  private lostBecause: Error | undefined;
  /** Why the last attempt failed. */
  private lastFailure: BrokerFailure | undefined;
  /** A start-up failure that retrying cannot cure: `connect` refuses with it. */
  private refusal: BrokerFailure | undefined;

  private constructor(
    private readonly recovering: RecoveringChannelModel,
    readonly url: string,
    private readonly log: Logger,
  ) {
    super();
    recovering.on('connect', (model: ChannelModel) => {
      this.model = model;
      // Attempt numbers count the tries after the first (as the retries logged them).
      if (this.everConnected) this.log.info({ broker: redactUrl(url), attempt: this.attempt }, 'broker connection restored');
      else this.log.info({ broker: redactUrl(url), ...(this.attempt ? { attempt: this.attempt } : {}) }, 'connected to the broker');
      this.everConnected = true;
      this.attempt = 0;
      this.lostBecause = undefined;
      this.lastFailure = undefined;
      this.emit('up');
    });
    recovering.on('disconnect', (error: Error) => {
      this.model = undefined;
      for (const part of this.parts) part.detach(error);
      if (this.closing) return;
      this.lostBecause = error;
      const failure = explainBrokerFailure(error, url, 'connected');
      this.log.warn({ broker: redactUrl(url), code: failure.error.code, err: failure.error.message }, 'broker connection lost; reconnecting');
      this.emit('down', error);
    });
    recovering.on('connect-failed', (error: Error) => {
      this.lastFailure = explainBrokerFailure(error, url);
      if (!this.everConnected && this.lastFailure.permanent && !this.closing) {
        this.refusal = this.lastFailure;
        // Stops recovery before it schedules another attempt (it checks right after this event).
        void this.recovering.close().catch(() => {});
      }
    });
    recovering.on('reconnect-scheduled', (info: RetryInfo) => {
      this.attempt = info.attempt;
      const failure = explainBrokerFailure(info.error, url, info.error === this.lostBecause ? 'connected' : 'connecting');
      this.log.warn(
        { broker: redactUrl(url), attempt: info.attempt, delayMs: info.delay, code: failure.error.code, err: failure.error.message },
        `broker connection attempt ${info.attempt} failed; retrying in ${info.delay} ms`,
      );
      this.emit('retry', info);
    });
    recovering.on('reconnect-failed', (error: Error) => {
      if (this.everConnected) this.log.error({ broker: redactUrl(url), err: explainBrokerFailure(error, url).error.message }, 'gave up reconnecting to the broker');
    });
    // Connection-level errors are followed by 'disconnect' (logged there); recovery handles them.
    recovering.on('error', () => {});
  }

  static async connect(url: string, options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const log = options.log ?? createLogger('broker');
    let connection: BrokerConnection | undefined;
    const setup = async (model: ChannelModel): Promise<void> => {
      // Recovery listens to the model only after this set-up: until then an 'error' of the model
      // (a broker stopping, a socket reset) would have no listener and kill the process with a
      // stack trace. The 'close' that follows is what recovery acts on.
      model.on('error', () => {});
      // Nor does it notice a model that closed during set-up: it would count it as connected.
      let closedBy: Error | undefined;
      model.once('close', (error?: Error) => {
        closedBy = error ?? new Error('the connection closed while it was being set up');
      });
      // Parts attach before the connection is reported up, so a reconnect heals completely.
      for (const part of connection?.parts ?? []) {
        try {
          await part.attach(model);
        } catch (error) {
          throw explainBrokerFailure(closedBy ?? error, url, `setting up ${part.name}`).error;
        }
      }
      if (closedBy) throw explainBrokerFailure(closedBy, url, 'setting up the connection').error;
    };
    const recovering = await amqp.connect(withHeartbeat(url, options.heartbeat ?? 15), {
      noDelay: true, // Nagle's algorithm would hold back every confirm round trip
      clientProperties: { connection_name: options.name },
      recovery: {
        initialDelay: 200,
        maxDelay: 10_000,
        initialMaxRetries: options.initialRetries ?? 5,
        maxRetries: Infinity,
        waitForConnect: false, // the first attempt waits for the listeners below
        setup,
      },
    });
    connection = new BrokerConnection(recovering, url, log);
    try {
      await recovering.waitForConnect();
    } catch (error) {
      const failure = connection.refusal ?? connection.lastFailure ?? explainBrokerFailure(error, url);
      await recovering.close().catch(() => {});
      throw failure.error;
    }
    return connection;
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  /**
   * Register a part; it attaches now if the connection is up, and after every reconnect. A
   * failure that retrying cannot cure is thrown (the part is dropped); when the connection was
   * lost meanwhile, the part stays and attaches when it is back.
   */
  async add(part: BrokerPart): Promise<void> {
    this.parts.add(part);
    const model = this.model;
    if (!model) return;
    try {
      await part.attach(model);
    } catch (error) {
      const failure = explainBrokerFailure(error, this.url, `setting up ${part.name}`);
      if (!failure.permanent && this.model !== model && !this.closing) {
        this.log.warn({ part: part.name, code: failure.error.code, err: failure.error.message }, `${part.name} will be set up when the broker connection is back`);
        return;
      }
      this.parts.delete(part);
      throw failure.error;
    }
  }

  remove(part: BrokerPart): void {
    this.parts.delete(part);
  }

  /** A plain channel for one-off work (declarations, tests); closed by the caller. */
  async channel(): Promise<amqp.Channel> {
    const channel = await this.recovering.createChannel();
    // A channel error also rejects the operation that caused it: the caller sees it there.
    channel.on('error', () => {});
    return channel;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const part of this.parts) part.detach(new Error('connection closed'));
    this.parts.clear();
    await this.recovering.close().catch(() => {});
  }
}
