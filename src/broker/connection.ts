/**
 * One AMQP connection with automatic recovery (amqplib's `recovery` option). Channels do not
 * survive a reconnect, so everything that uses the broker is a `BrokerPart`: on every
 * (re)connect the connection asks each part to attach (open its channels, re-declare the
 * topology it owns, start consuming); on loss it tells each part to forget its channels.
 */
import { EventEmitter } from 'node:events';
import amqp, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { LtError } from '../errors.js';
import { QUEUE_TOKEN_PARAMETER } from './names.js';

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
  /** Connect attempts before `connect` gives up at start-up. Default 5 (about 3 s). */
  initialRetries?: number;
  /** Heartbeat in seconds. Default 15. */
  heartbeat?: number;
}

export interface BrokerConnectionEvents {
  up: [];
  down: [Error];
  retry: [{ attempt: number; delay: number; error: Error }];
}

/** `amqp://user:pass@host:port/vhost` with the password (and an edge's queue token) hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has(QUEUE_TOKEN_PARAMETER)) u.searchParams.set(QUEUE_TOKEN_PARAMETER, '***');
    return u.toString();
  } catch {
    return '(unparseable AMQP URL)';
  }
}

/** The same AMQP URL for another broker user (an agency's, with the token of its queue names). */
export function withCredentials(url: string, user: string, password: string, queueToken?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  if (queueToken) u.searchParams.set(QUEUE_TOKEN_PARAMETER, queueToken);
  return u.toString();
}

function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}

export class BrokerConnection extends EventEmitter<BrokerConnectionEvents> {
  private readonly parts = new Set<BrokerPart>();
  private model: ChannelModel | undefined;
  private closing = false;

  private constructor(
    private readonly recovering: RecoveringChannelModel,
    readonly url: string,
  ) {
    super();
    recovering.on('connect', (model: ChannelModel) => {
      this.model = model;
      this.emit('up');
    });
    recovering.on('disconnect', (error: Error) => {
      this.model = undefined;
      for (const part of this.parts) part.detach(error);
      if (!this.closing) this.emit('down', error);
    });
    recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => this.emit('retry', info));
    // Connection-level errors are followed by 'disconnect'; recovery handles them.
    recovering.on('error', () => {});
  }

  static async connect(url: string, options: BrokerConnectionOptions): Promise<BrokerConnection> {
    let connection: BrokerConnection | undefined;
    const setup = async (model: ChannelModel): Promise<void> => {
      // Parts attach before the connection is reported up, so a reconnect heals completely.
      for (const part of connection?.parts ?? []) await part.attach(model);
    };
    let recovering: RecoveringChannelModel;
    try {
      recovering = await amqp.connect(withHeartbeat(url, options.heartbeat ?? 15), {
        noDelay: true, // Nagle's algorithm would hold back every confirm round trip
        clientProperties: { connection_name: options.name },
        recovery: {
          initialDelay: 200,
          maxDelay: 10_000,
          initialMaxRetries: options.initialRetries ?? 5,
          maxRetries: Infinity,
          waitForConnect: false,
          setup,
        },
      });
      connection = new BrokerConnection(recovering, url);
      await recovering.waitForConnect();
    } catch (error) {
      throw new LtError(
        'BROKER_UNREACHABLE',
        `cannot connect to RabbitMQ at ${redactUrl(url)}: ${(error as Error).message}. ` +
          'Start one (docker compose up -d rabbitmq, or the Debian package rabbitmq-server) or set AMQP_URL',
        {},
        { cause: error },
      );
    }
    return connection;
  }

  get connected(): boolean {
    return this.model !== undefined;
  }

  /** Register a part; it attaches now if the connection is up, and after every reconnect. */
  async add(part: BrokerPart): Promise<void> {
    this.parts.add(part);
    if (this.model) await part.attach(this.model);
  }

  remove(part: BrokerPart): void {
    this.parts.delete(part);
  }

  /** A plain channel for one-off work (declarations, tests); closed by the caller. */
  async channel(): Promise<amqp.Channel> {
    return this.recovering.createChannel();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const part of this.parts) part.detach(new Error('connection closed'));
    this.parts.clear();
    await this.recovering.close().catch(() => {});
  }
}
