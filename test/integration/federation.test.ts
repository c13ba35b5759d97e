/**
 * Hub-to-hub links over AMQP (Decision 31 Art. 12.1: a province's system interconnects with the
 * others'). Three hubs on the one broker, each under its own prefix with its own edges: Cà Mau
 * (H12), another province (H53) and a central agency group (G22). A document crosses provinces
 * with its signed bytes untouched, the receipts come back the same way, a recall works across
 * hubs, a mixed recipient list is split between the hub and its links; what no link serves
 * bounces with the reason, and a linked hub cannot loop packets back, speak for this hub's own
 * agencies, or pass a signature that does not chain to the anchors configured for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import t, { type Test } from 'tap';
import { ManagementClient } from '../../src/broker/management.js';
import { publishOptions } from '../../src/broker/message.js';
import { resourceNames } from '../../src/broker/names.js';
import { deleteDeployment } from '../../src/broker/topology.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { devPath, managementOptions } from '../../src/demo/local-exchange.js';
import type { Edge } from '../../src/edge/edge.js';
import { HOPS_HEADER } from '../../src/federation/hops.js';
import { newPacketId } from '../../src/ids.js';
import { lienthongInProcess } from '../helpers/cli-in-process.js';
import { A, B, C, brokerAnswer, documentPacket, identityFromFiles, letter, signAs, stageAt, waitFor } from '../helpers/exchange.js';
import { openFederation, issueOrgan, type LinkedHub } from '../helpers/federation.js';
import { makeCa, xmlsec1Verify } from '../helpers/pki.js';

const X = '000.00.01.H53';
const Y = '000.00.05.H53';
const Z = '000.00.01.G22';
const H12 = '000.00.90.H12';
const H53 = '000.00.90.H53';
const G22 = '000.00.90.G22';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

t.test('hubs linked over AMQP', async (t) => {
  const hubs = await openFederation(t, [
    {
      key: 'h12',
      organId: H12,
      organName: 'Truc lien thong tinh Ca Mau',
      agencies: [
        { organId: A, organName: 'Van phong UBND tinh Ca Mau' },
        { organId: B, organName: 'So Tai chinh tinh Ca Mau' },
        { organId: C, organName: 'UBND thanh pho Ca Mau' },
      ],
      links: [
        { name: 'h53', peer: 'h53', patterns: ['*.H53'] },
        { name: 'g22', peer: 'g22', patterns: ['*.G22'] },
      ],
    },
    {
      key: 'h53',
      organId: H53,
      organName: 'Truc lien thong tinh H53',
      agencies: [
        { organId: X, organName: 'Van phong UBND tinh H53' },
        { organId: Y, organName: 'So Tai chinh tinh H53' },
      ],
      links: [{ name: 'h12', peer: 'h12', patterns: ['*.H12'] }],
    },
    {
      key: 'g22',
      organId: G22,
      organName: 'Truc lien thong trung uong G22',
      agencies: [{ organId: Z, organName: 'Co quan trung uong G22' }],
      links: [{ name: 'h12', peer: 'h12', patterns: ['*.H12'] }],
    },
  ]);
  const h12 = hubs.get('h12') as LinkedHub;
  const h53 = hubs.get('h53') as LinkedHub;
  const g22 = hubs.get('g22') as LinkedHub;
  const a = h12.exchange.edge(A);
  const x = h53.exchange.edge(X);
  const documentsAt = (hub: LinkedHub, organId: string, documentId: string): number =>
    (hub.received.get(organId) ?? []).filter((e) => e.type === 'document' && e.documentId === documentId).length;
  const stageWait = (edge: Edge, documentId: string, recipient: string, stage: string): Promise<unknown> =>
    waitFor(`${recipient}'s ${stage} at the sender for ${documentId}`, () => stageAt(edge, documentId, recipient) === stage, {
      describe: () => edge.document(documentId)?.deliveries,
    });

  await t.test('an H12 agency to an H53 agency: delivered with the signed bytes untouched, 01 and 03 back at the sender', async (t) => {
    const sent = await a.outbox.submitDocument(letter([X], 'LK1'), 'test');
    await stageWait(a, sent.documentId, X, '01');
    t.equal(documentsAt(h53, X, sent.documentId), 1, 'X received it once');
    await x.lifecycle.act(sent.documentId, { code: '03' });
    await stageWait(a, sent.documentId, X, '03');
    t.pass("A sees X's 03");

    // What X stores is what A signed, and a stock XMLDSig verifier accepts it.
    const signed = await a.blobs.get((a.db.prepare('SELECT blob FROM outbox WHERE packet_id = ?').get(sent.packetId) as { blob: string }).blob);
    const stored = await x.blobs.get((x.db.prepare('SELECT blob FROM documents WHERE document_id = ?').get(sent.documentId) as { blob: string }).blob);
    t.equal(sha256(stored), sha256(signed), "the bytes X stores are the ones A signed");
    const dir = mkdtempSync(join(tmpdir(), 'lt-fed-xmlsec-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'received.xml');
    writeFileSync(file, stored);
    const r = xmlsec1Verify(file);
    t.equal(r.status, 0, 'xmlsec1 --verify accepts what X stores', { stderr: r.stderr });

    // The hop is recorded beside the packet at H53, never inside it.
    const row = h53.exchange.hub.db.prepare('SELECT sender, via, hops, verdict FROM packets WHERE packet_id = ?').get(sent.packetId) as { sender: string; via: string; hops: string; verdict: string };
    t.match(row, { sender: A, via: 'h12', verdict: 'routed' }, 'H53 took it in from its link to H12');
    t.match(JSON.parse(row.hops), [{ hub: H12 }], 'with the hop of H12');
    const route = h12.exchange.hub.db.prepare('SELECT route, stage FROM deliveries WHERE document_id = ? AND recipient = ?').get(sent.documentId, X);
    t.same(route, { route: 'h53', stage: '03' }, "H12 tracks X's delivery through link h53 with X's statuses");
  });

  await t.test('a recall across hubs: 13 reaches the H53 recipient, its 15 comes back', async (t) => {
    const sent = await a.outbox.submitDocument(letter([X], 'LK2'), 'test');
    await stageWait(a, sent.documentId, X, '01');
    await a.lifecycle.recall(sent.documentId, { reason: 'Thu hồi để điều chỉnh nội dung' });
    await waitFor('the recall answered at A', () => a.document(sent.documentId)?.deliveries.find((d) => d.recipient === X)?.recall === 'recalled', {
      describe: () => a.document(sent.documentId)?.deliveries,
    });
    t.equal(x.document(sent.documentId)?.deliveries.find((d) => d.recipient === X)?.recall, 'recalled', 'X holds it as recalled');
  });

  await t.test('two local, one H53 and one G22 recipient: each receives it once, the sender sees every 01', async (t) => {
    const to = [B, C, X, Z];
    const sent = await a.outbox.submitDocument(letter(to, 'LK3'), 'test');
    for (const recipient of to) await stageWait(a, sent.documentId, recipient, '01');
    t.equal(documentsAt(h12, B, sent.documentId), 1, 'B once');
    t.equal(documentsAt(h12, C, sent.documentId), 1, 'C once');
    t.equal(documentsAt(h53, X, sent.documentId), 1, 'X once');
    t.equal(documentsAt(g22, Z, sent.documentId), 1, 'Z once');
    t.equal(documentsAt(h53, Y, sent.documentId), 0, 'nobody else at H53');
    const forwarded = h12.routed.find((o) => o.packetId === sent.packetId);
    t.same(forwarded?.forwarded, { h53: [X], g22: [Z] }, 'H12 forwarded once per link');
    const rows = h12.exchange.hub.db.prepare('SELECT target, link FROM outbound WHERE cause = ? ORDER BY id').all(sent.packetId);
    t.same(rows, [{ target: B, link: null }, { target: C, link: null }, { target: 'h53', link: 'h53' }, { target: 'g22', link: 'g22' }], 'one publish per local recipient and per link');
    const metrics = await h12.exchange.hub.metrics.text();
    t.match(metrics, /lt_federation_forwarded_total\{link="g22"\} [1-9]/, 'the link counts what it forwarded');
    t.match(metrics, /lt_federation_connected\{link="h53"\} 1/, 'and says it is connected');
    t.match(metrics, /lt_federation_backlog\{link="h53"\} \d+/, 'with its backlog');
    t.match(h12.exchange.hub.linkStats().find((l) => l.name === 'g22'), { kind: 'amqp', connected: true, failures: 0, lastSuccessAt: String }, 'the link stats the dashboard reads');
  });

  await t.test('an urgent document takes the urgent lanes across hubs', async (t) => {
    const sent = await a.outbox.submitDocument(letter([X], 'LK6', { priority: '1' }), 'test');
    await stageWait(a, sent.documentId, X, '01');
    const row = h12.exchange.hub.db.prepare('SELECT lane FROM outbound WHERE cause = ? AND link = ?').get(sent.packetId, 'h53');
    t.same(row, { lane: 'urgent' }, "H12 queued it on link h53's urgent lane");
    const taken = h53.exchange.hub.db.prepare('SELECT hops FROM packets WHERE packet_id = ?').get(sent.packetId) as { hops: string };
    t.match(JSON.parse(taken.hops), [{ hub: H12, lane: 'urgent' }], 'the hop record says so at H53');
  });

  await t.test('a recipient no link serves bounces, the reason naming its suffix', async (t) => {
    const nowhere = '000.00.01.H99';
    const sent = await a.outbox.submitDocument(letter([B, nowhere], 'LK4'), 'test');
    await stageWait(a, sent.documentId, nowhere, 'bounced');
    await stageWait(a, sent.documentId, B, '01');
    const event = h12.exchange.hub.db.prepare("SELECT description FROM events WHERE document_id = ? AND recipient = ? AND event = 'bounced'").get(sent.documentId, nowhere) as { description: string };
    t.match(event.description, /H99/, 'the reason names the suffix');
    const outcome = h12.routed.find((o) => o.packetId === sent.packetId);
    t.same(outcome?.bounced, [nowhere]);
    const bounce = h12.exchange.hub.db.prepare("SELECT envelope FROM outbound WHERE cause = ? AND type = 'status'").get(sent.packetId) as { envelope: string };
    t.match(JSON.parse(bounce.envelope), { extra: { 'x-lt-error-code': 'FEDERATION_NO_ROUTE', 'x-lt-bounce': nowhere } }, 'bounced with FEDERATION_NO_ROUTE');
  });

  await t.test('a recipient the other hub does not know is bounced there, and the bounce reaches the sender through its own hub', async (t) => {
    const missing = '000.00.77.H53';
    const sent = await a.outbox.submitDocument(letter([B, missing], 'LK5'), 'test');
    await stageWait(a, sent.documentId, missing, 'bounced');
    await stageWait(a, sent.documentId, B, '01');
    const atH53 = h53.exchange.hub.db.prepare('SELECT stage FROM deliveries WHERE document_id = ? AND recipient = ?').get(sent.documentId, missing);
    t.same(atH53, { stage: 'bounced' }, 'H53 recorded it bounced');
    const atH12 = h12.exchange.hub.db.prepare("SELECT description FROM events WHERE document_id = ? AND recipient = ? AND event = 'bounced'").get(sent.documentId, missing) as { description: string };
    t.match(atH12.description, new RegExp(`hub ${H53.replace(/\./g, '\\.')} could not deliver it`), "H12 records the other hub's reason");
    const shown = a.document(sent.documentId)?.deliveries.find((d) => d.recipient === missing);
    t.equal(shown?.stage, 'bounced', "A's edge shows the recipient bounced");
  });

  /** Publish a signed packet to a hub's federation intake as the user one of its links names. */
  async function publishToIntake(t: Test, hub: LinkedHub, link: string, content: string, from: string, to: string[], hops: unknown[]): Promise<string> {
    const peer = hub.peers.get(link);
    if (!peer) throw new Error(`no link ${link}`);
    const connection = await amqp.connect(peer.url);
    t.teardown(() => connection.close().catch(() => {}));
    const channel = await connection.createConfirmChannel();
    const packetId = newPacketId();
    channel.publish(
      hub.exchange.names.federationIn,
      'normal',
      Buffer.from(content),
      publishOptions({ packetId, type: 'edoc', from, to, priority: '0', documentId: 'x', lane: 'normal', userId: peer.user, extra: { [HOPS_HEADER]: JSON.stringify(hops) } }),
    );
    await channel.waitForConfirms();
    await connection.close();
    return packetId;
  }

  const refusalAt = (hub: LinkedHub, packetId: string) =>
    waitFor(`the decision about ${packetId}`, () => hub.routed.find((o) => o.packetId === packetId));

  await t.test('a packet whose hops already include the receiving hub is refused (no loops)', async (t) => {
    const content = await signAs(documentPacket(A, [X], 'LOOP1'), A);
    const packetId = await publishToIntake(t, h53, 'h12', content, A, [X], [
      { hub: H12, at: new Date().toISOString(), lane: 'normal' },
      { hub: H53, at: new Date().toISOString(), lane: 'normal' },
    ]);
    const outcome = await refusalAt(h53, packetId);
    t.match(outcome, { verdict: 'refused', errorCode: 'FEDERATION_LOOP', delivered: [] });
    const row = h53.exchange.hub.db.prepare('SELECT error_message FROM packets WHERE packet_id = ?').get(packetId) as { error_message: string };
    t.match(row.error_message, new RegExp(`already passed through this hub \\(${H53.replace(/\./g, '\\.')}\\)`));
  });

  await t.test("a linked hub cannot make this hub deliver a packet claiming to be from one of this hub's own agencies", async (t) => {
    const content = await signAs(documentPacket(B, [C], 'SPOOF1'), B);
    const packetId = await publishToIntake(t, h12, 'h53', content, B, [C], [{ hub: H53, at: new Date().toISOString(), lane: 'normal' }]);
    const outcome = await refusalAt(h12, packetId);
    t.match(outcome, { verdict: 'refused', errorCode: 'FEDERATION_SENDER_REFUSED', delivered: [] });
    // A packet from another link's province is refused too: G22 does not speak for H53.
    const other = await signAs(documentPacket(X, [B], 'SPOOF2'), await xIdentity());
    const viaG22 = await publishToIntake(t, h12, 'g22', other, X, [B], [{ hub: G22, at: new Date().toISOString(), lane: 'normal' }]);
    t.match(await refusalAt(h12, viaG22), { verdict: 'refused', errorCode: 'FEDERATION_SENDER_REFUSED' }, 'nor a packet of an agency another link serves');
    t.equal(documentsAt(h12, C, 'never'), 0);
  });

  await t.test("a signature that does not chain to the link's anchors is refused", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-fed-ca-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const ca = makeCa(dir, 'rogue-ca', '/C=VN/O=Tu lam/CN=Rogue CA');
    const rogue = issueOrgan(dir, '000.00.09.H53', 'Co quan gia mao', ca);
    const content = await signAs(documentPacket('000.00.09.H53', [B], 'ROGUE1'), await identityFromFiles(rogue.key, rogue.cert));
    const packetId = await publishToIntake(t, h12, 'h53', content, '000.00.09.H53', [B], [{ hub: H53, at: new Date().toISOString(), lane: 'normal' }]);
    const outcome = await refusalAt(h12, packetId);
    t.match(outcome, { verdict: 'refused', errorCode: /^CERT_/, delivered: [] });
  });

  await t.test('every broker resource of the three hubs goes with them', async (t) => {
    const api = h12.exchange.api;
    for (const hub of hubs.values()) await hub.exchange.stop();
    const prefixes = [...hubs.values()].map((hub) => `${hub.exchange.prefix}.`);
    const owned = (name: string): boolean => prefixes.some((p) => name.startsWith(p));
    t.same((await api.listQueues()).map((q) => q.name).filter(owned), [], 'no queue left');
    t.same((await api.listExchanges()).map((e) => e.name).filter(owned), [], 'no exchange left');
    t.same((await api.listUsers()).map((u) => u.name).filter(owned), [], 'no user left');
  });

  /** X's identity as issued for this run (its edge's configuration). */
  async function xIdentity() {
    const config = h53.exchange.edgeConfigs.get(X);
    if (!config) throw new Error('no X');
    return identityFromFiles(config.identity.key, config.identity.cert);
  }
});

t.test('hub link add: a user that may publish to the federation intake and nothing else; link remove deletes it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-fed-cli-'));
  const prefix = `lt-fed-cli-${randomBytes(3).toString('hex')}`;
  const names = resourceNames(prefix);
  const api = new ManagementClient(managementOptions(DEFAULT_AMQP_URL, process.env));
  t.teardown(async () => {
    await deleteDeployment(api, names).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: H12,
      prefix,
      dataDir: join(dir, 'hub'),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: { anchors: [devPath('root-ca.pem')], dev: true },
    }),
  );
  const added = await lienthongInProcess('hub', 'link', 'add', 'h53', '--config', config, '--json');
  t.equal(added.code, 0, added.stderr);
  const printed = JSON.parse(added.stdout) as { brokerUser: string; password: string; amqpUrl: string };
  t.equal(printed.brokerUser, `${prefix}.link.h53`);
  t.match(printed.amqpUrl, `${encodeURIComponent(printed.brokerUser)}:${printed.password}@`, 'the URL carries the user and password');

  const connection = await amqp.connect(printed.amqpUrl);
  connection.on('error', () => {});
  t.teardown(() => connection.close().catch(() => {}));
  const publish = (exchange: string) => (channel: amqp.ConfirmChannel) => {
    channel.publish(exchange, 'normal', Buffer.from('<x/>'), { userId: printed.brokerUser });
    return channel.waitForConfirms();
  };
  // Unroutable (no intake queue yet) but accepted: what matters is that the broker lets it publish there.
  t.equal(await brokerAnswer(() => connection.createConfirmChannel(), publish(names.federationIn)), undefined, 'it may publish to the federation intake');
  t.match(await brokerAnswer(() => connection.createConfirmChannel(), publish(names.submit)), { code: 403 }, 'not to the submit exchange');
  t.match(await brokerAnswer(() => connection.createChannel(), (c) => c.assertQueue(`${prefix}.mine`)), { code: 403 }, 'nor declare anything');
  await connection.close().catch(() => {});

  const removed = await lienthongInProcess('hub', 'link', 'remove', 'h53', '--config', config);
  t.equal(removed.code, 0, removed.stderr);
  t.notOk(await api.userExists(printed.brokerUser), 'the user is gone');
});
