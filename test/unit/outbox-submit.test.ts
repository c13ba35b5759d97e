/**
 * The outbox's two doors for a ready packet and the hook adapters share (issue 13): what a
 * caller records in `SubmitOptions.inTransaction` commits with the packet or not at all, on
 * every path (metadata, unsigned edXML, edXML the agency signed beforehand); a pre-signed
 * packet is refused when its signing time is absurd or hops were added after signing, exactly
 * as the hub would refuse it. Over an opened edge (keys, crypto workers, SQLite; no broker).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { lienthongInProcess } from '../helpers/cli-in-process.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { BlobStore } from '../../src/store/blobs.js';
import { signPacket } from '../../src/crypto/sign.js';
import { LIVE_SIGNATURE_AGE_MS } from '../../src/crypto/verify.js';
import type { Edge } from '../../src/edge/edge.js';
import type { Submitted } from '../../src/edge/outbox.js';
import { buildPacket } from '../../src/envelope/index.js';
import { openedEdge } from '../helpers/edge-api.js';
import { edgeCounts } from '../helpers/lifecycle.js';
import { FINANCE, OFFICE, REPO, documentFrom, identityOf, statusFrom, unsignedDocument } from '../helpers/pki.js';

const to = [{ organId: FINANCE, organName: 'Sở Tài chính tỉnh Cà Mau' }];
const code = (n: string) => ({ codeNumber: n, codeNotation: 'UBND-VP' });

/** An edge with an adapter's own table, as the folder drop keeps its "file → packet" record. */
async function edgeWithAdapterTable(t: Test): Promise<Edge> {
  const edge = await openedEdge(t, OFFICE);
  edge.db.exec('CREATE TABLE adapter_inputs (input TEXT PRIMARY KEY, packet_id TEXT NOT NULL, document_id TEXT NOT NULL)');
  return edge;
}

const adapterRows = (edge: Edge): Array<{ input: string; packet_id: string; document_id: string }> =>
  edge.db.prepare('SELECT * FROM adapter_inputs ORDER BY input').all() as Array<{ input: string; packet_id: string; document_id: string }>;

const rowCounts = (edge: Edge) => {
  const { blobs: _blobs, ...rows } = edgeCounts(edge);
  return rows;
};

const signedBy = async (organId: string, n: string, now = new Date()): Promise<string> =>
  signPacket(buildPacket(documentFrom(OFFICE, { code: code(n), to }, now)), await identityOf(organId));

t.test('inTransaction runs inside the transaction that queues the packet, on every path', async (t) => {
  const edge = await edgeWithAdapterTable(t);
  const paths: Array<[string, (o: { inTransaction: (q: { packetId: string; documentId: string }) => void }) => Promise<Submitted>]> = [
    ['metadata', (o) => edge.outbox.submitDocument({ to, code: code('401'), subject: 'V/v số 401' }, 'test', o)],
    ['unsigned edXML', (o) => edge.outbox.submitXml(Buffer.from(unsignedDocument(OFFICE, { code: code('402'), to })), 'test', o)],
    ['pre-signed edXML', async (o) => edge.outbox.submitXml(Buffer.from(await signedBy(OFFICE, '403')), 'test', o)],
  ];
  for (const [name, submit] of paths) {
    let seen: { packetId: string; documentId: string; inTransaction: boolean; outboxRow: boolean } | undefined;
    const submitted = await submit({
      inTransaction(queued) {
        seen = { ...queued, inTransaction: edge.db.inTransaction, outboxRow: edge.records.outboxEntry(queued.packetId) !== undefined };
        edge.db.prepare('INSERT INTO adapter_inputs VALUES (?, ?, ?)').run(name, queued.packetId, queued.documentId);
      },
    });
    t.same(seen, { packetId: submitted.packetId, documentId: submitted.documentId, inTransaction: true, outboxRow: true }, `${name}: called in the transaction, after the outbox row, with the ids the caller gets`);
  }
  t.equal(adapterRows(edge).length, 3, "the adapter's rows committed with the packets");
});

t.test('a hook that throws leaves nothing written, on every path', async (t) => {
  const edge = await edgeWithAdapterTable(t);
  const before = rowCounts(edge);
  const refuse = (queued: { packetId: string; documentId: string }) => {
    edge.db.prepare('INSERT INTO adapter_inputs VALUES (?, ?, ?)').run(queued.packetId, queued.packetId, queued.documentId);
    throw new Error('the adapter could not record it');
  };
  await t.rejects(edge.outbox.submitDocument({ to, code: code('411'), subject: 'V/v số 411' }, 'test', { inTransaction: refuse }), { message: 'the adapter could not record it' }, 'metadata: the hook\'s error');
  await t.rejects(edge.outbox.submitXml(Buffer.from(unsignedDocument(OFFICE, { code: code('412'), to })), 'test', { inTransaction: refuse }), { message: 'the adapter could not record it' }, 'unsigned edXML');
  await t.rejects(edge.outbox.submitXml(Buffer.from(await signedBy(OFFICE, '413')), 'test', { inTransaction: refuse }), { message: 'the adapter could not record it' }, 'pre-signed edXML');
  t.same(rowCounts(edge), before, 'no outbox row, document, attachment, delivery or event');
  t.same(adapterRows(edge), [], "nor the adapter's own row");
  // The document was not queued, so its number is free: the same submission goes through.
  const again = await edge.outbox.submitXml(Buffer.from(await signedBy(OFFICE, '413')), 'test');
  t.ok(edge.records.outboxEntry(again.packetId), 'the same document submitted again without the hook is queued');
});

t.test('a pre-signed packet with an absurd signing time or hops added after signing is refused as the hub would', async (t) => {
  const edge = await openedEdge(t, OFFICE);
  const before = rowCounts(edge);

  const old = await signedBy(OFFICE, '421', new Date(Date.now() - LIVE_SIGNATURE_AGE_MS - 3_600_000));
  await t.rejects(edge.outbox.submitXml(Buffer.from(old), 'test'), { code: 'CERT_EXPIRED', message: /older than the accepted 168 hours/ }, 'signed longer ago than the hub accepts');

  const future = await signedBy(OFFICE, '422', new Date(Date.now() + 3_600_000));
  await t.rejects(edge.outbox.submitXml(Buffer.from(future), 'test'), { code: 'CERT_EXPIRED', message: /in the future/ }, 'signed an hour in the future');

  const relayed = (await signedBy(OFFICE, '423')).replace(
    /(<edXML:TraceHeader>\s*<edXML:OrganId>000\.00\.01\.H12<\/edXML:OrganId>[\s\S]*?<\/edXML:TraceHeader>)/,
    '$1<edXML:TraceHeader><edXML:OrganId>000.00.90.H12</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>',
  );
  await t.rejects(edge.outbox.submitXml(Buffer.from(relayed), 'test'), { code: 'TRACE_FORGED' }, 'a TraceHeader added after signing');

  const status = await signPacket(buildPacket(statusFrom(OFFICE)), await identityOf(OFFICE));
  await t.rejects(edge.outbox.submitXml(Buffer.from(status), 'test'), { code: 'PACKET_INVALID', message: /only document packets/ }, 'a signed status packet');
  t.same(rowCounts(edge), before, 'nothing queued');
});

t.test('an unsigned packet that only declares the XMLDSig namespace is signed by the edge', async (t) => {
  const edge = await openedEdge(t, OFFICE);
  const xml = unsignedDocument(OFFICE, { code: code('431'), to }).replace('<edXML ', '<edXML xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ');
  t.match(xml, /xmlns:ds=/, 'the namespace is declared');
  const submitted = await edge.outbox.submitXml(Buffer.from(xml), 'test');
  const stored = edge.records.outboxEntry(submitted.packetId);
  t.ok(stored, 'queued');
  const bytes = await edge.blobs.get(stored?.blob as string);
  t.match(bytes.toString('utf8'), /<ds:SignatureValue>/, 'signed by the edge');
});

const lienthong = lienthongInProcess;

t.test('lienthong send --packet queues a packet the agency signed, byte for byte, and refuses one signed by another agency', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'edge.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: OFFICE,
      organization: { organId: OFFICE, organName: 'Văn phòng UBND tỉnh Cà Mau' },
      hubOrganId: DEV_HUB.organId,
      dataDir: join(dir, 'data'),
      identity: { key: devPath('agencies', `${OFFICE}.key.pem`), cert: devPath('agencies', `${OFFICE}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    }),
  );
  const signed = await signedBy(OFFICE, '441');
  writeFileSync(join(dir, 'signed.xml'), signed);
  const sent = await lienthong('send', '--config', config, '--packet', join(dir, 'signed.xml'), '--json');
  t.equal(sent.code, 0, `exit 0 (${sent.stderr})`);
  const { packetId } = JSON.parse(sent.stdout) as { packetId: string };
  const db = new Database(join(dir, 'data', 'edge.sqlite'), { readonly: true });
  const row = db.prepare('SELECT blob FROM outbox WHERE packet_id = ?').get(packetId) as { blob: string } | undefined;
  const outboxRows = () => (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  t.teardown(() => db.close());
  t.ok(row, 'queued in the outbox');
  t.equal((await new BlobStore(join(dir, 'data', 'blobs'), db).get(row?.blob as string)).toString('utf8'), signed, 'the very bytes of the file');

  writeFileSync(join(dir, 'foreign.xml'), await signedBy(FINANCE, '442'));
  const refused = await lienthong('send', '--config', config, '--packet', join(dir, 'foreign.xml'));
  t.equal(refused.code, 1, 'exit 1');
  t.match(refused.stderr, /CERT_ORGAN_MISMATCH/, 'with the code of the failed check');
  t.match(refused.stderr, /certificate of 000\.00\.05\.H12/, "naming whose certificate signed it");
  t.equal(outboxRows(), 1, 'nothing more queued');
});
