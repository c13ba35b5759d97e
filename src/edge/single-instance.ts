/**
 * One running edge per agency. Two would share one outbox and one inbox (each relaying and
 * consuming, one of them maybe an orphan nobody knows of), so a second edge refuses to start,
 * at once and saying why: on the same machine by the data directory's lock, from anywhere by
 * the agency's queues already having a consumer. (RabbitMQ 3.10 ignores exclusive consumers
 * on quorum queues, so the queues are asked for their consumer count instead.)
 *
 * Commands that only open the database (`lienthong send`, evidence, status) take no lock: they
 * write beside a running edge by design.
 */
import type { BrokerConnection } from '../broker/connection.js';
import type { ResourceNames } from '../broker/names.js';
import { LtError } from '../errors.js';
import { InstanceLock } from '../store/instance-lock.js';
import type { EdgeConfig } from './config.js';

export function lockDataDirectory(config: Pick<EdgeConfig, 'organId' | 'dataDir'>): InstanceLock {
  return InstanceLock.acquire({
    field: 'dataDir',
    dir: config.dataDir,
    name: 'edge',
    code: 'EDGE_ALREADY_RUNNING',
    refusal: (holder, dir) =>
      `another edge${holder ? `, PID ${holder.pid} on ${holder.host} (since ${holder.since}),` : ''} holds the data directory ${dir} of ${config.organId}; ` +
      'stop that one first (one edge per agency), or give this one its own dataDir',
  });
}

/** How long the broker may keep the consumers of an edge whose machine went away: two heartbeats of 15 s. */
const ORPHAN_CONSUMER_SECONDS = 30;

/**
 * An edge killed a moment ago (kill -9, then a restart) has its consumers removed by the broker
 * as it sees the connection close, which a busy broker may do a little after the restart asks:
 * a consumer still there after this grace is a live edge.
 */
const CLOSING_CONSUMER_GRACE_MS = 2000;
const RECHECK_MS = 250;

export async function assertQueuesFree(connection: BrokerConnection, config: Pick<EdgeConfig, 'organId' | 'queueToken'>, names: ResourceNames): Promise<void> {
  const channel = await connection.channel();
  channel.on('error', () => {}); // a refused check closes the channel; the rejection below says why
  const graceEnds = Date.now() + CLOSING_CONSUMER_GRACE_MS;
  try {
    for (const lane of ['urgent', 'normal'] as const) {
      const queue = names.agencyQueue(config, lane);
      let consumers: number;
      try {
        ({ consumerCount: consumers } = await channel.checkQueue(queue));
        while (consumers > 0 && Date.now() < graceEnds) {
          await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
          ({ consumerCount: consumers } = await channel.checkQueue(queue));
        }
      } catch (error) {
        if (!/\b404\b|NOT_FOUND/.test((error as Error).message)) throw error;
        throw new LtError(
          'AGENCY_UNKNOWN',
          `the queue ${names.prefix}.agency.${config.organId}${config.queueToken ? '.***' : ''}${lane === 'urgent' ? '.urgent' : ''} does not exist on the broker: ` +
            `agency ${config.organId} is not provisioned under prefix "${names.prefix}", or the AMQP URL's queueToken is not the one "lienthong agency add" printed`,
          { path: 'amqpUrl' },
        );
      }
      if (consumers > 0) {
        throw new LtError(
          'EDGE_ALREADY_RUNNING',
          `another edge of ${config.organId} already consumes its ${lane} queue (${consumers} consumer${consumers > 1 ? 's' : ''}), ` +
            'on this machine or another one with the same AMQP URL; stop it first (one edge per agency). ' +
            `If that edge's machine just went down, the broker lets go of its queues within about ${ORPHAN_CONSUMER_SECONDS} s: start again then`,
        );
      }
    }
  } finally {
    await channel.close().catch(() => {});
  }
}
