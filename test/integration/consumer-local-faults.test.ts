/**
 * A local fault pauses consuming instead of burning the poison limit, against the real broker
 * (shared; names under a fresh prefix) and quorum queues with the project's arguments
 * (`x-delivery-limit` 20, dead-lettering to an exchange of their own):
 *  - without a gate, a handler that cannot store (a real ENOSPC, a write to /dev/full) has its
 *    packet dead-lettered within 21 deliveries: the failure this fixes, and proof that the
 *    setup does dead-letter;
 *  - with the gate, the same fault lasting well past 20 probes dead-letters nothing, the packets
 *    held are never returned to their queue, and every packet is handled once the fault ends, by
 *    itself. The one return a pause can cost is RabbitMQ's own: deliveries already on their way
 *    to the consumer when its basic.cancel reaches the quorum queue are given back by the broker
 *    (at most the prefetch, once each, however long the pause lasts);
 *  - a packet-specific failure still goes toward the limit (dead-lettered) while the rest flows,
 *    and so does a packet a crypto worker keeps dying on, after a few holds.
 */
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { LaneConsumer, type Delivery } from '../../src/broker/consumer.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { LtError } from '../../src/errors.js';
import { FaultGate } from '../../src/fault-gate.js';
import { HealthBoard } from '../../src/health.js';
import { waitFor } from '../helpers/exchange.js';
import { captureLog } from '../helpers/log-capture.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const prefix = `lt-faults-${randomBytes(3).toString('hex')}`;

const skip = existsSync('/dev/full') ? false : 'needs /dev/full, where every write fails with a real ENOSPC';

/** Fails like a blob write on a full disk: the kernel's own ENOSPC. */
const writeOnFullDisk = (): Promise<void> => writeFile('/dev/full', 'packet');

interface Lane {
  connection: ChannelModel;
  admin: ConfirmChannel;
  queue: string;
  /** Messages dead-lettered so far (read from the dead-letter queue, acked). */
  dead: ConsumeMessage[];
  publish(count: number): Promise<string[]>;
}

/** A quorum queue as the topology declares them (delivery limit 20, dead-lettering) and its dead-letter queue. */
async function lane(t: Test, name: string): Promise<Lane> {
  const connection = await amqp.connect(amqpUrl);
  t.teardown(() => connection.close().catch(() => {}));
  const admin = await connection.createConfirmChannel();
  const queue = `${prefix}.${name}`;
  const deadExchange = `${queue}.dead`;
  await admin.assertExchange(deadExchange, 'fanout', { durable: true, autoDelete: false });
  await admin.assertQueue(`${queue}.dead-letters`, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await admin.bindQueue(`${queue}.dead-letters`, deadExchange, '');
  await admin.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 20, 'x-dead-letter-exchange': deadExchange } });
  t.teardown(async () => {
    const cleaner = await amqp.connect(amqpUrl);
    const channel = await cleaner.createChannel();
    await channel.deleteQueue(queue).catch(() => {});
    await channel.deleteQueue(`${queue}.dead-letters`).catch(() => {});
    await channel.deleteExchange(deadExchange).catch(() => {});
    await cleaner.close().catch(() => {});
  });
  const dead: ConsumeMessage[] = [];
  const deadChannel = await connection.createChannel();
  await deadChannel.consume(`${queue}.dead-letters`, (m) => {
    if (!m) return;
    dead.push(m);
    deadChannel.ack(m);
  });
  return {
    connection,
    admin,
    queue,
    dead,
    async publish(count) {
      const ids = Array.from({ length: count }, (_, i) => `${name}-${i}`);
      for (const id of ids) admin.sendToQueue(queue, Buffer.from(id), { persistent: true, messageId: id });
      await admin.waitForConfirms();
      return ids;
    },
  };
}

function consumer(t: Test, l: Lane, handler: (d: Delivery) => Promise<'ack'>, gate?: FaultGate): LaneConsumer {
  const c = new LaneConsumer({
    name: `${prefix}-consumer`,
    queues: [{ queue: l.queue, lane: 'normal', prefetch: 4 }],
    concurrency: 4,
    handler,
    log: captureLog('broker').log,
    ...(gate ? { gate } : {}),
  });
  t.teardown(() => c.stop());
  return c;
}

async function depth(l: Lane): Promise<number> {
  return (await l.admin.checkQueue(l.queue)).messageCount;
}

t.test('without a gate a full disk dead-letters a healthy packet within 21 deliveries', { skip }, async (t) => {
  const l = await lane(t, 'ungated');
  let attempts = 0;
  const c = consumer(t, l, async () => {
    attempts += 1;
    await writeOnFullDisk();
    return 'ack';
  });
  await c.attach(l.connection);
  await l.publish(1);
  await waitFor('the packet to be dead-lettered', () => l.dead.length === 1, { describe: () => attempts });
  t.equal(attempts, 21, 'handled 21 times, then dead-lettered by the delivery limit');
  t.equal(l.dead[0]?.properties.headers?.['x-first-death-reason'], 'delivery_limit');
});

t.test('with the gate a full disk pauses consuming; nothing is returned or dead-lettered, and it resumes by itself', { skip }, async (t) => {
  const l = await lane(t, 'gated');
  const { log, lines } = captureLog('edge');
  const health = new HealthBoard(log);
  let full = true;
  let probes = 0;
  const gate = new FaultGate({
    health,
    log,
    firstDelayMs: 5,
    maxDelayMs: 20,
    probe: async () => {
      probes += 1;
      if (full) await writeOnFullDisk();
    },
  });
  t.teardown(() => gate.stop());
  const handled = new Map<string, number>();
  const redelivered: Array<{ id: string; count: unknown }> = [];
  let failures = 0;
  const c = consumer(
    t,
    l,
    async ({ message }) => {
      const count: unknown = message.properties.headers?.['x-delivery-count'];
      if (count !== undefined) redelivered.push({ id: String(message.properties.messageId), count });
      if (full) {
        failures += 1;
        await writeOnFullDisk();
      }
      const id = String(message.properties.messageId);
      handled.set(id, (handled.get(id) ?? 0) + 1);
      return 'ack';
    },
    gate,
  );
  await c.attach(l.connection);
  const ids = await l.publish(40);
  await waitFor('the gate to close', () => gate.paused);
  t.match(health.snapshot(), { status: 'degraded', problems: [{ component: 'storage', code: 'STORAGE_FULL' }] });
  // Far more than the delivery limit's worth of probing while the disk stays full.
  await waitFor('40 probes on the full disk', () => probes >= 40);
  t.equal(c.consuming.length, 0, 'the lane does not consume while paused');
  t.ok(failures <= 4, `only the deliveries being handled when the disk filled met the fault (${failures})`);
  t.ok((await depth(l)) >= 40 - 4, 'the rest waits in the queue');
  full = false;
  await waitFor('every packet handled', () => handled.size === ids.length, { describe: () => handled.size });
  t.same(
    ids.filter((id) => handled.get(id) !== 1),
    [],
    'each packet handled (successfully) once',
  );
  // On a loaded broker the cancel can cross deliveries already sent to the consumer: RabbitMQ
  // returns those itself (failures then counts fewer than the prefetch). Never more than the
  // prefetch, never twice: the length of the pause adds nothing toward the delivery limit.
  t.ok(redelivered.length <= 4 - failures, `returned only what crossed the cancel (${JSON.stringify(redelivered)}, ${failures} held)`);
  t.same(redelivered.filter((r) => r.count !== 1), [], 'each of them once: the pause did not return anything again and again');
  t.same(l.dead, [], 'nothing dead-lettered');
  t.equal(await depth(l), 0);
  t.same(c.consuming, [l.queue], 'consuming again');
  t.same(health.snapshot(), { status: 'ok', problems: [] });
  t.equal(lines.filter((line) => line.health === 'storage').length, 2, 'degraded and recovered, each logged once');
});

t.test('with the gate a packet-specific failure still goes to the dead letters, and so does a packet a crypto worker keeps dying on', { skip }, async (t) => {
  const l = await lane(t, 'poison');
  const { log } = captureLog('edge');
  const gate = new FaultGate({ health: new HealthBoard(log), log, firstDelayMs: 5, maxDelayMs: 20, probe: async () => {} });
  t.teardown(() => gate.stop());
  const done = new Set<string>();
  let workerDeaths = 0;
  const c = consumer(
    t,
    l,
    async ({ message }) => {
      const id = String(message.properties.messageId);
      if (id === 'poison-0') throw new TypeError("Cannot read properties of undefined (reading 'code')");
      if (id === 'poison-1') {
        workerDeaths += 1;
        throw new LtError('WORKER_FAILED', 'crypto worker failed: exited with code 134');
      }
      done.add(id);
      return 'ack';
    },
    gate,
  );
  await c.attach(l.connection);
  const ids = await l.publish(12);
  await waitFor('both poison packets dead-lettered', () => l.dead.length === 2, { describe: () => l.dead.map((m) => m.properties.messageId) });
  await waitFor('the other packets handled', () => done.size === ids.length - 2);
  t.same(l.dead.map((m) => m.properties.messageId).sort(), ['poison-0', 'poison-1']);
  t.ok(l.dead.every((m) => m.properties.headers?.['x-first-death-reason'] === 'delivery_limit'));
  t.equal(workerDeaths, 21 * 3, 'the suspect packet was held twice per delivery, returned at its third worker death');
});
