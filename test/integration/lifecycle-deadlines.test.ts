/**
 * What the regulation asks of the exchange besides the statuses themselves, run through the real
 * RabbitMQ with a hub and the edges of A (000.00.01.H12, the sender), B (000.00.05.H12) and C
 * (000.00.31.H12); each test has its own exchange.
 *
 * - Deadlines (Decree 30/2020, Decision 31/2021/QĐ-UBND), on a clock the test holds: receipt (01)
 *   by the end of the working day of arrival (weekends and public holidays do not count), urgent
 *   documents within 30 minutes, processing by DueDate, issue by the working day after signing;
 *   seen from the hub (`hubOverdue`) and from the sender's edge (`lifecycle.overdue`). A
 *   document that waited out the holidays in a recipient's queue is still received; a replaced
 *   document is no longer due.
 * - Documents with a secrecy mark never enter the system; attachments are scanned for malware
 *   (a real clamd, started by the test) and an infected document, or one that could not be
 *   scanned, is neither signed nor queued.
 * - The sender is told which recipients need a paper copy: Paper = 1, or not connected.
 * The statuses, recalls and links are in lifecycle.test.ts; the pure calendar in
 * test/unit/calendar.test.ts.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { LocalExchange } from '../../src/demo/local-exchange.js';
import type { Edge } from '../../src/edge/edge.js';
import { workingCalendar } from '../../src/envelope/calendar.js';
import { hubOverdue } from '../../src/hub/overdue.js';
import { setAgencyStatus } from '../../src/hub/provisioning.js';
import { A, B, C, agency, attachmentBytes, inboxOf, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';
import { EICAR, TestClock, edgeCounts, endOfVnDay, hubDelivery, hubDocument, startClamd, startEdgeWithClock, vn } from '../helpers/lifecycle.js';

const UNKNOWN = '000.00.77.H12';

interface Late {
  kind: string;
  organId: string;
  documentId: string;
  due: string;
  stage: string;
}

const byDocument = (x: Late, y: Late): number => x.documentId.localeCompare(y.documentId) || x.kind.localeCompare(y.kind);

/** What the hub finds late at `at`, with the shipped Vietnamese calendar and 30 minutes for urgent receipts. */
function lateAtHub(exchange: LocalExchange, at: Date): Late[] {
  return hubOverdue(exchange.hub.db, workingCalendar(), at, 30)
    .flatMap((agency) => agency.items)
    .map(({ kind, organId, documentId, due, stage }) => ({ kind, organId, documentId, due, stage }))
    .sort(byDocument);
}

/** What an edge finds late at `at` (its own calendar). */
function lateAtEdge(edge: Edge, at: Date): Array<Late & { direction: string }> {
  return edge.lifecycle
    .overdue(at)
    .map(({ kind, organId, documentId, due, stage, direction }) => ({ kind, organId, documentId, due, stage, direction }))
    .sort(byDocument);
}

const minutesAfter = (instant: Date, minutes: number): string => new Date(instant.getTime() + minutes * 60_000).toISOString();

t.test('receipt (01) is due by the end of the working day of arrival; a hỏa tốc document within 30 minutes', async (t) => {
  const arrival = vn('2026-12-01 10:00'); // a Tuesday
  const clock = new TestClock(arrival);
  // B's edge is not running: nobody there gives the 01.
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(B, { start: false })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);

  const normal = (await a.outbox.submitDocument(letter([B], 701), 'test')).documentId;
  const urgent = (await a.outbox.submitDocument(letter([B], 702, { priority: '3', subject: 'V/v ứng phó bão số 9 (hỏa tốc)' }), 'test')).documentId;
  await waitFor('the hub to deliver both to B', () => hubDelivery(exchange, normal, B)?.stage === 'delivered' && hubDelivery(exchange, urgent, B)?.stage === 'delivered');

  const urgentLate: Late = { kind: 'receipt', organId: B, documentId: urgent, due: minutesAfter(arrival, 30), stage: 'delivered' };
  const normalLate: Late = { kind: 'receipt', organId: B, documentId: normal, due: endOfVnDay('2026-12-01'), stage: 'delivered' };
  t.same(lateAtHub(exchange, vn('2026-12-01 10:29')), [], 'at 10:29 nothing is late');
  t.same(lateAtHub(exchange, vn('2026-12-01 10:31')), [urgentLate], 'at 10:31 the hỏa tốc document is late (30 minutes)');
  t.same(lateAtHub(exchange, vn('2026-12-01 16:00')), [urgentLate], 'at 16:00 the ordinary one is not late yet');
  t.same(lateAtHub(exchange, vn('2026-12-01 23:59')), [urgentLate], 'nor at 23:59');
  t.same(lateAtHub(exchange, vn('2026-12-02 00:01')), [normalLate, urgentLate].sort(byDocument), 'at 00:01 the next day it is');
  const perAgency = hubOverdue(exchange.hub.db, workingCalendar(), vn('2026-12-02 00:01'), 30);
  t.same(
    perAgency.map(({ organId, receipts, processing }) => ({ organId, receipts, processing })),
    [{ organId: B, receipts: 2, processing: 0 }],
    'counted against B',
  );

  // The sender's edge knows only when it sent them: the same deadlines, from its own records.
  const sender = (late: Late): Late & { direction: string } => ({ ...late, stage: 'sent', direction: 'out', due: late.due });
  t.same(lateAtEdge(a, vn('2026-12-01 10:29')), [], "A's view at 10:29");
  t.same(lateAtEdge(a, vn('2026-12-01 16:00')), [sender(urgentLate)], "A's view at 16:00");
  t.same(lateAtEdge(a, vn('2026-12-02 00:01')), [sender(normalLate), sender(urgentLate)].sort(byDocument), "A's view at 00:01 the next day");

  // B comes online (still 10:00 on the test's clock) and gives its 01s: no receipt is late any more.
  const b = await startEdgeWithClock(exchange, B, { clock: clock.now });
  await waitFor('both 01 at A', () => stageAt(a, normal, B) === '01' && stageAt(a, urgent, B) === '01');
  await waitFor('both 01 at the hub', () => hubDelivery(exchange, normal, B)?.stage === '01' && hubDelivery(exchange, urgent, B)?.stage === '01');
  // Received, not yet accepted (03) by the end of the day of arrival: late for acceptance, at the hub as at A.
  const notAccepted = (late: Late): Late => ({ ...late, kind: 'acceptance', stage: '01' });
  t.same(lateAtHub(exchange, vn('2026-12-02 00:01')), [notAccepted(normalLate), notAccepted(urgentLate)].sort(byDocument), 'the hub: no receipt late once B acknowledged, both not accepted');
  t.same(
    lateAtEdge(a, vn('2026-12-02 00:01')).map(({ kind, documentId, due, stage }) => ({ kind, documentId, due, stage })),
    lateAtHub(exchange, vn('2026-12-02 00:01')).map(({ kind, documentId, due, stage }) => ({ kind, documentId, due, stage })),
    'A lists the same acceptances, due at the same times',
  );
  // And once B's văn thư has registered both (03), nothing at all.
  await b.lifecycle.act(normal, { code: '03' });
  await b.lifecycle.act(urgent, { code: '03' });
  await waitFor('both 03 at A', () => stageAt(a, normal, B) === '03' && stageAt(a, urgent, B) === '03');
  t.same(lateAtEdge(a, vn('2026-12-02 00:01')), [], 'A: nothing late once B registered them');
  t.same(lateAtHub(exchange, vn('2026-12-02 00:01')), [], 'nor at the hub');
});

t.test('a document arriving on Friday is due Friday evening; one arriving on Saturday, Monday evening', async (t) => {
  const clock = new TestClock(vn('2026-12-04 10:00')); // Friday
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(B, { start: false })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);

  const friday = (await a.outbox.submitDocument(letter([B], 711), 'test')).documentId;
  await waitFor('the hub to deliver the Friday document', () => hubDelivery(exchange, friday, B)?.stage === 'delivered');
  clock.set(vn('2026-12-05 10:00')); // Saturday
  const saturday = (await a.outbox.submitDocument(letter([B], 712), 'test')).documentId;
  await waitFor('the hub to deliver the Saturday document', () => hubDelivery(exchange, saturday, B)?.stage === 'delivered');

  const fridayLate: Late = { kind: 'receipt', organId: B, documentId: friday, due: endOfVnDay('2026-12-04'), stage: 'delivered' };
  const saturdayLate: Late = { kind: 'receipt', organId: B, documentId: saturday, due: endOfVnDay('2026-12-07'), stage: 'delivered' };
  t.same(lateAtHub(exchange, vn('2026-12-04 23:59')), [], 'Friday 23:59: not late');
  t.same(lateAtHub(exchange, vn('2026-12-05 00:01')), [fridayLate], 'Saturday 00:01: the Friday document is late, the weekend does not extend it');
  t.same(lateAtHub(exchange, vn('2026-12-07 23:59')), [fridayLate], 'Monday 23:59: the Saturday document is not late yet');
  t.same(lateAtHub(exchange, vn('2026-12-08 00:01')), [fridayLate, saturdayLate], 'Tuesday 00:01: it is');
  t.same(
    lateAtEdge(a, vn('2026-12-08 00:01')).map((x) => [x.documentId, x.kind, x.due]),
    [
      [friday, 'receipt', fridayLate.due],
      [saturday, 'receipt', saturdayLate.due],
    ],
    'the sender sees the same deadlines',
  );
  t.same(lateAtEdge(a, vn('2026-12-07 12:00')).map((x) => x.documentId), [friday], 'and on Monday noon only the Friday one');
});

t.test('processing is due by the end of the DueDate; completing the document clears it', async (t) => {
  const clock = new TestClock(vn('2026-12-01 10:00'));
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(C, { edgeOptions: { clock: clock.now } })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);
  const c = exchange.edge(C);

  const { documentId } = await a.outbox.submitDocument(letter([C], 721, { subject: 'V/v báo cáo kết quả giải ngân vốn đầu tư công', dueDate: '2026/12/04' }), 'test');
  await waitFor('C to hold it', () => c.document(documentId));
  await c.lifecycle.act(documentId, { code: '03' });
  await waitFor('the 03 at A and at the hub', () => stageAt(a, documentId, C) === '03' && hubDelivery(exchange, documentId, C)?.stage === '03');

  const late: Late = { kind: 'processing', organId: C, documentId, due: endOfVnDay('2026-12-04'), stage: '03' };
  t.same(lateAtHub(exchange, vn('2026-12-04 23:59')), [], 'on the DueDate itself it is not late');
  t.same(lateAtHub(exchange, vn('2026-12-05 00:01')), [late], 'the hub: late from 2026-12-05, against C, no receipt delay');
  t.same(lateAtEdge(a, vn('2026-12-05 09:00')), [{ ...late, direction: 'out' }], 'the sender sees it');
  t.same(lateAtEdge(c, vn('2026-12-05 09:00')), [{ ...late, direction: 'in' }], 'so does C, about its own work');

  clock.set(vn('2026-12-07 08:30'));
  await c.lifecycle.act(documentId, { code: '05' });
  await waitFor('the 05 at A', () => stageAt(a, documentId, C) === '05');
  t.same(lateAtEdge(a, vn('2026-12-07 09:00')).map((x) => x.stage), ['05'], 'still late while in progress');
  await c.lifecycle.act(documentId, { code: '06' });
  await waitFor('the 06 at A and at the hub', () => stageAt(a, documentId, C) === '06' && hubDelivery(exchange, documentId, C)?.stage === '06');
  t.same(lateAtHub(exchange, vn('2026-12-07 09:00')), [], 'completed: nothing late at the hub');
  t.same(lateAtEdge(a, vn('2026-12-07 09:00')), [], 'nor at A');
  t.same(lateAtEdge(c, vn('2026-12-07 09:00')), [], 'nor at C');
});

t.test('a document is due to be issued by the end of the working day after it was signed', async (t) => {
  const sentAt = vn('2026-12-01 10:00'); // Tuesday
  const clock = new TestClock(sentAt);
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(B, { edgeOptions: { clock: clock.now } })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);

  // Signed Thursday 26/11, sent Tuesday: due Friday 27/11. Signed Monday 30/11, sent Tuesday: in time.
  const late = (await a.outbox.submitDocument(letter([B], 731, { promulgationInfo: { promulgationDate: '2026/11/26' } }), 'test')).documentId;
  const inTime = (await a.outbox.submitDocument(letter([B], 732, { promulgationInfo: { promulgationDate: '2026/11/30' } }), 'test')).documentId;
  await waitFor('both 01 at A', () => stageAt(a, late, B) === '01' && stageAt(a, inTime, B) === '01');
  t.same(
    lateAtEdge(a, vn('2026-12-01 10:00')),
    [{ kind: 'issue', organId: A, documentId: late, due: endOfVnDay('2026-11-27'), stage: 'sent', direction: 'out' }],
    'A issued the Thursday document late, against itself; the Monday one in time',
  );
  t.same(lateAtHub(exchange, vn('2026-12-01 10:00')), [], 'received the same day by B: the hub sees no delay');
});

t.test('Tết and the configured holidays push the receipt deadline past them', async (t) => {
  // Dev certificates are valid from 2026-11-24, so the exchange runs through Tết Đinh Mùi 2027
  // (05-11/02/2027 in the shipped list); Tết 2026 is checked on the calendar alone (unit test).
  const clock = new TestClock(vn('2027-02-08 10:00')); // Monday, a Tết holiday
  const { exchange } = await openExchange(
    t,
    // A's province also gives Friday 12/02 off (a made-up bridge day, from the configuration).
    [agency(A, { edgeOptions: { clock: clock.now }, config: { calendar: { holidays: ['2027-02-12'] } } }), agency(B, { start: false })],
    { hubOptions: { clock: clock.now } },
  );
  const a = exchange.edge(A);
  const { documentId } = await a.outbox.submitDocument(letter([B], 741), 'test');
  await waitFor('the hub to deliver it', () => hubDelivery(exchange, documentId, B)?.stage === 'delivered');

  t.same(lateAtHub(exchange, vn('2027-02-11 23:59')), [], 'not late during Tết');
  t.same(lateAtHub(exchange, vn('2027-02-12 23:59')), [], 'due at the end of the first working day after Tết, Friday 12/02');
  t.same(
    lateAtHub(exchange, vn('2027-02-13 00:01')).map((x) => x.due),
    [endOfVnDay('2027-02-12')],
    'late from Saturday 13/02 on the shipped calendar',
  );
  t.same(lateAtEdge(a, vn('2027-02-13 00:01')), [], "on A's calendar (12/02 off) not late on Saturday");
  t.same(
    lateAtEdge(a, vn('2027-02-16 00:01')).map((x) => x.due),
    [endOfVnDay('2027-02-15')],
    "on A's calendar it is due Monday 15/02",
  );
});

t.test('a document that waited out Tết in an offline recipient\'s queue is still received (01), not returned', async (t) => {
  // Sent on Thursday 04/02/2027, the last working day before Tết Đinh Mùi; B's edge is off over
  // the holidays and back on Friday 12/02, the first working day: the hub routed it in time.
  const clock = new TestClock(vn('2027-02-04 16:00'));
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(B, { start: false })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);
  const { documentId, packetId } = await a.outbox.submitDocument(letter([B], 751), 'test');
  await waitFor('the hub to deliver it before Tết', () => hubDelivery(exchange, documentId, B)?.stage === 'delivered');
  // "delivered" is the hub's decision; the packet's timestamp (the moment B's edge judges the
  // signature's age at) is taken when the broker has it: wait for that before the clock moves on.
  await waitFor('the hub to have published it to B', () =>
    exchange.hub.db.prepare('SELECT 1 FROM outbound WHERE cause = ? AND target = ? AND published_at IS NOT NULL').get(packetId, B) !== undefined,
  );

  clock.set(vn('2027-02-12 08:00'));
  const b = await startEdgeWithClock(exchange, B, { clock: clock.now });
  await waitFor('B to take it', () => b.document(documentId));
  await waitFor("B's answer at A", () => ['01', '02'].includes(stageAt(a, documentId, B) ?? ''));
  t.equal(b.document(documentId)?.document.verdict, 'accepted', 'B accepts it: signature and content are intact, only the holidays passed');
  t.equal(stageAt(a, documentId, B), '01', 'A sees it arrived (01), not returned (02)');
  t.same(
    a.document(documentId)?.timeline.filter((e) => e.event === '02').map((e) => e.description),
    [],
    'no return reason at A',
  );
});

t.test('a replaced document is no longer due: only its replacement counts', async (t) => {
  const clock = new TestClock(vn('2026-12-01 10:00'));
  const { exchange } = await openExchange(t, [agency(A, { edgeOptions: { clock: clock.now } }), agency(B, { edgeOptions: { clock: clock.now } })], { hubOptions: { clock: clock.now } });
  const a = exchange.edge(A);
  const b = exchange.edge(B);

  const original = (await a.outbox.submitDocument(letter([B], 761, { dueDate: '2026/12/04' }), 'test')).documentId;
  await waitFor('B to hold the original', () => b.document(original));
  await b.lifecycle.act(original, { code: '03' });
  const replacement = (
    await a.outbox.submitDocument(letter([B], 762, { dueDate: '2026/12/04', bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: original }] } }), 'test')
  ).documentId;
  await waitFor('B to hold the replacement', () => b.document(replacement));
  await b.lifecycle.act(replacement, { code: '03' });
  await waitFor('both 03 at A', () => stageAt(a, original, B) === '03' && stageAt(a, replacement, B) === '03');
  t.equal(b.document(original)?.document.supersededBy, replacement, 'at B the original is superseded');

  const at = vn('2026-12-05 09:00');
  t.same(
    lateAtEdge(b, at).map((x) => [x.kind, x.documentId]),
    [['processing', replacement]],
    "B's overdue list: the replacement, not the superseded original",
  );
  t.same(
    lateAtEdge(a, at).map((x) => [x.kind, x.documentId]),
    [['processing', replacement]],
    "A's overdue list: the same",
  );
});

t.test('documents with a secrecy mark are refused before anything is written', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  const before = edgeCounts(a);

  await t.rejects(
    a.outbox.submitDocument(letter([B], 801, { subject: 'MẬT - V/v phương án bảo đảm an ninh dịp Tết' }), 'test'),
    { code: 'PACKET_SECRET', message: /MẬT/ },
    'subject stamped "MẬT - "',
  );
  for (const secrecy of ['Mật', 'Tối mật', 'Tuyệt mật']) {
    await t.rejects(a.outbox.submitDocument({ ...letter([B], 802), secrecy }, 'test'), { code: 'PACKET_SECRET', message: new RegExp(secrecy) }, `secrecy: "${secrecy}"`);
  }
  await t.rejects(
    a.outbox.submitDocument(letter([B], 803, { attachments: [{ name: 'Phu-luc (TỐI MẬT).pdf', content: attachmentBytes(803) }] }), 'test'),
    { code: 'PACKET_SECRET' },
    'an attachment named with the stamp',
  );
  t.same(edgeCounts(a), before, "A's outbox, documents, deliveries, events, attachments and blobs are unchanged");
  t.equal((exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM packets').get() as { n: number }).n, 0, 'the hub saw nothing');

  // "bí mật" in a sentence is not a classification: such a document goes through.
  const { documentId } = await a.outbox.submitDocument(letter([B], 804, { subject: 'V/v tăng cường công tác bảo vệ bí mật nhà nước' }), 'test');
  await waitFor('B to receive the unclassified document', () => b.document(documentId));
  t.same(inboxOf(b).documentIds, [documentId], 'only it reached B');
});

t.test('attachments are scanned by ClamAV: EICAR is refused by name, a clean file passes, no scanner means no sending', async (t) => {
  const clamd = await startClamd(t);
  const { exchange } = await openExchange(t, [agency(A, { config: { clamd: clamd.socket } }), agency(B)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);

  let before = edgeCounts(a);
  const infected = a.outbox.submitDocument(
    letter([B], 811, {
      attachments: [
        { name: 'bao-cao.pdf', content: attachmentBytes(811) },
        { name: 'cong-cu-tinh-luong.com', content: EICAR },
      ],
    }),
    'test',
  );
  await t.rejects(infected, { code: 'MALWARE_FOUND', message: /"cong-cu-tinh-luong\.com"/ }, 'refused, naming the infected attachment');
  const error = (await infected.catch((e: unknown) => e)) as { message: string; context: { path?: string } };
  t.match(error.message, clamd.signature, "with clamd's signature name");
  t.notMatch(error.message, /bao-cao\.pdf/, 'and not the clean one');
  t.equal(error.context.path, 'attachments.cong-cu-tinh-luong.com');
  t.same(edgeCounts(a), before, 'nothing was signed, stored or queued');

  const clean = await a.outbox.submitDocument(letter([B], 812), 'test');
  await waitFor('B to receive the clean document', () => b.document(clean.documentId));
  const file = await b.attachment(clean.documentId, 'cid:1');
  t.ok(file?.content.equals(attachmentBytes(812)), 'the scanned attachment arrives byte for byte');
  t.same(inboxOf(b).documentIds, [clean.documentId], 'the infected document never reached B');

  await clamd.stop();
  t.notOk(existsSync(clamd.socket), 'the scanner is gone');
  before = edgeCounts(a);
  await t.rejects(a.outbox.submitDocument(letter([B], 813), 'test'), { code: 'SCAN_FAILED', message: /not sent/ }, 'no scanner: refused, not sent unscanned');
  t.same(edgeCounts(a), before, 'nothing was written');
  t.equal(hubDocument(exchange, `${A},${clean.documentId.split(',')[1]},813/UBND-VP`), undefined, 'the hub never saw it');
});

t.test('the sender is told which recipients need paper: Paper = 1, and recipients not connected', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);

  const withPaper = (await a.outbox.submitDocument(letter([B, C], 901, { bussiness: { paper: '1' } }), 'test')).documentId;
  const toUnknown = (await a.outbox.submitDocument(letter([B, UNKNOWN], 902), 'test')).documentId;
  const plain = (await a.outbox.submitDocument(letter([B], 903), 'test')).documentId;
  await waitFor('the paper document at B and C', () => stageAt(a, withPaper, B) === '01' && stageAt(a, withPaper, C) === '01');
  setAgencyStatus({ db: exchange.hub.db, actor: 'test operator' }, C, 'suspended');
  const toSuspended = (await a.outbox.submitDocument(letter([C], 904), 'test')).documentId;
  await waitFor(
    'every answer at A',
    () => stageAt(a, toUnknown, B) === '01' && stageAt(a, toUnknown, UNKNOWN) === 'bounced' && stageAt(a, plain, B) === '01' && stageAt(a, toSuspended, C) === 'bounced',
    { describe: () => [toUnknown, plain, toSuspended].map((id) => a.document(id)?.deliveries) },
  );

  const paper = a.lifecycle.paper().map((p) => ({ documentId: p.documentId, recipient: p.recipient, reason: p.reason }));
  const list = (id: string): Array<{ recipient: string; reason: string }> => paper.filter((p) => p.documentId === id).map(({ recipient, reason }) => ({ recipient, reason }));
  t.same(
    list(withPaper),
    [
      { recipient: B, reason: 'bản giấy gửi kèm (Paper = 1)' },
      { recipient: C, reason: 'bản giấy gửi kèm (Paper = 1)' },
    ],
    'Paper = 1: every recipient gets the paper original',
  );
  t.equal(exchange.edge(B).document(withPaper)?.document.paper, true, 'B knows a paper original follows');
  t.same(list(toUnknown).map((p) => p.recipient), [UNKNOWN], 'the unconnected recipient only, not B');
  t.match(list(toUnknown)[0]?.reason, /^chưa kết nối: Không chuyển được văn bản tới 000\.00\.77\.H12: \[AGENCY_UNKNOWN\] "recipient 000\.00\.77\.H12 is not connected to this hub; send it on paper"$/, "with the hub's reason");
  t.same(list(toSuspended).map((p) => p.recipient), [C], 'a suspended recipient too');
  t.match(list(toSuspended)[0]?.reason, /^chưa kết nối: Không chuyển được văn bản tới 000\.00\.31\.H12: \[AGENCY_SUSPENDED\] "/);
  t.same(list(plain), [], 'a delivered document without Paper needs no paper');
  t.equal(paper.length, 4, 'nothing else is listed');
});
