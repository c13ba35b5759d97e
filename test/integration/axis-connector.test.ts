/**
 * The national axis link against the real broker (quorum queues under a fresh prefix, with the
 * topology's delivery limit and dead-lettering) and the axis simulator (sdk-protocol.md):
 *  - packets queued for the axis reach it byte for byte, documents and statuses, and are
 *    acknowledged only once the axis took them;
 *  - what the axis holds for the hub goes to the sink, and is handed back only once the sink
 *    resolved; what the sink could not take is offered again;
 *  - a packet the axis refuses is dead-lettered; a link the axis refuses (a wrong secret) waits;
 *  - an outage: nothing is lost, acknowledged or dead-lettered while the axis is away; each
 *    retry is logged; once it is back every packet arrives exactly once, the urgent ones first.
 * Every wait is on an event (the connector's, the simulator's, the broker's), never the clock.
 */
import amqp, { type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { BrokerConnection } from '../../src/broker/connection.js';
import { publishOptions } from '../../src/broker/message.js';
import { resourceNames } from '../../src/broker/names.js';
import { deadLetterQueueArguments, quorumQueueArguments } from '../../src/broker/topology.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { signPacket } from '../../src/crypto/sign.js';
import { buildPacket } from '../../src/envelope/index.js';
import { AxisConnector, type AxisSettings, type AxisSink } from '../../src/federation/axis/index.js';
import { newPacketId } from '../../src/ids.js';
import { silentLogger } from '../../src/log.js';
import { AxisSimulator } from '../helpers/axis-simulator.js';
import { waitFor } from '../helpers/exchange.js';
import { captureLog } from '../helpers/log-capture.js';
import { documentFrom, identityOf, OFFICE, statusFrom } from '../helpers/pki.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const prefix = `lt-axis-${randomBytes(3).toString('hex')}`;
const names = resourceNames(prefix);
const SYSTEM = { systemId: 'camau.lienthong', secret: 'axis-integration-secret-0123' };
const CENTRAL = '000.00.00.G22';

interface Link {
  queues: { urgent: string; normal: string };
  admin: ConfirmChannel;
  dead: ConsumeMessage[];
  broker: BrokerConnection;
  publish(packet: Packet): Promise<void>;
  depth(): Promise<number>;
}

interface Packet {
  packetId: string;
  bytes: Buffer;
  type: 'edoc' | 'status';
  lane: 'urgent' | 'normal';
}

let counter = 0;

/** A fresh pair of link queues (and their dead letters), as the hub would declare them. */
async function link(t: Test): Promise<Link> {
  counter += 1;
  const base = `${prefix}.federation.axis${counter}`;
  const queues = { urgent: `${base}.urgent`, normal: base };
  const connection = await amqp.connect(amqpUrl);
  const admin = await connection.createConfirmChannel();
  await admin.assertExchange(names.dead, 'fanout', { durable: true });
  const deadLetters = `${base}.dead-letters`;
  await admin.assertQueue(deadLetters, { durable: true, arguments: deadLetterQueueArguments() });
  await admin.bindQueue(deadLetters, names.dead, '');
  for (const queue of Object.values(queues)) await admin.assertQueue(queue, { durable: true, arguments: quorumQueueArguments(names) });
  const dead: ConsumeMessage[] = [];
  const deadChannel = await connection.createChannel();
  await deadChannel.consume(deadLetters, (m) => {
    if (!m) return;
    dead.push(m);
    deadChannel.ack(m);
  });
  const broker = await BrokerConnection.connect(amqpUrl, { name: `${prefix} axis test`, log: silentLogger() });
  t.teardown(async () => {
    await broker.close();
    for (const queue of [...Object.values(queues), deadLetters]) await admin.deleteQueue(queue).catch(() => {});
    await admin.deleteExchange(names.dead).catch(() => {});
    await connection.close().catch(() => {});
  });
  return {
    queues,
    admin,
    dead,
    broker,
    async publish(p) {
      const options = publishOptions({ packetId: p.packetId, type: p.type, from: OFFICE, to: [CENTRAL], priority: p.lane === 'urgent' ? '1' : '0', documentId: `doc-${p.packetId}`, lane: p.lane });
      admin.sendToQueue(queues[p.lane], p.bytes, options);
      await admin.waitForConfirms();
    },
    async depth() {
      let total = 0;
      for (const queue of Object.values(queues)) total += (await admin.checkQueue(queue)).messageCount;
      return total;
    },
  };
}

async function simulator(t: Test): Promise<AxisSimulator> {
  const sim = await AxisSimulator.start([SYSTEM]);
  t.teardown(() => sim.stop());
  return sim;
}

function settings(sim: AxisSimulator, overrides: Partial<AxisSettings> = {}): AxisSettings {
  // Polling is asked for (pollNow) where a test needs it; retries are quick but really back off.
  return { baseUrl: sim.url, ...SYSTEM, timeoutSeconds: 10, pollSeconds: 3600, retryMaxSeconds: 0.2, prefetch: 16, ...overrides };
}

type Sink = AxisSink;

function connector(t: Test, l: Link, sim: AxisSimulator, options: { sink?: Sink; settings?: Partial<AxisSettings>; log?: ReturnType<typeof captureLog> } = {}): AxisConnector {
  const c = new AxisConnector({
    link: 'national-axis',
    settings: settings(sim, options.settings),
    broker: l.broker,
    queues: l.queues,
    sink: options.sink ?? (async () => {}),
    log: (options.log ?? captureLog('federation')).log,
    retryFirstDelayMs: 20,
  });
  t.teardown(() => c.stop());
  return c;
}

let signed = 0;
async function packet(lane: 'urgent' | 'normal', type: 'edoc' | 'status' = 'edoc'): Promise<Packet> {
  signed += 1;
  const xml = type === 'status' ? buildPacket(statusFrom(OFFICE)) : buildPacket(documentFrom(OFFICE, { code: { codeNumber: String(signed), codeNotation: 'UBND-VP' }, ...(lane === 'urgent' ? { priority: '1' } : {}) }));
  return { packetId: newPacketId(), bytes: Buffer.from(await signPacket(xml, await identityOf(OFFICE))), type, lane };
}

/** The packet ids the axis received, in the order it received them (the test sets `from` to nothing else). */
const sentIds = (sim: AxisSimulator, packets: Packet[]): string[] => sim.sent.map((s) => packets.find((p) => p.bytes.equals(s.file))?.packetId ?? `unknown:${s.docId}`);

t.test('queued documents and statuses reach the axis byte for byte, and are acknowledged only then', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  const c = connector(t, l, sim);
  await c.start();
  const document = await packet('normal');
  const status = await packet('urgent', 'status');
  await l.publish(document);
  await l.publish(status);
  await waitFor('both packets at the axis and acknowledged', async () => sim.sent.length === 2 && c.counters().waiting === 0 && (await l.depth()) === 0, { describe: () => c.counters() });
  const byType = Object.fromEntries(sim.sent.map((s) => [s.messageType, s]));
  t.ok(byType.edoc?.file.equals(document.bytes), 'the signed document arrives unchanged');
  t.ok(byType.status?.file.equals(status.bytes), 'the signed status arrives unchanged, as messagetype status');
  t.equal(byType.edoc?.from, OFFICE, 'from: the sending agency');
  t.equal(byType.edoc?.to, JSON.stringify([CENTRAL]), 'to: the recipients');
  await c.stop();
  t.equal(await l.depth(), 0, 'nothing returns to the queues when the link stops: both were acknowledged');
  t.match(c.counters(), { forwarded: 2, failures: 0, up: true, lastSuccessAt: Date });
  t.same(l.dead, [], 'nothing dead-lettered');
});

t.test('documents and statuses the axis holds go to the sink, and are handed back only once it took them', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  const document = await packet('normal');
  const status = await packet('normal', 'status');
  const documentId = sim.hold(SYSTEM.systemId, document.bytes, { from: CENTRAL });
  const statusId = sim.hold(SYSTEM.systemId, status.bytes, { from: CENTRAL, messageType: 'status' });
  const taken: Array<{ bytes: Buffer; meta: Parameters<AxisSink>[1] }> = [];
  let release!: () => void;
  const sinkHeld = new Promise<void>((resolve) => (release = resolve));
  let first = true;
  const sink: Sink = async (bytes, meta) => {
    taken.push({ bytes, meta });
    if (first) {
      first = false;
      await sinkHeld; // the hub is still publishing the first one into its intake
    }
  };
  const c = connector(t, l, sim, { sink });
  await c.start(); // the first poll starts at once
  await waitFor('the sink to be handed the document', () => taken.length === 1);
  t.same(taken[0]?.meta, { link: 'national-axis', axisId: documentId, messageType: 'edoc' });
  t.ok(taken[0]?.bytes.equals(document.bytes), 'the document as the axis holds it');
  t.notOk(sim.calls.some((call) => call.call === 'updateStatus'), 'not handed back while the sink has not resolved');
  release();
  await sim.next((call) => call.call === 'updateStatus' && call.docId === documentId);
  await sim.next((call) => call.call === 'updateStatus' && call.docId === statusId);
  t.ok(taken[1]?.bytes.equals(status.bytes), 'then the status packet');
  t.same(
    sim.held.map((h) => h.status),
    ['done', 'done'],
    'both handed back as "done"',
  );
  await waitFor('the received counter', () => c.counters().received === 2);
});

t.test('a packet the sink could not take is not handed back, and comes again at the next poll', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  const document = await packet('normal');
  const docId = sim.hold(SYSTEM.systemId, document.bytes, { from: CENTRAL });
  let attempts = 0;
  const c = connector(t, l, sim, {
    sink: async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('the intake exchange refused the message');
    },
  });
  const polled = new Promise<void>((resolve) => c.once('polled', resolve));
  await c.start();
  await polled;
  t.equal(attempts, 1);
  t.equal(sim.held[0]?.status, '', 'not handed back');
  c.pollNow();
  await sim.next((call) => call.call === 'updateStatus' && call.docId === docId);
  t.equal(attempts, 2, 'offered again, taken, then handed back');
});

t.test('a packet the axis refuses is dead-lettered and the rest flows; a link it refuses waits', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  sim.refuse('sendEdoc', '17', 'Văn bản không hợp lệ');
  const c = connector(t, l, sim);
  const refused = new Promise<void>((resolve) => c.once('refused', () => resolve()));
  await c.start();
  const bad = await packet('normal');
  const good = await packet('normal');
  await l.publish(bad);
  await refused;
  await l.publish(good);
  await waitFor('the refused packet dead-lettered, the next one sent', () => l.dead.length === 1 && c.counters().forwarded === 1, { describe: () => c.counters() });
  t.equal(l.dead[0]?.properties.messageId, bad.packetId);
  t.ok(sim.sent[0]?.file.equals(good.bytes));
  t.match(c.counters(), { refused: 1, forwarded: 1, up: true });

  sim.rekey(SYSTEM.systemId, 'a-secret-the-hub-does-not-have');
  const down = new Promise<void>((resolve) => c.once('down', () => resolve()));
  const third = await packet('normal');
  await l.publish(third);
  await down;
  t.equal(l.dead.length, 1, 'a refusal of the link itself dead-letters nothing');
  t.equal(c.counters().waiting, 1, 'the packet waits in the link');
  const up = new Promise<void>((resolve) => c.once('up', () => resolve()));
  sim.rekey(SYSTEM.systemId, SYSTEM.secret);
  await up;
  await waitFor('the waiting packet sent once the axis knows the hub again', () => sim.sent.length === 2);
  t.ok(sim.sent[1]?.file.equals(third.bytes));
});

/** Stop the axis; queue normal then urgent packets; wait until the link holds them all, having retried. */
async function outage(t: Test, l: Link, sim: AxisSimulator, c: AxisConnector, log: ReturnType<typeof captureLog>): Promise<Packet[]> {
  await sim.stop();
  const normal = await Promise.all([1, 2, 3, 4, 5, 6].map(() => packet('normal')));
  const urgent = await Promise.all([1, 2, 3].map(() => packet('urgent')));
  for (const p of [...normal, ...urgent]) await l.publish(p);
  await waitFor('the link to hold every packet', () => c.counters().waiting === 9, { describe: () => c.counters() });
  await log.next('a third retry logged', (line) => typeof line.msg === 'string' && line.msg.includes('trying again') && line.attempt === 3);
  t.equal(sim.sent.length, 0, 'nothing reached the axis');
  t.same(l.dead, [], 'nothing dead-lettered');
  t.match(c.counters(), { up: false, forwarded: 0, lastError: { code: 'AXIS_UNREACHABLE' } });
  t.ok(c.counters().failures >= 3, 'each failed attempt is counted');
  return [...normal, ...urgent];
}

function deliveredOnceUrgentFirst(t: Test, sim: AxisSimulator, packets: Packet[]): void {
  const ids = sentIds(sim, packets);
  t.equal(ids.length, packets.length, 'as many packets at the axis as were queued');
  t.same([...ids].sort(), packets.map((p) => p.packetId).sort(), 'each exactly once');
  const urgent = packets.filter((p) => p.lane === 'urgent').map((p) => p.packetId);
  t.same([...ids.slice(0, urgent.length)].sort(), [...urgent].sort(), 'the urgent ones first');
  for (const s of sim.sent) t.ok(packets.some((p) => p.bytes.equals(s.file)), 'bytes unchanged');
}

t.test('an outage: packets wait in the link, then flow exactly once, urgent first', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  const log = captureLog('federation');
  const c = connector(t, l, sim, { log });
  await c.start();
  const packets = await outage(t, l, sim, c, log);
  const up = new Promise<void>((resolve) => c.once('up', () => resolve()));
  await sim.start();
  await up;
  await waitFor('every packet at the axis and acknowledged', async () => sim.sent.length >= packets.length && c.counters().waiting === 0, { describe: () => c.counters() });
  deliveredOnceUrgentFirst(t, sim, packets);
  await c.stop();
  t.equal(await l.depth(), 0, 'every packet was acknowledged');
  t.same(l.dead, [], 'nothing dead-lettered');
  t.match(c.counters(), { up: true, forwarded: packets.length });
});

t.test('an outage: nothing is acknowledged while the axis is away; a link restarted meanwhile loses nothing', async (t) => {
  const l = await link(t);
  const sim = await simulator(t);
  const log = captureLog('federation');
  const first = connector(t, l, sim, { log });
  await first.start();
  const packets = await outage(t, l, sim, first, log);
  await first.stop();
  t.equal(await l.depth(), packets.length, 'every packet is back in its queue: none was acknowledged');
  const again = captureLog('federation');
  const second = connector(t, l, sim, { log: again });
  const down = new Promise<void>((resolve) => second.once('down', () => resolve()));
  await second.start();
  await down;
  await waitFor('the new link to hold every packet', () => second.counters().waiting === packets.length);
  const up = new Promise<void>((resolve) => second.once('up', () => resolve()));
  await sim.start();
  await up;
  await waitFor('every packet at the axis and acknowledged', () => sim.sent.length >= packets.length && second.counters().waiting === 0, { describe: () => second.counters() });
  deliveredOnceUrgentFirst(t, sim, packets);
  await second.stop();
  t.equal(await l.depth(), 0);
  t.same(l.dead, [], 'nothing dead-lettered');
});
