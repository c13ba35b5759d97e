/**
 * The national axis as a link of the hub (issue 14, point 2): a hub whose `federation.links`
 * has a link of kind "axis" acts as one system of the axis, against a simulator written from
 * sdk-protocol.md. A document for a central agency (*.G*) leaves as the bytes its sender signed;
 * a document the axis holds for the hub reaches the local recipient, whose 01 goes back to the
 * axis; a status the axis holds about a document the hub sent reaches the sender; an axis
 * outage holds what waits, and it all goes once the axis answers again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { devPath } from '../../src/demo/local-exchange.js';
import { composeStatus, type DocumentPacket } from '../../src/envelope/index.js';
import { federationSettings } from '../../src/federation/config.js';
import type { AxisLink } from '../../src/federation/axis-link.js';
import { AxisSimulator } from '../helpers/axis-simulator.js';
import { A, B, agency, documentPacket, identityFromFiles, letter, openExchange, signAs, stageAt, waitFor } from '../helpers/exchange.js';
import { issueOrgan } from '../helpers/federation.js';

const Z = '000.00.01.G22';
const HUB = '000.00.90.H12';
const SYSTEM = { systemId: 'camau.lienthong', secret: randomBytes(16).toString('hex') };
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

t.test('a hub linked to the national axis', async (t) => {
  const simulator = await AxisSimulator.start([SYSTEM]);
  t.teardown(() => simulator.stop());
  const dir = mkdtempSync(join(tmpdir(), 'lt-axis-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const zIssued = issueOrgan(dir, Z, 'Co quan trung uong G22');
  const z = await identityFromFiles(zIssued.key, zIssued.cert, zIssued.chain);

  const federation = federationSettings(
    {
      links: [
        {
          name: 'axis',
          kind: 'axis',
          patterns: ['*.G*'],
          trust: { anchors: [devPath('root-ca.pem')], intermediates: [devPath('issuing-ca.pem')], crls: [devPath('issuing-ca.crl.pem'), devPath('root-ca.crl.pem')], dev: true },
          axis: { baseUrl: simulator.url, systemId: SYSTEM.systemId, secret: SYSTEM.secret, pollSeconds: 0.2, retryMaxSeconds: 1 },
        },
      ],
    },
    { file: 'hub.json', baseDir: dir, env: {}, hubOrganId: HUB, hubPrefix: 'lt' },
  );
  const { exchange, received } = await openExchange(t, [agency(A), agency(B)], { hubConfig: federation ? { federation } : {} });
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  const link = (): AxisLink => {
    const found = (exchange.hub as unknown as { links: AxisLink[] }).links.find((l) => l.name === 'axis');
    if (!found) throw new Error('the hub runs no axis link');
    return found;
  };

  await t.test('a document for a central agency goes to the axis as the bytes its sender signed', async (t) => {
    const sent = await a.outbox.submitDocument(letter([B, Z], 'AX1'), 'test');
    const onAxis = await waitFor('the document on the axis', () => simulator.sent.find((p) => p.messageType === 'edoc' && p.from === A));
    const signed = await a.blobs.get((a.db.prepare('SELECT blob FROM outbox WHERE packet_id = ?').get(sent.packetId) as { blob: string }).blob);
    t.equal(sha256(onAxis.file), sha256(signed), 'the axis holds the bytes A signed');
    await waitFor("B's 01 at A", () => stageAt(a, sent.documentId, B) === '01');
    const route = exchange.hub.db.prepare('SELECT route FROM deliveries WHERE document_id = ? AND recipient = ?').get(sent.documentId, Z);
    t.same(route, { route: 'axis' }, 'the hub tracks Z through the axis link');
    t.match(link().stats(), { kind: 'axis', connected: true, forwarded: 1 });

    // Z answers 01 through the axis: the status reaches A.
    const status = composeStatus({ from: { organId: Z, organName: 'Co quan trung uong G22' }, responseFor: { organId: A, documentId: sent.documentId }, statusCode: '01' }, new Date());
    const bytes = Buffer.from(await signAs(status, z));
    const held = simulator.hold(SYSTEM.systemId, bytes, { messageType: 'status', from: Z });
    link().pollNow();
    await waitFor("Z's 01 at A", () => stageAt(a, sent.documentId, Z) === '01', { describe: () => a.document(sent.documentId)?.deliveries });
    await simulator.next((c) => c.call === 'updateStatus' && c.docId === held);
    t.pass('the axis is told the status was taken, after the hub had it');
  });

  await t.test('a document the axis holds for the hub reaches its recipient once, and its 01 goes back to the axis', async (t) => {
    const packet = documentPacket(Z, [B], 'AX2') as DocumentPacket;
    const content = Buffer.from(await signAs(packet, z));
    const held = simulator.hold(SYSTEM.systemId, content, { from: Z });
    const before = simulator.sent.length;
    link().pollNow();
    await waitFor('the document at B', () => (received.get(B) ?? []).find((e) => e.type === 'document' && e.documentId === packet.documentId));
    const stored = await b.blobs.get((b.db.prepare('SELECT blob FROM documents WHERE document_id = ?').get(packet.documentId) as { blob: string }).blob);
    t.equal(sha256(stored), sha256(content), 'B stores the bytes Z signed');
    const row = exchange.hub.db.prepare('SELECT via, verdict FROM packets WHERE sender = ? AND kind = ?').get(Z, 'document');
    t.same(row, { via: 'axis', verdict: 'routed' }, 'the hub took it in through the axis link');
    await simulator.next((c) => c.call === 'updateStatus' && c.docId === held);
    const back = await waitFor("B's 01 on the axis", () => simulator.sent.slice(before).find((p) => p.messageType === 'status' && p.from === B));
    t.match(back.file.toString(), /<edXML:StatusCode>01<\/edXML:StatusCode>/, 'a status 01');
    link().pollNow();
    t.equal((received.get(B) ?? []).filter((e) => e.type === 'document' && e.documentId === packet.documentId).length, 1, 'once');
  });

  await t.test('a status from the axis signed by a stranger to the link is refused', async (t) => {
    // B's own certificate: an agency of this hub speaking through the axis.
    const spoof = composeStatus({ from: { organId: B, organName: 'So Tai chinh' }, responseFor: { organId: A, documentId: 'nothing' }, statusCode: '03' }, new Date());
    const bytes = Buffer.from(await signAs(spoof, B));
    simulator.hold(SYSTEM.systemId, bytes, { messageType: 'status', from: B });
    link().pollNow();
    const outcome = await waitFor('the refusal', () => exchange.hub.db.prepare("SELECT error_code FROM packets WHERE via = 'axis' AND verdict = 'refused'").get() as { error_code: string } | undefined);
    t.equal(outcome.error_code, 'FEDERATION_SENDER_REFUSED');
  });

  await t.test('the axis down: documents wait in the link, and go, urgent first, when it answers again', async (t) => {
    await simulator.stop();
    const normal = await a.outbox.submitDocument(letter([Z], 'AX3'), 'test');
    const urgent = await a.outbox.submitDocument(letter([Z], 'AX4', { priority: '1' }), 'test');
    // Both in the link's hands, the axis known down: the order they leave in is the link's choice.
    await waitFor('both documents held by the link, the axis down', () => link().waiting() === 2 && !link().stats().connected, { describe: () => ({ waiting: link().waiting(), stats: link().stats() }) });
    t.equal(link().stats().lastError?.startsWith('AXIS_UNREACHABLE'), true, 'the link says why');
    const before = simulator.sent.length;
    await simulator.start();
    const arrived = await waitFor('both on the axis', () => {
      const ids = simulator.sent.slice(before).filter((p) => p.messageType === 'edoc').map((p) => p.file.toString());
      return ids.length >= 2 ? ids : undefined;
    });
    const order = arrived.map((file) => (file.includes(urgent.documentId) ? 'urgent' : file.includes(normal.documentId) ? 'normal' : 'other'));
    t.same(order, ['urgent', 'normal'], 'the urgent document first');
    t.equal(simulator.sent.filter((p) => p.file.toString().includes(normal.documentId)).length, 1, 'sent once');
  });

});
