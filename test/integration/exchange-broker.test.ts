/**
 * What the broker itself guarantees in the exchange, checked against the real RabbitMQ:
 *
 * - Isolation (design.md, "Identity"): an agency's broker user may publish to the submit
 *   exchange as itself and read its own two queues — nothing else. Reading another agency's
 *   queue, publishing past the hub, publishing in another agency's name, declaring or binding
 *   queues are refused by RabbitMQ, whatever the client does.
 * - Priority (Decree 30/2020: urgent documents are handled immediately): an urgent document
 *   does not wait behind a backlog of normal ones in the recipient's queues.
 */
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ConfirmChannel } from 'amqplib';
import t, { type Test } from 'tap';
import type { InboxEvent } from '../../src/edge/inbox.js';
import {
  A,
  B,
  agency,
  agencyQueueOf,
  brokerAnswer,
  connectAs,
  type AmqpError,
  documentPacket,
  headersOf,
  hubPacket,
  inboxOf,
  letter,
  openExchange,
  signAs,
  stageAt,
  waitFor,
} from '../helpers/exchange.js';
import { publishOptions } from '../../src/broker/message.js';
import { deadLetterCause } from '../../src/hub/dead-letter-cause.js';

/**
 * The error the broker closed a fresh channel with for `operation` (fails the test if the broker
 * accepted it instead).
 */
async function refusedBy<C extends Channel>(t: Test, open: () => Promise<C>, operation: (channel: C) => unknown): Promise<AmqpError | undefined> {
  const error = await brokerAnswer(open, operation);
  if (!error) t.fail('the broker did not refuse the operation');
  return error;
}

t.test("an agency's broker user can reach nothing but its own queues and the submit exchange", async (t) => {
  // A's edge is not running: this is A's own client with A's credentials, doing what it likes.
  const { exchange, routed } = await openExchange(t, [agency(A, { start: false }), agency(B)]);
  const names = exchange.names;
  const userA = names.agencyUser(A);
  const userB = names.agencyUser(B);
  const connection = await connectAs(t, exchange, A);
  const channel = () => connection.createChannel();
  const confirmChannel = () => connection.createConfirmChannel();
  const queueB = agencyQueueOf(exchange, B, 'normal');
  const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  await t.test("consuming B's queue: ACCESS_REFUSED (403), channel closed", async (t) => {
    for (const queue of [queueB, agencyQueueOf(exchange, B, 'urgent'), names.hubInbound.normal, names.deadLetters]) {
      const error = await refusedBy(t, channel, (ch) => ch.consume(queue, () => {}));
      t.equal(error?.code, 403, queue);
      t.match(error?.message, new RegExp(`ACCESS_REFUSED - access to queue '${escaped(queue)}' in vhost '/' refused for user '${escaped(userA)}'`));
    }
  });

  await t.test('publishing to the deliver exchange (past the hub): ACCESS_REFUSED (403), channel closed', async (t) => {
    const forged = await signAs(documentPacket(A, [B], 1), A);
    const error = await refusedBy(t, confirmChannel, (ch: ConfirmChannel) => {
      ch.publish(names.deliver, names.deliverKey(B, 'normal'), Buffer.from(forged), { persistent: true, userId: userA, messageId: randomUUID() });
      return ch.waitForConfirms();
    });
    t.equal(error?.code, 403);
    t.match(error?.message, new RegExp(`ACCESS_REFUSED - access to exchange '${escaped(names.deliver)}' in vhost '/' refused for user '${escaped(userA)}'`));
  });

  await t.test("publishing with B's user-id: PRECONDITION_FAILED (406), channel closed", async (t) => {
    const error = await refusedBy(t, confirmChannel, (ch: ConfirmChannel) => {
      ch.publish(names.submit, 'normal', Buffer.from('<x/>'), { persistent: true, userId: userB, messageId: randomUUID() });
      return ch.waitForConfirms();
    });
    t.equal(error?.code, 406);
    t.match(error?.message, new RegExp(`PRECONDITION_FAILED - user_id property set to '${escaped(userB)}' but authenticated user was '${escaped(userA)}'`));
  });

  await t.test('declaring a queue, or binding its own queue to B’s deliveries: ACCESS_REFUSED (403)', async (t) => {
    const extra = `${agencyQueueOf(exchange, A, 'normal')}.extra`;
    const declared = await refusedBy(t, channel, (ch) => ch.assertQueue(extra, { durable: true }));
    t.equal(declared?.code, 403);
    t.match(declared?.message, new RegExp(`ACCESS_REFUSED - access to queue '${escaped(extra)}' in vhost '/' refused for user '${escaped(userA)}'`));
    const own = await refusedBy(t, channel, (ch) => ch.assertQueue(agencyQueueOf(exchange, A, 'normal'), { durable: true, arguments: { 'x-queue-type': 'quorum' } }));
    t.equal(own?.code, 403, 'not even re-declaring its own queue (no configure permission)');
    const bound = await refusedBy(t, channel, (ch) => ch.bindQueue(agencyQueueOf(exchange, A, 'normal'), names.deliver, names.deliverKey(B, 'normal')));
    t.equal(bound?.code, 403, "binding its own queue to B's routing key");
    t.match(bound?.message, /ACCESS_REFUSED/);
    const deleted = await refusedBy(t, channel, (ch) => ch.deleteQueue(queueB));
    t.equal(deleted?.code, 403, "deleting B's queue");
    t.ok(await exchange.api.getQueue(queueB), "B's queue is still there");
    t.notOk(await exchange.api.getQueue(extra), 'no queue was created');
  });

  await t.test('its own two queues: consumed; the submit exchange: published to as itself, and routed', async (t) => {
    const ch = await channel();
    for (const lane of ['urgent', 'normal'] as const) {
      const { consumerTag } = await ch.consume(agencyQueueOf(exchange, A, lane), () => {});
      t.ok(consumerTag, `consuming ${agencyQueueOf(exchange, A, lane)}`);
      await ch.cancel(consumerTag);
    }
    await ch.close();

    const packet = documentPacket(A, [B], 2);
    const packetId = randomUUID();
    const confirm = await confirmChannel();
    confirm.publish(
      names.submit,
      'normal',
      Buffer.from(await signAs(packet, A)),
      publishOptions({ packetId, type: 'edoc', from: A, to: [B], priority: '0', documentId: packet.kind === 'document' ? packet.documentId : '', lane: 'normal', userId: userA }),
    );
    await confirm.waitForConfirms();
    await confirm.close();
    const b = exchange.edge(B);
    await waitFor('the document in B’s inbox', () => inboxOf(b).total === 1);
    t.equal(hubPacket(exchange, packetId)?.verdict, 'routed');
    t.equal(hubPacket(exchange, packetId)?.sender, A);
  });

  await t.test('without a user-id or a valid signature nobody can tell the sender: the hub dead-letters it', async (t) => {
    const packet = documentPacket(A, [B], 3);
    const packetId = randomUUID();
    // Validly signed by A, it would be bounced to A (unattributed-sender.test.ts); changed after signing, it is nobody's.
    const forged = (await signAs(packet, A)).replace('<edXML:Subject>', '<edXML:Subject>(forged) ');
    const confirm = await confirmChannel();
    confirm.publish(
      names.submit,
      'normal',
      Buffer.from(forged),
      publishOptions({ packetId, type: 'edoc', from: A, to: [B], priority: '0', documentId: packet.kind === 'document' ? packet.documentId : '', lane: 'normal' }),
    );
    await confirm.waitForConfirms();
    await confirm.close();
    const outcome = await waitFor('the hub’s decision', () => routed.find((o) => o.packetId === packetId));
    t.equal(outcome.verdict, 'dead-letter');
    t.equal(outcome.errorCode, 'SENDER_UNKNOWN');
    // The operator's view: the hub collected it from the dead-letter queue, with RabbitMQ's reason.
    const found = await waitFor('the packet in the hub’s dead letters', () =>
      exchange.hub.deadLetters.list({ status: 'pending' }).items.find((d) => d.packetId === packetId),
    );
    t.equal(found.documentId, packet.kind === 'document' ? packet.documentId : '');
    t.equal(found.queue, names.hubInbound.normal, 'it died in the hub’s inbound queue');
    t.equal(found.reason, 'rejected', 'refused by the consumer, as RabbitMQ recorded it');
    t.equal(deadLetterCause(exchange.hub.db, names, found).code, 'SENDER_UNKNOWN', "with the router's cause beside it");
    t.equal(inboxOf(exchange.edge(B)).total, 1, 'B did not get it');
  });
});

t.test('an urgent document overtakes a backlog of 200 normal ones at the recipient', async (t) => {
  const NORMAL = 200;
  // B's edge is down while the backlog builds up in its queues.
  const observed = await openExchange(t, [agency(A), agency(B, { start: false })]);
  const { exchange, routed, received } = observed;
  const a = exchange.edge(A);

  const normal: string[] = [];
  for (let i = 0; i < NORMAL; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, NORMAL - i) }, (_, j) => a.outbox.submitDocument(letter([B], 1000 + i + j), 'test')));
    normal.push(...batch.map((s) => s.documentId));
  }
  const urgent = await a.outbox.submitDocument(letter([B], 'KHAN-1', { priority: '3', subject: 'V/v phòng chống bão số 9 (hoả tốc)' }), 'test');
  t.equal(urgent.lane, 'urgent');

  const routedDocuments = () => routed.filter((o) => o.kind === 'document' && o.verdict === 'routed').length;
  await waitFor(`all ${NORMAL + 1} documents routed into B's queues`, () => routedDocuments() === NORMAL + 1, { describe: routedDocuments });

  const b = await observed.startEdge(B);
  const handled = () => (received.get(B) ?? []).filter((e): e is Extract<InboxEvent, { type: 'document' }> => e.type === 'document');
  await waitFor('B to handle the urgent document', () => handled().some((e) => e.documentId === urgent.documentId));
  const position = handled().findIndex((e) => e.documentId === urgent.documentId);
  const concurrency = exchange.edgeConfigs.get(B)?.concurrency ?? 4;
  t.ok(position <= concurrency, `the urgent document was handled at position ${position}: behind at most the ${concurrency} normal ones already in hand, not behind ${NORMAL}`);

  await waitFor(`all ${NORMAL + 1} documents at B`, () => handled().length >= NORMAL + 1, { describe: () => handled().length });
  const { total, items } = b.list({ direction: 'in', page: 1, pageSize: 20 });
  t.equal(total, NORMAL + 1, 'each document in B’s inbox once');
  t.equal(items[0]?.documentId, urgent.documentId, 'and listed first');
  const createdAt = (documentId: string) => b.records.document(documentId)?.createdAt ?? '';
  const earlier = normal.filter((id) => createdAt(id) < createdAt(urgent.documentId));
  t.ok(earlier.length <= concurrency, `${earlier.length} normal documents were stored before the urgent one`);
  t.equal(new Set(handled().map((e) => e.documentId)).size, NORMAL + 1, 'no document handled twice');
  await waitFor('the urgent 01 back at A', () => stageAt(a, urgent.documentId, B) === '01');
});
