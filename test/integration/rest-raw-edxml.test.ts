/**
 * Raw edXML in (issue 13, point 3): an agency's document system that signs its packets itself
 * — with lienthong's own signer, or with any XMLDSig tool (xmlsec1 here, an independent
 * implementation) — submits them to its edge's REST API, and the recipient stores exactly the
 * bytes that were signed, which xmlsec1 still verifies there. What the edge must not send is
 * refused at the door with the code of the failed check, and nothing reaches the outbox: a
 * packet signed with another agency's certificate, changed after signing, signed under a CA
 * that is not trusted, claiming another sender, malformed, or a status packet. An unsigned
 * packet is still signed by the edge. Real hub, edges and RabbitMQ under a fresh prefix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import type { Edge } from '../../src/edge/edge.js';
import { buildPacket } from '../../src/envelope/index.js';
import type { InboxEvent } from '../../src/edge/inbox.js';
import { silentLogger } from '../../src/log.js';
import { A, B, C, agency, documentPacket, identityFromFiles, openExchange, signAs, waitFor, type ObservedExchange } from '../helpers/exchange.js';
import { issueCertificate, makeCa, openssl, organ, signWithXmlsec1, statusFrom, xmlsec1Verify } from '../helpers/pki.js';

interface Answer {
  status: number;
  body: { packetId?: string; documentId?: string; error?: { code: string; message: string } };
}

/** A's REST API over real HTTP, with the API key of A's document system. */
async function restOf(t: Test, edge: Edge): Promise<(xml: string) => Promise<Answer>> {
  const { key, entry } = newApiKey('qlvb-vanphong');
  const app: FastifyInstance = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [entry], bodyLimit: 8 * 1024 * 1024 }, { log: silentLogger(), rateLimit: false });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return async (xml) => {
    const r = await fetch(`${base}/api/v1/documents`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/xml' }, body: xml });
    return { status: r.status, body: (await r.json()) as Answer['body'] };
  };
}

/** The packet `organId`'s edge stored for a document (sent or received), as bytes. */
async function storedBytes(edge: Edge, documentId: string): Promise<Buffer> {
  const row = edge.records.document(documentId);
  if (!row?.blob) throw new Error(`${edge.config.organId} holds no packet of ${documentId}`);
  return edge.blobs.get(row.blob);
}

/** Wait until `organId`'s inbox committed the document: the event it reported. */
async function arrivedAt(x: ObservedExchange, organId: string, documentId: string): Promise<Extract<InboxEvent, { type: 'document' }>> {
  return waitFor(`${documentId} in ${organId}'s inbox`, () =>
    x.received.get(organId)?.find((e): e is Extract<InboxEvent, { type: 'document' }> => e.type === 'document' && e.documentId === documentId),
  );
}

const rowCount = (edge: Edge, table: string): number => (edge.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

t.test('packets signed before submission travel byte for byte; what must not be sent is refused at the door', async (t) => {
  const x = await openExchange(t, [agency(A), agency(B)]);
  const a = x.exchange.edge(A);
  const b = x.exchange.edge(B);
  const submit = await restOf(t, a);
  const dir = mkdtempSync(join(tmpdir(), 'lt-it-raw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const travelsExactly = async (t: Test, what: string, signed: string) => {
    const answer = await submit(signed);
    t.equal(answer.status, 202, `${what}: accepted (${JSON.stringify(answer.body)})`);
    const documentId = answer.body.documentId as string;
    t.ok((await storedBytes(a, documentId)).equals(Buffer.from(signed)), `${what}: A's outbox holds the submitted bytes`);
    t.same(await arrivedAt(x, B, documentId), { type: 'document', packetId: answer.body.packetId, documentId, accepted: true }, `${what}: B verified and accepted it`);
    const atB = await storedBytes(b, documentId);
    t.ok(atB.equals(Buffer.from(signed)), `${what}: B stored exactly the bytes A's system signed`);
    const file = join(dir, `${answer.body.packetId}.xml`);
    writeFileSync(file, atB);
    const check = xmlsec1Verify(file);
    t.equal(check.status, 0, `${what}: xmlsec1 verifies what B stored`, { stderr: check.stderr });
  };

  t.test('signed by lienthong\'s own signer with the agency certificate', async (t) => {
    await travelsExactly(t, 'lienthong-signed', await signAs(documentPacket(A, [B], 501), A));
  });

  t.test('signed by xmlsec1 with the agency key from certs-dev/', async (t) => {
    const signed = signWithXmlsec1(dir, buildPacket(documentPacket(A, [B], 502)), organ(A), {}, [], 'xmlsec1-signed');
    t.match(signed, /<ds:SignatureValue>/, 'xmlsec1 signed it');
    await travelsExactly(t, 'xmlsec1-signed', signed);
  });

  t.test('unsigned: the edge signs it', async (t) => {
    const unsigned = buildPacket(documentPacket(A, [B], 503));
    const answer = await submit(unsigned);
    t.equal(answer.status, 202, JSON.stringify(answer.body));
    const documentId = answer.body.documentId as string;
    t.match((await storedBytes(a, documentId)).toString('utf8'), /<ds:SignatureValue>/, 'A stored it signed by the edge');
    t.match(await arrivedAt(x, B, documentId), { accepted: true }, 'B accepted it');
    const file = join(dir, 'edge-signed.xml');
    writeFileSync(file, await storedBytes(b, documentId));
    t.equal(xmlsec1Verify(file).status, 0, 'xmlsec1 verifies what B stored');
  });

  t.test('refusals: the code of the failed check, and nothing in the outbox', async (t) => {
    const rogue = rogueCertificate(dir, A);
    const tampered = await signAs(documentPacket(A, [B], 513), A);
    const cases: Array<{ name: string; xml: string; status: number; code: string; message?: RegExp }> = [
      {
        name: "From A, signed with C's certificate",
        xml: await signAs(documentPacket(A, [B], 511), C),
        status: 422,
        code: 'CERT_ORGAN_MISMATCH',
        message: new RegExp(`certificate of ${C.replace(/\./g, '\\.')}`),
      },
      {
        name: "From C, signed with C's certificate (another agency's packet)",
        xml: await signAs(documentPacket(C, [B], 512), C),
        status: 403,
        code: 'SENDER_MISMATCH',
        message: new RegExp(`from ${C.replace(/\./g, '\\.')} and signed with the certificate of ${C.replace(/\./g, '\\.')}`),
      },
      { name: 'From B, signed with A\'s certificate (wrong From)', xml: await signAs(documentPacket(B, [A], 514), A), status: 403, code: 'SENDER_MISMATCH', message: /this edge sends for 000\.00\.01\.H12/ },
      {
        name: 'changed after signing',
        xml: tampered.replace('triển khai liên thông', 'huỷ bỏ liên thông'),
        status: 422,
        code: 'SIG_DIGEST_MISMATCH',
      },
      {
        name: 'signed with a certificate naming A from an untrusted CA',
        xml: await signAs(documentPacket(A, [B], 515), await identityFromFiles(rogue.keyPath, rogue.certPath)),
        status: 422,
        code: 'CERT_UNTRUSTED',
      },
      { name: 'malformed XML', xml: '<edXML><unclosed>', status: 400, code: 'XML_MALFORMED' },
      { name: 'a signed packet cut short', xml: tampered.slice(0, tampered.length - 40), status: 400, code: 'XML_MALFORMED' },
      { name: 'a signed status packet', xml: await signAs(statusFrom(A), A), status: 422, code: 'PACKET_INVALID', message: /only document packets/ },
    ];
    t.not(cases[3]?.xml, tampered, 'the tampered packet differs from the signed one');
    for (const c of cases) {
      const before = { outbox: rowCount(a, 'outbox'), documents: rowCount(a, 'documents') };
      const answer = await submit(c.xml);
      t.equal(answer.status, c.status, `${c.name}: ${c.status}`);
      t.equal(answer.body.error?.code, c.code, `${c.name}: ${c.code} (${answer.body.error?.message})`);
      if (c.message) t.match(answer.body.error?.message, c.message, `${c.name}: the message says why`);
      t.same({ outbox: rowCount(a, 'outbox'), documents: rowCount(a, 'documents') }, before, `${c.name}: nothing written to the outbox`);
    }
  });
});

/** A key and a certificate naming `organId` (UID) from a CA of one's own (openssl), not the government's. */
function rogueCertificate(dir: string, organId: string): { keyPath: string; certPath: string } {
  const ca = makeCa(dir, 'rogue-ca');
  const keyPath = join(dir, 'rogue.key.pem');
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath);
  return { keyPath, certPath: issueCertificate(dir, ca, keyPath, organId, organ(organId).name, 'rogue') };
}
