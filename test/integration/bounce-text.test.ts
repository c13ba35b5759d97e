/**
 * What the hub signs in a bounce (issue 9): the reason may repeat what the sender wrote, so the
 * Description quotes it on one bounded line; and a DocumentId the hub took only from the
 * x-lt-document-id header of a packet it could not read is the sender's claim: the refused
 * packet is not filed under that document, and the bounce says it is a claim. Against the real
 * RabbitMQ, with C's own credentials as a misbehaving client.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { parsePacket, type DocumentPacket, type StatusPacket } from '../../src/envelope/index.js';
import {
  A,
  B,
  C,
  agency,
  documentPacket,
  headersOf,
  hubPacket,
  hubPacketsOf,
  letter,
  openExchange,
  publishAs,
  signAs,
  stageAt,
  takeFromQueue,
  verifyDev,
  waitFor,
} from '../helpers/exchange.js';

t.test("a bounce quotes the sender's text on one bounded line, and a header's DocumentId only as a claim", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C, { start: false })]);
  const a = exchange.edge(A);
  // A real document of A's, routed to B: what C will name in its header.
  const real = await a.outbox.submitDocument(letter([B], 77), 'test');
  await waitFor("B's 01", () => stageAt(a, real.documentId, B) === '01');

  // 1. An unreadable packet from C whose header names A's document.
  const unreadable = randomUUID();
  await publishAs(t, exchange, C, Buffer.from('<edXML>not a packet'), { packetId: unreadable, type: 'edoc', from: C, to: [B], priority: '0', documentId: real.documentId });

  // 2. A packet C signed whose From is a long text with line breaks and a direction override.
  const packet = documentPacket(C, [B], 78) as DocumentPacket;
  const long = `${A}\n[AGENCY_UNKNOWN] lines of C's choosing \u202e${'x'.repeat(5000)}`;
  const forgedFrom = randomUUID();
  packet.from.organId = long;
  await publishAs(t, exchange, C, await signAs(packet, C), { packetId: forgedFrom, type: 'edoc', from: C, to: [B], priority: '0', documentId: packet.documentId });

  const bounces = await takeFromQueue(t, exchange, C, 'normal', 2);
  const bounceOf = (cause: string) => bounces.find((m) => headersOf(m)['x-lt-cause'] === cause);

  await t.test('the unreadable packet: refused, not filed under the document its header names', async (t) => {
    const row = await waitFor('the hub to record it', () => hubPacket(exchange, unreadable));
    t.equal(row.verdict, 'refused');
    t.equal(row.sender, C);
    t.equal(row.document_id, null, "the hub's records do not put it with A's document");
    const filed = hubPacketsOf(exchange, real.documentId).map((p) => p.packet_id);
    t.ok(filed.includes(real.packetId), "A's document has its packets");
    t.notOk(filed.includes(unreadable), "but not C's (its evidence file and timeline stay A's and B's)");
    const audit = exchange.hub.db.prepare("SELECT details FROM audit WHERE action = 'packet.refused' AND subject = ?").get(unreadable) as { details: string } | undefined;
    t.match(JSON.parse(audit?.details ?? '{}'), { documentId: null, claimedDocumentId: real.documentId }, 'the audit trail keeps the claim as a claim');
    const bounce = bounceOf(unreadable);
    if (!bounce) return t.fail('no bounce for the unreadable packet');
    t.same((await verifyDev(bounce.content)).report.errors, [], 'a validly signed bounce, so an honest edge still learns of it');
    const status = parsePacket(bounce.content) as StatusPacket;
    t.equal(status.responseFor.documentId, real.documentId);
    t.match(status.description, /mã văn bản "[^"]+" chỉ do tiêu đề x-lt-document-id khai, không phải của gói tin/, 'it says the DocumentId is only claimed');
  });

  await t.test("the forged From: quoted, one line, bounded in the hub's signed Description", async (t) => {
    const row = await waitFor('the hub to record it', () => hubPacket(exchange, forgedFrom));
    t.equal(row.error_code, 'SENDER_MISMATCH');
    const bounce = bounceOf(forgedFrom);
    if (!bounce) return t.fail('no bounce for the forged From');
    t.same((await verifyDev(bounce.content)).report.errors, []);
    const description = (parsePacket(bounce.content) as StatusPacket).description ?? '';
    t.match(description, /^Trục liên thông [^:]+ từ chối gói tin của 000\.00\.31\.H12: \[SENDER_MISMATCH\] "the packet says it is from 000\.00\.01\.H12 \[AGENCY_UNKNOWN\] lines of C's choosing x+…"$/);
    t.notMatch(description, /[\n\r\u202e]/, 'no line break or direction override of the sender');
    t.ok(description.length < 500, `bounded (${description.length} characters, the From had ${long.length})`);
  });
});
