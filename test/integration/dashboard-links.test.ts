/**
 * The dashboard's view of the links to other hubs, over a real hub database (written through the
 * hub's own records: HubRecords, DeliveryLog, DeadLetters.collect) and real RabbitMQ queues under
 * a prefix of their own (removed at the end): what routing handed to each link and what came in
 * through it, counted from the records so that it survives a restart; the backlog of each link's
 * two lanes from the management API; the link processes' state since the start; a link removed
 * from the configuration keeps its history; the report over a period and its CSV in both
 * languages; "broker API unreachable" when the management API does not answer. Then two real
 * hubs linked over the one broker (test/helpers/federation.ts): a document crosses and its
 * receipt comes back, and each hub's Links data says so from its own side.
 *
 * Recorded (Vietnamese local times, 2026-03-02 … 03-04; "now" is 2026-03-05 10:00):
 *   h53 (down, 3 failed attempts): document d1 A → X, Y (one packet, two recipients) 03-02 09:00,
 *       its 01 from X back through the link 03-02 09:30, A's recall (13) to X out 03-03 08:00,
 *       Y bounced by the H53 hub (its 02 back through the link) 03-03 09:30,
 *       document d2 X → A in 03-03 10:00, a packet from h53 refused 03-04 11:00, one packet dead
 *       in h53's normal lane 03-04 12:00; 2 packets waiting in its normal lane, 1 in its urgent one.
 *   g22 (connected, 5 forwarded): document d3 A → Z 03-04 09:00.
 *   old (no longer configured): document d0 A → W 03-02 08:00.
 *   A recipient whose suffix no link serves bounced (FEDERATION_NO_ROUTE) 03-03 09:00.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import t from 'tap';
import { ManagementClient } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import type { ConfirmPublisher } from '../../src/broker/publisher.js';
import { declareFederationTopology, deleteDeployment } from '../../src/broker/topology.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { linksData, reportData, type DataContext } from '../../src/dashboard/data.js';
import { reportPeriod } from '../../src/dashboard/format.js';
import { QueueMonitor } from '../../src/dashboard/queues.js';
import { createDashboard, dashboardFederation } from '../../src/dashboard/server.js';
import { managementOptions } from '../../src/demo/local-exchange.js';
import { workingCalendar } from '../../src/envelope/calendar.js';
import type { LinkStats } from '../../src/federation/link-process.js';
import { DeadLetters } from '../../src/hub/dead-letters.js';
import { Directory } from '../../src/hub/directory.js';
import { HubRecords } from '../../src/hub/records.js';
import { addUser } from '../../src/hub/users.js';
import { silentLogger } from '../../src/log.js';
import { BlobStore } from '../../src/store/blobs.js';
import { openDatabase } from '../../src/store/db.js';
import { DeliveryLog } from '../../src/store/deliveries.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { letter, stageAt, waitFor } from '../helpers/exchange.js';
import { openFederation, type LinkedHub } from '../helpers/federation.js';
import type { LocalExchange } from '../../src/demo/local-exchange.js';

const A = '000.00.01.H12';
const X = '000.00.01.H53';
const Y = '000.00.05.H53';
const Z = '000.00.01.G22';
const W = '000.00.01.H99';
const local = (text: string): string => new Date(`${text.replace(' ', 'T')}:00+07:00`).toISOString();
const NOW = new Date(local('2026-03-05 10:00'));
/** Between two questions to the management API: each lists every queue of a shared, busy broker. */
const API_POLL = { intervalMs: 250 };

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const api = new ManagementClient(managementOptions(amqpUrl, process.env));
const names = resourceNames(`lt-linkdata-${randomBytes(3).toString('hex')}`);

const LINKS = [
  { name: 'h53', kind: 'amqp', patterns: ['*.H53'] },
  { name: 'g22', kind: 'amqp', patterns: ['*.G22'] },
];
const STATS: LinkStats[] = [
  { name: 'h53', kind: 'amqp', connected: false, forwarded: 0, failures: 3, lastSuccessAt: null, lastFailureAt: local('2026-03-05 09:59'), lastError: 'connect ECONNREFUSED 10.0.0.53:5671' },
  { name: 'g22', kind: 'amqp', connected: true, forwarded: 5, failures: 0, lastSuccessAt: local('2026-03-04 09:00'), lastFailureAt: null, lastError: null },
];

t.test('links: traffic from the records, backlog from RabbitMQ, state from the link processes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-linkdata-'));
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  const connection = await amqp.connect(amqpUrl);
  t.teardown(async () => {
    await connection.close().catch(() => {});
    await deleteDeployment(api, names);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // --- the records, written as the router writes them -------------------------------------------
  new Directory(db).insert({ organId: A, name: 'Văn phòng UBND tỉnh Cà Mau', brokerUser: names.agencyUser(A), queueToken: '' }, new Date(local('2026-02-01 08:00')));
  addUser(db, { name: 'victor', role: 'viewer', password: 'viewer-password-22' }, 'test');
  const records = new HubRecords(db);
  const log = new DeliveryLog(db);
  let n = 0;
  const packetId = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const packet = (id: string, kind: 'document' | 'status', sender: string | null, at: string, extra: { via?: string; refused?: boolean; documentId?: string } = {}): void =>
    records.insertPacket({
      packetId: id,
      kind,
      sender,
      claimedFrom: sender,
      documentId: extra.documentId ?? null,
      statusCode: kind === 'status' ? '01' : null,
      priority: '0',
      sha256: '0'.repeat(64),
      blob: null,
      size: 100,
      receivedAt: local(at),
      verdict: extra.refused ? 'refused' : 'routed',
      errorCode: extra.refused ? 'FEDERATION_SENDER_REFUSED' : null,
      errorMessage: extra.refused ? 'link "h53" forwarded a packet from 000.00.01.H12, an agency of this hub' : null,
      ...(extra.via ? { via: extra.via, hops: '[]' } : {}),
    });
  const outbound = (id: string, target: string, type: 'edoc' | 'status', at: string, link: string | null, documentId: string, extra: Record<string, string> = {}): void =>
    records.insertOutbound(
      { packetId: id, cause: id, target, ...(link ? { link } : {}), lane: 'normal', type, blob: '0'.repeat(64), envelope: { packetId: id, type, from: A, to: [target], priority: '0', documentId, lane: 'normal', extra } },
      local(at),
    );
  /** A's document to remote recipients, handed once to `link`. */
  const sent = (n: number, link: string, to: string[], at: string): string => {
    const id = `${A},2026/03/01,${n}/UBND-VP`;
    const pid = packetId();
    db.transaction(() => {
      packet(pid, 'document', A, at, { documentId: id });
      records.insertDocument({ documentId: id, sender: A, packetId: pid, subject: `số ${n}`, code: `${n}/UBND-VP`, priority: '0', bussinessType: '0', responseFor: null, sentAt: local(at), dueDate: null });
      for (const r of to) {
        log.record(id, r, { stage: 'delivered', recall: 'none' }, 'delivered', local(at), pid, `handed to the link to hub "${link}"`);
        records.setRoute(id, r, link);
      }
      outbound(pid, link, 'edoc', at, link, id);
    }).immediate();
    return id;
  };
  sent(100, 'old', [W], '2026-03-02 08:00');
  const d1 = sent(101, 'h53', [X, Y], '2026-03-02 09:00');
  packet(packetId(), 'status', X, '2026-03-02 09:30', { via: 'h53', documentId: d1 });
  const recall = packetId();
  packet(recall, 'status', A, '2026-03-03 08:00', { documentId: d1 });
  outbound(recall, 'h53', 'status', '2026-03-03 08:00', 'h53', d1, { 'x-lt-status': '13' });
  const bounce = packetId();
  outbound(bounce, A, 'status', '2026-03-03 09:00', null, d1, { 'x-lt-status': '02', 'x-lt-bounce': W, 'x-lt-error-code': 'FEDERATION_NO_ROUTE' });
  const remoteBounce = packetId();
  db.transaction(() => {
    packet(remoteBounce, 'status', '000.00.90.H53', '2026-03-03 09:30', { via: 'h53', documentId: d1 });
    log.record(d1, Y, { stage: 'bounced', recall: 'none' }, 'bounced', local('2026-03-03 09:30'), remoteBounce, 'hub 000.00.90.H53 could not deliver it: recipient is suspended');
  }).immediate();
  packet(packetId(), 'document', X, '2026-03-03 10:00', { via: 'h53', documentId: `${X},2026/03/03,5/UBND-VP` });
  packet(packetId(), 'document', null, '2026-03-04 11:00', { via: 'h53', refused: true });
  sent(102, 'g22', [Z], '2026-03-04 09:00');
  const deadLetters = new DeadLetters({
    db,
    blobs: new BlobStore(join(dir, 'blobs'), db),
    names,
    publisher: () => ({}) as ConfirmPublisher,
    route: async () => 'ack',
    clock: () => new Date(local('2026-03-04 12:00')),
    log: silentLogger(),
  });
  await deadLetters.collect({
    lane: 'normal',
    queue: names.deadLetters,
    message: {
      content: Buffer.from('<edXML/>'),
      fields: { deliveryTag: 1, redelivered: false, exchange: names.dead, routingKey: names.federationQueue('h53', 'normal'), consumerTag: 'test' },
      properties: {
        messageId: 'dddddddd-0000-4000-8000-000000000001',
        type: 'edoc',
        headers: { 'x-death': [{ queue: names.federationQueue('h53', 'normal'), reason: 'delivery_limit', count: 1, exchange: '', 'routing-keys': [names.federationQueue('h53', 'normal')] }] },
      },
    } as unknown as ConsumeMessage,
  });

  // --- the link lanes on the broker, with packets waiting in h53's ------------------------------
  const channel = await connection.createConfirmChannel();
  await declareFederationTopology(channel, names, ['h53', 'g22']);
  for (const [lane, count] of [['normal', 2], ['urgent', 1]] as const) {
    for (let i = 0; i < count; i++) channel.sendToQueue(names.federationQueue('h53', lane), Buffer.from('<edXML/>'), { persistent: true });
  }
  await channel.waitForConfirms();
  await channel.close();

  const ctx = (source = api): DataContext => ({
    db,
    names,
    calendar: workingCalendar({}),
    urgentReceiptMinutes: 30,
    monitor: new QueueMonitor({ source, names, db, staleAfterMinutes: 30, clock: () => NOW, cacheMs: 0, links: LINKS.map((l) => l.name) }),
    clock: () => NOW,
    federation: { links: LINKS, stats: () => STATS },
  });

  // Quorum queue statistics reach the management API a moment after the messages do.
  const data = await waitFor('the backlog of h53 in the management API', async () => {
    const d = await linksData(ctx());
    return d.links.find((l) => l.name === 'h53')?.waiting === 3 ? d : undefined;
  }, API_POLL);
  t.same(data.queues, { ok: true });
  t.same(
    data.links.map((l) => l.name),
    ['h53', 'g22', 'old'],
    'the configured links first, then one only the records name',
  );
  const [h53, g22, old] = data.links;
  t.match(h53, {
    kind: 'amqp',
    patterns: ['*.H53'],
    configured: true,
    connected: false,
    waiting: 3,
    backlog: { urgent: { queue: names.federationQueue('h53', 'urgent'), messages: 1 }, normal: { queue: names.federationQueue('h53', 'normal'), messages: 2 } },
    process: { forwarded: 0, failures: 3, lastSuccessAt: null, lastError: /ECONNREFUSED/ },
    attention: 'down',
  });
  t.same(h53?.traffic, {
    link: 'h53',
    documentsSent: 1,
    recipientsSent: 2,
    statusesSent: 1,
    documentsReceived: 1,
    statusesReceived: 2,
    bounced: 1,
    refused: 1,
    deadLettered: 1,
    lastSentAt: local('2026-03-03 08:00'),
    lastReceivedAt: local('2026-03-03 10:00'),
  });
  t.match(g22, { connected: true, waiting: 0, attention: null, process: { forwarded: 5 }, traffic: { documentsSent: 1, recipientsSent: 1, documentsReceived: 0 } });
  t.match(old, { configured: false, kind: null, connected: null, backlog: null, waiting: null, attention: null, traffic: { documentsSent: 1, recipientsSent: 1 } });
  t.equal(data.noRoute, 1, 'the recipient no link serves');

  // A report over 03-03 … 03-04 leaves out what happened on 03-02.
  const period = reportPeriod('2026-03-03', '2026-03-04', NOW);
  if (!period) throw new Error('no period');
  const report = reportData(ctx(), period);
  t.same(
    report.links.map((l) => [l.link, l.documentsSent, l.recipientsSent, l.statusesSent, l.documentsReceived, l.statusesReceived, l.bounced, l.refused, l.deadLettered]),
    [
      ['h53', 0, 0, 1, 1, 1, 1, 1, 1],
      ['g22', 1, 1, 0, 0, 0, 0, 0, 0],
    ],
    'the period: h53 took the recall out, brought d2 and a bounce of Y in, one refused, one dead; "old" had nothing then',
  );
  t.equal(report.noRoute, 1);

  // The same through the dashboard: JSON, the page, the report's CSV in both languages.
  const app = createDashboard({
    db,
    names,
    hub: { organId: '000.00.90.H12', organName: 'Trục liên thông tỉnh Cà Mau', calendar: {}, urgentReceiptMinutes: 30 },
    settings: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false },
    queues: api,
    deadLetters: () => deadLetters,
    clock: () => NOW,
    queueCacheMs: 0,
    federation: { links: LINKS, stats: () => STATS },
  });
  t.teardown(() => app.close());
  const login = await app.inject({ method: 'POST', url: '/login', payload: { name: 'victor', password: 'viewer-password-22' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
  t.equal((await app.inject({ url: '/api/links' })).statusCode, 401, 'the API needs a login');
  const json = (await app.inject({ url: '/api/links', headers: { cookie } })).json() as { links: Array<{ name: string; waiting: number | null; attention: string | null }> };
  t.match(json.links[0], { name: 'h53', waiting: 3, attention: 'down' });
  const page = await app.inject({ url: '/links', headers: { cookie } });
  t.equal(page.statusCode, 200);
  const row = /<tr data-link="h53" data-state="down" class="down">([\s\S]*?)<\/tr>/.exec(page.body)?.[1] ?? '';
  t.match(row, /Mất kết nối/, 'h53 down, highlighted');
  t.match(row, /data-field="waiting">3<\/span><br><span class="small">khẩn 1 · thường 2/, 'its backlog per lane');
  t.match(row, /1 văn bản \(2 nơi nhận\) · 1 trạng thái/);
  t.match(row, /1 văn bản · 2 trạng thái/);
  t.match(row, /1 nơi nhận bị trả lại · 1 bị từ chối · 1 gói tin lỗi/);
  t.match(row, /<span lang="en">connect ECONNREFUSED 10\.0\.0\.53:5671<\/span>/, 'the last error, as the link process said it');
  t.match(page.body, /<tr data-link="old" data-state="removed" class="">/);
  t.match(page.body, /<a href="\/links" aria-current="page">Liên kết<\/a>/, 'in the menu');
  const overview = await app.inject({ url: '/', headers: { cookie } });
  t.match(overview.body, /<a href="\/links" id="links-summary" class="alert-inline">2 liên kết · 1 mất kết nối · 3 gói tin chờ chuyển<\/a>/, 'a line on the overview');
  t.match((await app.inject({ url: '/api/overview', headers: { cookie } })).json(), { links: { total: 2, down: 1, waiting: 3 } });
  const csv = await app.inject({ url: '/reports/links.csv?from=2026-03-03&to=2026-03-04', headers: { cookie } });
  t.equal(csv.headers['content-disposition'], 'attachment; filename="lienthong-links-2026-03-03-2026-03-04.csv"');
  t.equal(
    csv.body,
    '\uFEFF' +
      [
        'Liên kết,Văn bản đã chuyển đi,Số nơi nhận,Trạng thái đã chuyển đi,Văn bản đã nhận về,Trạng thái đã nhận về,Nơi nhận bị trả lại,Bị từ chối,Gói tin lỗi',
        'h53,0,0,1,1,1,1,1,1',
        'g22,1,1,0,0,0,0,0,0',
      ].join('\r\n') +
      '\r\n',
  );
  const english = await app.inject({ url: '/reports/links.csv?from=2026-03-03&to=2026-03-04', headers: { cookie: `${cookie}; lt_lang=en` } });
  t.equal(english.body.split('\r\n')[0], '\uFEFFLink,Documents sent,Recipients,Statuses sent,Documents received,Statuses received,Recipients bounced,Refused,Dead letters');
  const reports = await app.inject({ url: '/reports?from=2026-03-03&to=2026-03-04', headers: { cookie } });
  t.match(reports.body, /<h2>Lưu lượng theo trục liên kết<\/h2>/);
  t.match(reports.body, /<tr data-link="h53"><td class="id">h53<\/td>[\s\S]*?data-field="refused">1</);

  // The management API does not answer: the backlogs are unknown, and the page says why.
  const unreachable = await linksData(ctx({ listQueues: async () => Promise.reject(new Error('cannot reach the RabbitMQ management API')) } as unknown as ManagementClient));
  t.match(unreachable, { queues: { ok: false, error: /management API/ }, links: [{ name: 'h53', backlog: null, waiting: null, attention: 'down', traffic: { documentsSent: 1 } }] });
});

/** The Links data of a running hub, as its dashboard computes it (fresh queue figures each time). */
function hubLinks(exchange: LocalExchange): Promise<Awaited<ReturnType<typeof linksData>>> {
  const hub = exchange.hub;
  const federation = dashboardFederation(hub);
  return linksData({
    db: hub.db,
    names: exchange.names,
    calendar: workingCalendar({}),
    urgentReceiptMinutes: 30,
    monitor: new QueueMonitor({ source: exchange.api, names: exchange.names, db: hub.db, staleAfterMinutes: 30, clock: () => new Date(), cacheMs: 0, links: federation.links.map((l) => l.name) }),
    clock: () => new Date(),
    federation,
  });
}

t.test('two linked hubs: what crossed, seen from each side', async (t) => {
  const hubs = await openFederation(t, [
    { key: 'h12', organId: '000.00.90.H12', organName: 'Truc lien thong tinh Ca Mau', agencies: [{ organId: A, organName: 'Van phong UBND tinh Ca Mau' }], links: [{ name: 'h53', peer: 'h53', patterns: ['*.H53'] }] },
    { key: 'h53', organId: '000.00.90.H53', organName: 'Truc lien thong tinh H53', agencies: [{ organId: X, organName: 'Van phong UBND tinh H53' }], links: [{ name: 'h12', peer: 'h12', patterns: ['*.H12'] }] },
  ]);
  const h12 = hubs.get('h12') as LinkedHub;
  const h53 = hubs.get('h53') as LinkedHub;
  const a = h12.exchange.edge(A);
  const sent = await a.outbox.submitDocument(letter([X], 'DL1'), 'test');
  await waitFor("X's 01 back at A", () => stageAt(a, sent.documentId, X) === '01');

  // The management API counts the queues a moment late: wait until it shows the link's lanes empty.
  const here = await waitFor('h12: link h53 up with nothing waiting', async () => {
    const d = await hubLinks(h12.exchange);
    return d.links[0]?.waiting === 0 ? d : undefined;
  }, API_POLL);
  t.match(here.links, [
    {
      name: 'h53',
      kind: 'amqp',
      patterns: ['*.H53'],
      connected: true,
      attention: null,
      process: { forwarded: 1, failures: 0, lastSuccessAt: /^\d{4}-/ },
      traffic: { documentsSent: 1, recipientsSent: 1, statusesSent: 0, documentsReceived: 0, statusesReceived: 1, bounced: 0, refused: 0 },
    },
  ]);
  const there = await waitFor('h53: link h12 up with nothing waiting', async () => {
    const d = await hubLinks(h53.exchange);
    return d.links[0]?.waiting === 0 ? d : undefined;
  }, API_POLL);
  t.match(there.links, [{ name: 'h12', connected: true, process: { forwarded: 1 }, traffic: { documentsSent: 0, statusesSent: 1, documentsReceived: 1, statusesReceived: 0 } }]);
});
