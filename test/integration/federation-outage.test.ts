/**
 * A link between two provinces' hubs goes down (issue 14, point 3). H12's link to H53 dials
 * H53's broker through a TCP relay the test cuts, as a network outage would, without touching
 * the shared broker or its other users. While the link is down H12's agencies send 500
 * documents to H53's agencies, the 50 urgent ones last, behind the backlog: every one waits in
 * the link's queues (backlog on the metrics, the link shown disconnected, its reconnect
 * attempts logged), none bounces. Once the link is back each reaches its recipient exactly
 * once, every 01 comes back, and the urgent ones cross first: H53 takes every urgent document
 * off its intake before any normal one of the backlog.
 */
import t from 'tap';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import type { InboxEvent } from '../../src/edge/inbox.js';
import { A, B, letter, stageAt, waitFor } from '../helpers/exchange.js';
import { openFederation, type LinkedHub } from '../helpers/federation.js';
import { EVENT_DEADLINE_MS, waitForCount } from '../helpers/deadline.js';
import { captureLog } from '../helpers/log-capture.js';
import { tcpRelay } from '../helpers/tcp-relay.js';

const X = '000.00.01.H53';
const Y = '000.00.05.H53';
const H12 = '000.00.90.H12';
const H53 = '000.00.90.H53';
const NORMAL = 450;
const URGENT = 50;
const TOTAL = NORMAL + URGENT;
/** Documents submitted at once: the senders' edges sign them in parallel, as busy offices would. */
const BATCH = 25;

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;

/** One sample of a metric of the hub's /metrics text, by its labels. */
function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('a link outage: 500 documents wait durably, none lost or doubled, urgent first once it is back', async (t) => {
  const relay = await tcpRelay(t, amqpUrl);
  const h12Log = captureLog('hub');
  const hubs = await openFederation(t, [
    {
      key: 'h12',
      organId: H12,
      organName: 'Truc lien thong tinh Ca Mau',
      agencies: [
        { organId: A, organName: 'Van phong UBND tinh Ca Mau' },
        { organId: B, organName: 'So Tai chinh tinh Ca Mau' },
      ],
      links: [{ name: 'h53', peer: 'h53', patterns: ['*.H53'], brokerUrl: relay.url }],
      log: h12Log.log,
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
  ]);
  const h12 = hubs.get('h12') as LinkedHub;
  const h53 = hubs.get('h53') as LinkedHub;
  const hub12 = h12.exchange.hub;
  const senders = [h12.exchange.edge(A), h12.exchange.edge(B)];
  const recipients = [X, Y];
  const link = () => hub12.linkStats().find((s) => s.name === 'h53');
  const metrics = () => hub12.metrics.text();
  const linkLines = () => h12Log.lines.filter((l) => l.link === 'h53');

  // One document while the link is up: it works, and "last success" has a value to compare with.
  const first = await senders[0]!.outbox.submitDocument(letter([X], 'LINK-UP'), 'test');
  await waitFor('the first document delivered over the link', () => stageAt(senders[0]!, first.documentId, X) === '01');
  const successBefore = link()?.lastSuccessAt;
  t.ok(successBefore, 'the link recorded its last success');

  await t.test('the link goes down: its process notices and keeps trying', async (t) => {
    const from = h12Log.lines.length;
    relay.down();
    await waitFor('the link shown disconnected', () => link()?.connected === false);
    await h12Log.next('the lost connection logged', (l) => l.link === 'h53' && /connection lost/.test(String(l.msg)), { from });
    t.equal(metric(await metrics(), 'lt_federation_connected', 'link="h53"'), 0, 'lt_federation_connected is 0');
  });

  const sent: Array<{ documentId: string; urgent: boolean; to: string; sender: number }> = [];
  await t.test(`while it is down, ${NORMAL} normal then ${URGENT} urgent documents are sent to H53: they wait in the link's queues`, async (t) => {
    for (let i = 0; i < TOTAL; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: BATCH }, async (_, j) => {
          const n = i + j;
          const urgent = n >= NORMAL;
          const sender = n % 2;
          const to = recipients[Math.floor(n / 2) % 2] as string;
          const input = urgent ? letter([to], `KHAN-${n}`, { priority: String(1 + (n % 3)), subject: `V/v ứng phó sự cố khẩn cấp (số ${n})` }) : letter([to], `OUT-${n}`);
          const s = await senders[sender]!.outbox.submitDocument(input, 'test');
          return { documentId: s.documentId, urgent, to, sender, lane: s.lane };
        }),
      );
      sent.push(...batch.map(({ lane: _, ...d }) => d));
      t.same(batch.filter((d) => d.lane !== (d.urgent ? 'urgent' : 'normal')), [], `documents ${i + 1}-${i + BATCH} in their lane`);
    }
    const ids = new Set(sent.map((s) => s.documentId));
    const routed = () => h12.routed.filter((o) => o.kind === 'document' && o.documentId !== undefined && ids.has(o.documentId));
    await waitForCount(`all ${TOTAL} documents routed by H12`, () => routed().length, TOTAL);
    t.equal(routed().length, TOTAL, 'each routed once');
    t.same(
      routed().filter((o) => o.verdict !== 'routed' || o.bounced.length > 0 || o.delivered.length > 0 || o.forwarded?.h53?.length !== 1),
      [],
      'every one handed to link h53, none bounced, none delivered locally',
    );
    const api = h12.exchange.api;
    const names = h12.exchange.names;
    // The management API refreshes its counts every few seconds.
    const depth = async () => ({
      urgent: (await api.getQueue(names.federationQueue('h53', 'urgent')))?.messages,
      normal: (await api.getQueue(names.federationQueue('h53', 'normal')))?.messages,
    });
    await waitFor('the link queues to show the backlog', async () => {
      const d = await depth();
      return d.urgent === URGENT && d.normal === NORMAL;
    }, { describe: () => 'see the last depth' });
    const text = await metrics();
    t.equal(metric(text, 'lt_federation_backlog', 'link="h53"'), TOTAL, `lt_federation_backlog shows the ${TOTAL} waiting`);
    t.equal(metric(text, 'lt_federation_connected', 'link="h53"'), 0, 'the link still disconnected');
    t.equal(metric(text, 'lt_federation_last_success_timestamp_seconds', 'link="h53"'), Date.parse(successBefore as string) / 1000, 'its last success is the one before the outage');
    // Bounded by events: the outage lasts until the backlog is in and the link failed to reconnect twice.
    await waitFor('two failed reconnect attempts of the link', () => linkLines().filter((l) => /connection attempt \d+ failed/.test(String(l.msg))).length >= 2);
    t.ok(relay.refused >= 2, `the link tried again and again (${relay.refused} attempts refused)`);
    t.equal(h53.routed.filter((o) => o.kind === 'document' && o.documentId !== undefined && ids.has(o.documentId)).length, 0, 'nothing reached H53');
    const tracked = hub12.db.prepare('SELECT document_id AS documentId, recipient, route, stage FROM deliveries WHERE route = ?').all('h53') as Array<{ documentId: string; recipient: string; stage: string }>;
    const waiting = new Set(tracked.filter((r) => r.stage === 'delivered').map((r) => `${r.documentId} ${r.recipient}`));
    t.same(sent.filter((d) => !waiting.has(`${d.documentId} ${d.to}`)), [], 'H12 tracks each one as handed to link h53, waiting for its 01');
    t.same([...new Set(sent.map((d) => stageAt(senders[d.sender]!, d.documentId, d.to)))], ['sent'], 'and so do the senders');
  });

  await t.test('the link comes back: every document reaches its recipient once, every 01 comes back, urgent first', async (t) => {
    const from = h12Log.lines.length;
    relay.up();
    await h12Log.next('the link forwarding again', (l) => l.link === 'h53' && /link up/.test(String(l.msg)), { from, timeoutMs: EVENT_DEADLINE_MS });
    const answered = () => sent.filter((d) => stageAt(senders[d.sender]!, d.documentId, d.to) === '01').length;
    await waitForCount(`the 01 of all ${TOTAL} documents back at their senders`, answered, TOTAL, { intervalMs: 500 });
    t.pass(`every sender sees 01 from every recipient (${TOTAL})`);

    const documentsAt = (organId: string) =>
      (h53.received.get(organId) ?? []).filter((e): e is Extract<InboxEvent, { type: 'document' }> => e.type === 'document' && sent.some((d) => d.documentId === e.documentId));
    for (const organId of recipients) {
      const expected = sent.filter((d) => d.to === organId).map((d) => d.documentId).sort();
      const got = documentsAt(organId).map((e) => e.documentId).sort();
      t.same(got, expected, `${organId} received each of its ${expected.length} documents exactly once`);
      const stored = h53.exchange.edge(organId).db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT document_id) AS d FROM documents WHERE direction = 'in' AND document_id <> ?").get(first.documentId) as { n: number; d: number };
      t.same(stored, { n: expected.length, d: expected.length }, `${organId}'s inbox holds them once each`);
    }

    // Urgent first, measured where the link ends: when H53 took each document off its intake
    // (packets.received_at is read as the router starts on a packet). What happens after that is
    // the hub's own two lanes to its edges, which the exchange tests cover.
    const rows = h53.exchange.hub.db
      .prepare("SELECT document_id AS documentId, priority, received_at AS at FROM packets WHERE via = 'h12' AND kind = 'document' AND document_id <> ? ORDER BY received_at, rowid")
      .all(first.documentId) as Array<{ documentId: string; priority: string; at: string }>;
    t.equal(rows.length, TOTAL, `H53 recorded each of the ${TOTAL} once`);
    const urgentIds = new Set(sent.filter((d) => d.urgent).map((d) => d.documentId));
    const lastUrgent = rows.filter((r) => urgentIds.has(r.documentId)).map((r) => r.at).sort().at(-1) as string;
    const firstNormal = rows.filter((r) => !urgentIds.has(r.documentId)).map((r) => r.at).sort()[0] as string;
    const overtaken = rows.filter((r) => !urgentIds.has(r.documentId) && r.at < lastUrgent).length;
    t.comment(`H53 took the urgent documents from ${rows[0]?.at} to ${lastUrgent}, the first normal one at ${firstNormal}; normal ones taken before the last urgent: ${overtaken}`);
    t.equal(overtaken, 0, 'H53 took every urgent document off its intake before any normal one of the backlog');

    // At the recipients' edges, for the record: the hub's own lanes and the edges' work in parallel.
    for (const organId of recipients) {
      const order = h53.exchange.edge(organId).db.prepare("SELECT document_id AS documentId, created_at AS at FROM documents WHERE direction = 'in' AND document_id <> ? ORDER BY created_at, rowid").all(first.documentId) as Array<{ documentId: string; at: string }>;
      const lastAt = order.filter((r) => urgentIds.has(r.documentId)).map((r) => r.at).sort().at(-1) as string;
      const before = order.filter((r) => !urgentIds.has(r.documentId) && r.at < lastAt).length;
      t.comment(`${organId}: normal documents stored before its last urgent one: ${before} of ${order.length - order.filter((r) => urgentIds.has(r.documentId)).length}`);
    }

    const text = await metrics();
    t.equal(metric(text, 'lt_federation_connected', 'link="h53"'), 1, 'the link shown connected');
    t.ok((metric(text, 'lt_federation_last_success_timestamp_seconds', 'link="h53"') ?? 0) > Date.parse(successBefore as string) / 1000, 'its last success moved on');
    await waitFor('the backlog gone from the metrics', async () => metric(await metrics(), 'lt_federation_backlog', 'link="h53"') === 0);
    t.equal(h12.routed.filter((o) => o.bounced.length > 0).length, 0, 'nothing bounced at H12');
  });

  await t.test('every broker resource of both hubs goes with them', async (t) => {
    const api = h12.exchange.api;
    for (const hub of hubs.values()) await hub.exchange.stop();
    const prefixes = [...hubs.values()].map((hub) => `${hub.exchange.prefix}.`);
    const owned = (name: string): boolean => prefixes.some((p) => name.startsWith(p));
    t.same((await api.listQueues()).map((q) => q.name).filter(owned), [], 'no queue left');
    t.same((await api.listExchanges()).map((e) => e.name).filter(owned), [], 'no exchange left');
    t.same((await api.listUsers()).map((u) => u.name).filter(owned), [], 'no user left');
  });
});
