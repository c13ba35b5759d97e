/**
 * Two lanes, both holding a backlog (what a link finds after an outage): with `strictUrgent` the
 * consumer handles every urgent delivery before any normal one, although its prefetch windows
 * are far smaller than either backlog; and an urgent burst that comes while the normal backlog
 * drains is taken at once. With `narrowBesideUrgent` (hub and edges) normal deliveries go on one
 * at a time while an urgent one is in hand. Against the real broker (shared; quorum queues under
 * a fresh prefix).
 */
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { LaneConsumer, type Delivery, type LaneConsumerOptions } from '../../src/broker/consumer.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { waitFor } from '../helpers/exchange.js';
import { silentLogger } from '../../src/log.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const prefix = `lt-lanes-${randomBytes(3).toString('hex')}`;
const NORMAL = 200;
const URGENT = 60;

async function lanes(t: Test, name: string) {
  const connection = await amqp.connect(amqpUrl);
  t.teardown(() => connection.close().catch(() => {}));
  const admin = await connection.createConfirmChannel();
  const queues = { urgent: `${prefix}.${name}.urgent`, normal: `${prefix}.${name}` };
  for (const queue of Object.values(queues)) await admin.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  t.teardown(async () => {
    const cleaner = await amqp.connect(amqpUrl);
    const channel = await cleaner.createChannel();
    for (const queue of Object.values(queues)) await channel.deleteQueue(queue).catch(() => {});
    await cleaner.close().catch(() => {});
  });
  const publish = async (lane: 'urgent' | 'normal', from: number, count: number): Promise<void> => {
    for (let i = from; i < from + count; i++) admin.sendToQueue(queues[lane], Buffer.from(`${lane}-${i}`), { persistent: true });
    await admin.waitForConfirms();
  };
  return { connection, queues, publish };
}

t.test('strictUrgent: a whole urgent backlog before any normal one, and an urgent burst at once', async (t) => {
  const { connection, queues, publish } = await lanes(t, 'strict');
  await publish('normal', 0, NORMAL);
  await publish('urgent', 0, URGENT);
  const handled: string[] = [];
  const consumer = new LaneConsumer({
    name: 'test',
    queues: [
      { queue: queues.urgent, lane: 'urgent', prefetch: 4 },
      { queue: queues.normal, lane: 'normal', prefetch: 4 },
    ],
    concurrency: 4,
    strictUrgent: true,
    log: silentLogger(),
    handler: async (delivery: Delivery) => {
      handled.push(delivery.message.content.toString());
      await new Promise((resolve) => setImmediate(resolve)); // the work: a turn of the event loop
      return 'ack';
    },
  });
  t.teardown(() => consumer.stop());
  await consumer.attach(connection);

  await waitFor('half the normal backlog handled', () => handled.filter((h) => h.startsWith('normal')).length >= NORMAL / 2);
  const lastUrgent = handled.map((h) => h.startsWith('urgent')).lastIndexOf(true);
  const firstNormal = handled.findIndex((h) => h.startsWith('normal'));
  t.equal(lastUrgent, URGENT - 1, `the ${URGENT} urgent ones were handled first`);
  t.equal(firstNormal, URGENT, 'the first normal one right after them');

  await publish('urgent', URGENT, 20);
  const burstAt = handled.length;
  await waitFor('all handled', () => handled.length === NORMAL + URGENT + 20, { describe: () => handled.length });
  const burst = handled.slice(burstAt).map((h) => h.startsWith('urgent'));
  // Normal ones taken before the burst's first delivery came are fair; once it came, none.
  const between = burst.slice(burst.indexOf(true), burst.lastIndexOf(true)).filter((u) => !u).length;
  t.equal(between, 0, `from its first delivery on, the burst of 20 urgent ones went before every normal one (${burst.indexOf(true)} normal ones taken before it came)`);
  t.equal(new Set(handled).size, handled.length, 'none handled twice');
});

/** A consumer of both lanes, each with `concurrency` slots and as much prefetch. */
function slotted(queues: { urgent: string; normal: string }, concurrency: number, options: Pick<LaneConsumerOptions, 'handler' | 'narrowBesideUrgent'>): LaneConsumer {
  return new LaneConsumer({
    name: 'test',
    queues: [
      { queue: queues.urgent, lane: 'urgent', prefetch: concurrency },
      { queue: queues.normal, lane: 'normal', prefetch: concurrency },
    ],
    concurrency,
    log: silentLogger(),
    ...options,
  });
}

t.test('an urgent delivery starts while every slot holds a normal one, not when one of them finishes', async (t) => {
  const { connection, queues, publish } = await lanes(t, 'slots');
  const CONCURRENCY = 4;
  await publish('normal', 0, CONCURRENCY);
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const started: string[] = [];
  let normalDone = 0;
  let normalDoneWhenUrgentStarted = -1;
  const consumer = slotted(queues, CONCURRENCY, {
    handler: async (delivery: Delivery) => {
      started.push(delivery.message.content.toString());
      if (delivery.lane === 'urgent') {
        normalDoneWhenUrgentStarted = normalDone;
        return 'ack';
      }
      await released; // a normal packet's long handling (a backlog, workers starting)
      normalDone += 1;
      return 'ack';
    },
  });
  t.teardown(async () => {
    release(); // a stop waits for the deliveries in hand
    await consumer.stop();
  });
  await consumer.attach(connection);
  await waitFor(`${CONCURRENCY} normal deliveries in hand`, () => started.length === CONCURRENCY, { describe: () => started.length });

  await publish('urgent', 0, 1);
  // Here, the consumer hands it to its handler in the turn it arrives (and it is done at once),
  // or buffers it behind the slots in hand.
  await waitFor('the urgent delivery at the consumer', () => started.includes('urgent-0') || consumer.busy === CONCURRENCY + 1, { describe: () => consumer.busy });
  t.ok(started.includes('urgent-0'), 'the urgent delivery was taken at once');
  t.equal(normalDoneWhenUrgentStarted, 0, 'while every normal one was still in hand');

  release();
  await waitFor('all handled', () => normalDone === CONCURRENCY && consumer.busy === 0, { describe: () => `${normalDone} normal done, busy ${consumer.busy}` });
});

t.test('narrowBesideUrgent: while an urgent delivery is in hand, normal ones go on one at a time, then at full width again', async (t) => {
  const { connection, queues, publish } = await lanes(t, 'width');
  const CONCURRENCY = 4;
  await publish('normal', 0, 40);
  let releaseUrgent: () => void = () => {};
  const urgentReleased = new Promise<void>((resolve) => (releaseUrgent = resolve));
  let urgentInHand = false;
  let urgentDone = false;
  let normalRunning = 0;
  let normalDone = 0;
  let widestBeside = 0;
  let startedBeside = 0;
  let widestAfter = 0;
  const consumer = slotted(queues, CONCURRENCY, {
    narrowBesideUrgent: true,
    handler: async (delivery: Delivery) => {
      if (delivery.lane === 'urgent') {
        urgentInHand = true;
        await urgentReleased;
        urgentInHand = false;
        urgentDone = true;
        return 'ack';
      }
      normalRunning += 1;
      if (urgentInHand) {
        startedBeside += 1;
        widestBeside = Math.max(widestBeside, normalRunning);
      } else if (urgentDone) widestAfter = Math.max(widestAfter, normalRunning);
      await new Promise((resolve) => setTimeout(resolve, 30));
      normalRunning -= 1;
      normalDone += 1;
      return 'ack';
    },
  });
  t.teardown(async () => {
    releaseUrgent();
    await consumer.stop();
  });
  await consumer.attach(connection);
  await waitFor(`${CONCURRENCY} normal deliveries in hand`, () => normalRunning === CONCURRENCY, { describe: () => normalRunning });
  await publish('urgent', 0, 1);
  await waitFor('the urgent delivery in hand', () => urgentInHand, { describe: () => consumer.busy });
  await waitFor('normal deliveries started beside it', () => startedBeside >= 3, { describe: () => `${startedBeside} started beside` });
  t.equal(widestBeside, 1, 'one normal delivery at a time beside the urgent one');
  releaseUrgent();
  await waitFor('all handled', () => normalDone === 40 && consumer.busy === 0, { describe: () => `${normalDone} normal done, busy ${consumer.busy}` });
  t.equal(widestAfter, CONCURRENCY, 'full width again once it is done');
});
