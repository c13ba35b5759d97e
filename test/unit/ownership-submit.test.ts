/**
 * An edge sends only what its agency owns (issue 9): a DocumentId numbered under another organ
 * id, and an update (2), replacement (3) or revocation (1) of a document its agency did not send,
 * are refused at submit with 422 DOCUMENT_NOT_OWNED — JSON metadata and ready edXML packets
 * alike — and nothing is signed or queued. The honest paths (its own follow-ups, a reply to
 * another agency's document) still pass. Over the REST API of an opened edge (no broker); the
 * received documents are handed to its inbox as the hub would deliver them.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { signPacket } from '../../src/crypto/sign.js';
import type { Edge } from '../../src/edge/edge.js';
import { buildPacket, formatEdxmlDate } from '../../src/envelope/index.js';
import { silentLogger } from '../../src/log.js';
import { apiKeyFromCli, errorBodyValidator, inboxFeed, openedEdge } from '../helpers/edge-api.js';
import { edgeCounts } from '../helpers/lifecycle.js';
import { FINANCE, OFFICE, documentFrom, identityOf, organ, unsignedDocument } from '../helpers/pki.js';

const checkErrorBody = errorBodyValidator();
const today = formatEdxmlDate(new Date());
const idOf = (organId: string, number: string, notation = 'UBND-VP'): string => `${organId},${today},${number}/${notation}`;

interface Office {
  edge: Edge;
  app: FastifyInstance;
  call(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Submit JSON metadata numbered `n` to FINANCE, with `extra` fields. */
  submit(n: string, extra?: Record<string, unknown>): Promise<LightMyRequestResponse>;
}

/** The Văn phòng UBND's edge with its REST API, holding one document it received from the Sở Tài chính. */
async function office(t: Test): Promise<Office & { received: string; receivedOwnNumber: string }> {
  const edge = await openedEdge(t, OFFICE);
  const client = await apiKeyFromCli('qlvb-ownership');
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [client.entry], bodyLimit: 8 * 1024 * 1024 }, { log: silentLogger(), rateLimit: false });
  t.teardown(() => app.close());
  await app.ready();
  const call = async (inject: InjectOptions): Promise<LightMyRequestResponse> => {
    const response = await app.inject({ ...inject, headers: { ...(inject.headers ?? {}), 'x-api-key': client.key } });
    if (response.statusCode >= 400) {
      const problem = checkErrorBody(response.json());
      if (problem) throw new Error(`${inject.method} ${inject.url} answered ${response.statusCode} with a body outside error.json: ${problem}\n${response.body}`);
    }
    return response;
  };
  const submit = (n: string, extra: Record<string, unknown> = {}) =>
    call({
      method: 'POST',
      url: '/api/v1/documents',
      payload: { to: [{ organId: FINANCE, organName: organ(FINANCE).name }], code: { codeNumber: n, codeNotation: 'UBND-VP' }, subject: `V/v báo cáo số ${n}`, ...extra },
    });

  // Two documents the Sở Tài chính sent: one with its own number, and one whose DocumentId
  // carries the office's organ id (a squat an older hub let through): the office knows it as
  // received, so its number does not make it the office's.
  const feed = await inboxFeed(t, edge);
  const identity = await identityOf(FINANCE);
  const received = idOf(FINANCE, '55', 'STC-NS');
  const receivedOwnNumber = idOf(OFFICE, '56', 'STC-NS');
  for (const [documentId, n] of [
    [received, '55'],
    [receivedOwnNumber, '56'],
  ] as const) {
    const packet = documentFrom(FINANCE, { to: [{ organId: OFFICE, organName: organ(OFFICE).name }], code: { codeNumber: n, codeNotation: 'STC-NS' }, documentId });
    const content = await signPacket(buildPacket(packet), identity);
    const verdict = await feed.deliver(content, { packetId: randomUUID(), type: 'edoc', from: FINANCE, to: [OFFICE], priority: '0', documentId, lane: 'normal' });
    t.equal(verdict, 'ack', `the office received ${documentId}`);
    t.equal(edge.document(documentId)?.document.direction, 'in');
  }
  return { edge, app, call, submit, received, receivedOwnNumber };
}

function refused(t: Test, r: LightMyRequestResponse, message: RegExp, what: string): void {
  t.equal(r.statusCode, 422, `${what}: 422`);
  t.match(r.json().error, { code: 'DOCUMENT_NOT_OWNED', message }, `${what}: DOCUMENT_NOT_OWNED, saying why`);
}

t.test('a DocumentId under another organ id is refused at submit, as JSON and as edXML', async (t) => {
  const a = await office(t);
  const before = edgeCounts(a.edge);

  const squat = idOf(FINANCE, '203');
  const json = await a.submit('203', { documentId: squat });
  refused(t, json, /belongs to organ 000\.00\.05\.H12.*numbers only its own documents/, 'JSON metadata');
  t.match(json.json().error, { documentId: squat, path: 'documentId' });

  const xml = unsignedDocument(OFFICE, { code: { codeNumber: '203', codeNotation: 'UBND-VP' }, to: [{ organId: FINANCE }], documentId: squat });
  const asXml = await a.call({ method: 'POST', url: '/api/v1/documents', headers: { 'content-type': 'application/xml' }, payload: xml });
  refused(t, asXml, /belongs to organ 000\.00\.05\.H12/, 'a ready edXML packet');

  t.same(edgeCounts(a.edge), before, 'nothing was signed, stored or queued');
  t.equal(a.edge.document(squat), undefined);

  const own = await a.submit('203');
  t.equal(own.statusCode, 202, 'the same number under its own organ id is fine');
  t.equal(own.json().documentId, idOf(OFFICE, '203'));
});

t.test('an update, replacement or revocation of a document this agency did not send is refused at submit', async (t) => {
  const a = await office(t);
  const mine = (await a.submit('301')).json().documentId as string;
  const before = edgeCounts(a.edge);

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a revocation (1) of a received document', { bussiness: { bussinessDocType: '1', documentId: a.received } }, /may not revoke .*sent by 000\.00\.05\.H12/],
    ['an update (2) of a received document', { bussiness: { bussinessDocType: '2', documentId: a.received } }, /may not update .*sent by 000\.00\.05\.H12/],
    ['a replacement (3) of a received document', { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: a.received }] } }, /may not replace .*sent by 000\.00\.05\.H12/],
    [
      'a replacement (3) of its own document and, second in the list, a received one',
      { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: mine }, { documentId: a.received, organIdList: [FINANCE] }] } },
      /may not replace .*000\.00\.05\.H12,/,
    ],
    [
      'a revocation (1) of a received document that carries this agency\'s organ id',
      { bussiness: { bussinessDocType: '1', documentId: a.receivedOwnNumber } },
      /may not revoke .*sent by 000\.00\.05\.H12/,
    ],
    ['a revocation (1) naming the document only in ResponseFor', { bussiness: { bussinessDocType: '1' }, responseFor: [{ organId: FINANCE, documentId: a.received }] }, /may not revoke/],
    [
      'an update (2) of a document it never saw, numbered by another organ',
      { bussiness: { bussinessDocType: '2', documentId: idOf(FINANCE, '999', 'STC-NS') } },
      /may not update .*belongs to 000\.00\.05\.H12/,
    ],
  ];
  for (const [i, [what, extra, message]] of cases.entries()) {
    refused(t, await a.submit(String(310 + i), extra), message, what);
  }
  const asXml = await a.call({
    method: 'POST',
    url: '/api/v1/documents',
    headers: { 'content-type': 'application/xml' },
    payload: unsignedDocument(OFFICE, { code: { codeNumber: '320', codeNotation: 'UBND-VP' }, to: [{ organId: FINANCE }], bussiness: { bussinessDocType: '1', documentId: a.received } }),
  });
  refused(t, asXml, /may not revoke/, 'a revocation as a ready edXML packet');
  t.same(edgeCounts(a.edge), before, 'nothing was signed, stored or queued');
  t.equal(a.edge.document(a.received)?.document.supersededBy, null, 'the received document is not marked');

  const viaRoute = await a.call({ method: 'POST', url: `/api/v1/documents/${encodeURIComponent(a.received)}/replace`, payload: { code: { codeNumber: '321', codeNotation: 'UBND-VP' }, subject: 'thay thế' } });
  t.equal(viaRoute.statusCode, 403, 'the replace route already refuses a received document');
});

t.test('the honest paths pass: its own update, replacement and revocation, and a reply to another agency', async (t) => {
  const a = await office(t);
  const original = (await a.submit('401')).json().documentId as string;
  const second = (await a.submit('402')).json().documentId as string;

  const update = await a.submit('403', { bussiness: { bussinessDocType: '2', documentId: original } });
  t.equal(update.statusCode, 202, `its own update: ${update.body}`);
  const replacement = await a.submit('404', { bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: original }] } });
  t.equal(replacement.statusCode, 202, 'its own replacement');
  t.equal(a.edge.document(original)?.document.supersededBy, replacement.json().documentId, 'which supersedes its original');
  const revocation = await a.submit('405', { bussiness: { bussinessDocType: '1', documentId: second } });
  t.equal(revocation.statusCode, 202, 'its own revocation');
  const unseen = await a.submit('406', { bussiness: { bussinessDocType: '2', documentId: idOf(OFFICE, '77') } });
  t.equal(unseen.statusCode, 202, 'an update of its own number this edge does not hold (sent before it was installed)');

  const reply = await a.submit('407', { responseFor: [{ organId: FINANCE, documentId: a.received }] });
  t.equal(reply.statusCode, 202, "a reply answers another agency's document by design");
  const viaRoute = await a.call({ method: 'POST', url: `/api/v1/documents/${encodeURIComponent(a.received)}/reply`, payload: { code: { codeNumber: '408', codeNotation: 'UBND-VP' }, subject: 'trả lời' } });
  t.equal(viaRoute.statusCode, 202, 'and so does the reply route');
});
