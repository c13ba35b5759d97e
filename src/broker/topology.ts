/**
 * The broker topology of design.md, declared by its owner: the hub owns every exchange and
 * queue (edges have no configure permission). Declarations are idempotent and re-run on every
 * reconnect, so a broker that lost its definitions heals when the hub comes back.
 * Queue arguments live here only: a re-declaration with different arguments is refused by
 * RabbitMQ (PRECONDITION_FAILED), so provisioning and the hub must use the same ones.
 */
import type { Channel } from 'amqplib';
import type { ManagementClient } from './management.js';
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
 * Delete everything a deployment prefix owns: queues, exchanges and agency users. For demos
 * and tests, which each run under their own prefix; never called on a production prefix by
 * lienthong itself.
 */
export async function deleteDeployment(api: ManagementClient, names: ResourceNames): Promise<void> {
  for (const queue of await api.listQueues()) if (names.owns(queue.name)) await api.deleteQueue(queue.name);
  for (const exchange of await api.listExchanges()) if (names.owns(exchange.name)) await api.deleteExchange(exchange.name);
  for (const user of await api.listUsers()) if (names.organOfUser(user.name) !== undefined) await api.deleteUser(user.name);
}
