/**
 * The exchange as the regulation describes it (Decree 30/2020, the provincial edXML axis), run
 * in-process against the real RabbitMQ: a hub and agency edges, each test under its own broker
 * prefix, everything deleted afterwards.
 *
 * - A document reaches every recipient's inbox exactly once, attachments byte for byte, and the
 *   sender learns of its arrival (status 01).
 * - Redelivery of the same packet is routed once.
 * - What cannot be delivered (unknown or suspended recipient) is bounced to the sender with the
 *   hub's signed reason; a suspended sender is refused with a bounce.
 * - Statuses travel back to the document's sender; one from an agency that is no recipient is
 *   refused.
 * The refusals of packets that must not be accepted at all (forged sender, changed packet,
 * untrusted or revoked certificate) are in exchange-refusals.test.ts; broker isolation and the
 * urgent lane in exchange-broker.test.ts.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { composeStatus, parsePacket, type DocumentPacket, type StatusPacket } from '../../src/envelope/index.js';
import { setAgencyStatus } from '../../src/hub/provisioning.js';
import { HUB, organ } from '../helpers/pki.js';
import {
  A,
  B,
  C,
  agency,
  attachmentBytes,
  documentPacket,
  headersOf,
  hubBounces,
  hubDeliveries,
  hubEvents,
  hubOutboundTargets,
  hubPacket,
  hubPacketsOf,
  inboxOf,
  letter,
  openExchange,
  publishAs,
  signAs,
  stageAt,
  takeFromQueue,
  verifyDev,
  waitFor,
} from '../helpers/exchange.js';

const UNKNOWN = '000.00.77.H12';

t.test('a document from A reaches B once, attachment intact, and A learns it arrived (01)', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);

  const sent = await a.outbox.submitDocument(letter([B], 125), 'test');
  t.equal(sent.lane, 'normal');
  await waitFor(`A's delivery to B at 01`, () => stageAt(a, sent.documentId, B) === '01', { describe: () => a.document(sent.documentId)?.deliveries });

  const inbox = inboxOf(b);
  t.same(inbox, { total: 1, documentIds: [sent.documentId] }, "the document is in B's inbox, once");
  const received = b.document(sent.documentId);
  t.equal(received?.document.sender, A);
  t.equal(received?.document.verdict, 'accepted');
  t.equal(received?.attachments.length, 1);
  const file = await b.attachment(sent.documentId, received?.attachments[0]?.contentId ?? 'cid:1');
  t.ok(file?.content.equals(attachmentBytes(125)), "B's attachment has exactly the bytes A sent");
  t.equal(file?.meta.name, 'cong-van-125.pdf');

  const timeline = a.document(sent.documentId)?.timeline.filter((e) => e.recipient === B).map((e) => e.event);
  t.same(timeline, ['sent', '01'], "A's timeline for B: sent, then 01");
  t.same(hubDeliveries(exchange, sent.documentId), [{ recipient: B, stage: '01' }], 'the hub tracked the 01 too');
  t.same(
    hubEvents(exchange, sent.documentId, B).map((e) => e.event),
    ['delivered', '01'],
    "the hub's timeline: delivered, then 01",
  );
});

t.test('a document from A to B and C reaches each once; both 01 come back', async (t) => {
  const { exchange, received } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);
  // Every blob the hub reads back, to publish or otherwise.
  const hubBlobs = exchange.hub.blobs;
  const readBack: string[] = [];
  const get = hubBlobs.get.bind(hubBlobs);
  hubBlobs.get = (hash) => {
    readBack.push(hash);
    return get(hash);
  };

  const sent = await a.outbox.submitDocument(letter([B, C], 7), 'test');
  await waitFor('01 from B and C', () => a.document(sent.documentId)?.deliveries.every((d) => d.stage === '01') && a.document(sent.documentId)?.deliveries.length === 2, {
    describe: () => a.document(sent.documentId)?.deliveries,
  });
  const documentBlob = a.records.document(sent.documentId)?.blob;
  t.ok(documentBlob && hubPacket(exchange, sent.packetId)?.blob === documentBlob, 'the hub stored the very bytes A signed');
  t.notOk(readBack.includes(documentBlob as string), 'and published them to both from the bytes it received, not read back once per recipient');
  for (const recipient of [B, C]) {
    const edge = exchange.edge(recipient);
    const file = await edge.attachment(sent.documentId, edge.document(sent.documentId)?.attachments[0]?.contentId ?? 'cid:1');
    t.ok(file?.content.equals(attachmentBytes(7)), `${recipient}'s attachment has exactly the bytes A sent`);
    t.same(inboxOf(exchange.edge(recipient)), { total: 1, documentIds: [sent.documentId] }, `${recipient} has it once`);
    const documents = (received.get(recipient) ?? []).filter((e) => e.type === 'document');
    t.equal(documents.length, 1, `${recipient}'s edge handled one document packet`);
    t.same(
      a.document(sent.documentId)?.timeline.filter((e) => e.recipient === recipient).map((e) => e.event),
      ['sent', '01'],
    );
  }
  t.same(hubDeliveries(exchange, sent.documentId), [
    { recipient: B, stage: '01' },
    { recipient: C, stage: '01' },
  ]);
});

t.test('the same packet published twice is routed once', async (t) => {
  const { exchange, routed, received } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);

  const sent = await a.outbox.submitDocument(letter([B], 33), 'test');
  await waitFor('the 01 from B', () => stageAt(a, sent.documentId, B) === '01');

  // At-least-once from the edge: the relay may publish a row again after a crash between the
  // broker's confirm and its own commit. Same bytes, same message-id, same (validated) user-id.
  const row = a.records.outboxEntry(sent.packetId);
  if (!row) throw new Error('the packet is not in the outbox');
  const bytes = await a.blobs.get(row.blob);
  await publishAs(t, exchange, A, bytes, { packetId: sent.packetId, type: 'edoc', from: A, to: [B], priority: row.priority, documentId: sent.documentId, lane: row.lane });
  const again = await waitFor('the hub to see the packet again', () => routed.find((o) => o.packetId === sent.packetId && o.verdict === 'duplicate'));
  t.same(again.delivered, [], 'recognised as a redelivery: nothing routed');

  t.same(hubOutboundTargets(exchange, sent.packetId), [B], 'the hub published it to B once, and nothing more because of the copy');
  // And at B: a copy published then would sit ahead of a later document in the same lane.
  const later = await a.outbox.submitDocument(letter([B], 34), 'test');
  await waitFor('the 01 of a later document', () => stageAt(a, later.documentId, B) === '01');

  t.equal(inboxOf(b).documentIds.filter((id) => id === sent.documentId).length, 1, "one inbox row at B");
  t.same(
    (received.get(B) ?? []).filter((e) => e.type !== 'status').map((e) => e.type),
    ['document', 'document'],
    'B was handed each document once, no duplicate copy of the first',
  );
  const rows = exchange.hub.db.prepare('SELECT packet_id, verdict FROM packets WHERE packet_id = ?').all(sent.packetId);
  t.same(rows, [{ packet_id: sent.packetId, verdict: 'routed' }], "one row in the hub's packets table");
  t.equal(hubPacketsOf(exchange, sent.documentId).filter((p) => p.kind === 'document').length, 1);

  // The copies may also arrive together, handled by the hub's router side by side.
  const packet = documentPacket(A, [B], 35) as DocumentPacket;
  const signed = await signAs(packet, A);
  const packetId = randomUUID();
  const envelope = { packetId, type: 'edoc' as const, from: A, to: [B], priority: '0', documentId: packet.documentId };
  await Promise.all([1, 2, 3].map(() => publishAs(t, exchange, A, signed, envelope)));
  await waitFor('the hub to decide on all three copies', () => routed.filter((o) => o.packetId === packetId).length === 3, { describe: () => routed.filter((o) => o.packetId === packetId) });
  t.same(
    routed.filter((o) => o.packetId === packetId).map((o) => o.verdict).sort(),
    ['duplicate', 'duplicate', 'routed'],
    'three copies at once: routed once, two recognised as copies',
  );
  await waitFor('B to receive it', () => inboxOf(b).documentIds.includes(packet.documentId));
  const end = await a.outbox.submitDocument(letter([B], 36), 'test');
  await waitFor('the 01 of a later document', () => stageAt(a, end.documentId, B) === '01');
  t.equal((received.get(B) ?? []).filter((e) => e.packetId === packetId).length, 1, 'B was handed it once');
  t.same(
    hubPacketsOf(exchange, packet.documentId).filter((p) => p.kind === 'document').map((p) => [p.packet_id, p.verdict]),
    [[packetId, 'routed']],
    "one row in the hub's packets table",
  );
});

t.test('an unknown recipient is bounced to the sender; the known ones get the document', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);

  const sent = await a.outbox.submitDocument(letter([B, UNKNOWN, C], 12), 'test');
  await waitFor('01 from B and C, a bounce for the unknown one', () => {
    const stages = Object.fromEntries((a.document(sent.documentId)?.deliveries ?? []).map((d) => [d.recipient, d.stage]));
    return stages[B] === '01' && stages[C] === '01' && stages[UNKNOWN] === 'bounced';
  }, { describe: () => a.document(sent.documentId)?.deliveries });

  for (const recipient of [B, C]) t.same(inboxOf(exchange.edge(recipient)).documentIds, [sent.documentId], `${recipient} received it`);

  const hubSays = hubEvents(exchange, sent.documentId, UNKNOWN);
  t.same(hubSays.map((e) => e.event), ['bounced'], "the hub's delivery to the unknown agency: bounced");
  t.match(hubSays[0]?.description, /000\.00\.77\.H12 is not connected to this hub/);
  t.same(hubDeliveries(exchange, sent.documentId), [
    { recipient: B, stage: '01' },
    { recipient: C, stage: '01' },
    { recipient: UNKNOWN, stage: 'bounced' },
  ]);

  const bouncedAtA = a.document(sent.documentId)?.timeline.find((e) => e.recipient === UNKNOWN && e.event === 'bounced');
  t.equal(bouncedAtA?.description, `Không chuyển được văn bản tới ${UNKNOWN}: [AGENCY_UNKNOWN] "${hubSays[0]?.description}"`, "A's edge shows the hub's reason, quoted");
  const packet = hubPacket(exchange, sent.packetId);
  t.equal(packet?.verdict, 'routed', 'the packet itself was routed (to the known recipients)');

  const [bounce, ...more] = await hubBounces(exchange, sent.packetId);
  t.same(more, [], 'one bounce');
  t.equal(bounce?.target, A, 'sent to A');
  t.match(bounce?.envelope.extra, { 'x-lt-status': '02', 'x-lt-bounce': UNKNOWN, 'x-lt-error-code': 'AGENCY_UNKNOWN', 'x-lt-cause': sent.packetId });
  const verified = await verifyDev(bounce?.content ?? '');
  t.same(verified.report.errors, [], 'the bounce is validly signed');
  t.equal(verified.report.signer?.organId, HUB, '... by the hub');
  const status = verified.packet as StatusPacket | undefined;
  t.match(
    status,
    { kind: 'status', statusCode: '02', from: { organId: HUB }, responseFor: { organId: A, documentId: sent.documentId }, description: new RegExp(`tới ${UNKNOWN.replace(/\./g, '\\.')}: \\[AGENCY_UNKNOWN\\]`) },
    'a 02 naming the document by its issuer, and the unknown recipient in its description',
  );
});

t.test('a suspended recipient is bounced; a suspended sender is refused with a bounce', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  const ctx = { db: exchange.hub.db, actor: 'test operator' };

  setAgencyStatus(ctx, C, 'suspended');
  const toSuspended = await a.outbox.submitDocument(letter([B, C], 40), 'test');
  await waitFor('01 from B, bounce for C', () => stageAt(a, toSuspended.documentId, B) === '01' && stageAt(a, toSuspended.documentId, C) === 'bounced', {
    describe: () => a.document(toSuspended.documentId)?.deliveries,
  });
  const reason = a.document(toSuspended.documentId)?.timeline.find((e) => e.recipient === C && e.event === 'bounced')?.description;
  t.match(reason, /tới 000\.00\.31\.H12: \[AGENCY_SUSPENDED\] "recipient 000\.00\.31\.H12 is suspended/);
  t.equal(inboxOf(exchange.edge(C)).total, 0, 'nothing reached the suspended agency');
  t.same(hubDeliveries(exchange, toSuspended.documentId).find((d) => d.recipient === C), { recipient: C, stage: 'bounced' });

  setAgencyStatus(ctx, A, 'suspended');
  const fromSuspended = await a.outbox.submitDocument(letter([B], 41), 'test');
  await waitFor("A's own document bounced", () => stageAt(a, fromSuspended.documentId, B) === 'bounced', { describe: () => a.document(fromSuspended.documentId)?.deliveries });
  const refused = hubPacket(exchange, fromSuspended.packetId);
  t.equal(refused?.verdict, 'refused');
  t.equal(refused?.error_code, 'AGENCY_SUSPENDED');
  t.match(a.document(fromSuspended.documentId)?.timeline.find((e) => e.event === 'bounced')?.description, /từ chối gói tin của 000\.00\.01\.H12: \[AGENCY_SUSPENDED\] "agency 000\.00\.01\.H12 is suspended/);
  t.same(hubDeliveries(exchange, fromSuspended.documentId), [], 'the hub delivered it to no one');

  // Back in service: the next document goes through.
  setAgencyStatus(ctx, A, 'active');
  const resumed = await a.outbox.submitDocument(letter([B], 42), 'test');
  await waitFor('01 after resuming', () => stageAt(a, resumed.documentId, B) === '01');
  t.same(inboxOf(b).documentIds.sort(), [toSuspended.documentId, resumed.documentId].sort(), 'B never saw the refused document');
});

t.test('statuses route back to the sender; a status from a non-recipient is refused', async (t) => {
  const { exchange, received } = await openExchange(t, [agency(A), agency(B), agency(C, { start: false })]);
  const a = exchange.edge(A);

  const sent = await a.outbox.submitDocument(letter([B], 55), 'test');
  await waitFor("B's 01 at A", () => stageAt(a, sent.documentId, B) === '01');
  const fromB = (received.get(A) ?? []).filter((e) => e.type === 'status');
  t.match(fromB, [{ type: 'status', documentId: sent.documentId, from: B, statusCode: '01', outcome: 'applied' }], 'the 01 came from B through the hub');

  // C is no recipient of the document, yet says it has accepted it (03).
  const status = composeStatus(
    {
      from: { organId: C, organName: organ(C).name },
      responseFor: { organId: A, documentId: sent.documentId, code: '55/UBND-VP' },
      statusCode: '03',
      description: 'Đã tiếp nhận vào sổ văn bản đến',
    },
    new Date(),
  );
  const packetId = randomUUID();
  await publishAs(t, exchange, C, await signAs(status, C), { packetId, type: 'status', from: C, to: [A], priority: '0', documentId: sent.documentId, extra: { 'x-lt-status': '03' } });

  const [bounce] = await takeFromQueue(t, exchange, C, 'normal', 1);
  const row = hubPacket(exchange, packetId);
  t.equal(row?.verdict, 'refused');
  t.equal(row?.error_code, 'NOT_RECIPIENT');
  t.equal(row?.kind, 'status');
  t.equal(bounce && headersOf(bounce)['x-lt-error-code'], 'NOT_RECIPIENT', 'C is told, with a bounce');
  t.equal(bounce && (parsePacket(bounce.content) as StatusPacket).responseFor.organId, A, "the bounce names the document by its issuer, A");
  t.match(bounce && (parsePacket(bounce.content) as StatusPacket).description, /từ chối gói tin của 000\.00\.31\.H12: \[NOT_RECIPIENT\]/, 'and says whose packet was refused and why');

  // The hub published the bounce to C and nothing else; A heard nothing from C.
  t.same(hubOutboundTargets(exchange, packetId), [C], 'the only message the refusal caused is the bounce to C');
  t.same((received.get(A) ?? []).filter((e) => e.type !== 'status' || e.from !== B), [], "nothing but B's 01 reached A");
  t.same(hubDeliveries(exchange, sent.documentId), [{ recipient: B, stage: '01' }]);
  t.same(a.document(sent.documentId)?.deliveries.map((d) => [d.recipient, d.stage]), [[B, '01']]);
});
