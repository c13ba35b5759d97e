/**
 * Whether a RabbitMQ node can hold the agencies a hub serves, known before it bites: every
 * agency costs the broker two quorum queues (file handles and memory on every node holding a
 * replica) and one edge connection (a socket, i.e. a file descriptor, and memory). A node at its
 * file-descriptor limit stops accepting connections and can wedge; one at its memory watermark
 * blocks every publisher. Pure: the facts come from the management API (/api/nodes), the
 * figures per queue and per connection from bench/capacity.ts.
 */

import type { NodeStats } from './management.js';

/** What one node says about its budget (the management API's /api/nodes, one row). */
export interface BrokerFacts {
  /** Erlang node name, e.g. rabbit@host. */
  node: string;
  /** The node's open-file limit (`ulimit -n` of the process). */
  fdTotal: number;
  /** How many connections it accepts (RabbitMQ keeps part of fdTotal for sockets). */
  socketsTotal: number;
  /** The memory high watermark in bytes (vm_memory_high_watermark): above it, publishers are blocked. */
  memLimit: number;
}

/** What a deployment costs a node; the defaults are measured by bench/capacity.ts. */
export interface CapacityModel {
  /**
   * File handles a quorum queue holds, on average, once its log has been written out to segment
   * files (its readers keep them open). An idle queue whose messages are still in the shared
   * WAL holds none (bench/capacity.ts on RabbitMQ 3.10: 2,000 agencies, no more open files), so
   * this is the cost under traffic, the one that wedges a busy broker.
   */
  fdsPerQueue: number;
  /** Memory of one idle quorum queue replica, bytes (bench/capacity.ts: 160-175 KiB on RabbitMQ 3.10.8, 2,000 agencies). */
  memPerQueue: number;
  /** Memory of one AMQP connection with its channels, bytes. */
  memPerConnection: number;
  /** What the node uses with no lienthong queue at all (Erlang VM, plugins, Mnesia), bytes. */
  memBaseline: number;
  /**
   * Descriptors RabbitMQ keeps for itself out of fdTotal (the Erlang runtime, Mnesia, logs):
   * they are never available to queues and connections.
   */
  fdReserved: number;
  /** The hub's own queues (two inbound lanes, dead letters) and connections (hub, CLI, management). */
  hubQueues: number;
  hubConnections: number;
  /** Connections one agency's edge holds. */
  connectionsPerAgency: number;
}

export const DEFAULT_CAPACITY_MODEL: CapacityModel = {
  fdsPerQueue: 2.4,
  memPerQueue: 176 * 1024,
  memPerConnection: 120 * 1024,
  memBaseline: 160 * 2 ** 20,
  fdReserved: 100,
  hubQueues: 3,
  hubConnections: 4,
  connectionsPerAgency: 1,
};

/** The open-file limit deploy/ configures for RabbitMQ (systemd LimitNOFILE, compose ulimits). */
export const RECOMMENDED_BROKER_FDS = 65_536;

export interface CapacityEstimate {
  node: string;
  agencies: number;
  ok: boolean;
  /** Descriptors the agencies (and the hub) need, and those the node has for them. */
  needFds: number;
  haveFds: number;
  /** Connections needed and accepted. */
  needSockets: number;
  haveSockets: number;
  /** Memory the queues and connections need, and the watermark. */
  needMem: number;
  haveMem: number;
  /** How many agencies this node holds at most (the tightest of the three budgets). */
  maxAgencies: number;
  /** One sentence per budget exceeded, naming the setting to change; empty when ok. */
  advice: string[];
}

const MIB = 2 ** 20;

/** The open-file limit that holds `needFds` with a quarter to spare, rounded up to a multiple of 1,024. */
function fdLimitFor(needFds: number, model: CapacityModel): number {
  return Math.ceil(((needFds + model.fdReserved) * 1.25) / 1024) * 1024;
}

export function estimate(agencies: number, queuesPerAgency: number, facts: BrokerFacts, model: CapacityModel = DEFAULT_CAPACITY_MODEL): CapacityEstimate {
  const queues = agencies * queuesPerAgency + model.hubQueues;
  const connections = agencies * model.connectionsPerAgency + model.hubConnections;
  const needFds = Math.ceil(queues * model.fdsPerQueue) + connections;
  const haveFds = Math.max(0, facts.fdTotal - model.fdReserved);
  const needMem = Math.ceil(model.memBaseline + queues * model.memPerQueue + connections * model.memPerConnection);
  const haveMem = facts.memLimit;

  const perAgencyFds = queuesPerAgency * model.fdsPerQueue + model.connectionsPerAgency;
  const perAgencyMem = queuesPerAgency * model.memPerQueue + model.connectionsPerAgency * model.memPerConnection;
  const fixedFds = model.hubQueues * model.fdsPerQueue + model.hubConnections;
  const fixedMem = model.memBaseline + model.hubQueues * model.memPerQueue + model.hubConnections * model.memPerConnection;
  const maxAgencies = Math.max(
    0,
    Math.min(
      Math.floor((haveFds - fixedFds) / perAgencyFds),
      Math.floor((facts.socketsTotal - model.hubConnections) / model.connectionsPerAgency),
      Math.floor((haveMem - fixedMem) / perAgencyMem),
    ),
  );

  const advice: string[] = [];
  const who = `RabbitMQ node ${facts.node}`;
  if (needFds > haveFds || connections > facts.socketsTotal) {
    advice.push(
      `${who} has an open-file limit of ${facts.fdTotal} (${haveFds} for queues and connections, ${facts.socketsTotal} connections) ` +
        `but ${agencies} agencies need about ${needFds} file descriptors and ${connections} connections: it will refuse connections and may stop answering. ` +
        `Raise the broker's open-file limit to at least ${Math.max(fdLimitFor(needFds, model), 4096)} (deploy/ uses ${RECOMMENDED_BROKER_FDS}): ` +
        'LimitNOFILE= in the rabbitmq-server systemd unit (deploy/systemd/rabbitmq-server.service.d/limits.conf), ' +
        '`ulimit -n` in the shell or rabbitmq-env.conf that starts it, or `ulimits: nofile` in docker-compose.yml; then restart the node',
    );
  }
  if (needMem > haveMem) {
    advice.push(
      `${who} blocks publishers above ${Math.round(haveMem / MIB)} MiB (its memory high watermark) but ${agencies} agencies need about ${Math.round(needMem / MIB)} MiB: ` +
        `raise vm_memory_high_watermark.relative (or .absolute) in rabbitmq.conf (deploy/rabbitmq.conf) to at least ${Math.ceil((needMem * 1.25) / MIB)} MiB, or give the node more memory`,
    );
  }
  return { node: facts.node, agencies, ok: advice.length === 0, needFds, haveFds, needSockets: connections, haveSockets: facts.socketsTotal, needMem, haveMem, maxAgencies, advice };
}

/** The tightest of several nodes' estimates (a cluster: every node holds a replica of every queue). */
export function tightest(estimates: CapacityEstimate[]): CapacityEstimate | undefined {
  return [...estimates].sort((a, b) => Number(a.ok) - Number(b.ok) || a.maxAgencies - b.maxAgencies)[0];
}

/** The budgets of the nodes that run and have published their statistics (a node just started has not). */
export function brokerFactsOf(nodes: readonly NodeStats[]): BrokerFacts[] {
  return nodes
    .filter((n) => n.running && typeof n.fd_total === 'number' && typeof n.sockets_total === 'number' && typeof n.mem_limit === 'number')
    .map((n) => ({ node: n.name, fdTotal: n.fd_total as number, socketsTotal: n.sockets_total as number, memLimit: n.mem_limit as number }));
}
