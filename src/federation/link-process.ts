/**
 * A link process drains one link's queues (`P.federation.<name>`, urgent first) towards the
 * hub at the other end. Which process runs a link depends on its kind: over AMQP to another
 * lienthong hub (amqp-link.ts), over HTTP to the national axis (axis-link.ts). The hub starts one per
 * link, inside its own process, and reads their counters for its metrics and dashboard.
 */
import type { BrokerConnection } from '../broker/connection.js';
import type { ResourceNames } from '../broker/names.js';
import type { Logger } from '../log.js';
import { AmqpLink } from './amqp-link.js';
import { AxisLink } from './axis-link.js';
import type { LinkConfig, LinkKind } from './config.js';

export interface LinkStats {
  name: string;
  kind: LinkKind;
  /** Whether the remote end can be reached right now. */
  connected: boolean;
  /** Packets forwarded and confirmed by the remote end since the hub started. */
  forwarded: number;
  /** Attempts that failed since the hub started (each is retried). */
  failures: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
}

export interface LinkProcess {
  readonly name: string;
  /** Start forwarding; resolves once consuming is set up (the remote end may still be unreachable). */
  start(): Promise<void>;
  /** Stop taking packets, finish (and acknowledge) those in hand, let go of the remote end. */
  stop(): Promise<void>;
  stats(): LinkStats;
}

export interface LinkProcessDeps {
  /** The hub's own broker connection, where the link's queues are. */
  local: BrokerConnection;
  names: ResourceNames;
  hubOrganId: string;
  log: Logger;
  /** Told about each packet the remote end confirmed (metrics). */
  onForwarded?: (link: string) => void;
  /** Told about each failed attempt (metrics). */
  onFailure?: (link: string, error: Error) => void;
  /**
   * Links the hub runs over HTTP (the axis) put what they take from the far end here: publish to
   * an inbox queue of this hub's broker, resolved once the broker confirmed it.
   */
  inbound?: (queue: string, bytes: Buffer) => Promise<void>;
}

type Factories = { [K in LinkKind]: (link: Extract<LinkConfig, { kind: K }>, deps: LinkProcessDeps) => LinkProcess };

/** The process of each kind of link. A new kind adds its entry here, and its settings to config.ts. */
export const LINK_PROCESSES: Factories = {
  amqp: (link, deps) => new AmqpLink(link, deps),
  axis: (link, deps) => new AxisLink(link, deps),
};

export function linkProcess(link: LinkConfig, deps: LinkProcessDeps): LinkProcess {
  const make = LINK_PROCESSES[link.kind] as (link: LinkConfig, deps: LinkProcessDeps) => LinkProcess;
  return make(link, deps);
}
