/**
 * The relay publishes an urgent row at once, even while a round of normal rows waits for its
 * confirms (a recipient working through a backlog answers each document with a 01; an urgent
 * document's 01 must not wait for a round of up to 256 of them), and never publishes a row twice
 * nor lets a document's later status overtake an earlier one still unconfirmed.
 *
 * The publisher here only records what it is given and confirms when the test says: the
 * scheduling is what is tested (the exchange tests run the relay against the real broker).
 */
import t from 'tap';
import type { OutgoingMessage, ConfirmPublisher } from '../../src/broker/publisher.js';
import { resourceNames } from '../../src/broker/names.js';
import { Relay } from '../../src/edge/relay.js';
import { silentLogger } from '../../src/log.js';
import { openEdgeStore } from '../helpers/edge-store.js';
import { waitFor } from '../helpers/exchange.js';

interface Held {
  packetId: string;
  confirm: () => void;
}

t.test('an urgent row goes out during a round of normal ones, each row once, each document in order', async (t) => {
  const { db, records, blobs } = openEdgeStore(t, 'lt-relay-');
  const blob = await blobs.put(Buffer.from('<edXMLEnvelope/>'));

  const held: Held[] = [];
  const published: string[] = [];
  const publisher = {
    publish: (message: OutgoingMessage) =>
      new Promise<void>((resolve) => {
        const packetId = String(message.options?.messageId);
        published.push(packetId);
        held.push({ packetId, confirm: resolve });
      }),
  } as unknown as ConfirmPublisher;
  const confirm = (packetId: string): void => {
    const i = held.findIndex((h) => h.packetId === packetId);
    if (i === -1) throw new Error(`${packetId} is not waiting for a confirm`);
    held.splice(i, 1)[0]?.confirm();
  };
  const relay = new Relay({
    records,
    blobs,
    publisher,
    names: resourceNames('lt-relay-test'),
    organId: '000.00.05.H12',
    brokerUser: 'lt-relay-test.agency.000.00.05.H12',
    clock: () => new Date(),
    log: silentLogger(),
    pollMs: 60_000,
  });
  t.teardown(() => {
    for (const h of held.splice(0)) h.confirm();
    return relay.stop();
  });

  let n = 0;
  const queue = (documentId: string, lane: 'urgent' | 'normal'): string => {
    const packetId = `${documentId}-${++n}`;
    records.insertOutbox({ packetId, kind: 'status', documentId, recipients: ['000.00.01.H12'], priority: lane === 'urgent' ? '1' : '0', lane, statusCode: '01', blob, client: 'edge', createdAt: new Date(Date.now() + n).toISOString() });
    return packetId;
  };
  const sentAt = (packetId: string): string | null => records.outboxEntry(packetId)?.sentAt ?? null;

  const normal = ['d1', 'd2', 'd3', 'd4', 'd5'].map((d) => queue(d, 'normal'));
  relay.start();
  await waitFor('the round to publish the five normal rows', () => held.length === 5);

  const urgent = queue('u1', 'urgent');
  relay.wake(true);
  await waitFor('the urgent row published during the round', () => published.includes(urgent));
  confirm(urgent);
  await waitFor('the urgent row marked sent', () => sentAt(urgent) !== null);
  t.same(normal.map(sentAt), [null, null, null, null, null], 'while the normal round still waits for its confirms');

  // A later status of a document the round has in hand waits for it, urgent or not.
  const later = queue('d1', 'urgent');
  relay.wake(true);
  const otherUrgent = queue('u2', 'urgent');
  relay.wake(true);
  await waitFor('the other urgent row published', () => published.includes(otherUrgent));
  t.notOk(published.includes(later), "d1's urgent status is not published while d1's earlier one is unconfirmed");
  confirm(otherUrgent);

  for (const packetId of normal) confirm(packetId);
  await waitFor('the normal round marked sent', () => normal.every((p) => sentAt(p) !== null));
  await waitFor("d1's later status published after the round", () => published.includes(later));
  confirm(later);
  await waitFor("d1's later status marked sent", () => sentAt(later) !== null);

  const counts = new Map<string, number>();
  for (const p of published) counts.set(p, (counts.get(p) ?? 0) + 1);
  t.same([...counts.entries()].filter(([, c]) => c !== 1), [], 'every row published exactly once');
  t.equal(counts.size, 8, 'all eight rows published');
  t.ok(published.indexOf(later) > published.indexOf(normal[0] as string), "d1's statuses in their order");
});
