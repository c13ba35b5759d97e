/**
 * One AMQP connection with automatic recovery (amqplib's `recovery` option). Channels do not
 * survive a reconnect, so everything that uses the broker is a `BrokerPart`: on every
 * (re)connect the connection asks each part to attach (open its channels, re-declare the
 * topology it owns, start consuming); on loss it tells each part to forget its channels.
 *
 * At start-up a failure that retrying cannot cure (a refused login, a vhost the user may not
 * open, a declaration the broker refuses) is refused at once with advice; one that may pass (no
 * broker listening yet, a broker stopping) is retried a few times, or, in the background, for
 * ever (an edge works offline). Once up, the connection is retried for ever. Attempts back off
 * from RECONNECT_FIRST_DELAY_MS, doubling, to at most RECONNECT_MAX_DELAY_MS. Every attempt,
 * loss, recovery, and the broker blocking and unblocking publishers (a memory or disk alarm) is
 * logged here, so hub and edge say the same thing about their broker.
 *
 * A clustered broker is several addresses: each attempt after a failure or a loss goes to the
 * next node of the list, so a dead node costs one attempt, not the connection.
 */
import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { LtError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { explainBrokerFailure, type BrokerFailure } from './failures.js';
import { settlesWithin } from '../time-limit.js';
import { addressList, amqpTarget, redactUrl, withHeartbeat, type AmqpTarget } from './url.js';
import { loadBrokerTls, tlsSocketOptions, type BrokerTls } from './tls.js';
import { coalesceWrites, connectionSocket } from './socket-writes.js';

export { redactUrl, withCredentials } from './url.js';

/** The first reconnect attempt waits this long; each next one twice as long (± 20 % jitter)... */
export const RECONNECT_FIRST_DELAY_MS = 200;
/** ...up to this cap: a broker back after a long outage is found within this long. */
export const RECONNECT_MAX_DELAY_MS = 10_000;

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
  /** Longest wait between two attempts. Default RECONNECT_MAX_DELAY_MS. */
  maxDelayMs?: number;
  /**
   * Resolve at once and keep trying in the background, for ever: the first outcome is told by
   * `firstOutcome()`, a refusal retrying cannot cure by the 'refused' event.
   */
  background?: boolean;
  /**
   * TLS of amqps:// URLs (the configuration's "brokerTls"): the CA that must have signed the
   * broker's certificate and, with a client certificate, the EXTERNAL login (the password of
   * the URL is not sent). Read once, here.
   */
  tls?: BrokerTls;
}

export interface BrokerConnectionEvents {
  up: [];
  down: [Error];
  retry: [{ attempt: number; delay: number; error: Error }];
  /** Before the first connection (background start): a failure retrying cannot cure; no more attempts. */
  refused: [LtError];
  /** The broker stopped reading from this connection (a resource alarm): publishing waits. */
  blocked: [string];
  unblocked: [];
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
  /** Since when the broker blocks this connection (resource alarm), with its reason. */
  private blockedSince: { at: number; reason: string } | undefined;
  /** Index in `addresses` of the node being tried or used. */
  private current = 0;

  private constructor(
    private readonly recovering: RecoveringChannelModel,
    /** Every node's AMQP URL, in the order tried. */
    readonly addresses: readonly string[],
    /** With several nodes: points amqplib's next attempt at this node. */
    aim: ((address: string) => void) | undefined,
    private readonly log: Logger,
  ) {
    super();
    const url = (): string => this.url;
    recovering.on('connect', (model: ChannelModel) => {
      this.model = model;
      // Attempt numbers count the tries after the first (as the retries logged them).
      if (this.everConnected) this.log.info({ broker: redactUrl(url()), attempt: this.attempt }, 'broker connection restored');
      else this.log.info({ broker: redactUrl(url()), ...(this.attempt ? { attempt: this.attempt } : {}) }, 'connected to the broker');
      this.everConnected = true;
      this.attempt = 0;
      this.lostBecause = undefined;
      this.lastFailure = undefined;
      this.emit('up');
    });
    recovering.on('disconnect', (error: Error) => {
      this.model = undefined;
      this.blockedSince = undefined; // a new connection starts unblocked
      for (const part of this.parts) part.detach(error);
      if (this.closing) return;
      this.lostBecause = error;
      const failure = explainBrokerFailure(error, url(), 'connected');
      this.log.warn({ broker: redactUrl(url()), code: failure.error.code, err: failure.error.message }, 'broker connection lost; reconnecting');
      this.emit('down', error);
    });
    recovering.on('connect-failed', (error: Error) => {
      this.lastFailure = explainBrokerFailure(error, url());
      if (!this.everConnected && this.lastFailure.permanent && !this.closing) {
        this.refusal = this.lastFailure;
        // Stops recovery before it schedules another attempt (it checks right after this event).
        void this.recovering.close().catch(() => {});
        this.emit('refused', this.lastFailure.error);
      }
    });
    recovering.on('blocked', (reason: string) => {
      this.blockedSince = { at: Date.now(), reason };
      this.log.warn(
        { broker: redactUrl(url()), reason },
        `the broker blocks publishers (${reason}): nothing is published until it unblocks; what waits stays with its sender`,
      );
      this.emit('blocked', reason);
    });
    recovering.on('unblocked', () => {
      const since = this.blockedSince;
      this.blockedSince = undefined;
      const seconds = since ? Math.round((Date.now() - since.at) / 1000) : undefined;
      this.log.info({ broker: redactUrl(url()), ...(seconds !== undefined ? { seconds } : {}) }, 'the broker unblocked publishers; publishing resumes');
      this.emit('unblocked');
    });
    recovering.on('reconnect-scheduled', (info: RetryInfo) => {
      this.attempt = info.attempt;
      const failedAt = url();
      if (aim) {
        this.current = (this.current + 1) % addresses.length;
        aim(url());
      }
      const failure = explainBrokerFailure(info.error, failedAt, info.error === this.lostBecause ? 'connected' : 'connecting');
      this.log.warn(
        {
          broker: redactUrl(failedAt),
          ...(aim ? { next: redactUrl(url()) } : {}),
          attempt: info.attempt,
          delayMs: info.delay,
          code: failure.error.code,
          err: failure.error.message,
        },
        `broker connection attempt ${info.attempt} failed; retrying in ${info.delay} ms`,
      );
      this.emit('retry', info);
    });
    recovering.on('reconnect-failed', (error: Error) => {
      if (this.everConnected) this.log.error({ broker: redactUrl(url()), err: explainBrokerFailure(error, url()).error.message }, 'gave up reconnecting to the broker');
    });
    // Connection-level errors are followed by 'disconnect' (logged there); recovery handles them.
    recovering.on('error', () => {});
  }

  /** `url`: one AMQP URL, or one per node of a cluster (an array, or a comma-separated text). */
  static async connect(url: string | readonly string[], options: BrokerConnectionOptions): Promise<BrokerConnection> {
    const log = options.log ?? createLogger('broker');
    const listed = addressList(url);
    const addresses = listed.length > 0 ? listed : [typeof url === 'string' ? url : ''];
    const first = addresses[0] as string;
    const heartbeat = options.heartbeat ?? 15;
    // One node: the URL as amqplib takes it. Several: an object amqplib reads at each attempt,
    // emptied and refilled for the node to try next.
    const target: Partial<AmqpTarget> | undefined = addresses.length > 1 ? amqpTarget(withHeartbeat(first, heartbeat)) : undefined;
    const aim = target
      ? (address: string): void => {
          for (const key of Object.keys(target)) delete target[key as keyof AmqpTarget];
          Object.assign(target, amqpTarget(withHeartbeat(address, heartbeat)));
        }
      : undefined;
    const tls = options.tls ? loadBrokerTls(options.tls) : undefined;
    let connection: BrokerConnection | undefined;
    const setup = async (model: ChannelModel): Promise<void> => {
      const socket = connectionSocket(model);
      if (socket) coalesceWrites(socket);
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
          throw explainBrokerFailure(closedBy ?? error, connection?.url ?? first, `setting up ${part.name}`).error;
        }
      }
      if (closedBy) throw explainBrokerFailure(closedBy, connection?.url ?? first, 'setting up the connection').error;
    };
    const recovering = await amqp.connect(target ?? withHeartbeat(first, heartbeat), {
      noDelay: true, // Nagle's algorithm would hold back every confirm round trip
      clientProperties: { connection_name: options.name },
      ...(tls ? tlsSocketOptions(tls) : {}),
      ...(tls?.cert ? { credentials: amqp.credentials.external() } : {}),
      recovery: {
        initialDelay: RECONNECT_FIRST_DELAY_MS,
        maxDelay: Math.max(RECONNECT_FIRST_DELAY_MS, options.maxDelayMs ?? RECONNECT_MAX_DELAY_MS),
        initialMaxRetries: options.background ? Infinity : (options.initialRetries ?? 5),
        maxRetries: Infinity,
        waitForConnect: false, // the first attempt waits for the listeners below
        setup,
      },
    });
    connection = new BrokerConnection(recovering, addresses, aim, log);
    if (options.background) {
      void recovering.waitForConnect().catch(() => {}); // told by 'up' and 'refused'
      return connection;
    }
    try {
      await recovering.waitForConnect();
    } catch (error) {
      const failure = connection.refusal ?? connection.lastFailure ?? explainBrokerFailure(error, connection.url);
      await recovering.close().catch(() => {});
      throw failure.error;
    }
    return connection;
  }

  /** The AMQP URL of the node in use (or being tried). */
  get url(): string {
    return this.addresses[this.current] as string;
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  /** The reason the broker gave for blocking this connection, while it does. */
  get blocked(): string | undefined {
    return this.blockedSince?.reason;
  }

  /**
   * How the first attempt of a background start ended: 'up', or 'retrying' (the broker cannot
   * be reached yet; attempts go on). A refusal retrying cannot cure rejects.
   */
  firstOutcome(): Promise<'up' | 'retrying'> {
    if (this.model) return Promise.resolve('up');
    if (this.refusal) return Promise.reject(this.refusal.error);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.off('up', onUp);
        this.off('retry', onRetry);
        this.off('refused', onRefused);
      };
      const onUp = (): void => {
        done();
        resolve('up');
      };
      const onRetry = (): void => {
        done();
        resolve('retrying');
      };
      const onRefused = (error: LtError): void => {
        done();
        reject(error);
      };
      this.on('up', onUp);
      this.on('retry', onRetry);
      this.on('refused', onRefused);
    });
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

  /**
   * Close, waiting at most `timeoutMs` for the broker to answer: a broker that blocks this
   * connection (an alarm) or stopped answering never does. Past it the socket is destroyed:
   * what was not confirmed stays with its sender, unacknowledged deliveries go back to their
   * queues.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    for (const part of this.parts) part.detach(new Error('connection closed'));
    this.parts.clear();
    const model = this.model;
    const closed = await settlesWithin(this.recovering.close(), timeoutMs);
    if (!closed) {
      this.log.warn({ broker: redactUrl(this.url), timeoutMs }, 'the broker did not answer the close in time; dropping the connection');
    }
    // Destroyed with an error, amqplib closes its channels too: callbacks still awaiting a
    // confirm are called with it, and nothing lingers half-closed.
    const socket = (model as unknown as { connection?: { stream?: { destroyed?: boolean; destroy?: (error: Error) => void } } } | undefined)?.connection?.stream;
    if (socket && !socket.destroyed) socket.destroy?.(new Error('connection dropped at stop'));
  }
}
