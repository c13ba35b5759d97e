/**
 * What the broker layer does when the broker takes something away while the process runs: a
 * connection cut while parts are being set up again (no unhandled 'error', a logged retry), a
 * consumer whose queue is deleted or whose channel the broker closes (the lane is reopened and
 * consumes again), a publishing channel closed by a refused publish (reopened). The real
 * broker (shared; names under a fresh prefix); connections are cut by a TCP relay in between,
 * never by stopping the broker.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import { BrokerConnection, type BrokerPart } from '../../src/broker/connection.js';
import { LaneConsumer, type Delivery } from '../../src/broker/consumer.js';
import { ManagementClient } from '../../src/broker/management.js';
import { ConfirmPublisher } from '../../src/broker/publisher.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { managementOptions } from '../../src/demo/local-exchange.js';
import { captureLog } from '../helpers/log-capture.js';
import { tcpRelay } from '../helpers/tcp-relay.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const api = new ManagementClient(managementOptions(amqpUrl, process.env));
const prefix = `lt-recovery-${randomBytes(3).toString('hex')}`;

const relay = (t: Test) => tcpRelay(t, amqpUrl);

async function connect(t: Test, url = amqpUrl) {
  const captured = captureLog('broker');
  const connection = await BrokerConnection.connect(url, { name: `lienthong test ${prefix}`, log: captured.log, initialRetries: 10 });
  t.teardown(() => connection.close());
  return { connection, captured };
}

/** A plain channel of the test's own, to publish and to clean up. */
async function sideChannel(t: Test): Promise<Channel> {
  const amqp = (await import('amqplib')).default;
  const model = await amqp.connect(amqpUrl);
  model.on('error', () => {});
  const channel = await model.createChannel();
  channel.on('error', () => {});
  t.teardown(() => model.close().catch(() => {}));
  return channel;
}

t.test('a connection cut while its parts are being set up again is retried, not an unhandled error', async (t) => {
  const { url, cut } = await relay(t);
  const { connection, captured } = await connect(t, url);
  let attaches = 0;
  let secondAttachStarted!: () => void;
  const secondAttach = new Promise<void>((resolve) => (secondAttachStarted = resolve));
  let releaseSecond!: () => void;
  const secondMayGoOn = new Promise<void>((resolve) => (releaseSecond = resolve));
  const part: BrokerPart = {
    name: 'slow-part',
    async attach(model: ChannelModel) {
      attaches += 1;
      if (attaches === 2) {
        secondAttachStarted();
        await secondMayGoOn; // the connection is cut here, in the middle of the set-up
      }
      const channel = await model.createChannel();
      await channel.close();
    },
    detach() {},
  };
  await connection.add(part);
  t.equal(attaches, 1);

  cut(); // the first loss: reconnect, and set the part up again
  await secondAttach;
  cut(); // the second: while the part is being set up
  releaseSecond();

  const restored = await captured.next('broker connection restored', (l) => l.msg === 'broker connection restored');
  t.ok(connection.connected, 'connected again');
  t.equal(attaches, 3, 'the cut set-up was redone on a fresh connection');
  t.type(restored.attempt, 'number', 'the recovery names the attempt that succeeded');
  const lost = captured.find('broker connection lost');
  t.ok(lost.length >= 1, 'the loss is logged');
  const retries = captured.lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('retrying in'));
  t.ok(retries.length >= 2, 'both attempts after the cuts are logged');
  for (const r of retries) {
    t.equal(r.level, 40);
    t.type(r.attempt, 'number');
    t.type(r.delayMs, 'number');
    t.type(r.err, 'string');
  }
});

t.test('a consumer whose queue is deleted, or whose channel the broker closes, consumes again', async (t) => {
  const { connection, captured } = await connect(t);
  const side = await sideChannel(t);
  const queue = `${prefix}.lane`;
  t.teardown(() => side.deleteQueue(queue).catch(() => {}));
  const handled: string[] = [];
  let handledWaiter: (() => void) | undefined;
  const consumer = new LaneConsumer({
    name: 'test-consumer',
    queues: [{ queue, lane: 'normal', prefetch: 4 }],
    // The owner declares its queue on every fresh channel: a deleted queue comes back.
    topology: async (channel) => {
      await channel.assertQueue(queue, { durable: true });
    },
    handler: async (delivery: Delivery) => {
      const body = delivery.message.content.toString();
      // A handler bug: acknowledging itself what the consumer acknowledges after it. The broker
      // answers the second acknowledgement by closing the channel (PRECONDITION_FAILED).
      if (body === 'acked-twice') (delivery as Delivery & { channel: Channel }).channel.ack(delivery.message);
      handled.push(body);
      handledWaiter?.();
      return 'ack';
    },
    log: captured.log,
  });
  t.teardown(() => consumer.stop());
  await connection.add(consumer);
  const handledOne = async (body: string): Promise<void> => {
    const done = new Promise<void>((resolve) => (handledWaiter = () => handled.includes(body) && resolve()));
    side.sendToQueue(queue, Buffer.from(body));
    await done;
  };
  await handledOne('before');

  const from = captured.lines.length;
  await api.deleteQueue(queue);
  const cancelled = await captured.next('consumer cancelled', (l) => l.msg?.includes('cancelled a consumer') === true, { from });
  t.equal(cancelled.queue, queue);
  t.equal(cancelled.level, 40, 'a warning');
  await captured.next('lane reopened', (l) => l.msg === 'consumer channel reopened', { from });
  t.same(consumer.consuming, [queue]);
  await handledOne('after the queue came back');

  const from2 = captured.lines.length;
  await handledOne('acked-twice');
  const closed = await captured.next('channel closed', (l) => l.msg?.includes('closed a consumer channel') === true, { from: from2 });
  t.equal(closed.code, 'BROKER_CHANNEL_CLOSED');
  t.match(closed.err, /unknown delivery tag/);
  await captured.next('lane reopened', (l) => l.msg === 'consumer channel reopened', { from: from2 });
  await handledOne('after the channel was reopened');
  t.same(handled, ['before', 'after the queue came back', 'acked-twice', 'after the channel was reopened']);
  t.same(captured.find('broker connection lost'), [], 'the connection itself stayed up');
});

t.test('a publishing channel closed by a refused publish is reopened', async (t) => {
  const { connection, captured } = await connect(t);
  const side = await sideChannel(t);
  const queue = `${prefix}.published`;
  await side.assertQueue(queue, { durable: true });
  t.teardown(() => side.deleteQueue(queue).catch(() => {}));
  const publisher = new ConfirmPublisher({ name: 'test-publisher', log: captured.log });
  t.teardown(() => publisher.stop());
  await connection.add(publisher);
  await t.rejects(
    publisher.publish({ exchange: `${prefix}.no-such-exchange`, routingKey: 'x', content: Buffer.from('lost'), options: {} }),
    'a publish to a missing exchange is refused',
  );
  const closed = await captured.next('publishing channel closed', (l) => l.msg?.includes('closed a publishing channel') === true);
  t.equal(closed.code, 'BROKER_NOT_FOUND');
  await publisher.publish({ exchange: '', routingKey: queue, content: Buffer.from('kept'), options: { messageId: 'm1' } });
  const got = await side.get(queue, { noAck: true });
  t.equal(got && got.content.toString(), 'kept', 'the next publish goes through a fresh channel');
});
