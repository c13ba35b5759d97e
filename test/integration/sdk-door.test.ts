/**
 * Two agencies' document systems written for the national SDK talk through their edges' SDK
 * doors, with a real hub and RabbitMQ between the edges: the client (test/helpers/sdk-client.ts)
 * follows sdk-protocol.md and knows nothing of lienthong's door. Văn phòng UBND tỉnh's program
 * sends a packet its SDK's builder wrote (test/fixtures/sdk-built); Sở Tài chính's program
 * lists it, fetches it, gives statuses (by updateStatus and as an SDK-built status packet) and
 * hands it back; the sender's program sees every status. Refusals answer in the SDK's shape.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { lienthongInProcess } from '../helpers/cli-in-process.js';
import { startLocalExchange } from '../../src/demo/local-exchange.js';
import type { SdkClientConfig } from '../../src/edge/config.js';
import { silentLogger } from '../../src/log.js';
import { openedEdge } from '../helpers/edge-api.js';
import { waitFor } from '../helpers/exchange.js';
import { FINANCE, OFFICE, organ } from '../helpers/pki.js';
import { hashFile, isSdkReply, rawRequest, SdkClient, type SdkResult } from '../helpers/sdk-client.js';

const FIXTURES = new URL('../fixtures/sdk-built/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const DOCUMENT_ID = '000.00.01.H12,2026/11/30,125/UBND-VP';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `lienthong apikey new --sdk <systemId> --json`, in-process, as an operator runs it. */
async function sdkCredentials(systemId: string): Promise<SdkClientConfig> {
  const { code, stdout, stderr } = await lienthongInProcess('apikey', 'new', '--sdk', systemId, '--json');
  if (code !== 0) throw new Error(`apikey new --sdk exited ${code}: ${stderr}`);
  return (JSON.parse(stdout) as { entry: SdkClientConfig }).entry;
}

type Item = Record<string, string>;
const items = (r: SdkResult): Item[] => (r.json?.data ?? []) as Item[];

t.test('an SDK program sends through its door, another lists, fetches and answers at its own', async (t) => {
  const exchange = await startLocalExchange({
    prefixBase: 'lt-sdk',
    agencies: [OFFICE, FINANCE].map((organId) => ({ organId, organName: organ(organId).name })),
  });
  const apps: FastifyInstance[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close().catch(() => {});
    await exchange.stop();
  });

  const door = async (organId: string, clients: SdkClientConfig[]): Promise<string> => {
    const app = createEdgeApi(exchange.edge(organId), { host: '127.0.0.1', port: 0, keys: [], bodyLimit: 8 * 1024 * 1024, sdkClients: clients }, { log: silentLogger() });
    apps.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  };
  const credentialsA = await sdkCredentials('qlvb.vanphong');
  const credentialsB = await sdkCredentials('qlvb.sotaichinh');
  t.equal(credentialsA.secret.length, 43, 'a 256-bit secret in ASCII');
  const baseA = await door(OFFICE, [credentialsA]);
  const baseB = await door(FINANCE, [credentialsB]);
  // One client object per program, reused for every call, as the SDK's examples do: its
  // header map keeps growing and its timestamp never changes.
  const a = new SdkClient({ endpoint: `${baseA}/sdk`, ...credentialsA });
  const b = new SdkClient({ endpoint: `${baseB}/sdk`, ...credentialsB, expectContinue: true });

  // Sender: the packet the SDK's builder wrote, unsigned; the edge signs and queues it.
  const sent = await a.sendEdoc({ from: credentialsA.systemId, servicetype: 'eDoc', messagetype: 'edoc', to: [FINANCE] }, fixture('sdk-edoc.edxml'));
  t.equal(sent.httpStatus, 200);
  t.match(sent.json, { status: 'OK', ErrorCode: '0', DocId: UUID }, 'sendEdoc answers OK with the DocId');
  const docId = sent.json?.DocId as string;
  t.match(sent.raw.toString('latin1'), /^[\x20-\x7e]*$/, 'the reply is ASCII (the SDK reads it as US-ASCII)');

  const again = await a.sendEdoc({ servicetype: 'eDoc', messagetype: 'edoc' }, fixture('sdk-edoc-full.edxml'));
  t.match(again.json, { status: 'FAIL', ErrorCode: 'DOCUMENT_DUPLICATE', DocId: '' }, 'the full SDK-built packet carries the same DocumentId: refused as a duplicate, DocId ""');
  t.equal(again.httpStatus, 409);
  const renumbered = fixture('sdk-edoc-full.edxml').toString('utf8').replaceAll('125/UBND-VP', '127/UBND-VP').replace('<edXML:CodeNumber>125<', '<edXML:CodeNumber>127<');
  const full = await a.sendEdoc({ servicetype: 'eDoc', messagetype: 'edoc' }, Buffer.from(renumbered));
  t.match(full.json, { status: 'OK', ErrorCode: '0', DocId: UUID }, 'the full SDK-built packet, numbered anew, is accepted');

  // Recipient: lists what arrived (the edge verified it and answered 01 by itself).
  const arrived = await waitFor('both documents listed at B', async () => {
    const list = await b.getReceivedEdocList({ servicetype: 'eDoc', messagetype: 'edoc' });
    return items(list).length >= 2 ? list : undefined;
  });
  t.ok(isSdkReply(arrived.json), 'the list reply has status, ErrorCode, ErrorDesc');
  const item = items(arrived).find((i) => i.docId === docId);
  t.match(item, { docId, serviceType: 'eDoc', messageType: 'edoc', from: OFFICE, to: FINANCE, status: 'inbox', status_desc: 'Đã đến' }, 'the item names the document by the DocId the sender got');
  t.match(item?.created_time ?? '', /^\d{4}-\d\d-\d\dT/, 'times are ISO 8601');
  t.match(await b.countReceiveEdoc(), { json: { status: 'OK', ErrorCode: '0', count: 2 } });

  const fetched = await b.getEdoc({ docId, filePath: 'store' });
  t.match(fetched.json, { status: 'OK', ErrorCode: '0' });
  const bytes = Buffer.from(fetched.json?.data as string, 'base64');
  t.match(bytes.toString('utf8'), /<edXML:DocumentId>000\.00\.01\.H12,2026\/11\/30,125\/UBND-VP</);
  t.match(bytes.toString('utf8'), /SignatureValue/, 'the packet as signed by the sending edge');
  const atSender = Buffer.from((await a.getEdoc({ docId })).json?.data as string, 'base64');
  t.ok(bytes.equals(atSender), 'byte for byte the packet the sender signed');
  const downloaded = await b.downloadEdoc({ docId });
  t.ok(downloaded.raw.equals(bytes), 'downloadEdoc: the same bytes as the raw body');

  // Recipient's statuses: 03 by updateStatus (twice: the SDK retries POSTs), 05 as a packet
  // the SDK's StatusXmlBuilder wrote, 06 by updateStatus.
  t.match((await b.updateStatus({ docId, status: 'acceptance' })).json, { status: 'OK', ErrorCode: '0', ErrorDesc: /status 03 queued/ });
  t.match((await b.updateStatus({ docId, status: 'acceptance' })).json, { status: 'OK', ErrorCode: '0', ErrorDesc: /already given/ }, 'the same status again: OK, nothing sent twice');
  const auto01 = await b.sendEdoc({ servicetype: 'eDoc', messagetype: 'status' }, fixture('sdk-status.edxml'));
  t.match(auto01.json, { status: 'OK', ErrorCode: '0', DocId: UUID, ErrorDesc: /answered 01/ }, "the SDK-built 01: the edge's own 01 already answered it");
  const processing = fixture('sdk-status-full.edxml').toString('utf8').replace('<edXML:StatusCode>01<', '<edXML:StatusCode>05<');
  const status05 = await b.sendEdoc({ servicetype: 'eDoc', messagetype: 'status' }, Buffer.from(processing));
  t.match(status05.json, { status: 'OK', ErrorCode: '0', DocId: UUID }, 'an SDK-built status 05 goes through the state machine and out');
  t.match((await b.updateStatus({ docId, status: 'completed' })).json, { status: 'OK', ErrorCode: '0' });
  // Header values travel as ASCII: a Vietnamese reason comes percent-encoded.
  const late = await b.updateStatus({ docId, status: 'rejection', description: encodeURIComponent('Sai thẩm quyền') });
  t.match(late.json, { status: 'FAIL', ErrorCode: 'STATUS_ILLEGAL_TRANSITION' }, 'a rejection after completion is refused by the state machine');
  t.equal(late.httpStatus, 409);

  // Sender: sees B's statuses as status packets, and on its sent list.
  const statuses = await waitFor('03, 05 and 06 from B at A', async () => {
    const list = await a.getReceivedEdocList({ servicetype: 'eDoc', messagetype: 'status' });
    const words = items(list).filter((i) => i.from === FINANCE).map((i) => i.status);
    return ['inbox', 'acceptance', 'processing', 'completed'].every((w) => words.includes(w)) ? items(list) : undefined;
  });
  t.ok(statuses.every((s) => s.messageType === 'status' && UUID.test(s.docId ?? '') && s.to === OFFICE), 'status items name their packet');
  const status03 = statuses.find((s) => s.status === 'acceptance') as Item;
  const packet03 = Buffer.from((await a.getEdoc({ docId: status03.docId })).json?.data as string, 'base64').toString('utf8');
  t.match(packet03, /<edXML:StatusCode>03</, 'getEdoc of a status item: the signed status packet');
  t.match(packet03, /125\/UBND-VP/, 'about the document sent');
  const sentList = await a.getSentEdocList({ servicetype: 'eDoc', messagetype: 'edoc', docId });
  t.same(
    items(sentList).map((i) => [i.senderDocId, i.toCode, i.receiveStatus, i.sendStatus]),
    [[docId, FINANCE, 'completed', 'sent']],
    'getSentEdocList with docId: the document, its recipient at 06',
  );
  t.equal(items(await a.getSentEdocList({ docId: 'not-one-of-ours' })).length, 2, 'a docId naming no sent document (left in the map) does not filter');

  // Hand-back: done takes a document off the list, fail puts it back.
  t.match((await b.updateStatus({ docId, status: 'done' })).json, { status: 'OK', ErrorCode: '0' });
  t.notOk(items(await b.getReceivedEdocList({ messagetype: 'edoc' })).some((i) => i.docId === docId), 'done: no longer listed');
  t.match(await b.countReceiveEdoc(), { json: { count: 1 } });
  t.match((await b.updateStatus({ docId, status: 'done' })).json, { status: 'OK' }, 'done again (a retry): OK');
  t.match((await b.updateStatus({ docId, status: 'fail' })).json, { status: 'OK' });
  t.ok(items(await b.getReceivedEdocList({ messagetype: 'edoc' })).some((i) => i.docId === docId), 'fail: listed again');
  const countBefore = (await a.countReceiveStatus()).json?.count as number;
  t.ok(countBefore >= 4, `A has ${countBefore} statuses waiting`);
  for (const s of statuses) t.match((await a.updateStatus({ docId: s.docId, status: 'done' })).json, { status: 'OK' });
  t.equal((await a.countReceiveStatus()).json?.count, countBefore - statuses.length, 'statuses taken are not counted');

  // The sender recalls the other document with updateStatus "cancellation"; B's edge agrees by
  // itself (recallPolicy "accept") and both programs see it.
  const fullDocId = full.json?.DocId as string;
  const recall = await a.updateStatus({ docId: fullDocId, status: 'cancellation', description: encodeURIComponent('Gửi nhầm') });
  t.match(recall.json, { status: 'OK', ErrorCode: '0', ErrorDesc: /recall \(13\) queued/ });
  const recallAtB = await waitFor('the recall at B, as a status item', async () =>
    items(await b.getReceivedEdocList({ messagetype: 'status' })).find((i) => i.status === 'cancellation' && i.from === OFFICE),
  );
  t.equal(recallAtB.status_desc, 'Gửi nhầm', 'the reason, sent percent-encoded, arrives as written');
  await waitFor('the 15 at A', async () => items(await a.getReceivedEdocList({ messagetype: 'status' })).find((i) => i.status === 'cancellation-accepted' && i.from === FINANCE));
  t.match(items(await b.getReceivedEdocList({ messagetype: 'edoc' })).find((i) => i.docId === fullDocId), { status: 'cancellation-accepted' }, 'B lists the document as recalled');
  t.match(items(await a.getSentEdocList({ docId: fullDocId })), [{ receiveStatus: 'cancellation-accepted' }], "A's sent list says so too");

  // What the edge cannot do for an SDK program, said in the SDK's shape.
  const agencies = await a.getAgenciesList();
  t.match(agencies.json, { status: 'OK', ErrorCode: '0' });
  t.same(items(agencies).map((i) => i.code).sort(), [OFFICE, FINANCE].sort(), 'the agencies this edge exchanged with, itself included');
  t.match(items(await a.getAgenciesListQD20({ level: '1' })).find((i) => i.code === FINANCE), { code102: FINANCE });
  t.match((await a.getSynchronizeUnit()).json, { status: 'OK', data: [{ isAgency: true }] });
  const register = await a.registerAgency('{"id":"","code":"000.00.09.H12","name":"X"}');
  t.match(register.json, { status: 'FAIL', ErrorCode: 'FORBIDDEN', ErrorDesc: /hub/ });
  t.match((await a.deleteAgency({ AgencyCode: FINANCE })).json, { status: 'FAIL', ErrorCode: 'FORBIDDEN' });
});

t.test('refusals and malformed calls are answered in the SDK shape, with what is wrong', async (t) => {
  const exchange = await startLocalExchange({ prefixBase: 'lt-sdk-refusals', agencies: [{ organId: OFFICE, organName: organ(OFFICE).name }] });
  const credentials = await sdkCredentials('qlvb.vanphong');
  const app = createEdgeApi(exchange.edge(OFFICE), { host: '127.0.0.1', port: 0, keys: [], bodyLimit: 1024 * 1024, sdkClients: [credentials] }, { log: silentLogger() });
  t.teardown(async () => {
    await app.close();
    await exchange.stop();
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const fail = (r: SdkResult, httpStatus: number, code: string, desc: RegExp, what: string) => {
    t.equal(r.httpStatus, httpStatus, `${what}: HTTP ${httpStatus}`);
    t.match(r.json, { status: 'FAIL', ErrorCode: code, ErrorDesc: desc }, what);
  };

  // Authentication.
  const wrongSecret = new SdkClient({ endpoint: `${base}/sdk`, systemId: credentials.systemId, secret: 'not-the-secret-at-all' });
  fail(await wrongSecret.getReceivedEdocList({ messagetype: 'edoc' }), 401, 'AUTH_REQUIRED', /signature .* does not match/, 'a wrong secret');
  const stranger = new SdkClient({ endpoint: `${base}/sdk`, systemId: 'someone.else', secret: credentials.secret });
  fail(await stranger.countReceiveEdoc(), 401, 'AUTH_REQUIRED', /"someone.else" is not an SDK client/, 'an unknown system');
  fail(await rawRequest(`${base}/sdk/getReceivedEdocList`, 'POST', { 'Content-Type': 'application/json' }), 401, 'AUTH_REQUIRED', /no XroadVnpt-systemid/, 'no headers at all');
  const signedOnly = new SdkClient({ endpoint: `${base}/sdk`, ...credentials });
  const headers = signedOnly.signedHeaders();
  delete headers['XroadVnpt-hash-header'];
  fail(await rawRequest(`${base}/sdk/countReceiveEdoc`, 'POST', headers, Buffer.from('{}')), 401, 'AUTH_REQUIRED', /not signed/, 'no hash-header');
  const forged = { ...signedOnly.signedHeaders(), 'XroadVnpt-systemid': 'qlvb.other' };
  fail(await rawRequest(`${base}/sdk/countReceiveEdoc`, 'POST', forged, Buffer.from('{}')), 401, 'AUTH_REQUIRED', /./, 'a header changed after signing');
  const refusedSend = await wrongSecret.sendEdoc({ messagetype: 'edoc' }, fixture('sdk-edoc.edxml'));
  t.match(refusedSend.json, { status: 'FAIL', ErrorCode: 'AUTH_REQUIRED', DocId: '' }, "sendEdoc's refusal carries DocId \"\", or the SDK would null every field");

  // Malformed calls from a client that is who it says.
  const client = new SdkClient({ endpoint: `${base}/sdk`, ...credentials });
  fail(await client.sendEdoc({ servicetype: 'eDoc' }, fixture('sdk-edoc.edxml')), 400, 'USAGE', /needs messagetype "edoc" or "status"/, 'sendEdoc without messagetype');
  fail(await client.sendEdoc({ messagetype: 'edoc' }, Buffer.from('this is not XML')), 400, 'XML_MALFORMED', /./, 'a body that is not XML');
  fail(await client.sendEdoc({ messagetype: 'status' }, fixture('sdk-edoc.edxml')), 400, 'USAGE', /file is a document packet/, 'a document sent as a status');
  fail(await client.sendEdoc({ messagetype: 'edoc' }, fixture('sdk-status.edxml')), 422, 'PACKET_INVALID', /only document packets/, 'a status sent as a document');
  fail(await client.sendEdoc({ messagetype: 'status' }, fixture('sdk-status.edxml')), 403, 'SENDER_MISMATCH', /000\.00\.05\.H12/, "another agency's status");
  fail(await client.sendEdoc({ messagetype: 'edoc', servicetype: 'eFax' }, fixture('sdk-edoc.edxml')), 400, 'USAGE', /servicetype "eFax"/, 'another service');
  client.map.set('servicetype', 'eDoc');
  // The body changed after signing: the hash-file the request signed is of another file.
  client.map.set('Content-Type', 'application/octet-stream');
  client.map.set('hash-file', hashFile(fixture('sdk-edoc.edxml')));
  client.map.set('messagetype', 'edoc');
  const signedForFile = client.signedHeaders();
  fail(await rawRequest(`${base}/sdk/sendEdoc`, 'POST', signedForFile, Buffer.from('<edXML/>\r\n')), 400, 'USAGE', /does not match the signed XroadVnpt-hash-file/, 'a body other than the file signed');
  fail(await rawRequest(`${base}/sdk/sendEdoc`, 'POST', signedForFile), 400, 'USAGE', /body is empty/, 'sendEdoc without a body');
  fail(await client.updateStatus({ docId: 'x', status: 'archived' }), 400, 'USAGE', /status "archived" is not one this door knows/, 'an unknown status word');
  fail(await client.updateStatus({ docId: '00000000-0000-4000-8000-000000000000', status: 'acceptance' }), 404, 'DOCUMENT_UNKNOWN', /no document or status/, 'an unknown docId');
  fail(await client.getEdoc({ docId: '00000000-0000-4000-8000-000000000000' }), 404, 'DOCUMENT_UNKNOWN', /no document or status/, 'getEdoc of an unknown docId');
  client.map.delete('docId');
  fail(await client.getEdoc({ filePath: 'store' }), 400, 'USAGE', /needs the signed parameter "docId"/, 'getEdoc without docId');
  const missing = await client.downloadEdoc({ docId: '00000000-0000-4000-8000-000000000000' });
  t.equal(missing.raw.length, 0, 'downloadEdoc of an unknown docId: an empty body, which the SDK reports as FAIL');
  t.equal(missing.httpStatus, 404);
  fail(await rawRequest(`${base}/sdk/sendKnobstick`, 'POST', client.signedHeaders()), 404, 'NOT_FOUND', /the calls are sendEdoc/, 'a call the SDK does not make');

  // An endpoint configured with a trailing slash: sendEdoc comes as //sendEdoc (§1).
  const slash = new SdkClient({ endpoint: `${base}/sdk/`, ...credentials });
  const viaSlash = await slash.sendEdoc({ servicetype: 'eDoc', messagetype: 'edoc' }, fixture('sdk-edoc.edxml'));
  t.match(viaSlash.json, { status: 'OK', ErrorCode: '0', DocId: UUID }, '//sendEdoc is answered too');
});

t.test('without api.sdkClients the edge has no SDK door', async (t) => {
  const edge = await openedEdge(t, OFFICE);
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [], bodyLimit: 1024 * 1024 }, { log: silentLogger() });
  t.teardown(() => app.close());
  const r = await app.inject({ method: 'POST', url: '/sdk/getEdoc', headers: { 'content-type': 'application/json' }, payload: '{}' });
  t.equal(r.statusCode, 404);
  t.match(r.json(), { error: { code: 'NOT_FOUND' } }, "the REST API's not-found answer: nothing is served under /sdk");
});
