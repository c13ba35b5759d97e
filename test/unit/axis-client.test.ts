/**
 * The hub's client of the national axis against the axis simulator (written from
 * sdk-protocol.md alone): a signed packet reaches the axis byte for byte, what the axis holds
 * is listed, fetched and handed back as taken, and every way a call can fail ends in one of
 * two clear codes: AXIS_REFUSED (the axis said no, in its protocol) or AXIS_UNREACHABLE (no
 * answer, or not the protocol's).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { signPacket } from '../../src/crypto/sign.js';
import { buildPacket } from '../../src/envelope/index.js';
import { AxisClient } from '../../src/federation/axis/client.js';
import { AxisSimulator } from '../helpers/axis-simulator.js';
import { documentFrom, identityOf, OFFICE, statusFrom } from '../helpers/pki.js';

const SYSTEM = { systemId: 'vn.gov.camau.lienthong', secret: 'axis-test-secret-0123456789' };

async function simulator(t: Test): Promise<AxisSimulator> {
  const sim = await AxisSimulator.start([SYSTEM]);
  t.teardown(() => sim.stop());
  return sim;
}

const client = (baseUrl: string, options: { secret?: string; timeoutMs?: number } = {}): AxisClient =>
  new AxisClient({ baseUrl, systemId: SYSTEM.systemId, secret: options.secret ?? SYSTEM.secret, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });

const signedDocument = async (): Promise<Buffer> => Buffer.from(await signPacket(buildPacket(documentFrom(OFFICE)), await identityOf(OFFICE)));

t.test('a signed document reaches the axis byte for byte, with who sends it to whom', async (t) => {
  const sim = await simulator(t);
  const packet = await signedDocument();
  const { docId } = await client(sim.url).sendEdoc(packet, { messageType: 'edoc', from: OFFICE, to: ['000.00.00.G22'] });
  t.equal(sim.sent.length, 1);
  const sent = sim.sent[0]!;
  t.equal(sent.docId, docId, "the axis's DocId is returned");
  t.ok(sent.file.equals(packet), 'the signed bytes arrive unchanged (the CRLF the protocol appends is dropped by the axis)');
  t.equal(sent.messageType, 'edoc');
  t.equal(sent.from, OFFICE);
  t.equal(sent.to, '["000.00.00.G22"]', '`to` travels as raw JSON, as the SDK sends it');
});

t.test('a status packet goes through sendEdoc with messagetype status', async (t) => {
  const sim = await simulator(t);
  const status = Buffer.from(await signPacket(buildPacket(statusFrom(OFFICE)), await identityOf(OFFICE)));
  await client(`${sim.url}/`).sendEdoc(status, { messageType: 'status', from: OFFICE });
  t.equal(sim.sent[0]?.messageType, 'status');
  t.ok(sim.sent[0]?.file.equals(status), 'a base URL written with a trailing slash still reaches the call');
});

t.test('what the axis holds is listed, fetched whole and handed back as taken', async (t) => {
  const sim = await simulator(t);
  const packet = await signedDocument();
  const docId = sim.hold(SYSTEM.systemId, packet, { from: '000.00.00.G22' });
  const statusId = sim.hold(SYSTEM.systemId, Buffer.from('<status/>'), { from: '000.00.00.G22', messageType: 'status' });
  const axis = client(sim.url);
  t.equal(await axis.countReceived(), 1, 'one document waits');
  const listed = await axis.listReceived('edoc');
  t.same(listed.map((i) => [i.docId, i.from, i.messageType]), [[docId, '000.00.00.G22', 'edoc']], 'documents are listed apart from statuses');
  t.same((await axis.listReceived('status')).map((i) => i.docId), [statusId]);
  t.ok((await axis.getEdoc(docId)).equals(packet), 'getEdoc gives the bytes the axis holds');
  await axis.updateStatus(docId);
  t.equal(sim.held.find((h) => h.docId === docId)?.status, 'done', 'the hand-back is "done"');
  t.same(await axis.listReceived('edoc'), [], 'a document taken is no longer listed');
});

t.test('a refusal is AXIS_REFUSED with the axis code and text', async (t) => {
  const sim = await simulator(t);
  await t.rejects(client(sim.url, { secret: 'not-the-secret' }).countReceived(), { code: 'AXIS_REFUSED', message: /ErrorCode "401".*hash-header does not match/ }, 'a wrong secret');
  sim.refuse('sendEdoc', '17', 'Văn bản không hợp lệ');
  await t.rejects(client(sim.url).sendEdoc(await signedDocument(), { messageType: 'edoc', from: OFFICE }), { code: 'AXIS_REFUSED', message: /sendEdoc .*ErrorCode "17".*Văn bản không hợp lệ/ }, 'a packet refused; Vietnamese text survives');
  await t.rejects(client(sim.url).getEdoc('no-such-doc'), { code: 'AXIS_REFUSED' }, 'an unknown docId');
});

t.test('no answer is AXIS_UNREACHABLE, and the same client works once the axis is back', async (t) => {
  const sim = await simulator(t);
  const axis = client(sim.url);
  t.equal(await axis.countReceived(), 0, 'a connection is open (kept alive) before the outage');
  await sim.stop();
  await t.rejects(axis.countReceived(), { code: 'AXIS_UNREACHABLE', message: /did not answer countReceiveEdoc: ECONNREFUSED/ });
  await sim.start();
  t.equal(await axis.countReceived(), 0, 'the axis is back on the same port');
});

t.test('an axis that does not answer in time, or answers outside the protocol, is AXIS_UNREACHABLE', async (t) => {
  let mode: 'silent' | 'html' | 'no-docid' = 'silent';
  const server = createServer((request, response) => {
    request.resume();
    if (mode === 'html') response.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    else if (mode === 'no-docid') response.writeHead(200).end('{"status":"OK","ErrorCode":"0","ErrorDesc":"Success"}');
    // silent: never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const axis = client(url, { timeoutMs: 300 });
  await t.rejects(axis.countReceived(), { code: 'AXIS_UNREACHABLE', message: /no answer within 300 ms/ });
  mode = 'html';
  await t.rejects(axis.listReceived('edoc'), { code: 'AXIS_UNREACHABLE', message: /HTTP 502 with a body that is not the protocol's JSON reply/ });
  mode = 'no-docid';
  await t.rejects(axis.sendEdoc(Buffer.from('<edXML/>'), { messageType: 'edoc', from: OFFICE }), { code: 'AXIS_UNREACHABLE', message: /gave no DocId/ });
});
