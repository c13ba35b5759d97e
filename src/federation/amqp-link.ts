/**
 * A link to another lienthong hub over AMQP. It consumes the link's two queues on this hub's
 * broker, urgent first, and publishes each packet, its bytes exactly as the sender signed them,
 * to the remote hub's `P'.federation-in` exchange as the broker user the remote hub provisioned
 * for this one (`hub link add`), with that user as the AMQP user-id, which the remote broker
 * validates: the remote hub knows which link a packet came through before it reads it. A packet
 * is acknowledged here only after the remote broker confirmed it. While the remote broker cannot
 * be reached the link consumes nothing: its packets wait, durable, in its queues.
 */
import type { Options } from 'amqplib';
import { BrokerConnection } from '../broker/connection.js';
import { LaneConsumer, type Delivery, type Verdict } from '../broker/consumer.js';
import { resourceNames, type ResourceNames } from '../broker/names.js';
import { ConfirmPublisher } from '../broker/publisher.js';
import { declareFederationTopology } from '../broker/topology.js';
import type { Logger } from '../log.js';
import { abortableDelay } from '../time-limit.js';
import type { AmqpLinkConfig } from './config.js';
import type { LinkProcess, LinkProcessDeps, LinkStats } from './link-process.js';

/** Packets forwarded at once (and taken per lane): enough to fill a long link's round trips. */
const CONCURRENCY = 16;
/** How long a publish waits for the remote broker before the attempt counts as failed. */
const CONNECT_TIMEOUT_MS = 60_000;
/** After a failed attempt, the wait before the packet goes back to its queue (doubling, capped). */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

export class AmqpLink implements LinkProcess {
  readonly name: string;
  private readonly remoteNames: ResourceNames;
  private readonly log: Logger;
  private remote: BrokerConnection | undefined;
  private publisher: ConfirmPublisher | undefined;
  private consumer: LaneConsumer | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private consecutiveFailures = 0;
  private readonly counters: Omit<LinkStats, 'connected'>;

  constructor(
    private readonly link: AmqpLinkConfig,
    private readonly deps: LinkProcessDeps,
  ) {
    this.name = link.name;
    this.remoteNames = resourceNames(link.amqp.prefix);
    this.log = deps.log.child({ link: link.name });
    this.counters = { name: link.name, kind: 'amqp', forwarded: 0, failures: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null };
  }

  async start(): Promise<void> {
    // In the background: a province whose hub is down must not keep this hub from starting.
    this.remote = await BrokerConnection.connect(this.link.amqp.urls, {
      name: `lienthong link ${this.link.name} from ${this.deps.hubOrganId}`,
      background: true,
      log: this.log,
      ...(this.link.amqp.tls ? { tls: this.link.amqp.tls } : {}),
    });
    this.publisher = new ConfirmPublisher({ name: `link ${this.link.name}`, log: this.log, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    this.remote.on('up', () => void this.consume());
    this.remote.on('down', () => this.pause());
    this.remote.on('refused', (error) =>
      this.log.error({ code: error.code, err: error.message }, `the broker of link "${this.link.name}" refuses this hub (${error.message}); its packets wait in their queues until the link's settings are fixed and the hub restarted`),
    );
    await this.remote.add(this.publisher);
    if (this.remote.connected) await this.consume();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.pause();
    this.publisher?.stop();
    await this.remote?.close(1000);
  }

  stats(): LinkStats {
    return { ...this.counters, connected: this.remote?.connected ?? false };
  }

  /** The remote end is up: take packets from the link's queues. */
  private async consume(): Promise<void> {
    if (this.stopped || this.consumer) return;
    const names = this.deps.names;
    const consumer = new LaneConsumer({
      name: `link ${this.link.name}`,
      queues: [
        { queue: names.federationQueue(this.link.name, 'urgent'), lane: 'urgent', prefetch: CONCURRENCY },
        { queue: names.federationQueue(this.link.name, 'normal'), lane: 'normal', prefetch: CONCURRENCY },
      ],
      concurrency: CONCURRENCY,
      // A backlog (the remote hub was down) crosses urgent first, all of it: the prefetch windows
      // alone would let the normal lane's deliveries slip in while the urgent one refills.
      strictUrgent: true,
      handler: this.forward,
      topology: (channel) => declareFederationTopology(channel, names, [this.link.name]),
      log: this.log,
      onError: (error) => this.log.error({ err: error }, 'forwarding failed; the packet stays in the link queue'),
    });
    this.consumer = consumer;
    try {
      await this.deps.local.add(consumer);
      this.log.info('link up: forwarding');
    } catch (error) {
      this.consumer = undefined;
      this.log.error({ err: (error as Error).message }, 'cannot consume the link queues');
    }
  }

  /** The remote end is gone: stop taking packets (those in hand finish or go back). */
  private async pause(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    this.consumer = undefined;
    this.deps.local.remove(consumer);
    await consumer.stop();
  }

  private forward = async (delivery: Delivery): Promise<Verdict> => {
    const message = delivery.message;
    const publisher = this.publisher;
    if (!publisher) return 'retry';
    try {
      await publisher.publish({
        exchange: this.remoteNames.federationIn,
        routingKey: delivery.lane,
        content: message.content,
        options: forwardOptions(message.properties, this.link.amqp.user),
      });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      this.counters.failures += 1;
      this.counters.lastFailureAt = new Date().toISOString();
      this.counters.lastError = e.message;
      this.deps.onFailure?.(this.link.name, e);
      const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.consecutiveFailures);
      this.consecutiveFailures += 1;
      this.log.warn({ packetId: message.properties.messageId, failures: this.consecutiveFailures, retryMs: wait, err: e.message }, `forwarding over link "${this.link.name}" failed; retrying`);
      await abortableDelay(wait, this.stopping.signal);
      return 'retry';
    }
    this.consecutiveFailures = 0;
    this.counters.forwarded += 1;
    this.counters.lastSuccessAt = new Date().toISOString();
    this.deps.onForwarded?.(this.link.name);
    this.log.debug({ packetId: message.properties.messageId, lane: delivery.lane }, 'packet forwarded');
    return 'ack';
  };
}

/**
 * The message as the remote hub expects it from a link: the same id, type, time and x-lt-*
 * headers (the hop records among them), the link's user as user-id. What the local broker added
 * (delivery counts, deaths) stays here.
 */
function forwardOptions(properties: Delivery['message']['properties'], user: string): Options.Publish {
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties.headers ?? {})) if (key.startsWith('x-lt-')) headers[key] = value;
  return {
    persistent: true,
    userId: user,
    headers,
    ...(properties.messageId !== undefined ? { messageId: properties.messageId as string } : {}),
    ...(properties.type !== undefined ? { type: properties.type as string } : {}),
    ...(properties.timestamp !== undefined ? { timestamp: properties.timestamp as number } : {}),
    ...(properties.contentType !== undefined ? { contentType: properties.contentType as string } : {}),
    ...(properties.contentEncoding !== undefined ? { contentEncoding: properties.contentEncoding as string } : {}),
  };
}
