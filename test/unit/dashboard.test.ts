/**
 * The hub operators' dashboard through `app.inject()`, over a hub database seeded with a known
 * week of traffic (through the hub's own code: Directory and setAgencyStatus for agencies,
 * addUser for logins, HubRecords and DeliveryLog for packets, documents, deliveries and their
 * timelines, DeadLetters.collect for dead letters), with RabbitMQ's management API replaced by
 * a fixed answer. Checked: login, logout, session expiry, the viewer/operator split (403),
 * CSRF tokens, the figures of every page against answers worked out by hand, the CSV, escaping
 * of hostile agency names and subjects, the language switch, /metrics.
 *
 * The seeded week (Vietnamese local times; "now" is Friday 2026-03-06 15:00):
 *   A = 000.00.01.H12, B = 000.00.05.H12, C = 000.00.31.H12, D = 000.00.14.H12 (suspended 01/03),
 *   X = 000.00.66.H12 named `<script>alert(1)</script>`.
 *   d0 A→B     Fri 20/02 09:00            B: 01 09:05, 03 10:00, 04 10:30, 06 23/02   (outside the period)
 *   d1 A→B,C   Mon 02/03 09:00            B: 01 09:30, 03 11:00 (2 h)   C: 01 09:10, 03 09:30 (0.5 h)
 *   d2 A→B     Mon 02/03 14:00 due 04/03  B: 01 16:00, 03 Tue 10:00 (20 h), 13 Thu 09:00 (recall pending)
 *   d3 A→B,D   Tue 03/03 10:00            B: 01 Wed 08:00 (late: due end of Tue)   D: bounced (suspended)
 *   d4 B→C     Wed 04/03 10:00 urgent     C: 01 10:45 (late: 30 min), 03 11:00 (1 h)
 *   d5 A→C     Thu 05/03 10:00            C: nothing (receipt overdue since end of Thu)
 *   d6 A→X,D   Fri 06/03 09:00            X: nothing yet   D: bounced; subject `<img src=x onerror=alert(1)>`
 *   a packet from C refused today; two dead letters (hub inbound, B's queue).
 * Usage 02/03–06/03: B received 3, 2 receipts on time (2/3), accepted after 2 h and 20 h (11 h),
 * 2 overdue (d2 past its due date, d3 received but not accepted by the end of its day of arrival); C received 3, 1 on time (1/3), 0.5 h and 1 h (0.75 h),
 * 1 overdue (d5); A sent 5, B sent 1; X received 1, none on time yet.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import type { QueueInfo } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import type { ConfirmPublisher, OutgoingMessage } from '../../src/broker/publisher.js';
import { VI_ERROR_EXPLANATIONS } from '../../src/dashboard/i18n/error-codes-vi.js';
import { createDashboard, localPath, type DashboardDeps } from '../../src/dashboard/server.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import type { QueueSource } from '../../src/dashboard/queues.js';
import { SESSION_COOKIE } from '../../src/dashboard/sessions.js';
import { transition, type DeliveryEvent } from '../../src/envelope/status-machine.js';
import { DeadLetters } from '../../src/hub/dead-letters.js';
import { Directory } from '../../src/hub/directory.js';
import { HealthBoard } from '../../src/health.js';
import { HubMetrics } from '../../src/hub/metrics.js';
import { setAgencyStatus } from '../../src/hub/provisioning.js';
import { HubRecords } from '../../src/hub/records.js';
import { addUser } from '../../src/hub/users.js';
import { silentLogger } from '../../src/log.js';
import { BlobStore, sha256Hex } from '../../src/store/blobs.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { DeliveryLog } from '../../src/store/deliveries.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';

const A = '000.00.01.H12';
const B = '000.00.05.H12';
const C = '000.00.31.H12';
const D = '000.00.14.H12';
const X = '000.00.66.H12';
const XSS_NAME = '<script>alert(1)</script>';
const XSS_SUBJECT = '<img src=x onerror=alert(1)>';
const names = resourceNames('lt');
/** B was provisioned with a queue token, the others before tokens existed (the old names). */
const QUEUE_TOKENS: Record<string, string> = { [B]: 'Tq3v8xZk1mB0fQ7wYc2hJd' };
const owner = (organId: string): { organId: string; queueToken: string } => ({ organId, queueToken: QUEUE_TOKENS[organId] ?? '' });

/** A Vietnamese local time "2026-03-02 09:00" as the ISO instant the hub stores. */
function local(text: string): string {
  return new Date(`${text.replace(' ', 'T')}:00+07:00`).toISOString();
}

const NOW = new Date(local('2026-03-06 15:00'));
const PASSWORDS = { alice: 'operator-password-1', victor: 'viewer-password-22' };

interface Seeded {
  db: Db;
  dir: string;
  deadLetters: DeadLetters;
  published: OutgoingMessage[];
  routed: string[];
  docs: Record<string, string>;
}

async function seed(t: Test): Promise<Seeded> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-dashboard-'));
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  t.teardown(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const directory = new Directory(db);
  const setup = new Date(local('2026-02-01 08:00'));
  for (const [organId, name] of [
    [A, 'Văn phòng UBND tỉnh Cà Mau'],
    [B, 'Sở Tài chính'],
    [C, 'UBND thành phố Cà Mau'],
    [D, 'Sở Thông tin và Truyền thông'],
    [X, XSS_NAME],
  ] as const) {
    directory.insert({ organId, name, brokerUser: names.agencyUser(organId), queueToken: owner(organId).queueToken }, setup);
  }
  setAgencyStatus({ db, actor: 'cli:test', now: () => new Date(local('2026-03-01 08:00')) }, D, 'suspended');
  addUser(db, { name: 'alice', role: 'operator', password: PASSWORDS.alice }, 'cli:test', setup);
  addUser(db, { name: 'victor', role: 'viewer', password: PASSWORDS.victor }, 'cli:test', setup);

  const records = new HubRecords(db);
  const log = new DeliveryLog(db);
  let packets = 0;
  const packetId = (): string => `00000000-0000-4000-8000-${String(++packets).padStart(12, '0')}`;
  const docs: Record<string, string> = {};
  const document = (key: string, n: number, from: string, to: string[], at: string, extra: { priority?: string; subject?: string; dueDate?: string; bounced?: string[] } = {}): void => {
    const id = `${from},2026/03/01,${n}/UBND-VP`;
    docs[key] = id;
    const pid = packetId();
    const when = local(at);
    db.transaction(() => {
      records.insertPacket({
        packetId: pid,
        kind: 'document',
        sender: from,
        claimedFrom: from,
        documentId: id,
        statusCode: null,
        priority: extra.priority ?? '0',
        sha256: '0'.repeat(64),
        blob: null,
        size: 1000,
        receivedAt: when,
        verdict: 'routed',
        errorCode: null,
        errorMessage: null,
      });
      records.insertDocument({
        documentId: id,
        sender: from,
        packetId: pid,
        subject: extra.subject ?? `V/v triển khai liên thông văn bản (số ${n})`,
        code: `${n}/UBND-VP`,
        priority: extra.priority ?? '0',
        bussinessType: '0',
        responseFor: null,
        sentAt: when,
        dueDate: extra.dueDate ?? null,
      });
      for (const r of to) log.record(id, r, { stage: 'delivered', recall: 'none' }, 'delivered', when, pid, null);
      for (const r of extra.bounced ?? []) log.record(id, r, { stage: 'bounced', recall: 'none' }, 'bounced', when, pid, `recipient ${r} is suspended in the hub directory; send it on paper`);
    }).immediate();
  };
  const status = (key: string, recipient: string, code: DeliveryEvent, at: string): void => {
    const id = docs[key] as string;
    const state = log.state(id, recipient);
    if (!state) throw new Error(`no delivery of ${key} to ${recipient}`);
    const outcome = transition(state, code);
    if (outcome.outcome !== 'applied') throw new Error(`${key} ${recipient} ${code}: ${outcome.outcome}`);
    log.record(id, recipient, outcome.state, code, local(at), packetId(), null);
  };

  document('d0', 120, A, [B], '2026-02-20 09:00');
  status('d0', B, '01', '2026-02-20 09:05');
  status('d0', B, '03', '2026-02-20 10:00');
  status('d0', B, '04', '2026-02-20 10:30');
  status('d0', B, '06', '2026-02-23 09:00');
  document('d1', 121, A, [B, C], '2026-03-02 09:00');
  status('d1', B, '01', '2026-03-02 09:30');
  status('d1', B, '03', '2026-03-02 11:00');
  status('d1', C, '01', '2026-03-02 09:10');
  status('d1', C, '03', '2026-03-02 09:30');
  document('d2', 122, A, [B], '2026-03-02 14:00', { dueDate: '2026/03/04' });
  status('d2', B, '01', '2026-03-02 16:00');
  status('d2', B, '03', '2026-03-03 10:00');
  status('d2', B, '13', '2026-03-05 09:00');
  document('d3', 123, A, [B], '2026-03-03 10:00', { bounced: [D] });
  status('d3', B, '01', '2026-03-04 08:00');
  document('d4', 124, B, [C], '2026-03-04 10:00', { priority: '1' });
  status('d4', C, '01', '2026-03-04 10:45');
  status('d4', C, '03', '2026-03-04 11:00');
  document('d5', 125, A, [C], '2026-03-05 10:00');
  document('d6', 126, A, [X], '2026-03-06 09:00', { bounced: [D], subject: XSS_SUBJECT });
  records.insertPacket({
    packetId: packetId(),
    kind: 'document',
    sender: C,
    claimedFrom: C,
    documentId: null,
    statusCode: null,
    priority: null,
    sha256: '1'.repeat(64),
    blob: null,
    size: 500,
    receivedAt: local('2026-03-06 10:00'),
    verdict: 'refused',
    errorCode: 'CERT_REVOKED',
    errorMessage: 'the signer certificate is revoked',
  });

  // Dead letters, collected the way the hub's consumer of lt.dead-letters collects them.
  const published: OutgoingMessage[] = [];
  const routed: string[] = [];
  const publisher = { publish: async (m: OutgoingMessage) => void published.push(m) } as unknown as ConfirmPublisher;
  const deadLetters = new DeadLetters({
    db,
    blobs: new BlobStore(join(dir, 'blobs'), db),
    names,
    publisher: () => publisher,
    route: async (delivery) => {
      routed.push(String(delivery.message.properties.messageId));
      return 'ack';
    },
    clock: () => new Date(local('2026-03-06 11:00')),
    log: silentLogger(),
  });
  const message = (queue: string, reason: string, extra: { messageId: string; userId?: string; documentId?: string; from?: string; routingKey: string }): ConsumeMessage =>
    ({
      content: Buffer.from(`<edXML packet ${extra.messageId}/>`),
      fields: { deliveryTag: 1, redelivered: false, exchange: names.dead, routingKey: extra.routingKey, consumerTag: 'test' },
      properties: {
        messageId: extra.messageId,
        type: 'edoc',
        userId: extra.userId,
        headers: {
          'x-death': [{ queue, reason, count: 1, exchange: queue.startsWith(`${names.prefix}.hub`) ? names.submit : names.deliver, 'routing-keys': [extra.routingKey] }],
          ...(extra.documentId ? { 'x-lt-document-id': extra.documentId } : {}),
          ...(extra.from ? { 'x-lt-from': extra.from } : {}),
        },
      },
    }) as unknown as ConsumeMessage;
  await deadLetters.collect({ lane: 'normal', queue: names.deadLetters, message: message(names.hubInbound.normal, 'rejected', { messageId: 'aaaaaaaa-0000-4000-8000-000000000001', routingKey: 'normal' }) });
  await deadLetters.collect({
    lane: 'normal',
    queue: names.deadLetters,
    message: message(names.agencyQueue(owner(B), 'normal'), 'delivery_limit', { messageId: 'bbbbbbbb-0000-4000-8000-000000000002', routingKey: B, documentId: docs.d1 as string, from: A }),
  });
  return { db, dir, deadLetters, published, routed, docs };
}

/** RabbitMQ's answer: A fine; B has a consumer but 2 packets waiting for 2 h; C has no consumer for 1 h; X none for 5 min. */
function brokerQueues(now: Date): QueueInfo[] {
  const ago = (minutes: number): string => new Date(now.getTime() - minutes * 60_000).toISOString().replace('Z', '+00:00');
  const q = (name: string, messages: number, consumers: number, idleMinutes?: number): QueueInfo => ({
    name,
    messages,
    messages_ready: messages,
    messages_unacknowledged: 0,
    consumers,
    arguments: {},
    ...(idleMinutes !== undefined ? { idle_since: ago(idleMinutes) } : {}),
  });
  return [
    q(names.agencyQueue(owner(A), 'urgent'), 0, 1),
    q(names.agencyQueue(owner(A), 'normal'), 0, 1),
    q(names.agencyQueue(owner(B), 'urgent'), 0, 1),
    q(names.agencyQueue(owner(B), 'normal'), 2, 1, 120),
    q(names.agencyQueue(owner(C), 'urgent'), 0, 0, 60),
    q(names.agencyQueue(owner(C), 'normal'), 1, 0, 60),
    q(names.agencyQueue(owner(D), 'urgent'), 0, 0, 600),
    q(names.agencyQueue(owner(D), 'normal'), 0, 0, 600),
    q(names.agencyQueue(owner(X), 'urgent'), 0, 0, 5),
    q(names.agencyQueue(owner(X), 'normal'), 0, 0, 5),
    q(names.hubInbound.urgent, 0, 1),
    q(names.hubInbound.normal, 3, 1),
    q(names.deadLetters, 0, 1),
    q('other-deployment.agency.000.00.01.H12', 99, 0),
  ];
}

interface Harness extends Seeded {
  app: FastifyInstance;
  clock: { now: Date };
  brokerCalls: () => number;
  call(options: InjectOptions & { as?: Login }): Promise<LightMyRequestResponse>;
  login(name: keyof typeof PASSWORDS): Promise<Login>;
}

interface Login {
  cookie: string;
  csrf: string;
}

async function harness(t: Test, options: { source?: QueueSource; deps?: Partial<DashboardDeps>; settings?: Partial<DashboardDeps['settings']> } = {}): Promise<Harness> {
  const seeded = await seed(t);
  const clock = { now: NOW };
  let calls = 0;
  const source: QueueSource = options.source ?? {
    listQueues: async () => {
      calls++;
      return brokerQueues(clock.now);
    },
  };
  const app = createDashboard({
    db: seeded.db,
    names,
    hub: { organId: '000.00.90.H12', organName: 'Trục liên thông tỉnh Cà Mau (test)', calendar: {}, urgentReceiptMinutes: 30 },
    settings: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false, ...options.settings },
    queues: source,
    deadLetters: () => seeded.deadLetters,
    metrics: new HubMetrics({ db: seeded.db, names }),
    clock: () => clock.now,
    log: silentLogger(),
    ...options.deps,
  });
  t.teardown(() => app.close());
  await app.ready();
  const call = async ({ as, ...inject }: InjectOptions & { as?: Login }): Promise<LightMyRequestResponse> => {
    const headers = { ...(inject.headers ?? {}) } as Record<string, string>;
    if (as) headers.cookie = [headers.cookie, as.cookie].filter(Boolean).join('; ');
    return app.inject({ ...inject, headers });
  };
  const login = async (name: keyof typeof PASSWORDS): Promise<Login> => {
    const response = await call({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ name, password: PASSWORDS[name], next: '/' }) });
    if (response.statusCode !== 303) throw new Error(`login of ${name} answered ${response.statusCode}: ${response.body}`);
    const cookie = sessionCookie(response);
    const session = await call({ url: '/api/session', headers: { cookie } });
    return { cookie, csrf: (session.json() as { csrfToken: string }).csrfToken };
  };
  return { ...seeded, app, clock, brokerCalls: () => calls, call, login };
}

function form(values: Record<string, string>): string {
  return new URLSearchParams(values).toString();
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function setCookies(response: LightMyRequestResponse): string[] {
  const header = response.headers['set-cookie'];
  return header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
}

function sessionCookie(response: LightMyRequestResponse): string {
  const cookie = setCookies(response).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) throw new Error('no session cookie was set');
  return cookie.split(';')[0] as string;
}

function errorCode(response: LightMyRequestResponse): string | undefined {
  return (response.json() as { error?: { code?: string } }).error?.code;
}

function auditTail(db: Db): { actor: string; action: string; subject: string } {
  return db.prepare('SELECT actor, action, subject FROM audit ORDER BY seq DESC LIMIT 1').get() as { actor: string; action: string; subject: string };
}

/** A dead letter collected the way the hub's consumer collects one. */
async function collectDeadLetter(h: Seeded, queue: string, content: Buffer, extra: { messageId?: string; userId?: string; documentId?: string; from?: string } = {}): Promise<number> {
  await h.deadLetters.collect({
    lane: 'normal',
    queue: names.deadLetters,
    message: {
      content,
      fields: { deliveryTag: 1, redelivered: false, exchange: names.dead, routingKey: 'normal', consumerTag: 'test' },
      properties: {
        messageId: extra.messageId,
        userId: extra.userId,
        type: 'edoc',
        headers: {
          'x-death': [{ queue, reason: 'rejected', count: 1, exchange: names.submit, 'routing-keys': ['normal'] }],
          ...(extra.documentId ? { 'x-lt-document-id': extra.documentId } : {}),
          ...(extra.from ? { 'x-lt-from': extra.from } : {}),
        },
      },
    } as unknown as ConsumeMessage,
  });
  return (h.db.prepare('SELECT MAX(id) AS id FROM dead_letters').get() as { id: number }).id;
}

t.test('without a session: pages redirect to the login page, the API answers 401 LOGIN_REQUIRED', async (t) => {
  const h = await harness(t);
  for (const url of ['/', '/agencies', '/documents?q=x', '/dead-letters', '/dead-letters/1', '/links', '/reports']) {
    const page = await h.call({ url });
    t.equal(page.statusCode, 303, url);
    t.equal(page.headers.location, `/login?next=${encodeURIComponent(url)}`, 'a first visit (no cookie) is no expired session');
  }
  const first = await h.call({ url: '/login?next=%2F' });
  t.notMatch(first.body, /hết hạn/, 'the login page of a first visit says nothing about a session');
  for (const url of ['/api/overview', '/api/agencies', '/api/document?id=x', '/api/dead-letters', '/api/links', '/api/report']) {
    const api = await h.call({ url });
    t.equal(api.statusCode, 401, url);
    t.equal(errorCode(api), 'LOGIN_REQUIRED');
  }
  const post = await h.call({ method: 'POST', url: `/api/agencies/${C}/suspend`, payload: {} });
  t.equal(post.statusCode, 401);
  t.equal(new Directory(h.db).get(C)?.status, 'active');
  const login = await h.call({ url: '/login' });
  t.equal(login.statusCode, 200);
  t.match(login.body, /<form method="post" action="\/login"/);
  t.match(login.headers['content-security-policy'], /script-src 'self'/);
  t.equal(login.headers['x-frame-options'], 'DENY');
  t.equal((await h.call({ url: '/assets/dashboard.js' })).statusCode, 200, 'assets are public');
});

t.test('login: a wrong password is refused; the right one opens an 8-hour session in an HttpOnly SameSite=Strict cookie', async (t) => {
  const h = await harness(t);
  const wrong = await h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name: 'alice', password: 'not-the-password' }) });
  t.equal(wrong.statusCode, 401);
  t.match(wrong.body, /Tên đăng nhập hoặc mật khẩu không đúng/);
  t.same(setCookies(wrong), []);
  const unknown = await h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name: 'mallory', password: 'whatever-it-is' }) });
  t.equal(unknown.statusCode, 401, 'an unknown name gets the same answer');

  const ok = await h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name: 'alice', password: PASSWORDS.alice, next: '/agencies?q=S%E1%BB%9F' }) });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/agencies?q=S%E1%BB%9F', 'back to the page asked for');
  const cookie = setCookies(ok).find((c) => c.startsWith(`${SESSION_COOKIE}=`)) as string;
  t.match(cookie, /^lt_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=28800; HttpOnly; SameSite=Strict$/);
  t.notMatch(cookie, /Secure/, 'not Secure unless configured');
  const rows = h.db.prepare('SELECT * FROM sessions').all() as Array<{ id: string; user: string; created_at: string; expires_at: string }>;
  t.equal(rows.length, 1);
  t.equal(rows[0]?.user, 'alice');
  t.equal(rows[0]?.created_at, NOW.toISOString());
  t.equal(rows[0]?.expires_at, new Date(NOW.getTime() + 8 * 3_600_000).toISOString(), 'expires after 8 hours');
  const id = (cookie.split(';')[0] as string).slice(SESSION_COOKIE.length + 1);
  t.not(rows[0]?.id, id, 'the table keeps a hash of the id, not the id');

  const home = await h.call({ url: '/', headers: { cookie: cookie.split(';')[0] as string } });
  t.equal(home.statusCode, 200);
  t.match(home.body, /<span translate="no">alice<\/span> \(cán bộ vận hành\)/, 'an operator is a cán bộ vận hành, not an administrator');
  t.notMatch(home.body, /quản trị viên/);
  const offsite = await h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name: 'alice', password: PASSWORDS.alice, next: '//evil.example/x' }) });
  t.equal(offsite.headers.location, '/', 'never redirected to another site');

  const json = await h.call({ method: 'POST', url: '/login', payload: { name: 'victor', password: PASSWORDS.victor } });
  t.equal(json.statusCode, 200, 'a JSON login answers JSON');
  t.match(json.json(), { user: 'victor', role: 'viewer', csrfToken: /^[A-Za-z0-9_-]{43}$/ });
});

t.test('secureCookies marks the session cookie Secure', async (t) => {
  const h = await harness(t, { settings: { secureCookies: true } });
  const ok = await h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name: 'alice', password: PASSWORDS.alice }) });
  t.match(setCookies(ok).join('\n'), /lt_session=[^;]+; Path=\/; Max-Age=28800; HttpOnly; Secure; SameSite=Strict/);
});

t.test('a session expires after 8 hours; logout deletes it (and needs the CSRF token)', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  h.clock.now = new Date(NOW.getTime() + 8 * 3_600_000 - 60_000);
  t.equal((await h.call({ url: '/api/overview', as: alice })).statusCode, 200, 'still valid a minute before the end');
  h.clock.now = new Date(NOW.getTime() + 8 * 3_600_000);
  const late = await h.call({ url: '/api/overview', as: alice });
  t.equal(late.statusCode, 401);
  t.equal(errorCode(late), 'LOGIN_REQUIRED');
  t.equal((h.db.prepare('SELECT COUNT(*) AS n FROM sessions').get() as { n: number }).n, 0, 'the expired row is gone');
  const page = await h.call({ url: '/agencies', as: alice });
  t.equal(page.statusCode, 303);
  t.match(page.headers.location, /^\/login\?expired=1/, 'a cookie whose session ended: the login page says it expired');
  t.match(setCookies(page).join('\n'), /lt_session=; Path=\/; Max-Age=0/, 'and the dead cookie goes');
  t.match((await h.call({ url: page.headers.location as string })).body, /Phiên làm việc đã hết hạn/);

  h.clock.now = NOW;
  const victor = await h.login('victor');
  const noToken = await h.call({ method: 'POST', url: '/logout', headers: FORM, payload: form({}), as: victor });
  t.equal(noToken.statusCode, 403, 'logout without the CSRF token is refused');
  t.equal((await h.call({ url: '/api/overview', as: victor })).statusCode, 200, 'and the session lives on');
  const out = await h.call({ method: 'POST', url: '/logout', headers: FORM, payload: form({ _csrf: victor.csrf }), as: victor });
  t.equal(out.statusCode, 303);
  t.equal(out.headers.location, '/login?out=1');
  t.match(setCookies(out).join('\n'), /lt_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
  t.equal((h.db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE user = 'victor'").get() as { n: number }).n, 0, 'the row is deleted');
  t.equal((await h.call({ url: '/api/overview', as: victor })).statusCode, 401, 'the old cookie opens nothing');
});

t.test('failed logins are rate-limited per user name and per client address', async (t) => {
  // A reverse proxy on this machine, named in dashboard.trustProxy (test/unit/trust-proxy.test.ts: without it, nobody's header counts).
  const h = await harness(t, { deps: { loginLimits: { perName: 3, perAddress: 5, windowMs: 60_000 } }, settings: { trustProxy: '127.0.0.1' } });
  const attempt = (name: string, password: string, remoteAddress = '10.0.0.1') =>
    h.call({ method: 'POST', url: '/login', headers: FORM, payload: form({ name, password }), remoteAddress });
  for (let i = 0; i < 3; i++) t.equal((await attempt('alice', 'guess-number-' + i)).statusCode, 401);
  const blocked = await attempt('alice', PASSWORDS.alice);
  t.equal(blocked.statusCode, 429, 'the right password does not help once the name is blocked');
  t.match(blocked.headers['retry-after'], /^\d+$/);
  t.match(blocked.body, /Đăng nhập sai quá nhiều lần/);
  t.equal((await attempt('alice', PASSWORDS.alice, '10.0.0.2')).statusCode, 429, 'the name is blocked from any address');
  t.equal((await attempt('victor', PASSWORDS.victor)).statusCode, 303, 'another name from the same address may still log in (3 failures < 5)');
  for (const name of ['x1', 'x2']) t.equal((await attempt(name, 'guess-guess-guess')).statusCode, 401);
  t.equal((await attempt('victor', PASSWORDS.victor)).statusCode, 429, 'the address is blocked after 5 failures');
  t.equal((await attempt('victor', PASSWORDS.victor, '10.0.0.3')).statusCode, 303, 'other addresses are not');
  const forwarded = (client: string, remoteAddress: string) =>
    h.call({ method: 'POST', url: '/login', headers: { ...FORM, 'x-forwarded-for': client }, payload: form({ name: 'victor', password: PASSWORDS.victor }), remoteAddress });
  t.equal((await forwarded('10.0.0.1', '127.0.0.1')).statusCode, 429, 'a reverse proxy on this machine names the blocked client');
  t.equal((await forwarded('10.0.0.5', '127.0.0.1')).statusCode, 303, 'and another client through it is not blocked');
  t.equal((await forwarded('10.0.0.5', '10.0.0.1')).statusCode, 429, 'a remote client cannot pretend to be another');
  const json = await h.call({ method: 'POST', url: '/login', payload: { name: 'alice', password: PASSWORDS.alice }, remoteAddress: '10.0.0.9' });
  t.equal(json.statusCode, 429);
  t.equal(errorCode(json), 'RATE_LIMITED');
  h.clock.now = new Date(NOW.getTime() + 61_000);
  t.equal((await attempt('alice', PASSWORDS.alice)).statusCode, 303, 'a minute later the name may try again');
});

t.test('CSRF: a change needs the session token (form field or header); another session’s token does not do', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const victor = await h.login('victor');
  const url = `/api/agencies/${C}/suspend`;
  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { 'x-csrf-token': 'x'.repeat(43) }],
    ["the viewer's token", { 'x-csrf-token': victor.csrf }],
  ] as const) {
    const r = await h.call({ method: 'POST', url, payload: {}, headers, as: alice });
    t.equal(r.statusCode, 403, what);
    t.equal(errorCode(r), 'FORBIDDEN');
    t.match(r.json(), { error: { message: /CSRF/ } });
  }
  const formNoToken = await h.call({ method: 'POST', url: `/agencies/${C}/suspend`, headers: FORM, payload: form({ back: '/agencies' }), as: alice });
  t.equal(formNoToken.statusCode, 403);
  t.match(formNoToken.body, /CSRF/);
  t.equal(new Directory(h.db).get(C)?.status, 'active', 'nothing changed');
  const crossSite = await h.call({ method: 'POST', url, payload: {}, headers: { 'x-csrf-token': alice.csrf, 'sec-fetch-site': 'cross-site' }, as: alice });
  t.equal(crossSite.statusCode, 403, 'a request another site made the browser send is refused');

  const ok = await h.call({ method: 'POST', url, payload: {}, headers: { 'x-csrf-token': alice.csrf }, as: alice });
  t.equal(ok.statusCode, 200, ok.body);
  t.match(ok.json(), { agency: { organId: C, status: 'suspended' } });
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'agency.suspend', subject: C }, 'audited under the operator’s name');

  const page = await h.call({ url: '/agencies', as: alice });
  t.match(page.body, new RegExp(`<input type="hidden" name="_csrf" value="${alice.csrf}">`), 'forms carry the token');
  const resume = await h.call({ method: 'POST', url: `/agencies/${C}/resume`, headers: FORM, payload: form({ _csrf: alice.csrf, back: '/agencies?q=UBND' }), as: alice });
  t.equal(resume.statusCode, 303);
  t.equal(resume.headers.location, `/agencies?q=UBND&done=resumed&subject=${C}`);
  t.equal(new Directory(h.db).get(C)?.status, 'active');
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'agency.resume', subject: C });
  t.match((await h.call({ url: resume.headers.location as string, as: alice })).body, new RegExp(`Đã khôi phục cơ quan ${C.replace(/\./g, '\\.')}`));
});

t.test('a viewer sees everything, changes nothing: 403 FORBIDDEN on suspend, resume, replay, discard; no buttons', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  const alice = await h.login('alice');
  const auditRows = (): number => (h.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  const before = auditRows();
  for (const url of [`/api/agencies/${C}/suspend`, `/api/agencies/${D}/resume`, '/api/dead-letters/1/replay', '/api/dead-letters/2/discard']) {
    const r = await h.call({ method: 'POST', url, payload: {}, headers: { 'x-csrf-token': victor.csrf }, as: victor });
    t.equal(r.statusCode, 403, url);
    t.equal(errorCode(r), 'FORBIDDEN');
    t.match(r.json(), { error: { message: /viewer/ } });
  }
  for (const url of [`/agencies/${C}/suspend`, `/agencies/${D}/resume`, '/dead-letters/1/replay', '/dead-letters/2/discard']) {
    const r = await h.call({ method: 'POST', url, headers: FORM, payload: form({ _csrf: victor.csrf, back: '/' }), as: victor });
    t.equal(r.statusCode, 403, url);
    t.match(r.body, /Vai trò của bạn \(người xem\) không được phép thay đổi dữ liệu/);
  }
  t.equal(new Directory(h.db).get(C)?.status, 'active');
  t.equal(new Directory(h.db).get(D)?.status, 'suspended');
  t.same(
    h.deadLetters.list().items.map((d) => d.status),
    ['pending', 'pending'],
  );
  t.same(h.routed, []);
  t.same(h.published, []);
  t.equal(auditRows(), before, 'nothing audited, nothing done');

  for (const url of ['/agencies', '/dead-letters']) {
    const viewerPage = await h.call({ url, as: victor });
    t.equal(viewerPage.statusCode, 200);
    t.notMatch(viewerPage.body, /data-action="(suspend|resume|replay|discard)"/, `${url}: no buttons for a viewer`);
    const operatorPage = await h.call({ url, as: alice });
    t.match(operatorPage.body, url === '/agencies' ? /data-action="suspend"[\s\S]*data-action="resume"/ : /data-action="replay"[\s\S]*data-action="discard"/, `${url}: buttons for an operator`);
  }
  t.match((await h.call({ url: '/', as: victor })).body, /victor<\/span> \(người xem\)/);
});

t.test('overview: the day and week figures, queue depths of both lanes, agencies whose edge stopped consuming', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const api = await h.call({ url: '/api/overview', as: alice });
  t.equal(api.statusCode, 200);
  const body = api.json() as {
    overview: Record<string, number | string>;
    queues: { ok: boolean; staleAfterMinutes: number; agencies: Array<{ organId: string; stale: string | null; staleSince: string | null; urgent: { messages: number; consumers: number } | null; normal: { messages: number; consumers: number } | null }>; hub: { inboundNormal: { messages: number } } };
  };
  t.same(body.overview, { at: NOW.toISOString(), routedToday: 1, routedThisWeek: 6, refusedToday: 1, inFlight: 2, bouncedToday: 1, deadLettersPending: 2 });
  t.equal(body.queues.ok, true);
  t.equal(body.queues.staleAfterMinutes, 30);
  const byId = new Map(body.queues.agencies.map((a) => [a.organId, a]));
  t.same([...byId.keys()], [A, B, D, C, X], 'every agency of the directory, in organ id order');
  t.match(byId.get(B), { normal: { messages: 2, consumers: 1 }, urgent: { messages: 0, consumers: 1 }, stale: 'not-consuming' }, 'B: packets waiting 2 h although connected');
  t.match(byId.get(C), { normal: { messages: 1, consumers: 0 }, stale: 'no-consumer' }, 'C: no consumer for an hour');
  t.equal(byId.get(A)?.stale, null, 'A consumes');
  t.equal(byId.get(X)?.stale, null, 'X: no consumer for only 5 minutes (< 30)');
  t.equal(byId.get(D)?.stale, null, 'D is suspended: not expected to consume');
  t.equal(body.queues.hub.inboundNormal.messages, 3);

  const page = await h.call({ url: '/', as: alice });
  t.equal(page.statusCode, 200);
  const card = (field: string): string | undefined => new RegExp(`data-field="${field}">([^<]*)<`).exec(page.body)?.[1];
  t.same(
    ['routedToday', 'routedThisWeek', 'inFlight', 'bouncedToday', 'refusedToday', 'deadLettersPending'].map(card),
    ['1', '6', '2', '1', '1', '2'],
  );
  t.match(page.body, /Cơ quan không nhận gói tin quá 30 phút/);
  const staleSection = /<div id="stale">([\s\S]*?)<\/div>/.exec(page.body)?.[1] ?? '';
  t.match(staleSection, new RegExp(`${B.replace(/\./g, '\\.')}[\\s\\S]*Có gói tin chờ nhưng không được lấy từ 06/03/2026 13:00`));
  t.match(staleSection, new RegExp(`${C.replace(/\./g, '\\.')}[\\s\\S]*Không có kết nối nhận`));
  t.notMatch(staleSection, new RegExp(A.replace(/\./g, '\\.')));
  t.match(page.body, /2 chờ · 1 kết nối/);
  t.match(page.body, /<p id="hub-queues" class="muted small">Hàng đợi vào của trục: khẩn 0 · thường 3 gói tin chờ<\/p>/, "the hub's inbound queues");
  t.notMatch(page.body, /gói tin lỗi \d/, 'dead letters are counted once, by the card (the hub\'s records), never by the broker queue beside it');
  t.match(page.body, /<p id="broker-error" class="alert" role="alert" hidden>/, 'no broker error shown');
  t.match(page.body, /src="\/assets\/dashboard\.js"/, 'the page script refreshes it');

  await h.call({ url: '/api/overview', as: alice });
  t.equal(h.brokerCalls(), 1, 'the management API is asked once per 5 s, however many requests');
});

t.test('overview: "broker API unreachable" instead of failing when the management API does not answer', async (t) => {
  const h = await harness(t, {
    source: {
      listQueues: async () => {
        throw new Error('cannot reach the RabbitMQ management API at http://127.0.0.1:1: fetch failed');
      },
    },
  });
  const alice = await h.login('alice');
  const page = await h.call({ url: '/', as: alice });
  t.equal(page.statusCode, 200);
  t.match(page.body, /<p id="broker-error" class="alert" role="alert">Không truy cập được API quản trị của RabbitMQ\./);
  const rows = /<tbody id="queue-rows">([\s\S]*?)<\/tbody>/.exec(page.body)?.[1] ?? '';
  t.match(rows, /<td colspan="4" class="alert-inline">Không có số liệu: không truy cập được API quản trị của RabbitMQ\.<\/td>/, 'the empty queue table says why it is empty');
  t.match(/<div id="stale">([\s\S]*?)<\/div>/.exec(page.body)?.[1] ?? '', /Chưa biết được cơ quan nào ngừng nhận/, 'so does the list of silent agencies');
  t.match(page.body, /data-field="routedThisWeek">6</, 'the database figures are still there');
  const api = await h.call({ url: '/api/overview', as: alice });
  t.equal(api.statusCode, 200);
  t.match(api.json(), { overview: { routedThisWeek: 6 }, queues: { ok: false, error: /management API/ } });
});

t.test('overview: the hub\'s health problems head the page, in Vietnamese, and in /api/overview and /metrics', async (t) => {
  const health = new HealthBoard(undefined, () => NOW);
  const metricsDb = openDatabase(':memory:', HUB_MIGRATIONS);
  t.teardown(() => metricsDb.close());
  const h = await harness(t, { deps: { health: () => health.snapshot(), metrics: new HubMetrics({ db: metricsDb, names, health }) } });
  const alice = await h.login('alice');
  const healthy = await h.call({ url: '/', as: alice });
  t.match(healthy.body, /<section id="health" class="alert" role="alert" hidden>/, 'nothing to say: hidden');
  health.raise('storage', 'STORAGE_FULL', 'the data directory is full (ENOSPC: no space left on device); packets wait in their queues');
  const page = await h.call({ url: '/', as: alice });
  const section = /<section id="health" class="alert" role="alert">([\s\S]*?)<\/section>/.exec(page.body)?.[1] ?? '';
  t.match(section, /Hub đang hoạt động hạn chế/);
  t.match(section, /storage<\/span> — <span class="cause" data-code="STORAGE_FULL">Ổ đĩa lưu dữ liệu của nút đã đầy/, 'the code explained in Vietnamese');
  t.match(section, /ENOSPC: no space left on device/, 'the node\'s own words beside it');
  t.match((await h.call({ url: '/api/overview', as: alice })).json(), { health: { status: 'degraded', problems: [{ component: 'storage', code: 'STORAGE_FULL' }] } });
  const metrics = await h.app.inject({ url: '/metrics' });
  t.match(metrics.body, /^lt_health_degraded 1$/m);
  t.match(metrics.body, /^lt_health_problems\{component="storage",code="STORAGE_FULL"\} 1$/m);
  // /health: public, always 200 (a degraded hub heals by itself), the problems said.
  const degraded = await h.app.inject({ url: '/health' });
  t.equal(degraded.statusCode, 200, 'no session needed');
  t.match(degraded.json(), { status: 'degraded', problems: [{ component: 'storage', code: 'STORAGE_FULL' }] });
  t.equal(degraded.json().organId, '000.00.90.H12', 'the hub it is');
  health.clear('storage');
  t.match((await h.app.inject({ url: '/metrics' })).body, /^lt_health_degraded 0$/m);
  t.same((await h.app.inject({ url: '/health' })).json(), { status: 'ok', organId: '000.00.90.H12', problems: [] });
});

t.test('agencies: activity per agency, search', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  const all = (await h.call({ url: '/api/agencies', as: victor })).json() as { items: Array<Record<string, unknown>> };
  t.same(all.items, [
    { organId: A, name: 'Văn phòng UBND tỉnh Cà Mau', status: 'active', sent: 6, received: 0, receiptsOverdue: 0, notAccepted: 0, recallsPending: 0 },
    { organId: B, name: 'Sở Tài chính', status: 'active', sent: 1, received: 4, receiptsOverdue: 0, notAccepted: 1, recallsPending: 1 },
    { organId: D, name: 'Sở Thông tin và Truyền thông', status: 'suspended', sent: 0, received: 0, receiptsOverdue: 0, notAccepted: 0, recallsPending: 0 },
    { organId: C, name: 'UBND thành phố Cà Mau', status: 'active', sent: 0, received: 3, receiptsOverdue: 1, notAccepted: 0, recallsPending: 0 },
    { organId: X, name: XSS_NAME, status: 'active', sent: 0, received: 1, receiptsOverdue: 0, notAccepted: 0, recallsPending: 0 },
  ]);
  const found = (await h.call({ url: `/api/agencies?q=${encodeURIComponent('Cà Mau')}`, as: victor })).json() as { items: Array<{ organId: string }> };
  t.same(
    found.items.map((a) => a.organId),
    [A, C],
  );
  const page = await h.call({ url: `/agencies?q=${encodeURIComponent('Tài chính')}`, as: victor });
  t.match(page.body, /<input type="search" name="q" value="Tài chính"/);
  const row = new RegExp(`<tr data-organ-id="${B.replace(/\./g, '\\.')}">([\\s\\S]*?)</tr>`).exec(page.body)?.[1] ?? '';
  t.same(
    [...row.matchAll(/<td class="num[^"]*">([^<]*)</g)].map((m) => m[1]),
    ['1', '4', '0', '1', '1'],
    "B's sent, received, receipts overdue, not accepted, recalls pending",
  );
  t.notMatch(page.body, /data-organ-id="000\.00\.01\.H12"/, 'only what matches');
});

t.test('a document: find it by id, number or subject; its recipients and their timelines', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  const byCode = (await h.call({ url: `/api/documents?q=${encodeURIComponent('122/UBND')}`, as: victor })).json() as { items: Array<{ documentId: string }> };
  t.same(
    byCode.items.map((d) => d.documentId),
    [h.docs.d2],
  );
  const bySubject = (await h.call({ url: `/api/documents?q=${encodeURIComponent('liên thông')}`, as: victor })).json() as { items: Array<{ documentId: string }> };
  t.same(
    bySubject.items.map((d) => d.documentId),
    [h.docs.d5, h.docs.d4, h.docs.d3, h.docs.d2, h.docs.d1, h.docs.d0],
    'newest first',
  );
  const byId = (await h.call({ url: `/api/documents?q=${encodeURIComponent(h.docs.d4 as string)}`, as: victor })).json() as { items: Array<{ documentId: string }> };
  t.same(
    byId.items.map((d) => d.documentId),
    [h.docs.d4],
  );

  const journey = await h.call({ url: `/api/document?id=${encodeURIComponent(h.docs.d2 as string)}`, as: victor });
  t.equal(journey.statusCode, 200);
  t.match(journey.json(), {
    documentId: h.docs.d2,
    sender: A,
    code: '122/UBND-VP',
    deliveries: [{ recipient: B, stage: '03', recall: 'requested' }],
    names: { [A]: 'Văn phòng UBND tỉnh Cà Mau', [B]: 'Sở Tài chính' },
  });
  t.same(
    (journey.json() as { timeline: Array<{ event: string; at: string }> }).timeline.map((e) => [e.event, e.at]),
    [
      ['delivered', local('2026-03-02 14:00')],
      ['01', local('2026-03-02 16:00')],
      ['03', local('2026-03-03 10:00')],
      ['13', local('2026-03-05 09:00')],
    ],
  );
  const missing = await h.call({ url: '/api/document?id=nope', as: victor });
  t.equal(missing.statusCode, 404);
  t.equal(errorCode(missing), 'DOCUMENT_UNKNOWN');

  const search = await h.call({ url: `/documents?q=${encodeURIComponent('123/UBND')}`, as: victor });
  t.match(search.body, new RegExp(`href="/document\\?id=${encodeURIComponent(h.docs.d3 as string).replace(/[.%]/g, (c) => `\\${c}`)}"`), 'a link to the document');
  const page = await h.call({ url: `/document?id=${encodeURIComponent(h.docs.d3 as string)}`, as: victor });
  t.equal(page.statusCode, 200);
  const card = (organId: string): string => new RegExp(`<article class="recipient card" data-recipient="${organId.replace(/\./g, '\\.')}">([\\s\\S]*?)</article>`).exec(page.body)?.[1] ?? '';
  t.match(card(B), /data-stage="01">Đã đến \(01\)</);
  t.same(
    [...card(B).matchAll(/data-event="([^"]+)"><time datetime="[^"]+">([^<]+)<\/time> <strong>([^<]+)</g)].map((m) => [m[1], m[2], m[3]]),
    [
      ['delivered', '03/03/2026 10:00:00', 'Đã chuyển đến'],
      ['01', '04/03/2026 08:00:00', 'Đã đến (01)'],
    ],
  );
  t.match(card(D), /data-stage="bounced">Bị trả lại</);
  t.match(card(D), /recipient 000\.00\.14\.H12 is suspended in the hub directory; send it on paper/, "the bounce's reason");
  const recall = await h.call({ url: `/document?id=${encodeURIComponent(h.docs.d2 as string)}`, as: victor });
  t.match(recall.body, /data-recall="requested">Đang yêu cầu thu hồi</);
  t.match(recall.body, /data-event="13"><time datetime="[^"]+">05\/03\/2026 09:00:00<\/time> <strong>Yêu cầu thu hồi \(13\)</);
  const unknown = await h.call({ url: '/document?id=nope', as: victor });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.body, /Không có văn bản nope\./);
});

t.test('dead letters: listed with their reason; an operator replays or discards each, audited', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const list = (await h.call({ url: '/api/dead-letters', as: alice })).json() as { total: number; items: Array<Record<string, unknown>> };
  t.equal(list.total, 2);
  t.match(list.items, [
    { id: 2, queue: names.agencyQueue(owner(B), 'normal'), reason: 'delivery_limit', packetId: 'bbbbbbbb-0000-4000-8000-000000000002', documentId: h.docs.d1, sender: null, claimedFrom: A, status: 'pending', receivedAt: local('2026-03-06 11:00') },
    { id: 1, queue: names.hubInbound.normal, reason: 'rejected', packetId: 'aaaaaaaa-0000-4000-8000-000000000001', documentId: null, sender: null, status: 'pending' },
  ]);
  const page = await h.call({ url: '/dead-letters', as: alice });
  const row = /<tr data-dead-letter="2" data-status="pending">([\s\S]*?)<\/tr>/.exec(page.body)?.[1] ?? '';
  t.match(row, /06\/03\/2026 11:00:00/);
  t.match(row, /lt\.agency\.000\.00\.05\.H12/);
  t.match(row, /Quá số lần giao <span class="id muted">\(delivery_limit\)<\/span>/, "RabbitMQ's reason, in words and as it said it");
  t.match(row, /bbbbbbbb-0000-4000-8000-000000000002/);
  t.match(row, /000\.00\.01\.H12/);

  const discard = await h.call({ method: 'POST', url: '/dead-letters/1/discard', headers: FORM, payload: form({ _csrf: alice.csrf, back: '/dead-letters' }), as: alice });
  t.equal(discard.statusCode, 303);
  t.equal(discard.headers.location, '/dead-letters?done=discarded&subject=1');
  t.match(h.deadLetters.get(1), { status: 'discarded', resolvedBy: 'operator:alice' });
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'dead-letter.discard', subject: '1' });

  const replay = await h.call({ method: 'POST', url: '/api/dead-letters/2/replay', payload: {}, headers: { 'x-csrf-token': alice.csrf }, as: alice });
  t.equal(replay.statusCode, 200, replay.body);
  t.match(replay.json(), { outcome: `delivered again to ${names.agencyQueue(owner(B), 'normal')}`, deadLetter: { id: 2, status: 'replayed', resolvedBy: 'operator:alice' } });
  t.equal(h.published.length, 1, 'delivered again to the agency queue it died in');
  t.match(h.published[0], { exchange: names.deliver, routingKey: B });
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'dead-letter.replay', subject: '2' });
  const again = await h.call({ method: 'POST', url: '/api/dead-letters/2/replay', payload: {}, headers: { 'x-csrf-token': alice.csrf }, as: alice });
  t.equal(again.statusCode, 409);
  t.equal(errorCode(again), 'DEAD_LETTER_RESOLVED');
  t.equal((await h.call({ method: 'POST', url: '/api/dead-letters/99/discard', payload: {}, headers: { 'x-csrf-token': alice.csrf }, as: alice })).statusCode, 404);

  const pending = await h.call({ url: '/dead-letters', as: alice });
  t.match(pending.body, /Không có gói tin lỗi nào/, 'nothing pending any more');
  const all = await h.call({ url: '/dead-letters?status=all', as: alice });
  t.match(all.body, /data-dead-letter="1" data-status="discarded"[\s\S]*Đã hủy[\s\S]*operator:alice<\/span>, 06\/03\/2026 11:00/);
  t.match(all.body, /data-dead-letter="2" data-status="replayed"[\s\S]*Đã phát lại/);
});

t.test('dead letters: the cause the hub knows, the ids the bytes carry, the bytes for operators only (audited)', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const victor = await h.login('victor');
  // C's refused packet (CERT_REVOKED, nobody to bounce it to) as it died in the hub's queue; a
  // real edXML document from a broker user nobody registered; hostile bytes.
  const refused = (h.db.prepare("SELECT packet_id FROM packets WHERE verdict = 'refused'").get() as { packet_id: string }).packet_id;
  const refusedBytes = Buffer.from('<edXML refused by the router/>');
  h.db.prepare('UPDATE packets SET sha256 = ? WHERE packet_id = ?').run(sha256Hex(refusedBytes), refused);
  const revoked = await collectDeadLetter(h, names.hubInbound.normal, refusedBytes, { messageId: refused, userId: names.agencyUser(C) });
  // Other bytes under the packet id of d1, which the hub routed.
  const routedId = (h.db.prepare('SELECT packet_id FROM documents WHERE document_id = ?').get(h.docs.d1) as { packet_id: string }).packet_id;
  const conflict = await collectDeadLetter(h, names.hubInbound.normal, Buffer.from('<edXML another packet/>'), { messageId: routedId, userId: names.agencyUser(A) });
  const sample = readFileSync(new URL('../fixtures/samples/edoc_new.edxml', import.meta.url));
  const stranger = await collectDeadLetter(h, names.hubInbound.normal, sample, { messageId: 'cccccccc-0000-4000-8000-000000000003', userId: 'lt.agency.000.00.99.H12' });
  const hostile = await collectDeadLetter(h, names.hubInbound.urgent, Buffer.from('<script>alert(1)</script>\u202eevil\u0007 ok'), { messageId: 'eeeeeeee-0000-4000-8000-000000000005' });

  const api = (await h.call({ url: '/api/dead-letters', as: victor })).json() as { items: Array<{ id: number; cause: { code: string | null; message: string | null } }> };
  const causeOf = (id: number) => api.items.find((d) => d.id === id)?.cause;
  t.match(causeOf(1), { code: 'SENDER_UNKNOWN', message: /without an AMQP user-id/ }, 'published without a user-id: nobody to answer');
  t.same(causeOf(2), { code: null, message: null }, "died in B's queue: RabbitMQ's reason is all there is");
  t.same(causeOf(revoked), { code: 'CERT_REVOKED', message: 'the signer certificate is revoked' }, 'what the router recorded when it refused the packet');
  t.match(causeOf(stranger), { code: 'SENDER_UNKNOWN', message: /broker user lt\.agency\.000\.00\.99\.H12 belongs to no agency/ });
  t.match(causeOf(conflict), { code: 'PACKET_ID_CONFLICT', message: new RegExp(`packet id ${routedId} was already used at ${local('2026-03-02 09:00')}`) }, 'a packet id reused by other bytes');

  const list = (await h.call({ url: '/dead-letters', as: victor })).body;
  const row = (id: number): string => new RegExp(`<tr data-dead-letter="${id}" data-status="pending">([\\s\\S]*?)</tr>`).exec(list)?.[1] ?? '';
  t.match(row(1), /<span class="cause" data-code="SENDER_UNKNOWN">Tài khoản RabbitMQ đã gửi gói tin không thuộc cơ quan nào/, 'the cause in Vietnamese');
  t.match(row(1), /<summary>Nguyên văn thông báo \(tiếng Anh\)<\/summary><span lang="en">the packet was published without an AMQP user-id/, 'the original message as detail');
  t.match(row(1), /Bị từ chối <span class="id muted">\(rejected\)<\/span>/, "and RabbitMQ's reason");
  t.match(row(1), /data-field="documentId"><span class="muted small" data-missing>không có trong tiêu đề gói tin<\/span>/, 'an empty id column says why');
  t.match(row(revoked), /Chứng thư số của người ký đã bị thu hồi\. <span class="id muted">\(CERT_REVOKED\)/);
  t.match(row(2), /Quá số lần giao/);
  t.match(row(1), /href="\/dead-letters\/1"/, 'a link to its details');

  // Details: what the bytes say (read, not verified) or why they cannot be read.
  const detail = (await h.call({ url: `/dead-letters/${stranger}`, as: victor })).body;
  t.match(detail, new RegExp(`<h1>Gói tin lỗi #${stranger}</h1>`));
  t.match(detail, /data-payload="readable"/);
  t.match(detail, /data-field="payloadDocumentId"><span class="id">000\.00\.00\.G22,2015\/09\/30,7816\/VPCP-TTĐT<\/span>/, 'the DocumentId the bytes carry');
  t.match(detail, /data-field="payloadFrom"><span class="id organ">002\.00\.20\.H13<\/span>/, 'and their From');
  t.match(detail, /data-field="publisher"><span class="id">lt\.agency\.000\.00\.99\.H12<\/span>/);
  t.match(detail, /Chỉ cán bộ vận hành được xem nội dung gói tin\./, 'a viewer sees no bytes');
  t.notMatch(detail, /id="payload-link"/);
  const unreadable = (await h.call({ url: '/dead-letters/1', as: victor })).body;
  t.match(unreadable, /data-payload="unreadable"[\s\S]*Không đọc được nội dung thành gói tin edXML[\s\S]*data-code="XML_NOT_EDXML"/, 'what could not be read, and why');
  const json = (await h.call({ url: `/api/dead-letters/${stranger}`, as: victor })).json() as Record<string, unknown>;
  t.match(json, { deadLetter: { id: stranger, cause: { code: 'SENDER_UNKNOWN' } }, payload: { readable: true, kind: 'document', from: '002.00.20.H13' } });
  t.equal((await h.call({ url: '/dead-letters/99', as: victor })).statusCode, 404);

  // The bytes: operators only, each look audited.
  for (const url of [`/dead-letters/${hostile}/payload`, `/dead-letters/${hostile}/download`]) {
    const r = await h.call({ url, as: victor });
    t.equal(r.statusCode, 403, `${url}: not for a viewer`);
  }
  const before = (h.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  const operatorDetail = (await h.call({ url: `/dead-letters/${hostile}`, as: alice })).body;
  t.match(operatorDetail, new RegExp(`href="/dead-letters/${hostile}/payload" id="payload-link"`), 'an operator gets the link');
  t.equal((h.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n, before, 'reading the details is not a look at the bytes');
  const view = await h.call({ url: `/dead-letters/${hostile}/payload`, as: alice });
  t.equal(view.statusCode, 200);
  t.match(view.body, /<pre class="payload" lang="" translate="no">&lt;script&gt;alert\(1\)&lt;\/script&gt;⟨U\+202E⟩evil⟨U\+0007⟩ ok<\/pre>/, 'escaped, hidden characters made visible');
  t.notMatch(view.body, /<script>alert/);
  const hostileSize = Buffer.byteLength('<script>alert(1)</script>\u202eevil\u0007 ok');
  t.match(view.body, new RegExp(`Hiển thị ${hostileSize} trên ${hostileSize} byte`));
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'dead-letter.payload-view', subject: String(hostile) });
  const download = await h.call({ url: `/dead-letters/${stranger}/download`, as: alice });
  t.equal(download.statusCode, 200);
  t.equal(download.headers['content-type'], 'application/octet-stream');
  t.equal(download.headers['content-disposition'], `attachment; filename="dead-letter-${stranger}.bin"`);
  t.ok(download.rawPayload.equals(sample), 'the bytes as they died');
  t.same(auditTail(h.db), { actor: 'operator:alice', action: 'dead-letter.payload-download', subject: String(stranger) });
  const big = await collectDeadLetter(h, names.hubInbound.normal, Buffer.alloc(100_000, 'a'));
  t.match((await h.call({ url: `/dead-letters/${big}/payload`, as: alice })).body, /Hiển thị 65\.536 trên 100\.000 byte/, 'a big packet is cut on the page');

  // Bytes deleted by retention: said so.
  h.db.prepare("UPDATE dead_letters SET blob = '' WHERE id = ?").run(revoked);
  t.match((await h.call({ url: `/dead-letters/${revoked}`, as: alice })).body, /data-payload="pruned">Nội dung gói tin đã bị xóa theo thời hạn lưu trữ\./);
  const gone = await h.call({ url: `/dead-letters/${revoked}/payload`, as: alice });
  t.equal(gone.statusCode, 404);
  t.match(gone.body, /Nội dung gói tin đã bị xóa theo thời hạn lưu trữ\./);

  // An error page in Vietnamese, with the English message as detail.
  await h.call({ method: 'POST', url: '/dead-letters/2/discard', headers: FORM, payload: form({ _csrf: alice.csrf, back: '/dead-letters' }), as: alice });
  const twice = await h.call({ method: 'POST', url: '/dead-letters/2/discard', headers: FORM, payload: form({ _csrf: alice.csrf, back: '/dead-letters' }), as: alice });
  t.equal(twice.statusCode, 409);
  t.match(twice.body, /<p class="alert" role="alert" data-status="409">Gói tin lỗi này đã được phát lại hoặc hủy trước đó\.<\/p>/);
  t.match(twice.body, /<summary>Chi tiết kỹ thuật<\/summary><p><span lang="en">dead letter 2 was already discarded by operator:alice/);
});

t.test('every error code has its Vietnamese explanation', async (t) => {
  const missing = Object.keys(ERROR_CATALOGUE).filter((code) => !(code in VI_ERROR_EXPLANATIONS));
  t.same(missing, [], 'src/dashboard/i18n/error-codes-vi.ts explains every code of src/errors.ts');
});

t.test('a bounce on a timeline: its reason in Vietnamese from the code the hub bounced with, the English message as detail', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  // d6's bounce to D as the router queues it: a status 02 whose x-lt-error-code names the code.
  const cause = (h.db.prepare('SELECT packet_id FROM documents WHERE document_id = ?').get(h.docs.d6) as { packet_id: string }).packet_id;
  new HubRecords(h.db).insertOutbound(
    {
      packetId: 'dddddddd-0000-4000-8000-000000000004',
      cause,
      target: A,
      lane: 'normal',
      type: 'status',
      blob: '0'.repeat(64),
      envelope: { packetId: 'dddddddd-0000-4000-8000-000000000004', type: 'status', from: '000.00.90.H12', to: [A], priority: '0', documentId: h.docs.d6 as string, lane: 'normal', extra: { 'x-lt-status': '02', 'x-lt-bounce': D, 'x-lt-error-code': 'AGENCY_SUSPENDED', 'x-lt-cause': cause } },
    },
    local('2026-03-06 09:00'),
  );
  const page = (await h.call({ url: `/document?id=${encodeURIComponent(h.docs.d6 as string)}`, as: victor })).body;
  const card = new RegExp(`<article class="recipient card" data-recipient="${D.replace(/\./g, '\\.')}">([\\s\\S]*?)</article>`).exec(page)?.[1] ?? '';
  t.match(card, /<span class="cause" data-code="AGENCY_SUSPENDED">Cơ quan đang bị tạm ngừng trên trục liên thông; cần gửi bản giấy\./);
  t.match(card, /<span lang="en">recipient 000\.00\.14\.H12 is suspended in the hub directory; send it on paper<\/span>/);
  const journey = (await h.call({ url: `/api/document?id=${encodeURIComponent(h.docs.d6 as string)}`, as: victor })).json() as { timeline: Array<{ recipient: string; event: string; errorCode?: string }> };
  t.match(journey.timeline.find((e) => e.recipient === D), { event: 'bounced', errorCode: 'AGENCY_SUSPENDED' }, 'the API carries the code too');
});

t.test('usage report: figures worked out by hand, the table, the chart, the CSV', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  const api = await h.call({ url: '/api/report?from=2026-03-02&to=2026-03-06', as: victor });
  t.equal(api.statusCode, 200);
  const rows = new Map((api.json() as { from: string; to: string; rows: Array<{ organId: string }> }).rows.map((r) => [r.organId, r]));
  t.same(rows.get(B), {
    organId: B,
    name: 'Sở Tài chính',
    sent: 1,
    received: 3,
    receiptsOnTime: 2,
    receiptsDue: 3,
    onTimeRate: 2 / 3,
    averageHoursToAccept: 11,
    overdue: 2,
  });
  t.same(rows.get(C), { organId: C, name: 'UBND thành phố Cà Mau', sent: 0, received: 3, receiptsOnTime: 1, receiptsDue: 3, onTimeRate: 1 / 3, averageHoursToAccept: 0.75, overdue: 1 });
  t.same(rows.get(A), { organId: A, name: 'Văn phòng UBND tỉnh Cà Mau', sent: 5, received: 0, receiptsOnTime: 0, receiptsDue: 0, onTimeRate: null, averageHoursToAccept: null, overdue: 0 });
  t.match(rows.get(X), { received: 1, receiptsOnTime: 0, onTimeRate: 0, averageHoursToAccept: null });
  const week = (await h.call({ url: '/api/report?from=2026-03-03&to=2026-03-03', as: victor })).json() as { rows: Array<{ organId: string; sent: number; received: number }> };
  t.match(
    week.rows.find((r) => r.organId === B),
    { received: 1 },
    'one local day: only d3 reached B on Tuesday',
  );

  const page = await h.call({ url: '/reports?from=2026-03-02&to=2026-03-06', as: victor });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Từ đầu ngày 02\/03\/2026 đến hết ngày 06\/03\/2026/);
  const cells = (organId: string): Record<string, string> => {
    const row = new RegExp(`<tr data-organ-id="${organId.replace(/\./g, '\\.')}">([\\s\\S]*?)</tr>`).exec(page.body)?.[1] ?? '';
    return Object.fromEntries([...row.matchAll(/data-field="(\w+)">([^<]*)/g)].map((m) => [m[1], (m[2] as string).trim()]));
  };
  t.same(cells(B), { sent: '1', received: '3', onTimeRate: '66,7 %', averageHoursToAccept: '11', overdue: '2' });
  t.same(cells(C), { sent: '0', received: '3', onTimeRate: '33,3 %', averageHoursToAccept: '0,8', overdue: '1' });
  t.match(page.body, /66,7 % <span class="muted small">\(2\/3\)<\/span>/);
  t.match(page.body, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 720 \d+" role="img"/, 'an inline SVG chart');
  t.match(page.body, new RegExp(`<g class="group" data-organ-id="${B.replace(/\./g, '\\.')}">[\\s\\S]*?<title>Đã gửi: 1</title>[\\s\\S]*?<title>Đã nhận: 3</title>`));
  t.notMatch(page.body, /data-organ-id="000\.00\.14\.H12">\s*<text/, 'agencies with nothing to show have no bars');
  t.match(page.body, /href="\/reports\/usage\.csv\?from=2026-03-02&amp;to=2026-03-06" download/);
  const bad = await h.call({ url: '/reports?from=2026-03-09&to=2026-03-02', as: victor });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /Ngày phải có dạng yyyy-mm-dd/);
  t.equal((await h.call({ url: '/api/report?from=2026-02-30&to=2026-03-02', as: victor })).statusCode, 400, 'no such day');
  const defaults = await h.call({ url: '/reports', as: victor });
  t.match(defaults.body, /name="from" value="2026-03-01"[\s\S]*name="to" value="2026-03-06"/, 'default: this month so far');

  const csv = await h.call({ url: '/reports/usage.csv?from=2026-03-02&to=2026-03-06', as: victor });
  t.equal(csv.statusCode, 200);
  t.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
  t.equal(csv.headers['content-disposition'], 'attachment; filename="lienthong-usage-2026-03-02-2026-03-06.csv"');
  t.equal(
    csv.body,
    '\uFEFF' +
      [
        'Mã định danh,Tên cơ quan,Đã gửi,Đã nhận,Số báo nhận đúng hạn,Tỷ lệ báo nhận đúng hạn,Thời gian tiếp nhận trung bình (giờ),Quá hạn',
        '000.00.01.H12,Văn phòng UBND tỉnh Cà Mau,5,0,0,,,0',
        '000.00.05.H12,Sở Tài chính,1,3,2,0.667,11,2',
        '000.00.14.H12,Sở Thông tin và Truyền thông,0,0,0,,,0',
        '000.00.31.H12,UBND thành phố Cà Mau,0,3,1,0.333,0.75,1',
        `000.00.66.H12,${XSS_NAME},0,1,0,0,,0`,
      ].join('\r\n') +
      '\r\n',
  );
  const english = await h.call({ url: '/reports/usage.csv?from=2026-03-02&to=2026-03-06', headers: { cookie: 'lt_lang=en' }, as: victor });
  t.equal(english.body.split('\r\n')[0], '\uFEFFOrgan id,Name,Sent,Received,Receipts on time,On-time receipt rate,Average time to accept (hours),Overdue', 'the CSV speaks the interface language');
  t.equal((await h.call({ url: '/reports/usage.csv?from=x&to=y', as: victor })).statusCode, 400);
  t.equal((await h.call({ url: '/reports/usage.csv?from=2026-03-02&to=2026-03-06' })).statusCode, 303, 'the CSV needs a login too');
});

t.test('a hub without links: no Links menu entry, no overview line, no link section in the reports; the page says so', async (t) => {
  const h = await harness(t);
  const victor = await h.login('victor');
  const home = await h.call({ url: '/', as: victor });
  t.notMatch(home.body, /href="\/links"/, 'neither in the menu nor on the overview');
  t.equal((await h.call({ url: '/api/overview', as: victor })).json().links, undefined);
  const page = await h.call({ url: '/links', as: victor });
  t.equal(page.statusCode, 200);
  t.match(page.body, /Trục này chưa liên kết với trục nào khác\./);
  t.match((await h.call({ url: '/api/links', as: victor })).json(), { queues: { ok: true }, links: [], noRoute: 0 });
  t.match((await h.call({ url: '/api/report?from=2026-03-02&to=2026-03-06', as: victor })).json(), { links: [], noRoute: 0 });
  t.notMatch((await h.call({ url: '/reports?from=2026-03-02&to=2026-03-06', as: victor })).body, /links-csv-link/);
});

t.test('XSS: agency names and subjects are rendered escaped everywhere', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const pages = ['/', '/agencies', `/documents?q=${encodeURIComponent('126/')}`, `/document?id=${encodeURIComponent(h.docs.d6 as string)}`, '/reports?from=2026-03-02&to=2026-03-06'];
  for (const url of pages) {
    const page = await h.call({ url, as: alice });
    t.equal(page.statusCode, 200, url);
    t.notOk(page.body.includes(XSS_NAME), `${url}: the name is not markup`);
    t.notOk(page.body.includes(XSS_SUBJECT), `${url}: the subject is not markup`);
    t.notMatch(page.body, /<script>|<img /, `${url}: no injected element`);
  }
  t.match((await h.call({ url: '/agencies', as: alice })).body, /<td class="agency-name">&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/td>/);
  t.match((await h.call({ url: '/', as: alice })).body, /<span class="name">&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/span>/);
  const journey = (await h.call({ url: `/document?id=${encodeURIComponent(h.docs.d6 as string)}`, as: alice })).body;
  t.match(journey, /<dd class="subject">&lt;img src=x onerror=alert\(1\)&gt;<\/dd>/);
  t.match(journey, /<span class="name">&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/span>/);
  t.match((await h.call({ url: '/reports?from=2026-03-02&to=2026-03-06', as: alice })).body, /<text x="8" y="\d+" class="label">000\.00\.66\.H12 &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/text>/);
  const search = await h.call({ url: `/agencies?q=${encodeURIComponent('"><script>alert(2)</script>')}`, as: alice });
  t.match(search.body, /value="&quot;&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;"/, 'the search text echoed in an attribute is escaped');
  t.notOk(search.body.includes('<script>alert(2)'));
  const json = await h.call({ url: '/api/agencies', as: alice });
  t.match(json.headers['content-type'], /^application\/json/, 'the API answers JSON, never HTML');
});

t.test('Vietnamese by default; the switch stores English in a cookie, and back', async (t) => {
  const h = await harness(t);
  const alice = await h.login('alice');
  const vi = await h.call({ url: '/agencies', as: alice });
  t.match(vi.body, /<html lang="vi">/);
  t.match(vi.body, /<h1>Cơ quan<\/h1>/);
  t.match(vi.body, />Tạm ngừng</);
  t.match((await h.call({ url: '/login' })).body, /Tên đăng nhập/);

  const toEnglish = await h.call({ method: 'POST', url: '/lang', headers: FORM, payload: form({ lang: 'en', back: '/agencies?q=S' }), as: alice });
  t.equal(toEnglish.statusCode, 303);
  t.equal(toEnglish.headers.location, '/agencies?q=S');
  const cookie = setCookies(toEnglish).find((c) => c.startsWith('lt_lang=')) as string;
  t.match(cookie, /^lt_lang=en; Path=\/; Max-Age=31536000; SameSite=Strict$/);
  const lang = cookie.split(';')[0] as string;
  const en = await h.call({ url: '/agencies', headers: { cookie: lang }, as: alice });
  t.match(en.body, /<html lang="en">/);
  t.match(en.body, /<h1>Agencies<\/h1>/);
  t.match(en.body, />Suspend</);
  t.match(en.body, /alice<\/span> \(operator\)/);
  t.match((await h.call({ url: '/reports?from=2026-03-02&to=2026-03-06', headers: { cookie: lang }, as: alice })).body, /66\.7% <span/, 'numbers in the English way');
  t.match((await h.call({ url: '/login', headers: { cookie: lang } })).body, /User name/, 'the login page too');
  t.match((await h.call({ url: '/', headers: { cookie: lang }, as: alice })).body, /"overview\.updatedAt":"Updated at \{time\}"/, "the page script's strings follow");

  const offsite = await h.call({ method: 'POST', url: '/lang', headers: FORM, payload: form({ lang: 'vi', back: '//evil.example/' }) });
  t.equal(offsite.headers.location, '/', 'only back to this site');
  t.equal((await h.call({ method: 'POST', url: '/lang', headers: FORM, payload: form({ lang: 'fr' }) })).statusCode, 400);
  t.equal(localPath('/\\evil.example'), '/');
  t.equal(localPath('https://evil.example/'), '/');
  t.equal(localPath('/documents?q=a'), '/documents?q=a');
});

t.test('/metrics: Prometheus text, public by default, or behind a bearer token', async (t) => {
  const open = await harness(t);
  const metrics = await open.call({ url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.match(metrics.headers['content-type'], /^text\/plain/);
  t.match(metrics.body, /^lt_dead_letters_pending 2$/m);

  const closed = await harness(t, { settings: { metricsToken: 's3cret-metrics-token' } });
  const none = await closed.call({ url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.equal(errorCode(none), 'AUTH_REQUIRED');
  t.match(none.headers['www-authenticate'], /^Bearer/);
  t.equal((await closed.call({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  const ok = await closed.call({ url: '/metrics', headers: { authorization: 'Bearer s3cret-metrics-token' } });
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /lt_dead_letters_pending 2/);
});
