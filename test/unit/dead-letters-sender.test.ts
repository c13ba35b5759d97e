/**
 * Who sent a dead letter (issue 9): the x-lt-from header is a claim any publisher writes. The
 * dead letters and their dashboard page name as sender what the broker validated (AMQP user-id,
 * mapped to an agency through the directory) or what the hub itself routed through the deliver
 * exchange, and show the header only as a claim, on one bounded line. With app.inject.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { resourceNames } from '../../src/broker/names.js';
import type { ConfirmPublisher } from '../../src/broker/publisher.js';
import { createDashboard } from '../../src/dashboard/server.js';
import { SESSION_COOKIE } from '../../src/dashboard/sessions.js';
import { DeadLetters } from '../../src/hub/dead-letters.js';
import { Directory } from '../../src/hub/directory.js';
import { HubRecords } from '../../src/hub/records.js';
import { addUser } from '../../src/hub/users.js';
import { silentLogger } from '../../src/log.js';
import { BlobStore } from '../../src/store/blobs.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';

const A = '000.00.01.H12';
const B = '000.00.05.H12';
const HUB = '000.00.90.H12';
const names = resourceNames('lt');
const ROUTED_FROM_A = '11111111-0000-4000-8000-000000000001';

t.test('a dead letter names its validated sender; the x-lt-from header is shown only as a claim', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-dead-sender-'));
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  t.teardown(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const now = new Date('2026-03-06T04:00:00Z');
  const directory = new Directory(db);
  directory.registerHub({ organId: HUB, name: 'hub', certificatePem: '' }, now);
  for (const organId of [A, B]) directory.insert({ organId, name: organId, brokerUser: names.agencyUser(organId), queueToken: '' }, now);
  new HubRecords(db).insertPacket({
    packetId: ROUTED_FROM_A,
    kind: 'document',
    sender: A,
    claimedFrom: A,
    documentId: `${A},2026/03/01,1/UBND-VP`,
    statusCode: null,
    priority: '0',
    sha256: '0'.repeat(64),
    blob: null,
    size: 10,
    receivedAt: now.toISOString(),
    verdict: 'routed',
    errorCode: null,
    errorMessage: null,
  });
  const deadLetters = new DeadLetters({
    db,
    blobs: new BlobStore(join(dir, 'blobs'), db),
    names,
    publisher: () => ({}) as ConfirmPublisher,
    route: async () => 'ack',
    clock: () => now,
    log: silentLogger(),
  });
  const collect = (messageId: string, queue: string, exchange: string, headers: { userId?: string; from?: string }) =>
    deadLetters.collect({
      lane: 'normal',
      queue: names.deadLetters,
      message: {
        content: Buffer.from('<x/>'),
        fields: { deliveryTag: 1, redelivered: false, exchange: names.dead, routingKey: '', consumerTag: 'test' },
        properties: {
          messageId,
          type: 'edoc',
          userId: headers.userId,
          headers: { 'x-death': [{ queue, reason: 'rejected', count: 1, exchange, 'routing-keys': ['normal'] }], ...(headers.from !== undefined ? { 'x-lt-from': headers.from } : {}) },
        },
      } as unknown as ConsumeMessage,
    });
  const forged = `${A}\r\n\u202eFORGED LINE ${'x'.repeat(200)}`;
  // 1. B published as itself (the broker checked the user-id) and claims to be A.
  await collect('22222222-0000-4000-8000-000000000001', names.hubInbound.normal, names.submit, { userId: names.agencyUser(B), from: forged });
  // 2. No user-id, into the hub's inbound, reusing the id of a packet the hub routed from A: nobody vouches.
  await collect(ROUTED_FROM_A, names.hubInbound.normal, names.submit, { from: A });
  // 3. What the hub delivered to an agency's queue (only the hub writes to the deliver exchange).
  await collect(ROUTED_FROM_A, names.agencyQueue({ organId: B, queueToken: '' }, 'normal'), names.deliver, { from: A });

  const items = deadLetters.list().items.sort((x, y) => x.id - y.id);
  t.match(items[0], { sender: B, publisher: names.agencyUser(B), claimedFrom: forged });
  t.match(items[1], { sender: null, publisher: null, claimedFrom: A });
  t.match(items[2], { sender: A, publisher: null, claimedFrom: A });

  addUser(db, { name: 'alice', role: 'operator', password: 'operator-password-1' }, 'cli:test', now);
  const app = createDashboard({
    db,
    names,
    hub: { organId: HUB, organName: 'hub', calendar: {}, urgentReceiptMinutes: 30 },
    settings: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false },
    queues: { listQueues: async () => [] },
    deadLetters: () => deadLetters,
    clock: () => now,
    log: silentLogger(),
  });
  t.teardown(() => app.close());
  const login = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: { name: 'alice', password: 'operator-password-1' } });
  const cookie = ([] as string[]).concat((login as LightMyRequestResponse).headers['set-cookie'] ?? []).find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0] ?? '';
  const page = await app.inject({ url: '/dead-letters?status=all', headers: { cookie } });
  t.equal(page.statusCode, 200);
  const cell = (id: number): string => {
    const row = new RegExp(`<tr data-dead-letter="${id}"[^>]*>([\\s\\S]*?)</tr>`).exec(page.body)?.[1] ?? '';
    return /<td class="id organ">([\s\S]*?)<\/td>/.exec(row)?.[1] ?? '';
  };
  t.match(cell(1), new RegExp(`^${B.replace(/\./g, '\\.')}<br>`), 'sender: the agency whose broker user published it');
  const claim = /data-claimed-from>([^<]*)</.exec(cell(1))?.[1] ?? '';
  t.match(claim, /^claims “000\.00\.01\.H12 FORGED LINE x+…”$|^tự khai: “000\.00\.01\.H12 FORGED LINE x+…”$/, 'the header only as a claim, quoted');
  t.notMatch(claim, /[\r\n\u202e]/, 'on one line, without direction overrides');
  t.ok([...claim].length < 90, `bounded (${[...claim].length} characters)`);
  t.match(cell(2), /Không xác thực được|Not verified/, 'no validated sender: said so');
  t.match(cell(2), /data-claimed-from>[^<]*000\.00\.01\.H12/, 'and what it claims, as a claim');
  t.equal(cell(3), A, 'what the hub itself delivered: the sender it validated when routing');
});
