/**
 * An urgent message does not wait for a slot behind a window full of normal ones: a relay's
 * round of normal statuses fills the publisher's window, and the urgent 01 queued behind it
 * went out only as their confirms came back. The real broker (shared; a queue of the test's
 * own): the order the queue holds is the order the publisher wrote.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { BrokerConnection } from '../../src/broker/connection.js';
import { publishOptions } from '../../src/broker/message.js';
import { ConfirmPublisher } from '../../src/broker/publisher.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

t.test('urgent messages have a window of their own', async (t) => {
  const queue = `lt-publisher-window-${randomBytes(3).toString('hex')}`;
  const connection = await BrokerConnection.connect(amqpUrl, { name: `lienthong test ${queue}` });
  t.teardown(() => connection.close());
  const setup = await connection.channel();
  await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  t.teardown(async () => {
    await setup.deleteQueue(queue);
    await setup.close();
  });
  const publisher = new ConfirmPublisher({ name: 'window-test', window: 2 });
  await connection.add(publisher);
  t.teardown(() => publisher.stop());

  const send = (packetId: string, lane: 'normal' | 'urgent') =>
    publisher.publish({
      exchange: '',
      routingKey: queue,
      content: Buffer.from(packetId),
      options: publishOptions({ packetId, type: 'status', from: '000.00.01.H12', to: ['000.00.05.H12'], priority: lane === 'urgent' ? '3' : '0', documentId: packetId, lane }),
    });
  const normal = Array.from({ length: 8 }, (_, i) => send(`normal-${i}`, 'normal'));
  // Queued while the first two normal messages fill the window and six wait for a slot.
  const urgent = [send('urgent-0', 'urgent'), send('urgent-1', 'urgent'), send('urgent-2', 'urgent')];
  await Promise.all([...normal, ...urgent]);

  const order: string[] = [];
  for (;;) {
    const message = await setup.get(queue, { noAck: true });
    if (message === false) break;
    order.push(message.content.toString());
  }
  // The urgent ones fill their own window of two at once; the third takes the first slot either frees.
  t.same(order.slice(0, 4), ['normal-0', 'normal-1', 'urgent-0', 'urgent-1'], 'two urgent messages are written beside a full normal window');
  t.ok(order.indexOf('urgent-2') < order.indexOf('normal-7'), `the third urgent message waits for an urgent slot, not behind the normal ones (order: ${order.join(' ')})`);
  t.equal(order.length, 11, 'every message was stored');
  t.same(
    order.filter((id) => id.startsWith('normal')),
    Array.from({ length: 8 }, (_, i) => `normal-${i}`),
    'normal messages keep their order',
  );
});
