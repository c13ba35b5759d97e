/**
 * `lienthong edge check`: every dependency of an edge, each its own row, run before its first
 * document (and whenever something seems wrong). The broker is reached as the edge reaches it,
 * as its own agency's user; nothing is sent or consumed.
 */
import { randomBytes } from 'node:crypto';
import { tlsFetch } from '../broker/management.js';
import { resourceNames, type Lane } from '../broker/names.js';
import { agencyPermissions, LANES } from '../broker/topology.js';
import { amqpUrlsOf } from '../config.js';
import { assertAgencyBrokerUser } from '../edge/broker-identity.js';
import type { EdgeConfig } from '../edge/config.js';
import { ClamdScanner } from '../edge/scanner.js';
import { vhostOf } from '../hub/config.js';
import { connectedRow, openBrokerSession, presenceRow, refusedRow, transportRow, type BrokerSession } from './broker.js';
import { clockSkewCheck } from './clock.js';
import { dataDirChecks } from './disk.js';
import { identityChecks } from './identity.js';
import { ok, problem, skipped, type CheckRow } from './rows.js';
import { folderCheckRow } from '../adapters/folder/check.js';

export interface EdgeCheckOptions {
  /** The broker's management API, asked only for its time. Default: http(s)://<AMQP host>:15672 (15671 with amqps). */
  managementUrl?: string;
  minFreeMb: number;
  maxSkewSeconds: number;
  now?: Date;
}

const URL_SETTING = '"amqpUrl" (or AMQP_URL)';

export async function edgeChecks(config: EdgeConfig, options: EdgeCheckOptions): Promise<CheckRow[]> {
  const now = options.now ?? new Date();
  const names = resourceNames(config.prefix);
  const rows: CheckRow[] = [];
  let userOk = true;
  try {
    assertAgencyBrokerUser(config, names);
    rows.push(ok('broker user', `"${config.brokerUser}", agency ${config.organId}'s own`));
  } catch (error) {
    userOk = false;
    const message = (error as Error).message;
    const [found, remedy] = message.split('; ');
    rows.push(problem('broker user', found ?? message, remedy ?? `use the AMQP URL "lienthong agency add ${config.organId}" printed`));
  }
  if (userOk) {
    for (const url of new Set(amqpUrlsOf(config))) rows.push(transportRow(url));
    rows.push(...(await brokerRows(config, names)));
  }
  rows.push(await clamdRow(config));
  rows.push(...(await identityChecks({ organId: config.organId, identity: config.identity, trust: config.trust, node: 'edge', now })));
  rows.push(...(await dataDirChecks(config.dataDir, options.minFreeMb, '"dataDir" (or LT_DATA_DIR)')));
  if (config.folder) rows.push(await folderCheckRow(config.folder));
  rows.push(
    await clockSkewCheck(
      overviewUrl(options.managementUrl ?? defaultManagementUrl(config.amqpUrl)),
      options.maxSkewSeconds,
      "pass --management-url with the broker's management API (http://host:15672) to compare clocks",
      tlsFetch(config.tls),
    ),
  );
  return rows;
}

async function brokerRows(config: EdgeConfig, names: ReturnType<typeof resourceNames>): Promise<CheckRow[]> {
  const laneLabel = (lane: Lane): string => `queue ${lane}`;
  const later = ['submit exchange', 'publish permission', ...LANES.map(laneLabel), 'consume permission'];
  const opened = await openBrokerSession(amqpUrlsOf(config), `lienthong edge check ${config.organId}`, config.tls ? { tls: config.tls } : {});
  if ('error' in opened) return [refusedRow(opened.error, URL_SETTING), ...later.map((n) => skipped(n, 'no broker connection'))];
  const session = opened.session;
  try {
    const rows: CheckRow[] = [connectedRow(session, config.brokerUser)];
    const submit = await presenceRow(session, 'exchange', names.submit, 'submit exchange', 'start the hub: it declares its exchanges at start (lienthong hub --config hub.json); check "prefix" (LT_PREFIX) is the hub\'s');
    rows.push(submit);
    const vhost = vhostOf(config.amqpUrl);
    const perms = agencyPermissions(names, config);
    const grant = `have the hub operator restore the agency's permissions: rabbitmqctl set_permissions -p "${vhost}" ${config.brokerUser} '${perms.configure}' '${perms.write}' '${perms.read}'`;
    rows.push(submit.found ? await publishRow(session, names.submit, grant) : skipped('publish permission', 'no submit exchange to publish to'));
    const queues = [];
    for (const lane of LANES) {
      const queue = names.agencyQueue(config, lane);
      const row = await presenceRow(
        session,
        'queue',
        queue,
        laneLabel(lane),
        `the hub declares every agency's queues at its start: restart the hub (or ask its operator to); if the agency was removed, it must be added again (lienthong agency add ${config.organId}), and check the queueToken of the AMQP URL is the one it printed`,
      );
      rows.push(row);
      queues.push({ queue, ...row });
    }
    rows.push(await consumeRow(session, queues, grant));
    return rows;
  } finally {
    await session.close();
  }
}

/**
 * Write permission on the submit exchange, by publishing an empty message with a routing key
 * nothing is bound to: RabbitMQ checks the permission before routing, then drops it unrouted,
 * so the hub never sees it.
 */
async function publishRow(session: BrokerSession, exchange: string, grant: string): Promise<CheckRow> {
  const name = 'publish permission';
  const key = `lienthong-check.${randomBytes(6).toString('hex')}`;
  const result = await session.probe(`publishing to ${exchange}`, async (channel) => {
    channel.publish(exchange, key, Buffer.alloc(0), { type: 'lienthong.check', expiration: '0' });
    // A refused publish closes the channel; the next round trip on it is refused with that reason.
    await channel.checkExchange(exchange);
  });
  if ('value' in result) return ok(name, `may publish to ${exchange}`);
  return problem(name, `${result.error.message} (${result.error.code})`, result.error.code === 'BROKER_ACCESS_REFUSED' ? grant : 'check the broker connection rows above');
}

/**
 * Read permission on the agency's queues. A consumer is registered and cancelled at once, and
 * only on a queue that is empty and unconsumed, so no document is taken; one that arrived in
 * between goes back to the queue unacknowledged, as the channel closes.
 */
async function consumeRow(session: BrokerSession, queues: Array<{ queue: string; found: boolean; messages?: number; consumers?: number }>, grant: string): Promise<CheckRow> {
  const name = 'consume permission';
  if (!queues.every((q) => q.found)) return skipped(name, 'a queue is missing');
  const consumers = queues.reduce((n, q) => n + (q.consumers ?? 0), 0);
  if (consumers > 0) return ok(name, `the queues have ${consumers} consumer${consumers > 1 ? 's' : ''}: the edge is running and reading them`);
  const waiting = queues.reduce((n, q) => n + (q.messages ?? 0), 0);
  if (waiting > 0) return skipped(name, `${waiting} packet${waiting > 1 ? 's' : ''} wait in the queues; the check takes none (the edge's start tells whether it may read them)`);
  for (const { queue } of queues) {
    const result = await session.probe(`consuming from ${queue}`, async (channel) => {
      await channel.prefetch(1);
      const { consumerTag } = await channel.consume(queue, () => {}, { noAck: false });
      await channel.cancel(consumerTag);
    });
    if ('error' in result) return problem(name, `${result.error.message} (${result.error.code})`, result.error.code === 'BROKER_ACCESS_REFUSED' ? grant : 'check the broker connection rows above');
  }
  return ok(name, `may read ${queues.map((q) => q.queue).join(' and ')}`);
}

async function clamdRow(config: EdgeConfig): Promise<CheckRow> {
  const name = 'clamd';
  if (!config.clamd) return skipped(name, 'no "clamd" configured: attachments are not scanned for malware');
  try {
    await new ClamdScanner({ address: config.clamd }).ping();
    return ok(name, `${config.clamd} answers PONG`);
  } catch (error) {
    return problem(name, (error as Error).message, `start clamd (systemctl start clamav-daemon) or correct "clamd" (LT_CLAMD): a unix socket path, or tcp://host:3310`);
  }
}

/** Where the broker's management API usually is, judged from its AMQP URL. */
export function defaultManagementUrl(amqpUrl: string): string | undefined {
  try {
    const u = new URL(amqpUrl);
    const tls = u.protocol === 'amqps:';
    return `${tls ? 'https' : 'http'}://${u.host.replace(/:\d+$/, '')}:${tls ? 15671 : 15672}`;
  } catch {
    return undefined;
  }
}

export function overviewUrl(base: string | undefined): string | undefined {
  return base === undefined ? undefined : `${base.replace(/\/+$/, '')}/api/overview`;
}
