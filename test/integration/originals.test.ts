/**
 * The signed original travels untouched: through the real broker and hub, a document's whole
 * life — an attachment to two recipients, 01 03 04 05 06 from one, a recall answered 15 and 16,
 * an update the other returns with 02, a recipient the hub bounces — leaves in every store
 * (sender, hub, each recipient) the very bytes their author signed: the same SHA-256 everywhere,
 * and every packet taken from every store accepted by xmlsec1, a stock XMLDSig verifier.
 * The hub's hop travels beside the packet (message headers, the hub's and the edge's records).
 * Each node's evidence file of the document checks offline and names every step.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { readZip } from '../../src/archive/zip.js';
import { loadIdentityMaterial } from '../../src/config.js';
import type { Edge } from '../../src/edge/edge.js';
import { parsePacket, type StatusPacket } from '../../src/envelope/index.js';
import { buildEvidence, checkEvidence } from '../../src/evidence/bundle.js';
import { collectHubEvidence } from '../../src/hub/evidence.js';
import type { LocalExchange } from '../../src/demo/local-exchange.js';
import { A, B, C, agency, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';
import { CERTS, HUB, trustMaterial, xmlsec1Verify } from '../helpers/pki.js';

const UNKNOWN = '000.00.77.H12';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** packet id → SHA-256 and bytes of every packet a store holds. */
type Store = Map<string, { sha256: string; bytes: Buffer }>;

async function edgeStore(edge: Edge): Promise<Store> {
  const rows = edge.db
    .prepare(
      `SELECT packet_id, blob FROM documents
       UNION SELECT packet_id, blob FROM outbox
       UNION SELECT packet_id, blob FROM received_packets WHERE blob IS NOT NULL`,
    )
    .all() as Array<{ packet_id: string; blob: string }>;
  return storeOf(rows, (blob) => edge.blobs.get(blob));
}

async function hubStore(exchange: LocalExchange): Promise<Store> {
  const rows = exchange.hub.db
    .prepare('SELECT packet_id, blob FROM packets WHERE blob IS NOT NULL UNION SELECT packet_id, blob FROM outbound')
    .all() as Array<{ packet_id: string; blob: string }>;
  return storeOf(rows, (blob) => exchange.hub.blobs.get(blob));
}

async function storeOf(rows: Array<{ packet_id: string; blob: string }>, read: (blob: string) => Promise<Buffer>): Promise<Store> {
  const store: Store = new Map();
  for (const row of rows) {
    const bytes = await read(row.blob);
    const previous = store.get(row.packet_id);
    if (previous && previous.sha256 !== sha256(bytes)) throw new Error(`one store holds two different packets ${row.packet_id}`);
    store.set(row.packet_id, { sha256: sha256(bytes), bytes });
  }
  return store;
}

t.test('every store holds the signed originals: same SHA-256 at sender, hub and recipients, all verified by xmlsec1', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B), agency(C)]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  const c = exchange.edge(C);

  // D1 to B, C and an agency the hub does not know (bounced by the hub).
  const d1 = await a.outbox.submitDocument(letter([B, C, UNKNOWN], 801), 'test');
  await waitFor('B and C to hold D1, the bounce at A', () => stageAt(a, d1.documentId, B) === '01' && stageAt(a, d1.documentId, C) === '01' && stageAt(a, d1.documentId, UNKNOWN) === 'bounced', {
    describe: () => a.document(d1.documentId)?.deliveries,
  });
  for (const code of ['03', '04', '05', '06'] as const) {
    await b.lifecycle.act(d1.documentId, code === '04' ? { code, assignment: { unit: 'Phòng Quản lý ngân sách', person: 'Lê Văn Cường', role: 'main' } } : { code });
  }
  await waitFor('A to see B complete D1', () => stageAt(a, d1.documentId, B) === '06');
  await a.lifecycle.recall(d1.documentId, { reason: 'Thu hồi để ban hành lại' });
  const recallOf = (recipient: string): string | undefined => a.document(d1.documentId)?.deliveries.find((d) => d.recipient === recipient)?.recall;
  await waitFor('the answers to the recall: 16 from B (completed), 15 from C', () => recallOf(B) === 'refused' && recallOf(C) === 'recalled', {
    describe: () => a.document(d1.documentId)?.deliveries,
  });

  // D2 updates D1; C returns it (02) with a reason.
  const d2 = await a.outbox.submitDocument(
    letter([B, C], 802, { subject: 'V/v cập nhật phụ lục kèm Công văn số 801', bussiness: { bussinessDocType: '2', documentId: d1.documentId } }),
    'test',
  );
  await waitFor('C to hold D2', () => c.document(d2.documentId));
  await c.lifecycle.act(d2.documentId, { code: '02', description: 'Văn bản gửi nhầm đơn vị, đề nghị kiểm tra lại' });
  await waitFor('A to see B receive and C return D2', () => stageAt(a, d2.documentId, B) === '01' && stageAt(a, d2.documentId, C) === '02');
  // The hub routes each status before the edge that receives it records it: wait for the last ones.
  await waitFor('every status recorded at the hub', () => {
    const n = exchange.hub.db.prepare("SELECT COUNT(*) AS n FROM packets WHERE kind = 'status'").get() as { n: number };
    return n.n === 2 + 4 + 2 + 2 + 2 + 1; // 01×2, 03–06, 13×2, 16 + 15, 01×2, 02
  });

  const stores = new Map<string, Store>([
    [A, await edgeStore(a)],
    ['hub', await hubStore(exchange)],
    [B, await edgeStore(b)],
    [C, await edgeStore(c)],
  ]);

  await t.test('each document: one SHA-256 at the sender, the hub and every recipient', async (t) => {
    for (const [name, sent, holders] of [
      ['D1', d1, [A, 'hub', B, C]],
      ['D2', d2, [A, 'hub', B, C]],
    ] as const) {
      const hashes = holders.map((holder) => stores.get(holder)?.get(sent.packetId)?.sha256);
      t.ok(hashes.every((h) => h !== undefined), `${name} is held by ${holders.join(', ')}`);
      t.equal(new Set(hashes).size, 1, `${name}: the same bytes everywhere (${hashes[0]?.slice(0, 12)}…)`);
    }
  });

  await t.test('every packet held by several stores is the same bytes in each', async (t) => {
    const everywhere = new Map<string, Map<string, string>>();
    for (const [holder, store] of stores) {
      for (const [packetId, { sha256: hash }] of store) {
        if (!everywhere.has(packetId)) everywhere.set(packetId, new Map());
        everywhere.get(packetId)?.set(holder, hash);
      }
    }
    let shared = 0;
    for (const [packetId, byHolder] of everywhere) {
      if (byHolder.size < 2) continue;
      shared += 1;
      t.equal(new Set(byHolder.values()).size, 1, `${packetId}: identical at ${[...byHolder.keys()].join(', ')}`);
    }
    // 2 documents and 13 statuses each at author, hub and target, and the bounce at hub and A.
    t.equal(shared, 2 + 13 + 1, 'documents, statuses and the bounce are each held by more than one store');
  });

  await t.test('xmlsec1 accepts every packet taken from every store', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-originals-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let checked = 0;
    for (const [holder, store] of stores) {
      for (const [packetId, { bytes }] of store) {
        const file = join(dir, `${holder}-${packetId}.xml`);
        writeFileSync(file, bytes);
        const r = xmlsec1Verify(file);
        if (r.status !== 0 || !/^OK$/m.test(`${r.stdout}${r.stderr}`)) t.fail(`xmlsec1 refuses ${packetId} from ${holder}`, { stderr: r.stderr });
        checked += 1;
      }
    }
    // A 16 (2 documents, 2 recalls, 12 statuses and the bounce received), the hub 16 (2 documents,
    // 13 statuses, 1 bounce), B 10 and C 7 (2 documents, what each signed, the recall).
    t.equal(checked, 16 + 16 + 10 + 7, `${checked} packets from 4 stores, all accepted by xmlsec1`);
  });

  await t.test('every status names its office and says what it means', async (t) => {
    for (const [packetId, { bytes }] of stores.get('hub') ?? []) {
      const packet = parsePacket(bytes);
      if (packet.kind !== 'status') continue;
      t.ok((packet as StatusPacket).staffInfo?.department, `${packetId} (${packet.statusCode}) carries StaffInfo`);
      t.ok((packet as StatusPacket).description, `${packetId} (${packet.statusCode}) carries a Description`);
    }
  });

  await t.test('the hub bounce names the document by its issuer and the unknown recipient in its Description', async (t) => {
    const bounce = [...(stores.get(A) ?? [])].map(([, v]) => parsePacket(v.bytes)).find((p) => p.kind === 'status' && p.from.organId === HUB) as StatusPacket | undefined;
    t.match(bounce, { statusCode: '02', responseFor: { organId: A, documentId: d1.documentId }, description: new RegExp(UNKNOWN.replace(/\./g, '\\.')) });
    const hub = exchange.hub.directory.get(HUB);
    t.match(hub, { kind: 'hub', status: 'active' }, 'the hub is an entry of its own directory');
    t.match(hub?.certificate, /BEGIN CERTIFICATE/, 'with the certificate it signs bounces with');
  });

  await t.test('the hop travels beside the packet: in the headers, recorded by the recipient', async (t) => {
    const hop = b.db.prepare('SELECT hop FROM received_packets WHERE packet_id = ?').get(d1.packetId) as { hop: string | null };
    t.match(JSON.parse(hop.hop ?? 'null'), { hub: HUB, lane: 'normal' }, "B recorded the hub's hop from the message headers");
    t.match(b.document(d1.documentId)?.timeline.find((e) => e.event === 'delivered')?.description, new RegExp(`routed by hub ${HUB.replace(/\./g, '\\.')}`));
    const stored = stores.get(B)?.get(d1.packetId)?.bytes.toString('utf8') ?? '';
    t.notMatch(stored, HUB, 'and nothing about the hub is inside the signed packet B holds');
  });

  await t.test("each node's evidence file of the recalled document checks offline and names every step", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-evidence-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const hubIdentity = await loadIdentityMaterial(exchange.hub.config.identity);
    const files = new Map<string, Buffer>([
      [A, await a.evidence(d1.documentId)],
      [B, await b.evidence(d1.documentId)],
      [C, await c.evidence(d1.documentId)],
      ['hub', buildEvidence(await collectHubEvidence({ db: exchange.hub.db, blobs: exchange.hub.blobs, hubOrganId: HUB }, d1.documentId), hubIdentity, new Date())],
    ]);
    for (const [holder, zip] of files) {
      const result = await checkEvidence(zip, trustMaterial());
      t.equal(result.valid, true, `${holder}'s evidence is valid`, { errors: result.errors });
      t.equal(result.documentId, d1.documentId);
      const steps = result.steps.map((s) => s.says).join('\n');
      t.match(steps, /document (sent|received) by 000\.00\.01\.H12/, `${holder}: the document`);
      t.match(steps, /13 status/, `${holder}: the recall`);
      t.match(steps, holder === B ? /16 status/ : /15 status/, `${holder}: the answer to the recall`);
      const inside = readZip(zip);
      for (const entry of inside.filter((f) => f.path.startsWith('packets/'))) {
        const file = join(dir, `${holder}-${entry.path.replace(/\//g, '_')}`);
        writeFileSync(file, entry.data);
        const r = xmlsec1Verify(file);
        t.equal(r.status, 0, `${holder}: xmlsec1 accepts ${entry.path}`, { stderr: r.stderr });
      }
      t.equal(inside.find((f) => f.path.includes('-document-'))?.data.toString('hex') === stores.get(holder)?.get(d1.packetId)?.bytes.toString('hex'), true, `${holder}: the original inside is the stored one`);
    }
    const atA = await checkEvidence(files.get(A) as Buffer, trustMaterial());
    const aSteps = atA.steps.map((s) => s.says).join('\n');
    for (const code of ['01', '03', '04', '05', '06', '13', '15', '16']) t.match(aSteps, new RegExp(`${code} status`), `A's evidence names ${code}`);
    t.match(aSteps, /bounce signed by the hub/, "A's evidence names the hub's bounce");
    const atHub = await checkEvidence(files.get('hub') as Buffer, trustMaterial());
    t.ok((atHub.audit?.rows ?? 0) >= 10 && atHub.audit?.intact, `the hub's audit rows about D1 (${atHub.audit?.rows}) are intact`);

    // The command an archivist runs, as a process of the built CLI.
    const zipFile = join(dir, 'evidence-A.zip');
    writeFileSync(zipFile, files.get(A) as Buffer);
    const cli = runCli(dir, ['evidence', 'verify', zipFile, '--trust', join(CERTS, 'root-ca.pem'), '--intermediate', join(CERTS, 'issuing-ca.pem')]);
    t.equal(cli.status, 0, '`lienthong evidence verify` exits 0', { stderr: cli.stderr });
    t.match(cli.stdout, /VALID evidence of/);
    t.match(cli.stdout, /13 status from 000\.00\.01\.H12/, 'and prints the steps');

    // A changed byte anywhere is named.
    const entries = readZip(files.get(A) as Buffer);
    const doc = entries.find((f) => f.path.includes('-document-'));
    if (!doc) throw new Error('no document in the evidence');
    const { writeZip } = await import('../../src/archive/zip.js');
    const tampered = writeZip(entries.map((f) => (f === doc ? { path: f.path, data: Buffer.from(f.data.toString('utf8').replace('triển khai', 'hủy bỏ')) } : { path: f.path, data: f.data })));
    const bad = await checkEvidence(tampered, trustMaterial());
    t.equal(bad.valid, false, 'a changed packet makes the evidence invalid');
    t.match(bad.errors.map((e) => e.message).join('\n'), /was changed/, '... and says which file changed');
  });
});
