/**
 * The broker topology of design.md, declared by its owner: the hub owns every exchange and
 * queue (edges have no configure permission). Declarations are idempotent and re-run on every
 * reconnect, so a broker that lost its definitions heals when the hub comes back.
 * Queue arguments live here only: a re-declaration with different arguments is refused by
 * RabbitMQ (PRECONDITION_FAILED), so provisioning and the hub must use the same ones.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { ManagementClient, Policy, QueueInfo } from './management.js';
import { escapeForPermission, type Lane, type QueueOwner, type ResourceNames } from './names.js';

/** Deliveries of one message before it is dead-lettered as poison. */
export const DELIVERY_LIMIT = 20;

export const LANES: readonly Lane[] = ['urgent', 'normal'];

export function quorumQueueArguments(names: ResourceNames): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': names.dead,
  };
}

/**
 * The deployment's quorum queues that lack a replica on some node of the cluster. RabbitMQ gives
 * a quorum queue its replicas when it is declared (3.10: on up to three nodes), so a queue
 * declared before a node joined, or while it was missing, has none there until an operator
 * grows it (`rabbitmq-queues grow <node> all`); losing a node then costs more than it should.
 */
export function queuesMissingReplicas(queues: QueueInfo[], nodes: string[], names: ResourceNames): Array<{ queue: string; missing: string[] }> {
  return queues
    .filter((q) => q.type === 'quorum' && names.owns(q.name) && Array.isArray(q.members))
    .map((q) => ({ queue: q.name, missing: nodes.filter((node) => !q.members?.includes(node)) }))
    .filter((q) => q.missing.length > 0);
}

export function deadLetterQueueArguments(): Record<string, unknown> {
  return { 'x-queue-type': 'quorum' };
}

/** Exchanges, the hub's inbound lanes and the dead-letter queue. */
export async function declareHubTopology(channel: Channel, names: ResourceNames): Promise<void> {
  await channel.assertExchange(names.dead, 'fanout', { durable: true });
  await channel.assertQueue(names.deadLetters, { durable: true, arguments: deadLetterQueueArguments() });
  await channel.bindQueue(names.deadLetters, names.dead, '');
  await channel.assertExchange(names.submit, 'direct', { durable: true });
  await channel.assertExchange(names.deliver, 'direct', { durable: true });
  for (const lane of LANES) {
    await channel.assertQueue(names.hubInbound[lane], { durable: true, arguments: quorumQueueArguments(names) });
    await channel.bindQueue(names.hubInbound[lane], names.submit, lane);
  }
}

/**
 * Federation (design.md): the intake linked hubs publish to, consumed by this hub urgent first,
 * and one pair of durable lanes per link to another hub, which that link's process drains. The
 * link lanes dead-letter like the agency lanes: a packet the link cannot forward after
 * DELIVERY_LIMIT attempts goes to an operator, never away. A link the hub runs itself over
 * HTTP (the national axis) also has an inbox per lane, where it puts what it took from the far
 * end before telling the far end it was taken; the intake consumes it like the exchange's lanes.
 */
export async function declareFederationTopology(channel: Channel, names: ResourceNames, links: readonly string[], inboxLinks: readonly string[] = []): Promise<void> {
  await channel.assertExchange(names.dead, 'fanout', { durable: true });
  await channel.assertExchange(names.federationIn, 'direct', { durable: true });
  for (const lane of LANES) {
    await channel.assertQueue(names.hubFederationIn[lane], { durable: true, arguments: quorumQueueArguments(names) });
    await channel.bindQueue(names.hubFederationIn[lane], names.federationIn, lane);
    for (const link of links) await channel.assertQueue(names.federationQueue(link, lane), { durable: true, arguments: quorumQueueArguments(names) });
    for (const link of inboxLinks) await channel.assertQueue(names.federationInbox(link, lane), { durable: true, arguments: quorumQueueArguments(names) });
  }
}

/**
 * A linked hub's broker user may publish to this hub's federation intake exchange and do nothing
 * else: no configure, no read (RabbitMQ also checks that it publishes under its own user-id).
 */
export function linkPermissions(names: ResourceNames): { configure: string; write: string; read: string } {
  return { configure: '^$', write: `^${escapeForPermission(names.federationIn)}$`, read: '^$' };
}

/**
 * Channels that declare agencies' queues side by side. amqplib runs one RPC at a time on a
 * channel: on one channel, 2,000 agencies (8,000 declarations and bindings) held a hub's start
 * for about 45 s.
 */
export const DECLARING_CHANNELS = 8;

/** Every owner's lanes (declareAgencyQueues), on DECLARING_CHANNELS channels of their own. */
export async function declareAgenciesQueues(model: ChannelModel, names: ResourceNames, owners: readonly QueueOwner[], channels = DECLARING_CHANNELS): Promise<void> {
  let next = 0;
  const declareRest = async (): Promise<void> => {
    const channel = await model.createChannel();
    try {
      for (let owner = owners[next++]; owner !== undefined; owner = owners[next++]) await declareAgencyQueues(channel, names, owner);
    } finally {
      await channel.close().catch(() => {});
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(channels, owners.length) }, declareRest));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** An agency's two delivery lanes, bound to the deliver exchange. */
export async function declareAgencyQueues(channel: Channel, names: ResourceNames, owner: QueueOwner): Promise<void> {
  for (const lane of LANES) {
    const queue = names.agencyQueue(owner, lane);
    await channel.assertQueue(queue, { durable: true, arguments: quorumQueueArguments(names) });
    await channel.bindQueue(queue, names.deliver, names.deliverKey(owner.organId, lane));
  }
}

/** The same queues and bindings through the management API (provisioning from the CLI). */
export async function provisionAgencyQueues(api: ManagementClient, names: ResourceNames, owner: QueueOwner): Promise<void> {
  await api.putExchange(names.deliver, 'direct');
  await api.putExchange(names.dead, 'fanout');
  for (const lane of LANES) {
    const queue = names.agencyQueue(owner, lane);
    await api.putQueue(queue, quorumQueueArguments(names));
    await api.bindQueue(names.deliver, queue, names.deliverKey(owner.organId, lane));
  }
}

/**
 * An agency's edge may write to the submit exchange and read its own two queues, nothing else
 * (no configure: it cannot declare, delete or re-bind anything). The read pattern names the
 * queues exactly, token included, so it matches neither the old guessable names nor another token.
 */
export function agencyPermissions(names: ResourceNames, owner: QueueOwner): { configure: string; write: string; read: string } {
  return {
    configure: '^$',
    write: `^${escapeForPermission(names.submit)}$`,
    read: `^${escapeForPermission(names.agencyQueue(owner, 'normal'))}(\\.urgent)?$`,
  };
}

/**
 * Byte limits of the lanes. A full lane makes RabbitMQ nack the publisher's confirm
 * (`reject-publish`) instead of dropping anything: the packet stays with whoever published it
 * (the edge's outbox, the hub's inbound queue) and is retried. The dead-letter queue has no
 * limit: dead-lettering into a full queue would drop the packet, and the hub empties it at once.
 */
export interface QueueLimits {
  /** Each of the hub's two inbound lanes. */
  hubLaneBytes: number;
  /** Each lane of each agency. */
  agencyLaneBytes: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = { hubLaneBytes: 16 * 2 ** 30, agencyLaneBytes: 2 * 2 ** 30 };

/**
 * The limits as policies, not queue arguments: RabbitMQ refuses to re-declare a queue with other
 * arguments (PRECONDITION_FAILED), so arguments would break every deployment whose queues exist
 * and could never be changed afterwards; a policy applies to existing and future queues alike
 * and takes a new value at the next hub start. The priority is above the default 0 because one
 * policy only applies to a queue: an operator's catch-all policy must not silently remove these.
 */
export function queueLimitPolicies(names: ResourceNames, limits: QueueLimits): Array<{ name: string; policy: Policy }> {
  const policy = (pattern: string, bytes: number): Policy => ({
    pattern,
    'apply-to': 'queues',
    priority: 10,
    definition: { 'max-length-bytes': bytes, overflow: 'reject-publish' },
  });
  const prefix = escapeForPermission(names.prefix);
  return [
    { name: `${names.prefix}.limits.hub-inbound`, policy: policy(`^${prefix}\\.hub\\.inbound(\\.urgent)?$`, limits.hubLaneBytes) },
    { name: `${names.prefix}.limits.agency`, policy: policy(`^${prefix}\\.agency\\.`, limits.agencyLaneBytes) },
  ];
}

export async function applyQueueLimits(api: ManagementClient, names: ResourceNames, limits: QueueLimits): Promise<void> {
  for (const { name, policy } of queueLimitPolicies(names, limits)) await api.putPolicy(name, policy);
}

/** Connections and channels one agency's broker user may hold at once. */
export interface AgencyUserLimits {
  maxConnections: number;
  maxChannels: number;
}

/**
 * An edge holds one connection with three channels (publisher, one consumer per lane); a
 * reconnect may overlap the old connection for a moment. The defaults leave room for that and
 * for an operator's diagnosis client, not for a flood of connections.
 */
export const DEFAULT_AGENCY_USER_LIMITS: AgencyUserLimits = { maxConnections: 5, maxChannels: 20 };

export async function provisionAgencyUserLimits(api: ManagementClient, names: ResourceNames, organId: string, limits: AgencyUserLimits): Promise<void> {
  const user = names.agencyUser(organId);
  await api.putUserLimit(user, 'max-connections', limits.maxConnections);
  await api.putUserLimit(user, 'max-channels', limits.maxChannels);
}

/**
 * Delete everything a deployment prefix owns: queues, exchanges, agency users and policies. For demos
 * and tests, which each run under their own prefix; never called on a production prefix by
 * lienthong itself.
 */
export async function deleteDeployment(api: ManagementClient, names: ResourceNames): Promise<void> {
  for (const queue of await api.listQueues()) if (names.owns(queue.name)) await api.deleteQueue(queue.name);
  for (const exchange of await api.listExchanges()) if (names.owns(exchange.name)) await api.deleteExchange(exchange.name);
  for (const user of await api.listUsers()) {
    if (names.organOfUser(user.name) !== undefined || names.linkOfUser(user.name) !== undefined) await api.deleteUser(user.name);
  }
  for (const policy of await api.listPolicies()) if (names.owns(policy.name)) await api.deletePolicy(policy.name);
}
