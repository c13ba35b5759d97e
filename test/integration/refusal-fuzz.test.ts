/**
 * A damaged packet ends, in one delivery, as a refusal its sender receives or as a reasoned dead
 * letter: never as a crash retried to the delivery limit (issue 11, point 2). The unit test
 * (test/unit/refusal-fuzz.test.ts) damages every element; here a representative subset goes
 * through the real hub and a real recipient edge over the shared RabbitMQ:
 *
 * - to the hub, published by A with its own credentials: fields dropped, emptied, duplicated,
 *   re-signed with A's dev certificate (so that the signature holds and the content is judged)
 *   or damaged after signing (so that the signature fails on a packet lacking the field);
 * - to B's edge, published into B's queue as the hub would (what an older or foreign hub could
 *   let through): B answers with a 02 in its outbox, or dead-letters what names nobody to answer.
 *
 * "One delivery" is the broker's word: the hub reports the AMQP redelivered flag of each packet
 * it decides on, a dead letter keeps its x-delivery-count, and neither node logs a failed
 * handling that sends a packet back to its queue.
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import t from 'tap';
import { publishOptions, type PacketEnvelope } from '../../src/broker/message.js';
import { signPacket } from '../../src/crypto/sign.js';
import { buildPacket, composeStatus, type Packet } from '../../src/envelope/index.js';
import { deadLetterCause } from '../../src/hub/dead-letter-cause.js';
import type { DeadLetter } from '../../src/hub/dead-letters.js';
import { derivedPacketId } from '../../src/ids.js';
import { A, B, agency, documentPacket, hubPacket, openExchange, publishAs, waitFor } from '../helpers/exchange.js';
import { Damageable, type Damage } from '../helpers/field-fuzz.js';
import { captureLog } from '../helpers/log-capture.js';
import { identityOf } from '../helpers/pki.js';

const HEADER = 'edXMLEnvelope/edXMLHeader/MessageHeader';

interface Case {
  name: string;
  kind: 'document' | 'status';
  path: string;
  damage: Damage;
  /** Re-signed after the damage (the signature holds), or damaged after signing (it fails). */
  resign: boolean;
  /** The x-lt-document-id header: the packet's own DocumentId unless given. */
  claim?: string;
  /** How it must end. */
  expect: 'bounce' | 'dead-letter' | '02';
}

t.test('damaged packets end in one delivery: a refusal the sender receives, or a reasoned dead letter', async (t) => {
  const captured = captureLog('lt');
  const { exchange, routed, received } = await openExchange(t, [agency(A), agency(B)], { log: captured.log });
  const identity = await identityOf(A);
  const n = Date.now() % 100_000;
  // Each case its own document, so that no two cases are about the same DocumentId.
  const packetOf = (c: Case, number: string): Packet =>
    c.kind === 'document'
      ? documentPacket(A, [B], number)
      : composeStatus(
          { from: { organId: A, organName: 'Văn phòng UBND tỉnh' }, responseFor: { organId: B, documentId: `${B},2026/11/30,${number}/STC`, code: `${number}/STC` }, statusCode: '03' },
          new Date(),
        );
  const documentIdOf = (p: Packet): string => (p.kind === 'document' ? p.documentId : (p.responseFor.documentId as string));
  const prepare = async (c: Case, number: string): Promise<{ content: string; claim: string }> => {
    const packet = packetOf(c, number);
    const xml = buildPacket(packet);
    const content = c.resign ? await signPacket(new Damageable(xml).atPath(c.path, c.damage).xml, identity) : new Damageable(await signPacket(xml, identity)).atPath(c.path, c.damage).xml;
    return { content, claim: c.claim ?? documentIdOf(packet) };
  };

  const toHub: Case[] = [
    { name: 'no Code (the issue\'s case)', kind: 'document', path: `${HEADER}/Code`, damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'no Code, damaged after signing', kind: 'document', path: `${HEADER}/Code`, damage: 'drop', resign: false, expect: 'bounce' },
    { name: 'no From', kind: 'document', path: `${HEADER}/From`, damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'empty PromulgationInfo', kind: 'document', path: `${HEADER}/PromulgationInfo`, damage: 'empty', resign: true, expect: 'bounce' },
    { name: 'empty OtherInfo', kind: 'document', path: `${HEADER}/OtherInfo`, damage: 'empty', resign: true, expect: 'bounce' },
    { name: 'two Subjects', kind: 'document', path: `${HEADER}/Subject`, damage: 'duplicate', resign: true, expect: 'bounce' },
    { name: 'an attachment without its bytes', kind: 'document', path: 'AttachmentEncoded/Attachment/ContentTransferEncoded', damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'no DocumentId: answered about the header\'s claim', kind: 'document', path: `${HEADER}/DocumentId`, damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'no DocumentId and no usable claim', kind: 'document', path: `${HEADER}/DocumentId`, damage: 'drop', resign: true, claim: 'không phải mã văn bản', expect: 'dead-letter' },
    { name: 'a status without StatusCode', kind: 'status', path: `${HEADER}/StatusCode`, damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'a status without ResponseFor', kind: 'status', path: `${HEADER}/ResponseFor`, damage: 'drop', resign: true, expect: 'bounce' },
    { name: 'a status with an empty Timestamp, damaged after signing', kind: 'status', path: `${HEADER}/Timestamp`, damage: 'empty', resign: false, expect: 'bounce' },
  ];
  const toEdge: Case[] = [
    { name: 'no Code', kind: 'document', path: `${HEADER}/Code`, damage: 'drop', resign: true, expect: '02' },
    { name: 'no PromulgationInfo, damaged after signing', kind: 'document', path: `${HEADER}/PromulgationInfo`, damage: 'drop', resign: false, expect: '02' },
    { name: 'no DocumentId: nothing to answer about', kind: 'document', path: `${HEADER}/DocumentId`, damage: 'drop', resign: true, expect: 'dead-letter' },
    { name: 'a status without StatusCode', kind: 'status', path: `${HEADER}/StatusCode`, damage: 'drop', resign: true, expect: 'dead-letter' },
  ];

  const hubIds = toHub.map(() => randomUUID());
  for (const [i, c] of toHub.entries()) {
    const { content, claim } = await prepare(c, `${n}${i}`);
    await publishAs(t, exchange, A, content, { packetId: hubIds[i] as string, type: c.kind === 'document' ? 'edoc' : 'status', from: A, to: [B], priority: '0', documentId: claim });
  }
  // Into B's queue as the hub delivers: with the hub's broker user, through the deliver exchange.
  const edgeIds = toEdge.map(() => randomUUID());
  const connection = await amqp.connect(exchange.hubConfig.amqpUrl);
  t.teardown(() => connection.close().catch(() => {}));
  const channel = await connection.createConfirmChannel();
  for (const [i, c] of toEdge.entries()) {
    const { content, claim } = await prepare(c, `${n}${100 + i}`);
    const envelope: PacketEnvelope = { packetId: edgeIds[i] as string, type: c.kind === 'document' ? 'edoc' : 'status', from: A, to: [B], priority: '0', documentId: claim, lane: 'normal' };
    channel.publish(exchange.names.deliver, exchange.names.deliverKey(B, 'normal'), Buffer.from(content), publishOptions({ ...envelope, extra: { 'x-lt-hub': exchange.hubConfig.organId } }));
  }
  await channel.waitForConfirms();

  const deadLetter = (packetId: string): Promise<DeadLetter> =>
    waitFor(`the hub to collect dead letter ${packetId}`, () => exchange.hub.deadLetters.list({ limit: 500 }).items.find((d) => d.packetId === packetId));
  const deliveryCount = (d: DeadLetter): unknown => {
    const row = exchange.hub.db.prepare('SELECT properties FROM dead_letters WHERE id = ?').get(d.id) as { properties: string };
    return (JSON.parse(row.properties) as { headers?: Record<string, unknown> }).headers?.['x-delivery-count'] ?? 0;
  };

  for (const [i, c] of toHub.entries()) {
    await t.test(`hub: ${c.name}`, async (t) => {
      const packetId = hubIds[i] as string;
      const outcome = await waitFor(`the hub's decision on ${packetId}`, () => routed.find((o) => o.packetId === packetId));
      t.equal(routed.filter((o) => o.packetId === packetId).length, 1, 'decided once');
      t.equal(outcome.redelivered, false, 'on its first delivery');
      const row = hubPacket(exchange, packetId);
      t.equal(row?.verdict, 'refused');
      t.match(row?.error_code, /^[A-Z][A-Z_]+$/, `refused with a code (${row?.error_code}: ${row?.error_message})`);
      t.not(row?.error_code, 'PACKET_UNPROCESSABLE', 'the refusal itself did not fail');
      if (c.expect === 'bounce') {
        t.equal(outcome.verdict, 'refused');
        t.same(outcome.bounced, [A], 'bounced to its sender');
        // A's edge takes the signed 02 off its queue: it never sent this packet, so it files it as unmatched.
        const bounceId = derivedPacketId('bounce', packetId, A);
        const got = await waitFor("A's edge to receive the bounce", () => received.get(A)?.find((e) => e.packetId === bounceId));
        t.match(got, { type: 'status', statusCode: '02', from: exchange.hubConfig.organId }, 'A received the 02');
      } else {
        t.equal(outcome.verdict, 'dead-letter');
        const d = await deadLetter(packetId);
        t.equal(d.reason, 'rejected', 'dead-lettered by the hub, not by the delivery limit');
        t.equal(Number(deliveryCount(d)), 0, 'the broker never redelivered it');
        t.match(deadLetterCause(exchange.hub.db, exchange.names, d), { code: row?.error_code, message: String }, 'the dashboard shows why');
      }
    });
  }

  for (const [i, c] of toEdge.entries()) {
    await t.test(`edge: ${c.name}`, async (t) => {
      const packetId = edgeIds[i] as string;
      const event = await waitFor(`B's edge to handle ${packetId}`, () => received.get(B)?.find((e) => e.packetId === packetId));
      t.equal(received.get(B)?.filter((e) => e.packetId === packetId).length, 1, 'handled once');
      if (c.expect === '02') {
        t.match(event, { type: 'document', accepted: false, errorCode: /^[A-Z][A-Z_]+$/ });
        const documentId = (event as { documentId: string }).documentId;
        const answer = exchange.edge(B).document(documentId)?.deliveries.find((d) => d.recipient === B);
        t.equal(answer?.stage, '02', "B's copy is returned with a 02");
        const outbox = exchange.edge(B).db.prepare("SELECT status_code FROM outbox WHERE document_id = ? AND kind = 'status'").all(documentId) as Array<{ status_code: string }>;
        t.same(outbox, [{ status_code: '02' }], "the 02 to A is in B's outbox");
      } else {
        t.match(event, { type: 'dropped', reason: String });
        const d = await deadLetter(packetId);
        t.equal(d.reason, 'rejected', 'dead-lettered by the edge, not by the delivery limit');
        t.equal(Number(deliveryCount(d)), 0, 'the broker never redelivered it');
      }
    });
  }

  t.same(
    captured.lines.filter((l) => /redelivered/.test(l.msg ?? '')).map((l) => l.msg),
    [],
    'no node logged a failed handling that sends a packet back to its queue',
  );
  t.same(
    captured.lines.filter((l) => l.errorCode === 'PACKET_UNPROCESSABLE').map((l) => l.msg),
    [],
    'no refusal crashed',
  );
});
