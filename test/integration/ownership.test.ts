/**
 * Document ownership (issue 9): an organ's DocumentIds, and the updates, replacements and
 * revocations of its documents, are its own. Real RabbitMQ, hub and edges of the Văn phòng UBND
 * (A, the attacker), the Sở Tài chính (B, the victim) and UBND thành phố Cà Mau (C, the recipient).
 *
 * - A, past its own edge with its own broker credentials, revokes (1), updates (2) or replaces (3)
 *   a document B sent C: the hub bounces it to A with DOCUMENT_NOT_OWNED, C never sees it, and
 *   B's document stays as it was at C (not superseded, nothing on its timeline, still overdue).
 * - A numbers a document with B's next DocumentId: the hub bounces it; B's real one is routed.
 * - The same packets handed straight to C's inbox (an older or compromised hub): C keeps A's
 *   document but ignores its claim, with a note on A's document's timeline; B's is untouched,
 *   whichever arrives first.
 * - The honest paths: A updates, replaces and revokes its own documents; A replies to B's.
 */
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Edge } from '../../src/edge/edge.js';
import type { DocumentInput, DocumentPacket } from '../../src/envelope/index.js';
import type { LocalExchange } from '../../src/demo/local-exchange.js';
import { inboxFeed } from '../helpers/edge-api.js';
import {
  A,
  B,
  C,
  agency,
  documentPacket,
  hubBounces,
  hubDeliveries,
  hubOutboundTargets,
  hubPacket,
  inboxOf,
  letter,
  openExchange,
  publishAs,
  signAs,
  stageAt,
  waitFor,
} from '../helpers/exchange.js';
import { hubDocument } from '../helpers/lifecycle.js';

const FOLLOW_UP_EVENTS = ['revoked', 'superseded', 'updated'];

/** What C's edge holds about B's document: whether anything marked it. */
function markOf(edge: Edge, documentId: string): { supersededBy: string | null; notes: string[]; chain: string[] } {
  const view = edge.document(documentId);
  return {
    supersededBy: view?.document.supersededBy ?? null,
    notes: (view?.timeline ?? []).filter((e) => FOLLOW_UP_EVENTS.includes(e.event)).map((e) => `${e.event}: ${e.description ?? ''}`),
    chain: edge.lifecycle.chain(documentId).map((d) => d.documentId),
  };
}

/** A's follow-ups of `target` (one per BussinessDocType), composed as A's edge would, unsigned. */
function followUps(target: string, to: readonly string[], first: number): Array<{ name: string; packet: DocumentPacket }> {
  const as = (n: number, overrides: Partial<DocumentInput>) => documentPacket(A, to, n, overrides) as DocumentPacket;
  return [
    { name: 'a revocation (1)', packet: as(first, { subject: 'V/v thu hồi văn bản', bussiness: { bussinessDocType: '1', documentId: target } }) },
    { name: 'an update (2)', packet: as(first + 1, { subject: 'V/v cập nhật văn bản', bussiness: { bussinessDocType: '2', documentId: target } }) },
    { name: 'a replacement (3)', packet: as(first + 2, { subject: 'V/v thay thế văn bản', bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: target }] } }) },
    {
      name: 'a revocation (1) naming the document only in ResponseFor',
      packet: as(first + 3, { subject: 'V/v thu hồi văn bản', bussiness: { bussinessDocType: '1' }, responseFor: [{ organId: B, documentId: target }] }),
    },
  ];
}

/** Publish `packet`, signed by A, with A's own broker credentials (A's edge is bypassed); its packet id. */
async function publishAsA(t: Test, exchange: LocalExchange, packet: DocumentPacket): Promise<string> {
  const packetId = randomUUID();
  const to = packet.to.map((r) => r.organId);
  await publishAs(t, exchange, A, await signAs(packet, A), { packetId, type: 'edoc', from: A, to, priority: packet.otherInfo.priority, documentId: packet.documentId });
  return packetId;
}

/** The hub refused `packetId` with DOCUMENT_NOT_OWNED, bounced it to A alone and delivered nothing. */
async function bouncedToA(t: Test, exchange: LocalExchange, packetId: string, documentId: string, message: RegExp): Promise<void> {
  const row = await waitFor('the hub to decide', () => hubPacket(exchange, packetId));
  t.equal(row.verdict, 'refused');
  t.equal(row.error_code, 'DOCUMENT_NOT_OWNED');
  t.match(row.error_message, message, 'the reason names who owns what');
  t.equal(row.sender, A, 'the broker-validated sender');
  t.same(hubOutboundTargets(exchange, packetId), [A], 'the only message it caused is the bounce to A');
  const [bounce] = await hubBounces(exchange, packetId);
  t.equal(bounce?.envelope.extra?.['x-lt-error-code'], 'DOCUMENT_NOT_OWNED', 'the bounce names the code');
  t.same(hubDeliveries(exchange, documentId), [], 'delivered to no one');
}

t.test("the hub bounces A's revocation, update and replacement of B's document; C's copy stays untouched", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const b = exchange.edge(B);
  const c = exchange.edge(C);

  const victim = (await b.outbox.submitDocument(letter([C], 203, { code: { codeNumber: '203', codeNotation: 'STC-NS' } }), 'test')).documentId;
  await waitFor('C to hold B’s document', () => c.document(victim));
  const before = markOf(c, victim);
  t.same(before, { supersededBy: null, notes: [], chain: [victim] });

  const attacks = followUps(victim, [C], 901);
  // A reference to a document the hub never saw must carry A's own organ id.
  const unseen = `${B},2026/11/20,999/STC-NS`;
  attacks.push({ name: 'an update (2) of a B-numbered document the hub never saw', packet: documentPacket(A, [C], 905, { bussiness: { bussinessDocType: '2', documentId: unseen } }) as DocumentPacket });
  for (const attack of attacks) {
    await t.test(attack.name, async (t) => {
      const packetId = await publishAsA(t, exchange, attack.packet);
      const known = attack.packet.bussiness?.documentId !== unseen;
      await bouncedToA(t, exchange, packetId, attack.packet.documentId, known ? /sent by 000\.00\.05\.H12, and only its sender can/ : /belongs to 000\.00\.05\.H12/);
      t.equal(hubDocument(exchange, attack.packet.documentId), undefined, 'the hub records no document under its number');
    });
  }

  // An honest document of A's to C after the attacks: once C holds it, everything before it was handled.
  const marker = (await exchange.edge(A).outbox.submitDocument(letter([C], 910), 'test')).documentId;
  await waitFor('C to hold A’s honest document', () => c.document(marker));
  t.same(markOf(c, victim), before, "B's document at C: not superseded, no revoked/updated/superseded note, its chain alone");
  t.same(inboxOf(c).documentIds.sort(), [marker, victim].sort(), "none of A's claims reached C");
  const lateAt = new Date(Date.now() + 30 * 86_400_000);
  t.ok(
    c.lifecycle.overdue(lateAt).some((item) => item.documentId === victim),
    "B's document is still on C's overdue list (nobody accepted it)",
  );
  t.equal(hubDocument(exchange, victim)?.sender, B, 'the hub still knows B as its sender');
});

t.test("the hub bounces a document numbered with B's DocumentId; B's real document then goes through", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const b = exchange.edge(B);
  const c = exchange.edge(C);

  // B's numbers are sequential: after its 202, its next DocumentId is its organ id, today's date, 203/STC-NS.
  const previous = (await b.outbox.submitDocument(letter([C], 202, { code: { codeNumber: '202', codeNotation: 'STC-NS' } }), 'test')).documentId;
  await waitFor('C to hold B’s 202', () => c.document(previous));
  const real = letter([C], 203, { code: { codeNumber: '203', codeNotation: 'STC-NS' } });
  const squatted = documentPacket(A, [C], 203, { documentId: (documentPacket(B, [C], 203, real) as DocumentPacket).documentId }) as DocumentPacket;
  t.match(squatted.documentId, new RegExp(`^${B.replace(/\./g, '\\.')},`), "A's packet carries B's DocumentId");
  const packetId = await publishAsA(t, exchange, squatted);
  const row = await waitFor('the hub to decide', () => hubPacket(exchange, packetId));
  t.equal(row.error_code, 'DOCUMENT_NOT_OWNED');
  t.match(row.error_message, /belongs to organ 000\.00\.05\.H12, but the document is from 000\.00\.01\.H12/);
  t.same(hubOutboundTargets(exchange, packetId), [A], 'bounced to A only');
  t.equal(hubDocument(exchange, squatted.documentId), undefined, 'the number stays free');

  const submitted = await b.outbox.submitDocument(real, 'test');
  t.equal(submitted.documentId, squatted.documentId, 'B numbers its real document with the same DocumentId');
  await waitFor('C to hold B’s real document', () => c.document(submitted.documentId));
  t.equal(c.document(submitted.documentId)?.document.sender, B, 'C holds it from B');
  t.equal(hubDocument(exchange, submitted.documentId)?.sender, B, 'the hub routed it as B’s');
  await waitFor("B to see C's 01", () => stageAt(b, submitted.documentId, C) === '01');
  t.notOk(
    (b.document(submitted.documentId)?.timeline ?? []).some((e) => e.event === 'bounced'),
    'B was never told its document is a duplicate',
  );
});

t.test("delivered straight to C's inbox (past the hub), A's claims on B's document are ignored, in any order", async (t) => {
  const { exchange } = await openExchange(t, [agency(A, { start: false }), agency(B), agency(C)]);
  const b = exchange.edge(B);
  const c = exchange.edge(C);
  const feed = await inboxFeed(t, c);

  const victim = (await b.outbox.submitDocument(letter([C], 204, { code: { codeNumber: '204', codeNotation: 'STC-NS' } }), 'test')).documentId;
  await waitFor('C to hold B’s document', () => c.document(victim));
  const before = markOf(c, victim);

  for (const attack of followUps(victim, [C], 921)) {
    await t.test(attack.name, async (t) => {
      const { packet } = attack;
      const verdict = await feed.deliver(await signAs(packet, A), { packetId: randomUUID(), type: 'edoc', from: A, to: [C], priority: '0', documentId: packet.documentId, lane: 'normal' });
      t.equal(verdict, 'ack');
      const kept = c.document(packet.documentId);
      t.equal(kept?.document.verdict, 'accepted', "C keeps A's document (validly signed by A, addressed to C)");
      t.equal(kept?.document.relatedDocument, null, 'but it links to nothing');
      t.match(
        kept?.timeline.filter((e) => e.event === 'reference-ignored').map((e) => e.description),
        [/000\.00\.01\.H12 may not (revoke|update|replace) document .* sent by 000\.00\.05\.H12/],
        "A's document's timeline says the claim was ignored, and why",
      );
      t.same(markOf(c, victim), before, "B's document is not marked");
    });
  }

  // Claims that come before the document they name. B's next number is predictable: A's
  // replacement names it before B's document exists; it must not mark it when it arrives.
  const next = letter([C], 205, { code: { codeNumber: '205', codeNotation: 'STC-NS' } });
  const later = (documentPacket(B, [C], 205, next) as DocumentPacket).documentId;
  const early = documentPacket(A, [C], 925, { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: later }] } }) as DocumentPacket;
  t.equal(await feed.deliver(await signAs(early, A), { packetId: randomUUID(), type: 'edoc', from: A, to: [C], priority: '0', documentId: early.documentId, lane: 'normal' }), 'ack');
  t.equal(c.document(later), undefined, "B's document has not arrived yet (the case under test)");
  t.equal((await b.outbox.submitDocument(next, 'test')).documentId, later);
  await waitFor('C to hold B’s later document', () => c.document(later));
  t.same(markOf(c, later), { supersededBy: null, notes: [], chain: [later] }, 'the earlier claim does not mark it when it arrives');
  t.equal(c.document(early.documentId)?.timeline.filter((e) => e.event === 'reference-ignored').length, 1, 'the claim was noted once, when it came');

  // A replacement naming one of A's own numbers, then a document under that number from B (a
  // squat an older hub let through): A's claim does not mark B's document either.
  const squatted = `${A},${early.promulgationInfo.promulgationDate},940/UBND-VP`;
  const own = documentPacket(A, [C], 926, { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: squatted }] } }) as DocumentPacket;
  t.equal(await feed.deliver(await signAs(own, A), { packetId: randomUUID(), type: 'edoc', from: A, to: [C], priority: '0', documentId: own.documentId, lane: 'normal' }), 'ack');
  t.equal(c.document(own.documentId)?.document.relatedDocument, squatted, 'a claim on its own number is kept while that document is unseen');
  const fromB = documentPacket(B, [C], 940, { documentId: squatted }) as DocumentPacket;
  t.equal(await feed.deliver(await signAs(fromB, B), { packetId: randomUUID(), type: 'edoc', from: B, to: [C], priority: '0', documentId: squatted, lane: 'normal' }), 'ack');
  t.same(markOf(c, squatted).supersededBy, null, "B's document under A's number is not superseded by A's claim");
  t.same(markOf(c, squatted).notes, []);
  t.match(
    c.document(own.documentId)?.timeline.filter((e) => e.event === 'reference-ignored').map((e) => e.description),
    [/000\.00\.01\.H12 may not act on document .* sent by 000\.00\.05\.H12/],
    "A's document notes why",
  );
});

t.test('the honest paths still work: A updates, replaces and revokes its own documents, and replies to B', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  const c = exchange.edge(C);

  const d1 = (await a.outbox.submitDocument(letter([C], 931), 'test')).documentId;
  const d2 = (await a.outbox.submitDocument(letter([C], 932), 'test')).documentId;
  await waitFor('C to hold both originals', () => c.document(d1) && c.document(d2));
  const update = (await a.outbox.submitDocument(letter([C], 933, { bussiness: { bussinessDocType: '2', documentId: d1 } }), 'test')).documentId;
  const replacement = (await a.outbox.submitDocument(letter([C], 934, { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: d1 }] } }), 'test')).documentId;
  const revocation = (await a.outbox.submitDocument(letter([C], 935, { bussiness: { bussinessDocType: '1', documentId: d2 } }), 'test')).documentId;
  await waitFor('C to hold the follow-ups', () => [update, replacement, revocation].every((id) => c.document(id)));

  t.equal(c.document(d1)?.document.supersededBy, replacement, 'the replacement supersedes D1 at C');
  t.equal(c.document(d2)?.document.supersededBy, revocation, 'the revocation supersedes D2 at C');
  // In the order C received them: the edges relay and consume several packets at a time, so the
  // update sent first may arrive after the replacement (which supersedes D1 either way).
  t.same([...markOf(c, d1).notes].sort(), [`superseded: superseded by ${replacement}`, `updated: updated by ${update}`], "D1's timeline notes both");
  t.same(markOf(c, d2).notes, [`revoked: revoked by ${revocation}`]);
  const chain = c.lifecycle.chain(d1).map((d) => d.documentId);
  t.same([chain[0], [...chain.slice(1)].sort()], [d1, [update, replacement].sort()], 'the chain: the original, then its update and replacement');
  for (const id of [update, replacement, revocation]) {
    t.notOk(c.document(id)?.timeline.some((e) => e.event === 'reference-ignored'), 'nothing was ignored');
    t.equal(hubDocument(exchange, id)?.sender, A, 'routed by the hub');
  }

  const fromB = (await b.outbox.submitDocument(letter([A], 206, { code: { codeNumber: '206', codeNotation: 'STC-NS' } }), 'test')).documentId;
  await waitFor('A to hold B’s document', () => a.document(fromB));
  const reply = (await a.outbox.submitDocument(letter([B], 936, { responseFor: [{ organId: B, documentId: fromB }] }), 'test')).documentId;
  await waitFor('B to hold the reply', () => b.document(reply));
  t.equal(b.document(reply)?.document.responseFor, fromB, "a reply answers another agency's document by design");
  t.same(b.lifecycle.thread(fromB).replies.map((d) => d.documentId), [reply]);
  t.equal(b.document(fromB)?.document.supersededBy, null, 'and supersedes nothing');
});
