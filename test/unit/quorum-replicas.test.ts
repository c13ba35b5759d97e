/**
 * Which of the deployment's quorum queues lack a replica on a node of the cluster (the hub
 * warns at start with the `rabbitmq-queues grow` that heals it). Classic queues, other
 * deployments' queues and queues the listing gives no members for are not judged.
 */
import t from 'tap';
import type { QueueInfo } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import { queuesMissingReplicas } from '../../src/broker/topology.js';

const names = resourceNames('lt');
const nodes = ['rabbit@mq1', 'rabbit@mq2', 'rabbit@mq3'];
const queue = (name: string, extra: Partial<QueueInfo>): QueueInfo => ({ name, messages: 0, messages_ready: 0, messages_unacknowledged: 0, consumers: 0, arguments: {}, ...extra });

t.test('a queue declared before a node joined lacks it; the others are complete', async (t) => {
  const queues = [
    queue('lt.hub.inbound', { type: 'quorum', members: nodes }),
    queue('lt.hub.inbound.urgent', { type: 'quorum', members: ['rabbit@mq1', 'rabbit@mq2'] }),
    queue('lt.dead-letters', { type: 'quorum', members: ['rabbit@mq2'] }),
    queue('lt.some-classic', { type: 'classic' }),
    queue('other.hub.inbound', { type: 'quorum', members: ['rabbit@mq1'] }),
    queue('lt.agency.x', { type: 'quorum' }),
  ];
  t.same(queuesMissingReplicas(queues, nodes, names), [
    { queue: 'lt.hub.inbound.urgent', missing: ['rabbit@mq3'] },
    { queue: 'lt.dead-letters', missing: ['rabbit@mq1', 'rabbit@mq3'] },
  ]);
  t.same(queuesMissingReplicas(queues.slice(0, 1), nodes, names), [], 'nothing missing');
  t.same(queuesMissingReplicas([queue('lt.hub.inbound', { type: 'quorum', members: ['rabbit@solo'] })], ['rabbit@solo'], names), [], 'a lone broker');
});
