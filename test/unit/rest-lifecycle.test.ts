/**
 * A document's life after sending, through the edge's REST API: two opened edges (no broker),
 * the Văn phòng UBND (A) and the Sở Tài chính (B), sharing nothing but the development PKI. A's
 * signed packets are handed from its outbox to B's inbox (and B's back to A's) the way the hub
 * would deliver them, so that B holds a received document to act on: accept, assign, process,
 * complete, return; reply; A updates, replaces and recalls; both follow threads and chains; the
 * reports list what is late and what needs a paper copy. Every error body is checked against
 * schemas/api/error.json, every success body of the new routes against its schema.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { signPacket } from '../../src/crypto/sign.js';
import type { Edge } from '../../src/edge/edge.js';
import { buildPacket, composeStatus, formatEdxmlDate, parsePacket, type DocumentPacket, type Packet, type StatusPacket } from '../../src/envelope/index.js';
import { silentLogger } from '../../src/log.js';
import { apiKeyFromCli, errorBodyValidator, inboxFeed, openedEdge, type InboxFeed } from '../helpers/edge-api.js';
import { CITY, FINANCE, HUB, OFFICE, PDF_BYTES, REPO, identityOf, organ } from '../helpers/pki.js';

const checkErrorBody = errorBodyValidator();
let errorBodiesChecked = 0;

/** Validators of the success bodies of the new routes (schemas/api/*.json). */
const ajv = new Ajv.default({ allErrors: true, strict: false, validateFormats: false });
const SCHEMAS = join(REPO, 'schemas', 'api');
for (const file of readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);
const RESPONSE_SCHEMA: Array<[RegExp, string, string]> = [
  [/\/status$/, 'POST', 'status-queued.json'],
  [/\/recall$/, 'POST', 'recall-queued.json'],
  [/\/(reply|update|replace)$/, 'POST', 'submitted.json'],
  [/\/thread$/, 'GET', 'thread.json'],
  [/\/chain$/, 'GET', 'chain.json'],
  [/\/overdue(\?|$)/, 'GET', 'overdue-list.json'],
  [/\/paper$/, 'GET', 'paper-list.json'],
];
let successBodiesChecked = 0;

interface Side {
  edge: Edge;
  app: FastifyInstance;
  /** Hands packets of the other edge to this edge's inbox. */
  feed: InboxFeed;
  call(options: InjectOptions): Promise<LightMyRequestResponse>;
}

async function side(t: Test, organId: string, raw: Record<string, unknown> = {}): Promise<Side> {
  const edge = await openedEdge(t, organId, raw);
  const client = await apiKeyFromCli(`qlvb-${organId}`);
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [client.entry], bodyLimit: 8 * 1024 * 1024 }, { log: silentLogger(), rateLimit: false });
  t.teardown(() => app.close());
  await app.ready();
  const feed = await inboxFeed(t, edge);
  const call = async (inject: InjectOptions): Promise<LightMyRequestResponse> => {
    const response = await app.inject({ ...inject, headers: { ...(inject.headers ?? {}), 'x-api-key': client.key } });
    if (response.statusCode >= 400) {
      const problem = checkErrorBody(response.json());
      if (problem) throw new Error(`${inject.method} ${inject.url} answered ${response.statusCode} with a body outside error.json: ${problem}\n${response.body}`);
      errorBodiesChecked++;
    } else {
      const url = String(inject.url);
      const schema = RESPONSE_SCHEMA.find(([pattern, method]) => pattern.test(url) && method === inject.method)?.[2];
      if (schema) {
        const validate = ajv.getSchema(schema);
        if (!validate?.(response.json())) throw new Error(`${inject.method} ${url}: the body is outside ${schema}: ${ajv.errorsText(validate?.errors)}\n${response.body}`);
        successBodiesChecked++;
      }
    }
    return response;
  };
  return { edge, app, feed, call };
}

/** A (Văn phòng UBND) sends, B (Sở Tài chính) receives. */
async function pair(t: Test, rawB: Record<string, unknown> = {}): Promise<{ a: Side; b: Side }> {
  return { a: await side(t, OFFICE), b: await side(t, FINANCE, rawB) };
}

const today = formatEdxmlDate(new Date());
const idOf = (organId: string, number: string, notation: string): string => `${organId},${today},${number}/${notation}`;
const url = (documentId: string, tail = ''): string => `/api/v1/documents/${encodeURIComponent(documentId)}${tail}`;

/** A submits công văn `n` (to B unless told otherwise). */
async function send(t: Test, a: Side, n: string, extra: Record<string, unknown> = {}): Promise<{ documentId: string; packetId: string }> {
  const r = await a.call({
    method: 'POST',
    url: '/api/v1/documents',
    payload: { to: [{ organId: FINANCE, organName: organ(FINANCE).name }], code: { codeNumber: n, codeNotation: 'UBND-VP' }, subject: `V/v báo cáo số ${n}`, ...extra },
  });
  t.equal(r.statusCode, 202, `document ${n} submitted: ${r.body}`);
  return r.json();
}

/** A sends `n` and the hub's part is played: B's inbox gets the signed packet. */
async function deliver(t: Test, a: Side, b: Side, n: string, extra: Record<string, unknown> = {}): Promise<{ documentId: string; packetId: string }> {
  const sent = await send(t, a, n, extra);
  t.equal(await b.feed.handOver(a.edge, sent.packetId), 'ack', `B received ${n}`);
  return sent;
}

interface Row {
  packetId: string;
  kind: string;
  statusCode: string | null;
  recipients: string[];
  lane: string;
  priority: string;
  client: string | null;
}

function outboxRows(edge: Edge, documentId: string): Row[] {
  return (
    edge.db.prepare('SELECT packet_id, kind, status_code, recipients, lane, priority, client FROM outbox WHERE document_id = ? ORDER BY created_at, rowid').all(documentId) as Array<
      Record<string, string>
    >
  ).map((r) => ({
    packetId: r.packet_id as string,
    kind: r.kind as string,
    statusCode: (r.status_code as string | null) ?? null,
    recipients: JSON.parse(r.recipients as string) as string[],
    lane: r.lane as string,
    priority: r.priority as string,
    client: (r.client as string | null) ?? null,
  }));
}

const countOutbox = (edge: Edge): number => (edge.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;

/** The signed packet of an outbox row, parsed. */
async function signed(edge: Edge, packetId: string): Promise<Packet> {
  const row = edge.records.outboxEntry(packetId);
  if (!row) throw new Error(`no outbox row ${packetId}`);
  return parsePacket(await edge.blobs.get(row.blob));
}

async function signedDocument(edge: Edge, packetId: string): Promise<DocumentPacket> {
  const packet = await signed(edge, packetId);
  if (packet.kind !== 'document') throw new Error(`${packetId} is not a document packet`);
  return packet;
}

async function signedStatus(edge: Edge, packetId: string): Promise<StatusPacket> {
  const packet = await signed(edge, packetId);
  if (packet.kind !== 'status') throw new Error(`${packetId} is not a status packet`);
  return packet;
}

async function view(s: Side, documentId: string): Promise<Record<string, any>> {
  const r = await s.call({ method: 'GET', url: url(documentId) });
  if (r.statusCode !== 200) throw new Error(`GET ${documentId}: ${r.statusCode} ${r.body}`);
  return r.json();
}

const status = (s: Side, documentId: string, body: unknown): Promise<LightMyRequestResponse> => s.call({ method: 'POST', url: url(documentId, '/status'), payload: body as object });
const ids = (list: Array<{ documentId: string }>): string[] => list.map((d) => d.documentId);

t.test('the recipient accepts, assigns, processes and completes a document; each step is a signed status to the sender', async (t) => {
  const { a, b } = await pair(t);
  const { documentId, packetId } = await deliver(t, a, b, '11');
  t.match(b.feed.events, [{ type: 'document', documentId, accepted: true }]);
  t.match(await view(b, documentId), { direction: 'in', sender: OFFICE, deliveries: [{ recipient: FINANCE, stage: '01', recall: 'none' }] }, 'arrived: 01 given by the edge');
  t.match(outboxRows(b.edge, documentId), [{ kind: 'status', statusCode: '01', recipients: [OFFICE] }]);

  const accepted = await status(b, documentId, { code: '03', staff: { department: 'Văn thư', staff: 'Trần Thị B' } });
  t.equal(accepted.statusCode, 202, accepted.body);
  t.match(accepted.json(), { packetId: /^[0-9a-f-]{36}$/, state: { stage: '03', recall: 'none' } });
  const assigned = await status(b, documentId, { code: '04', assignment: { unit: 'Phòng Ngân sách', person: 'Nguyễn Văn C', role: 'main' } });
  t.equal(assigned.statusCode, 202, assigned.body);
  t.same(assigned.json().state, { stage: '04', recall: 'none' });
  const processing = await status(b, documentId, { code: '05', description: 'Đang tổng hợp số liệu' });
  t.same(processing.json().state, { stage: '05', recall: 'none' });
  const completed = await status(b, documentId, { code: '06', description: 'Đã ban hành văn bản trả lời' });
  t.equal(completed.statusCode, 202, completed.body);
  t.same(completed.json().state, { stage: '06', recall: 'none' });

  const rows = outboxRows(b.edge, documentId);
  t.same(
    rows.map((r) => [r.kind, r.statusCode, r.recipients, r.lane]),
    [
      ['status', '01', [OFFICE], 'normal'],
      ['status', '03', [OFFICE], 'normal'],
      ['status', '04', [OFFICE], 'normal'],
      ['status', '05', [OFFICE], 'normal'],
      ['status', '06', [OFFICE], 'normal'],
    ],
    'one status row per step, to the sender, on the lane of the document',
  );
  t.same(
    rows.slice(1).map((r) => r.packetId),
    [accepted, assigned, processing, completed].map((r) => r.json().packetId),
    'the packet ids answered are the queued rows',
  );

  const s03 = await signedStatus(b.edge, accepted.json().packetId);
  t.match(s03, { statusCode: '03', from: { organId: FINANCE }, responseFor: { organId: OFFICE, documentId, code: '11/UBND-VP', promulgationDate: today } });
  t.same(s03.staffInfo, { department: 'Văn thư', staff: 'Trần Thị B' }, 'who acted travels as StaffInfo');
  t.equal((await signedStatus(b.edge, assigned.json().packetId)).description, 'Phân công Phòng Ngân sách - Nguyễn Văn C (xử lý chính)', 'the assignment is described');
  t.equal((await signedStatus(b.edge, processing.json().packetId)).description, 'Đang tổng hợp số liệu');

  const inB = await view(b, documentId);
  t.match(inB, { deliveries: [{ recipient: FINANCE, stage: '06' }], assignment: { unit: 'Phòng Ngân sách', person: 'Nguyễn Văn C', role: 'main', at: /Z$/ } });
  t.same(
    inB.timeline.map((e: { event: string; packetId: string }) => [e.event, e.packetId]),
    [
      ['delivered', packetId],
      ['01', rows[0]?.packetId],
      ['03', rows[1]?.packetId],
      ['04', rows[2]?.packetId],
      ['05', rows[3]?.packetId],
      ['06', rows[4]?.packetId],
    ],
    "B's timeline: every step with the packet that carried it",
  );

  t.same(await a.feed.handOverAll(b.edge, documentId), ['ack', 'ack', 'ack', 'ack', 'ack'], "B's statuses reach A");
  const inA = await view(a, documentId);
  t.match(inA.deliveries, [{ recipient: FINANCE, stage: '06', recall: 'none' }], 'A sees B completed it');
  t.same(
    inA.timeline.map((e: { event: string; recipient: string }) => [e.event, e.recipient]),
    [['sent', FINANCE], ['01', FINANCE], ['03', FINANCE], ['04', FINANCE], ['05', FINANCE], ['06', FINANCE]],
  );
  t.same(ids((await a.call({ method: 'GET', url: '/api/v1/outbox?stage=06' })).json().items), [documentId]);
});

t.test('a step the state machine does not allow is refused with 409 and nothing is queued', async (t) => {
  const { a, b } = await pair(t);
  const { documentId } = await deliver(t, a, b, '12');
  const queued = countOutbox(b.edge);

  const early = await status(b, documentId, { code: '06' });
  t.equal(early.statusCode, 409, '06 before 03');
  t.match(early.json().error, { code: 'STATUS_ILLEGAL_TRANSITION', documentId, message: /before the document is accepted \(03\)/ });
  for (const code of ['04', '05']) {
    const r = await status(b, documentId, { code, assignment: code === '04' ? { unit: 'Phòng Ngân sách' } : undefined });
    t.equal(r.statusCode, 409, `${code} before 03`);
  }
  t.equal((await status(b, documentId, { code: '15' })).statusCode, 409, '15 without a recall to answer');
  t.equal(countOutbox(b.edge), queued, 'no status row was added');
  t.match((await view(b, documentId)).deliveries, [{ stage: '01' }], 'the state did not move');
  t.equal((await view(b, documentId)).timeline.length, 2, 'nor the timeline');

  const noReason = await status(b, documentId, { code: '02' });
  t.equal(noReason.statusCode, 422, '02 without a reason');
  t.match(noReason.json().error, { code: 'PACKET_INVALID', path: 'description', message: /needs a reason/ });
  t.equal((await status(b, documentId, { code: '02', description: '   ' })).statusCode, 422, 'a blank reason is none');
  t.equal((await status(b, documentId, { code: '16' })).statusCode, 422, '16 without a reason');

  t.equal((await status(b, documentId, { code: '03' })).statusCode, 202);
  const again = await status(b, documentId, { code: '03' });
  t.equal(again.statusCode, 409, 'the same status twice');
  t.match(again.json().error.message, /already given/);
  const nobody = await status(b, documentId, { code: '04', assignment: {} });
  t.equal(nobody.statusCode, 422, 'an assignment names a unit or a person');
  t.match(nobody.json().error, { code: 'PACKET_INVALID', path: 'assignment' });
  t.equal((await status(b, documentId, { code: '04' })).statusCode, 422, 'so 04 without one is refused');
  t.equal((await status(b, documentId, { code: '02', description: 'Không thuộc thẩm quyền' })).statusCode, 409, '02 after 03');
  t.equal(countOutbox(b.edge), queued + 1, 'only the 03 was queued');

  const returned = (await deliver(t, a, b, '13')).documentId;
  const r02 = await status(b, returned, { code: '02', description: 'Văn bản không thuộc thẩm quyền giải quyết của Sở Tài chính' });
  t.equal(r02.statusCode, 202, r02.body);
  t.same(r02.json().state, { stage: '02', recall: 'none' });
  t.equal((await signedStatus(b.edge, r02.json().packetId)).description, 'Văn bản không thuộc thẩm quyền giải quyết của Sở Tài chính', 'the reason travels');
  const afterReturn = countOutbox(b.edge);
  for (const body of [{ code: '03' }, { code: '04', assignment: { person: 'Nguyễn Văn C' } }, { code: '05' }, { code: '06' }, { code: '02', description: 'lần nữa' }, { code: '16', description: 'x' }]) {
    const r = await status(b, returned, body);
    t.equal(r.statusCode, 409, `${body.code} after 02`);
    t.equal(r.json().error.code, 'STATUS_ILLEGAL_TRANSITION');
  }
  t.equal(countOutbox(b.edge), afterReturn, 'nothing after 02 was queued');

  const own = await status(a, documentId, { code: '03' });
  t.equal(own.statusCode, 403, 'the sender does not act on its own document');
  t.match(own.json().error, { code: 'NOT_RECIPIENT', documentId });
  const unknown = await status(b, idOf(OFFICE, '999', 'UBND-VP'), { code: '03' });
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'NOT_FOUND');

  for (const [body, path] of [
    [{ code: '01' }, 'body/code'],
    [{ code: '13', description: 'x' }, 'body/code'],
    [{}, 'body/code'],
    [{ code: '05', description: 'x'.repeat(1001) }, 'body/description'],
    [{ code: '05', note: 'x' }, 'body/note'],
    [{ code: '04', assignment: { unit: 'P', role: 'boss' } }, 'body/assignment/role'],
    [{ code: '03', assignment: { unit: 'Phòng Ngân sách' } }, 'body/assignment'],
  ] as const) {
    const r = await status(b, documentId, body);
    t.equal(r.statusCode, 400, JSON.stringify(body));
    t.match(r.json().error, { code: 'USAGE', path });
  }
});

t.test('a reply is linked to what it answers: the thread reads both ways on both edges', async (t) => {
  const { a, b } = await pair(t);
  const original = (await deliver(t, a, b, '21')).documentId;

  const r = await b.call({
    method: 'POST',
    url: url(original, '/reply'),
    payload: { code: { codeNumber: '45', codeNotation: 'STC-NS' }, subject: 'V/v trả lời Công văn số 21/UBND-VP', content: 'Sở Tài chính báo cáo như sau.' },
  });
  t.equal(r.statusCode, 202, r.body);
  const reply = idOf(FINANCE, '45', 'STC-NS');
  t.match(r.json(), { documentId: reply, lane: 'normal' });
  t.equal(r.headers.location, url(reply));
  const packet = await signedDocument(b.edge, r.json().packetId);
  t.same(packet.responseFor, [{ organId: OFFICE, documentId: original, code: '21/UBND-VP', promulgationDate: today }], 'ResponseFor names the received document');
  t.same(packet.to.map((o) => [o.organId, o.organName]), [[OFFICE, organ(OFFICE).name]], 'addressed to its sender, as its From block named it');
  t.equal(packet.bussiness?.bussinessDocType, '0', 'a reply is a new document');
  t.match(b.edge.records.outboxEntry(r.json().packetId), { kind: 'document', recipients: [OFFICE], client: `qlvb-${FINANCE}` });

  const down = (await b.call({ method: 'GET', url: url(original, '/thread') })).json();
  t.same(ids(down.ancestors), []);
  t.same(ids(down.replies), [reply], "B: the received document's replies");
  t.match(down.replies[0], { direction: 'out', sender: FINANCE, url: url(reply), deliveries: [{ recipient: OFFICE, stage: 'sent' }] });
  const up = (await b.call({ method: 'GET', url: url(reply, '/thread') })).json();
  t.same(ids(up.ancestors), [original], 'B: what the reply answers');
  t.match(up.ancestors[0], { direction: 'in', sender: OFFICE });
  t.same(up.replies, []);
  t.equal((await view(b, reply)).responseFor, original);

  t.equal(await a.feed.handOver(b.edge, r.json().packetId), 'ack', 'the reply reaches A');
  t.same(ids((await a.call({ method: 'GET', url: url(original, '/thread') })).json().replies), [reply], 'A: its document has a reply');
  t.same(ids((await a.call({ method: 'GET', url: url(reply, '/thread') })).json().ancestors), [original], 'A: the reply answers its document');

  // A answers the reply, to B and the city; the thread grows on A.
  const again = await a.call({
    method: 'POST',
    url: url(reply, '/reply'),
    payload: { to: [{ organId: FINANCE }, { organId: CITY }], code: { codeNumber: '22', codeNotation: 'UBND-VP' }, subject: 'V/v ý kiến về báo cáo của Sở Tài chính' },
  });
  t.equal(again.statusCode, 202, again.body);
  const second = idOf(OFFICE, '22', 'UBND-VP');
  const secondPacket = await signedDocument(a.edge, again.json().packetId);
  t.same(secondPacket.to.map((o) => o.organId), [FINANCE, CITY], 'an explicit "to" is kept');
  t.same(secondPacket.responseFor, [{ organId: FINANCE, documentId: reply, code: '45/STC-NS', promulgationDate: today }]);
  t.same(ids((await a.call({ method: 'GET', url: url(original, '/thread') })).json().replies), [reply, second], 'replies to replies are in the thread');
  t.same(ids((await a.call({ method: 'GET', url: url(second, '/thread') })).json().ancestors), [original, reply], 'the first document first');
  t.equal(await b.feed.handOver(a.edge, again.json().packetId), 'ack');
  t.same(ids((await b.call({ method: 'GET', url: url(original, '/thread') })).json().replies), [reply, second], 'and on B once it arrived');

  // A reply with an attachment, as multipart.
  const form = new FormData();
  form.append('metadata', JSON.stringify({ code: { codeNumber: '46', codeNotation: 'STC-NS' }, subject: 'V/v gửi bổ sung số liệu' }));
  form.append('file', new Blob([PDF_BYTES], { type: 'application/pdf' }), 'Số liệu bổ sung.pdf');
  const request = new Request('http://edge/', { method: 'POST', body: form });
  const multipart = await b.call({ method: 'POST', url: url(original, '/reply'), headers: { 'content-type': request.headers.get('content-type') as string }, payload: Buffer.from(await request.arrayBuffer()) });
  t.equal(multipart.statusCode, 202, multipart.body);
  const withFile = await signedDocument(b.edge, multipart.json().packetId);
  t.same(withFile.attachments?.map((x) => x.attachmentName), ['Số liệu bổ sung.pdf']);
  t.equal(withFile.responseFor?.[0]?.documentId, original);

  const queued = countOutbox(a.edge);
  const own = await a.call({ method: 'POST', url: url(original, '/reply'), payload: { code: { codeNumber: '23', codeNotation: 'UBND-VP' }, subject: 'x' } });
  t.equal(own.statusCode, 403, 'no reply to a document this agency sent');
  t.match(own.json().error, { code: 'NOT_RECIPIENT', documentId: original });
  t.equal(countOutbox(a.edge), queued, 'nothing queued');
  const unknown = await b.call({ method: 'POST', url: url(idOf(OFFICE, '998', 'UBND-VP'), '/reply'), payload: { code: { codeNumber: '47', codeNotation: 'STC-NS' }, subject: 'x' } });
  t.equal(unknown.statusCode, 404);
  const linked = await b.call({ method: 'POST', url: url(original, '/reply'), payload: { code: { codeNumber: '48', codeNotation: 'STC-NS' }, subject: 'x', responseFor: [{ organId: CITY }] } });
  t.equal(linked.statusCode, 400, 'the edge links a reply, the client does not');
  t.match(linked.json().error, { code: 'USAGE', path: 'body/responseFor' });
  const typed = await b.call({ method: 'POST', url: url(original, '/reply'), payload: { code: { codeNumber: '48', codeNotation: 'STC-NS' }, subject: 'x', bussiness: { bussinessDocType: '3' } } });
  t.equal(typed.statusCode, 400, 'nor its Bussiness type');
  const secret = await b.call({ method: 'POST', url: url(original, '/reply'), payload: { code: { codeNumber: '49', codeNotation: 'STC-NS' }, subject: 'MẬT - V/v phương án' } });
  t.equal(secret.statusCode, 422, 'a reply is validated like any document');
  t.equal(secret.json().error.code, 'PACKET_SECRET');
  const text = await b.call({ method: 'POST', url: url(original, '/reply'), headers: { 'content-type': 'text/plain' }, payload: 'hello' });
  t.equal(text.statusCode, 415);
  t.equal((await b.call({ method: 'GET', url: url(idOf(OFFICE, '998', 'UBND-VP'), '/thread') })).statusCode, 404);
});

t.test('update and replace: the edge sets the Bussiness block of the signed packet and the chain links them', async (t) => {
  const { a, b } = await pair(t);
  const original = (
    await deliver(t, a, b, '31', {
      to: [
        { organId: FINANCE, organName: organ(FINANCE).name },
        { organId: CITY, organName: organ(CITY).name },
      ],
    })
  ).documentId;

  const u = await a.call({
    method: 'POST',
    url: url(original, '/update'),
    payload: { code: { codeNumber: '32', codeNotation: 'UBND-VP' }, subject: 'V/v cập nhật Công văn số 31/UBND-VP', bussiness: { bussinessDocumentInfo: { documentInfo: '1' } } },
  });
  t.equal(u.statusCode, 202, u.body);
  const update = idOf(OFFICE, '32', 'UBND-VP');
  t.equal(u.headers.location, url(update));
  const updatePacket = await signedDocument(a.edge, u.json().packetId);
  t.match(updatePacket.bussiness, { bussinessDocType: '2', documentId: original, bussinessDocReason: 'Cập nhật văn bản điện tử', paper: '0', bussinessDocumentInfo: { documentInfo: '1' } });
  t.notOk(updatePacket.bussiness?.replacementInfoList, 'an update replaces nothing');
  t.same(
    updatePacket.to.map((o) => [o.organId, o.organName]),
    [
      [FINANCE, organ(FINANCE).name],
      [CITY, organ(CITY).name],
    ],
    "to: the original's recipients",
  );
  t.notOk(updatePacket.responseFor, 'an update is not a reply');
  t.same(a.edge.records.outboxEntry(u.json().packetId)?.recipients, [FINANCE, CITY]);

  const r = await a.call({ method: 'POST', url: url(original, '/replace'), payload: { code: { codeNumber: '33', codeNotation: 'UBND-VP' }, subject: 'V/v thay thế Công văn số 31/UBND-VP' } });
  t.equal(r.statusCode, 202, r.body);
  const replacement = idOf(OFFICE, '33', 'UBND-VP');
  const replacementPacket = await signedDocument(a.edge, r.json().packetId);
  t.match(replacementPacket.bussiness, { bussinessDocType: '3', bussinessDocReason: 'Văn bản thay thế' });
  t.same(replacementPacket.bussiness?.replacementInfoList, [{ documentId: original }], 'ReplacementInfoList names the original');
  t.same(replacementPacket.to.map((o) => o.organId), [FINANCE, CITY]);

  const only = await a.call({
    method: 'POST',
    url: url(original, '/replace'),
    payload: { to: [{ organId: FINANCE }], code: { codeNumber: '34', codeNotation: 'UBND-VP' }, subject: 'V/v thay thế (gửi Sở Tài chính)', bussiness: { bussinessDocReason: 'Thay thế do sai số liệu', paper: '1' } },
  });
  t.equal(only.statusCode, 202, only.body);
  const onlyPacket = await signedDocument(a.edge, only.json().packetId);
  t.same(onlyPacket.to.map((o) => o.organId), [FINANCE], 'an explicit "to" is kept');
  t.match(onlyPacket.bussiness, { bussinessDocType: '3', bussinessDocReason: 'Thay thế do sai số liệu', paper: '1' });

  t.match(await view(a, update), { bussinessType: '2', relatedDocument: original });
  t.match(await view(a, replacement), { bussinessType: '3', relatedDocument: original });
  const chain = (await a.call({ method: 'GET', url: url(original, '/chain') })).json();
  t.same(
    chain.documents.map((d: { documentId: string; bussinessType: string; relatedDocument: string | null }) => [d.documentId, d.bussinessType, d.relatedDocument]),
    [
      [original, '0', null],
      [update, '2', original],
      [replacement, '3', original],
      [idOf(OFFICE, '34', 'UBND-VP'), '3', original],
    ],
    'the original first, then what refers to it',
  );
  t.match(chain.documents[0], { direction: 'out', url: url(original), deliveries: [{ recipient: FINANCE }, { recipient: CITY }] });
  t.same(ids((await a.call({ method: 'GET', url: url(replacement, '/chain') })).json().documents), ids(chain.documents), 'the same chain from any of its documents');
  t.equal((await view(a, original)).supersededBy, idOf(OFFICE, '34', 'UBND-VP'), 'the sending edge marks its original superseded too, by the latest replacement');

  t.same(await b.feed.handOverAll(a.edge, update), ['ack']);
  t.same(await b.feed.handOverAll(a.edge, replacement), ['ack']);
  const inB = await view(b, original);
  t.equal(inB.supersededBy, replacement, 'B: the original is superseded by the replacement');
  t.same(
    inB.timeline.filter((e: { event: string }) => ['updated', 'superseded'].includes(e.event)).map((e: { event: string; description: string }) => [e.event, e.description]),
    [
      ['updated', `updated by ${update}`],
      ['superseded', `superseded by ${replacement}`],
    ],
  );
  const chainB = (await b.call({ method: 'GET', url: url(original, '/chain') })).json();
  t.same(
    chainB.documents.map((d: { documentId: string; direction: string; supersededBy: string | null }) => [d.documentId, d.direction, d.supersededBy]),
    [
      [original, 'in', replacement],
      [update, 'in', null],
      [replacement, 'in', null],
    ],
  );

  const received = await b.call({ method: 'POST', url: url(original, '/update'), payload: { code: { codeNumber: '50', codeNotation: 'STC-NS' }, subject: 'x' } });
  t.equal(received.statusCode, 403, 'only the sender updates a document');
  t.match(received.json().error, { code: 'NOT_RECIPIENT', documentId: original, message: /only its sender/ });
  t.equal((await b.call({ method: 'POST', url: url(original, '/replace'), payload: { code: { codeNumber: '50', codeNotation: 'STC-NS' }, subject: 'x' } })).statusCode, 403);
  t.equal((await a.call({ method: 'POST', url: url(idOf(OFFICE, '997', 'UBND-VP'), '/replace'), payload: { code: { codeNumber: '35', codeNotation: 'UBND-VP' }, subject: 'x' } })).statusCode, 404);
  const sameNumber = await a.call({ method: 'POST', url: url(original, '/update'), payload: { code: { codeNumber: '31', codeNotation: 'UBND-VP' }, subject: 'x' } });
  t.equal(sameNumber.statusCode, 409, 'an update has its own number');
  t.equal(sameNumber.json().error.code, 'DOCUMENT_DUPLICATE');
  const typed = await a.call({ method: 'POST', url: url(original, '/update'), payload: { code: { codeNumber: '36', codeNotation: 'UBND-VP' }, subject: 'x', bussiness: { bussinessDocType: '1' } } });
  t.equal(typed.statusCode, 400, 'the Bussiness type is the edge\'s');
  t.match(typed.json().error, { code: 'USAGE', path: 'body/bussiness/bussinessDocType' });
  t.equal((await a.call({ method: 'GET', url: url(idOf(OFFICE, '997', 'UBND-VP'), '/chain') })).statusCode, 404);
});

/** A status 02 about `about` signed by the hub: a bounce. */
async function bounce(documentId: string, about: string, code = 'AGENCY_UNKNOWN'): Promise<string> {
  const status = composeStatus(
    {
      from: { organId: HUB, organName: organ(HUB).name },
      responseFor: { organId: about, documentId },
      statusCode: '02',
      description: `[${code}] ${about} is not in the hub directory`,
    },
    new Date(),
  );
  return signPacket(buildPacket(status), await identityOf(HUB));
}

t.test('a recall queues one 13 per recipient, behind the document while it may be in flight, and is refused when a named recipient cannot be recalled from', async (t) => {
  const { a, b } = await pair(t);
  const both = [
    { organId: FINANCE, organName: organ(FINANCE).name },
    { organId: CITY, organName: organ(CITY).name },
  ];
  const { documentId } = await deliver(t, a, b, '41', { to: both });
  const r = await a.call({ method: 'POST', url: url(documentId, '/recall'), payload: { reason: 'Văn bản ban hành nhầm đối tượng' } });
  t.equal(r.statusCode, 202, r.body);
  const packetIds = r.json().packetIds as string[];
  t.equal(packetIds.length, 2, 'one per recipient');
  const recalls = outboxRows(a.edge, documentId).filter((row) => row.kind === 'status');
  t.same(
    recalls.map((row) => [row.packetId, row.statusCode, row.recipients, row.lane]),
    [
      [packetIds[0], '13', [FINANCE], 'normal'],
      [packetIds[1], '13', [CITY], 'normal'],
    ],
    "13 rows, each to its recipient; no 01 has come back, so they follow the document in its lane (they must not overtake it)",
  );
  const toB = await signedStatus(a.edge, packetIds[0] as string);
  t.match(toB, { statusCode: '13', from: { organId: OFFICE }, responseFor: { organId: FINANCE, documentId }, description: 'Văn bản ban hành nhầm đối tượng' });
  t.match((await view(a, documentId)).deliveries, [
    { recipient: FINANCE, recall: 'requested' },
    { recipient: CITY, recall: 'requested' },
  ]);
  const pending = await a.call({ method: 'POST', url: url(documentId, '/recall'), payload: { reason: 'lần nữa' } });
  t.equal(pending.statusCode, 409, 'a recall is pending');
  t.equal(pending.json().error.code, 'STATUS_ILLEGAL_TRANSITION');

  // B's edge answers 15 by itself (policy "accept"); the answer reaches A.
  t.same(await b.feed.handOverAll(a.edge, documentId), ['ack']);
  t.match((await view(b, documentId)).deliveries, [{ recipient: FINANCE, stage: '01', recall: 'recalled' }]);
  t.match(outboxRows(b.edge, documentId).at(-1), { statusCode: '15', recipients: [OFFICE], lane: 'urgent' });
  const late = await status(b, documentId, { code: '03' });
  t.equal(late.statusCode, 409, 'a recalled document takes no further status');
  t.match(late.json().error.message, /recalled/);
  t.same(await a.feed.handOverAll(b.edge, documentId), ['ack', 'ack'], "B's 01 and 15");
  t.match((await view(a, documentId)).deliveries, [
    { recipient: FINANCE, recall: 'recalled' },
    { recipient: CITY, recall: 'requested' },
  ]);
  const queued = countOutbox(a.edge);
  const recalled = await a.call({ method: 'POST', url: url(documentId, '/recall'), payload: { reason: 'lần nữa', recipients: [FINANCE] } });
  t.equal(recalled.statusCode, 409, 'already recalled');
  t.match(recalled.json().error, { code: 'STATUS_ILLEGAL_TRANSITION', message: /already recalled/ });
  t.equal(countOutbox(a.edge), queued, 'nothing queued');

  // A bounced recipient cannot be recalled from.
  const second = (await deliver(t, a, b, '42', { to: both })).documentId;
  t.equal(await a.feed.deliver(await bounce(second, CITY), { packetId: randomUUID(), type: 'status', from: HUB, to: [OFFICE], priority: '0', documentId: second, lane: 'normal' }), 'ack');
  t.match((await view(a, second)).deliveries, [
    { recipient: FINANCE, stage: 'sent' },
    { recipient: CITY, stage: 'bounced' },
  ]);
  const before = countOutbox(a.edge);
  const bounced = await a.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: 'Ban hành nhầm', recipients: [CITY] } });
  t.equal(bounced.statusCode, 409, 'from a recipient that bounced');
  t.match(bounced.json().error, { code: 'STATUS_ILLEGAL_TRANSITION', documentId: second, message: /bounced/ });
  t.equal(countOutbox(a.edge), before, 'nothing queued');
  const one = await a.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: 'Ban hành nhầm', recipients: [FINANCE, FINANCE] } });
  t.equal(one.statusCode, 202, 'from the recipient that has it');
  t.equal(one.json().packetIds.length, 1, 'a recipient listed twice is recalled once');
  const third = (await deliver(t, a, b, '43', { to: both })).documentId;
  t.equal(await a.feed.deliver(await bounce(third, CITY), { packetId: randomUUID(), type: 'status', from: HUB, to: [OFFICE], priority: '0', documentId: third, lane: 'normal' }), 'ack');
  const all = await a.call({ method: 'POST', url: url(third, '/recall'), payload: { reason: 'Ban hành nhầm' } });
  t.equal(all.statusCode, 202, 'from everyone: those that can still be recalled from');
  t.same(all.json().packetIds.length, 1, 'the bounced recipient is left out');
  t.match((await view(a, third)).deliveries, [
    { recipient: FINANCE, recall: 'requested' },
    { recipient: CITY, stage: 'bounced', recall: 'none' },
  ]);
  t.same(
    (await a.call({ method: 'GET', url: '/api/v1/paper' })).json().items.map((i: { documentId: string; recipient: string; reason: string }) => [i.documentId, i.recipient, /chưa kết nối/.test(i.reason)]),
    [
      [second, CITY, true],
      [third, CITY, true],
    ],
    'the unconnected recipients need a paper copy',
  );

  const received = await b.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: 'x' } });
  t.equal(received.statusCode, 403, 'only the sender recalls');
  t.equal(received.json().error.code, 'NOT_RECIPIENT');
  const stranger = await a.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: 'x', recipients: ['000.00.77.H12'] } });
  t.equal(stranger.statusCode, 403, 'a recipient the document was not sent to');
  t.match(stranger.json().error, { code: 'NOT_RECIPIENT', message: /000\.00\.77\.H12/ });
  const blank = await a.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: '  ' } });
  t.equal(blank.statusCode, 422, 'a blank reason');
  t.match(blank.json().error, { code: 'PACKET_INVALID', path: 'reason' });
  for (const payload of [{}, { reason: '' }, { reason: 'x', recipients: [] }, { reason: 'x', to: [FINANCE] }]) {
    t.equal((await a.call({ method: 'POST', url: url(second, '/recall'), payload })).statusCode, 400, JSON.stringify(payload));
  }
  t.equal((await a.call({ method: 'POST', url: url(idOf(OFFICE, '996', 'UBND-VP'), '/recall'), payload: { reason: 'x' } })).statusCode, 404);
});

t.test('with the manual recall policy the clerk answers a recall with 15 or 16 through the API', async (t) => {
  const { a, b } = await pair(t, { recallPolicy: 'manual' });
  const first = (await deliver(t, a, b, '43')).documentId;
  t.equal((await a.call({ method: 'POST', url: url(first, '/recall'), payload: { reason: 'Ban hành nhầm' } })).statusCode, 202);
  t.same(await b.feed.handOverAll(a.edge, first), ['ack']);
  t.match((await view(b, first)).deliveries, [{ recall: 'requested' }], 'no automatic answer');
  t.same(outboxRows(b.edge, first).map((r) => r.statusCode), ['01']);
  t.equal((await status(b, first, { code: '16' })).statusCode, 422, '16 needs the reason');
  const refused = await status(b, first, { code: '16', description: 'Văn bản đã được phân công xử lý' });
  t.equal(refused.statusCode, 202, refused.body);
  t.same(refused.json().state, { stage: '01', recall: 'refused' });
  t.match(outboxRows(b.edge, first).at(-1), { statusCode: '16', lane: 'urgent' }, 'answers to a recall travel urgent');
  t.equal((await status(b, first, { code: '15' })).statusCode, 409, 'the recall was answered already');
  t.same(await a.feed.handOverAll(b.edge, first), ['ack', 'ack']);
  t.match((await view(a, first)).deliveries, [{ recipient: FINANCE, recall: 'refused' }]);

  const second = (await deliver(t, a, b, '44')).documentId;
  t.equal((await status(b, second, { code: '03' })).statusCode, 202);
  t.equal((await a.call({ method: 'POST', url: url(second, '/recall'), payload: { reason: 'Ban hành nhầm' } })).statusCode, 202);
  t.same(await b.feed.handOverAll(a.edge, second), ['ack']);
  const accepted = await status(b, second, { code: '15', description: 'Đồng ý thu hồi' });
  t.equal(accepted.statusCode, 202, accepted.body);
  t.same(accepted.json().state, { stage: '03', recall: 'recalled' });
  t.equal((await status(b, second, { code: '04', assignment: { unit: 'Phòng Ngân sách' } })).statusCode, 409, 'then nothing more');
});

t.test('/overdue lists what is late at a given instant; /paper the paper copies to send', async (t) => {
  const { a, b } = await pair(t);
  const quiet = (await deliver(t, a, b, '51')).documentId;
  const due = (await deliver(t, a, b, '52', { dueDate: today })).documentId;
  const far = '2100-01-04T03:00:00.000Z';

  const asked = Date.now();
  const now = await a.call({ method: 'GET', url: '/api/v1/overdue' });
  const answered = Date.now();
  t.equal(now.statusCode, 200);
  t.same(now.json().items, [], 'nothing is late yet');
  const at = Date.parse(now.json().at);
  t.ok(at >= asked - 1000 && at <= answered + 1000, '"at" defaults to now: the instant of the request');

  const later = (await a.call({ method: 'GET', url: `/api/v1/overdue?at=${encodeURIComponent(far)}` })).json();
  t.equal(later.at, far);
  const receipts = later.items.filter((i: { kind: string }) => i.kind === 'receipt');
  t.same(receipts.map((i: { documentId: string }) => i.documentId).sort(), [quiet, due].sort(), 'A: no 01 came back for either');
  t.match(receipts.find((i: { documentId: string }) => i.documentId === quiet), {
    kind: 'receipt',
    direction: 'out',
    organId: FINANCE,
    stage: 'sent',
    subject: 'V/v báo cáo số 51',
    due: /Z$/,
    url: url(quiet),
  });
  t.match(later.items.filter((i: { kind: string }) => i.kind === 'processing'), [{ documentId: due, direction: 'out', organId: FINANCE }], 'A: past the DueDate');

  t.same(await a.feed.handOverAll(b.edge, quiet), ['ack'], "B's 01 for 51 reaches A");
  const afterReceipt = (await a.call({ method: 'GET', url: `/api/v1/overdue?at=${encodeURIComponent(far)}` })).json();
  t.notOk(afterReceipt.items.some((i: { documentId: string; kind: string }) => i.documentId === quiet && i.kind === 'receipt'), 'a receipt given is not late');
  t.ok(
    afterReceipt.items.some((i: { documentId: string; kind: string }) => i.documentId === quiet && i.kind === 'acceptance'),
    'but a document arrived (01) and never accepted (03) by the văn thư is',
  );

  const inB = (await b.call({ method: 'GET', url: `/api/v1/overdue?at=${encodeURIComponent(far)}` })).json();
  t.match(inB.items.filter((i: { kind: string }) => i.kind === 'processing'), [{ documentId: due, direction: 'in', organId: FINANCE, stage: '01' }], 'B: its own processing is late');
  for (const code of ['03', '06']) t.equal((await status(b, due, { code })).statusCode, 202);
  t.notOk(
    (await b.call({ method: 'GET', url: `/api/v1/overdue?at=${encodeURIComponent(far)}` })).json().items.some((i: { kind: string }) => i.kind === 'processing'),
    'completed (06): no longer late',
  );
  for (const bad of ['at=tomorrow', 'at=2100-01-01', 'at=2100-13-01T00:00:00Z', 'when=now']) {
    const r = await a.call({ method: 'GET', url: `/api/v1/overdue?${bad}` });
    t.equal(r.statusCode, 400, bad);
    t.match(r.json().error, { code: 'USAGE', path: /^querystring/ });
  }

  t.same((await a.call({ method: 'GET', url: '/api/v1/paper' })).json(), { items: [] }, 'no paper copies yet');
  const paper = (
    await send(t, a, '61', {
      to: [
        { organId: FINANCE, organName: organ(FINANCE).name },
        { organId: CITY, organName: organ(CITY).name },
      ],
      bussiness: { paper: '1' },
    })
  ).documentId;
  t.same(
    (await a.call({ method: 'GET', url: '/api/v1/paper' })).json().items,
    [
      { documentId: paper, subject: 'V/v báo cáo số 61', recipient: FINANCE, reason: 'bản giấy gửi kèm (Paper = 1)', url: url(paper) },
      { documentId: paper, subject: 'V/v báo cáo số 61', recipient: CITY, reason: 'bản giấy gửi kèm (Paper = 1)', url: url(paper) },
    ],
    'every recipient of a Paper = 1 document',
  );
  t.same((await b.call({ method: 'GET', url: '/api/v1/paper' })).json(), { items: [] }, "the recipient's edge sends no paper");
});

t.test('the OpenAPI document describes every lifecycle route with its schemas', async (t) => {
  const a = await side(t, OFFICE);
  const response = await a.app.inject({ method: 'GET', url: '/docs/json' });
  const openapi = response.json();
  const operations = Object.entries(openapi.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
  const added = [
    'POST /api/v1/documents/{documentId}/status',
    'POST /api/v1/documents/{documentId}/recall',
    'POST /api/v1/documents/{documentId}/reply',
    'POST /api/v1/documents/{documentId}/update',
    'POST /api/v1/documents/{documentId}/replace',
    'GET /api/v1/documents/{documentId}/thread',
    'GET /api/v1/documents/{documentId}/chain',
    'GET /api/v1/overdue',
    'GET /api/v1/paper',
  ];
  for (const operation of added) t.ok(operations.includes(operation), operation);
  for (const name of ['StatusInput', 'StatusQueued', 'RecallInput', 'RecallQueued', 'FollowUpInput', 'Thread', 'Chain', 'ChainDocument', 'OverdueList', 'OverdueItem', 'OverdueQuery', 'PaperList', 'PaperItem']) {
    t.ok(openapi.components.schemas[name], `components.schemas.${name}`);
  }
  for (const operation of added) {
    const [method, path] = operation.split(' ') as [string, string];
    const op = openapi.paths[path][method.toLowerCase()];
    t.ok(op.responses['4XX'] ?? op.responses['4xx'], `${operation} documents its errors`);
    t.ok(op.responses[method === 'POST' ? '202' : '200'], `${operation} documents its answer`);
    t.ok(op.tags.includes(path.includes('/documents/') ? 'lifecycle' : 'reports'), `${operation} is tagged`);
  }
  t.equal(openapi.paths['/api/v1/documents/{documentId}/status'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/StatusInput');
  const reply = openapi.paths['/api/v1/documents/{documentId}/reply'].post;
  t.same(Object.keys(reply.requestBody.content).sort(), ['application/json', 'multipart/form-data'], 'a follow-up comes as JSON or multipart');
  t.equal(reply.requestBody.content['application/json'].schema.$ref, '#/components/schemas/FollowUpInput');
  t.same(openapi.paths['/api/v1/overdue'].get.parameters.map((p: { name: string }) => p.name), ['at']);
  t.same(
    openapi.tags.map((tag: { name: string }) => tag.name).filter((n: string) => ['lifecycle', 'reports'].includes(n)),
    ['lifecycle', 'reports'],
  );

  // FollowUpInput is DocumentInput without responseFor: the two files must not drift apart.
  const schema = (file: string) => JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as { properties: Record<string, unknown> };
  t.same(
    Object.keys(schema('follow-up-input.json').properties).sort(),
    Object.keys(schema('document-input.json').properties)
      .filter((p) => p !== 'responseFor')
      .sort(),
    'follow-up-input.json has every DocumentInput field but responseFor',
  );
});

t.test('every error and success body matched its schema', async (t) => {
  t.ok(errorBodiesChecked >= 50, `${errorBodiesChecked} error bodies checked against error.json`);
  t.ok(successBodiesChecked >= 40, `${successBodiesChecked} success bodies checked against their schemas`);
});
