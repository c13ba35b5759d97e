/**
 * A packet published under a broker user that is no agency's (issue 10: an edge left on the
 * broker's administrator, guest). Before, the hub dead-lettered it in silence and the sender's
 * edge showed the document "sent" for ever. Now: signed, validly, by a registered agency, it
 * is bounced to that agency, whose edge shows the document bounced with the broker user it
 * came under and what to fix; otherwise it goes to the dead letters with its cause. A bounce
 * goes only to the agency whose own certificate signed the packet, and never about a document
 * the hub already routed.
 *
 * The misconfigured edge is played by the edge's own relay publishing as the administrator,
 * which is what an edge started without AMQP_URL did before it refused to start.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import t from 'tap';
import { BrokerConnection } from '../../src/broker/connection.js';
import { publishOptions } from '../../src/broker/message.js';
import { ConfirmPublisher } from '../../src/broker/publisher.js';
import { Edge } from '../../src/edge/edge.js';
import { Relay } from '../../src/edge/relay.js';
import { deadLetterCause } from '../../src/hub/dead-letter-cause.js';
import { silentLogger } from '../../src/log.js';
import { A, B, agency, documentPacket, hubOutboundTargets, hubPacket, inboxOf, letter, openExchange, signAs, stageAt, waitFor } from '../helpers/exchange.js';

t.test('a packet published as the broker administrator', async (t) => {
  const { exchange, routed } = await openExchange(t, [agency(A, { start: false }), agency(B)]);
  const names = exchange.names;
  const admin = decodeURIComponent(new URL(exchange.amqpUrl).username);
  const config = exchange.edgeConfigs.get(A);
  if (!config) throw new Error('A is not provisioned');
  const a = new Edge(config, { log: silentLogger() });
  exchange.edges.set(A, a); // stopped with the exchange
  await a.open();

  /** Publish raw bytes to the submit exchange as the administrator, with or without its user-id. */
  const publishAsAdmin = async (content: Buffer, packetId: string, documentId: string, withUserId: boolean): Promise<void> => {
    const connection = await amqp.connect(exchange.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(
        names.submit,
        'normal',
        content,
        publishOptions({ packetId, type: 'edoc', from: A, to: [B], priority: '0', documentId, lane: 'normal', ...(withUserId ? { userId: admin } : {}) }),
      );
      await channel.waitForConfirms();
      await channel.close();
    } finally {
      await connection.close();
    }
  };

  await t.test("signed by a registered agency, it is bounced to that agency, whose edge shows the document bounced and why", async (t) => {
    const submitted = await a.outbox.submitDocument(letter([B], 1), 'test');
    const connection = await BrokerConnection.connect(exchange.amqpUrl, { name: 'an edge on the administrator' });
    const publisher = new ConfirmPublisher({ name: 'misconfigured relay' });
    await connection.add(publisher);
    const sent: string[] = [];
    const relay = new Relay({
      records: a.records,
      blobs: a.blobs,
      publisher,
      names,
      organId: A,
      brokerUser: admin,
      clock: () => new Date(),
      log: silentLogger(),
      onSent: (rows) => sent.push(...rows.map((r) => r.packetId)),
    });
    relay.start();
    await waitFor('the misconfigured relay published the document', () => sent.includes(submitted.packetId));
    await relay.stop();
    publisher.stop();
    await connection.close();
    t.equal(stageAt(a, submitted.documentId, B), 'sent', 'before the hub answers, the document looks sent');

    const outcome = await waitFor("the hub's decision", () => routed.find((o) => o.packetId === submitted.packetId));
    t.match(outcome, { verdict: 'refused', errorCode: 'SENDER_UNKNOWN', bounced: [A], delivered: [] });
    t.match(hubPacket(exchange, submitted.packetId), { verdict: 'refused', sender: A, error_code: 'SENDER_UNKNOWN' });
    t.same(hubOutboundTargets(exchange, submitted.packetId), [A], 'the bounce goes to the signer, and to nobody else');

    // A's edge, now started with its own AMQP URL, receives the bounce.
    await a.start();
    await waitFor("A's edge shows the document bounced", () => stageAt(a, submitted.documentId, B) === 'bounced');
    const bounce = a.document(submitted.documentId)?.timeline.find((e) => e.event === 'bounced');
    t.match(bounce?.description, /SENDER_UNKNOWN/, 'the reason carries the code');
    t.match(bounce?.description, new RegExp(`broker user \\\\?"${admin}\\\\?"`), 'and names the broker user it came under');
    t.match(bounce?.description, names.agencyUser(A), 'and the broker user the edge must connect as');
    t.equal(inboxOf(exchange.edge(B)).total, 0, 'B got nothing');
  });

  await t.test('a copy of a document the hub already routed, republished as the administrator, bounces nobody', async (t) => {
    const submitted = await a.outbox.submitDocument(letter([B], 2), 'test');
    await waitFor('B received it (01 back at A)', () => stageAt(a, submitted.documentId, B) === '01');
    const row = a.records.outboxEntry(submitted.packetId);
    if (!row) throw new Error('no outbox row');
    const copyId = randomUUID();
    await publishAsAdmin(await a.blobs.get(row.blob), copyId, submitted.documentId, true);
    const outcome = await waitFor("the hub's decision", () => routed.find((o) => o.packetId === copyId));
    t.match(outcome, { verdict: 'dead-letter', errorCode: 'SENDER_UNKNOWN', bounced: [] });
    t.same(hubOutboundTargets(exchange, copyId), [], 'no bounce');
    const dead = await waitFor('the copy in the dead letters', () => exchange.hub.deadLetters.list({ status: 'pending' }).items.find((d) => d.packetId === copyId));
    const cause = deadLetterCause(exchange.hub.db, exchange.names, dead);
    t.equal(cause.code, 'SENDER_UNKNOWN');
    t.match(cause.message, /already routed/);
    t.equal(stageAt(a, submitted.documentId, B), '01', "A's document stays as it was");
  });

  await t.test('without a valid signature it goes to the dead letters, its cause recorded', async (t) => {
    const packet = documentPacket(A, [B], 3);
    const signed = (await signAs(packet, A)).replace('<edXML:Subject>', '<edXML:Subject>(đã sửa) ');
    t.not(signed, await signAs(packet, A), 'the signed content was changed');
    const packetId = randomUUID();
    await publishAsAdmin(Buffer.from(signed), packetId, packet.kind === 'document' ? packet.documentId : '', false);
    const outcome = await waitFor("the hub's decision", () => routed.find((o) => o.packetId === packetId));
    t.match(outcome, { verdict: 'dead-letter', errorCode: 'SENDER_UNKNOWN' });
    t.same(hubOutboundTargets(exchange, packetId), [], 'no bounce');
    const dead = await waitFor('the packet in the dead letters', () => exchange.hub.deadLetters.list({ status: 'pending' }).items.find((d) => d.packetId === packetId));
    t.match(deadLetterCause(exchange.hub.db, exchange.names, dead), { code: 'SENDER_UNKNOWN', message: /without a broker user.*SIG_DIGEST_MISMATCH/ });
  });
});
