/**
 * A delivery that reaches a channel after its consumer's cancel-ok (a paused lane) must be kept,
 * not kill the channel: amqplib throws "Unknown consumer" for it, and a dead channel returns
 * every delivery held on it, counted toward the poison limit. Checked on a real channel of the
 * shared broker: a real message is consumed, the consumer cancelled, and the message's delivery
 * is then handed to the channel again as the broker would send a late one.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type ConsumeMessage } from 'amqplib';
import t, { type Test } from 'tap';
import { keepLateDeliveries } from '../../src/broker/consumer.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { waitFor } from '../helpers/exchange.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

type Dispatching = { dispatchMessage(fields: { consumerTag: string }, message: ConsumeMessage | null): unknown };

async function cancelledDelivery(t: Test) {
  const connection = await amqp.connect(amqpUrl);
  t.teardown(() => connection.close().catch(() => {}));
  const channel = await connection.createChannel();
  const queue = `lt-late-${randomBytes(3).toString('hex')}`;
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  t.teardown(async () => {
    const cleaner = await connection.createChannel();
    await cleaner.deleteQueue(queue).catch(() => {});
  });
  channel.sendToQueue(queue, Buffer.from('late'), { messageId: 'late-1' });
  const seen: ConsumeMessage[] = [];
  const { consumerTag } = await channel.consume(queue, (m) => m && seen.push(m), { noAck: false });
  const first = await waitFor('the delivery', () => seen[0]);
  await channel.cancel(consumerTag);
  return { channel, first };
}

t.test('without the guard, amqplib refuses a delivery for a cancelled consumer', async (t) => {
  const { channel, first } = await cancelledDelivery(t);
  t.throws(() => (channel as unknown as Dispatching).dispatchMessage(first.fields, first), /Unknown consumer/);
});

t.test('with the guard, the late delivery is taken and can still be acknowledged on its channel', async (t) => {
  const { channel, first } = await cancelledDelivery(t);
  const late: ConsumeMessage[] = [];
  keepLateDeliveries(channel, (m) => late.push(m));
  (channel as unknown as Dispatching).dispatchMessage(first.fields, first);
  t.equal(late.length, 1, 'handed to the consumer as its own');
  t.equal(late[0]?.properties.messageId, 'late-1');
  channel.ack(first);
  // The channel lives on: a round trip on it succeeds.
  await channel.checkQueue((await channel.assertQueue('', { exclusive: true })).queue);
  t.pass('the channel still answers');
});
