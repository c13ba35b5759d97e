/**
 * A link to the national exchange axis as the hub runs it: the axis connector (axis/) drains the
 * link's queues towards the axis, and what it takes from the axis goes into the link's inbox on
 * this hub's broker (statuses on the urgent lane: recalls must not wait behind documents), from
 * which the intake takes it like a packet another hub forwarded. The axis is told a packet was
 * taken only once the broker confirmed it in the inbox.
 */
import type { Lane } from '../broker/names.js';
import { AxisConnector } from './axis/connector.js';
import type { AxisLinkConfig } from './config.js';
import type { LinkProcess, LinkProcessDeps, LinkStats } from './link-process.js';

export class AxisLink implements LinkProcess {
  readonly name: string;
  private readonly connector: AxisConnector;

  constructor(link: AxisLinkConfig, deps: LinkProcessDeps) {
    this.name = link.name;
    const inbound = deps.inbound;
    if (!inbound) throw new Error(`link "${link.name}" of kind axis needs the hub's inbox publisher`);
    const { names } = deps;
    const log = deps.log.child({ link: link.name });
    this.connector = new AxisConnector({
      link: link.name,
      settings: link.axis,
      broker: deps.local,
      queues: { urgent: names.federationQueue(link.name, 'urgent'), normal: names.federationQueue(link.name, 'normal') },
      sink: (bytes, meta) => {
        const lane: Lane = meta.messageType === 'status' ? 'urgent' : 'normal';
        return inbound(names.federationInbox(link.name, lane), bytes);
      },
      log,
    });
    this.connector.on('forwarded', () => deps.onForwarded?.(link.name));
    this.connector.on('retry', ({ error }) => deps.onFailure?.(link.name, error));
    this.connector.on('refused', ({ error }) => deps.onFailure?.(link.name, error));
  }

  start(): Promise<void> {
    return this.connector.start();
  }

  stop(): Promise<void> {
    return this.connector.stop();
  }

  /** Ask the axis now for what it holds (tests, and an operator who knows something is there). */
  pollNow(): void {
    this.connector.pollNow();
  }

  /** Packets taken from the link's queues and not yet accepted by the axis (held through an outage). */
  waiting(): number {
    return this.connector.counters().waiting;
  }

  stats(): LinkStats {
    const c = this.connector.counters();
    return {
      name: this.name,
      kind: 'axis',
      connected: c.up,
      forwarded: c.forwarded,
      failures: c.failures,
      lastSuccessAt: c.lastSuccessAt?.toISOString() ?? null,
      lastFailureAt: c.lastFailureAt?.toISOString() ?? null,
      lastError: c.lastError ? `${c.lastError.code}: ${c.lastError.message}` : null,
    };
  }
}
