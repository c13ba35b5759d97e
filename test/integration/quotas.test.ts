/**
 * Per-agency quotas against the real RabbitMQ (issue 9, point 4): what one agency may take of
 * the broker and the hub.
 *
 * - Lanes have byte limits (a policy, overflow reject-publish): a full lane nacks the publisher
 *   and nothing is dropped; the sending edge's outbox keeps its packets and the hub keeps the
 *   packet it could not forward, until the recipient's edge drains its queue.
 * - Agency broker users have connection and channel limits, enforced by RabbitMQ.
 * - The hub deletes the bytes of old refused packets and dead letters, keeping rows and hashes,
 *   auditing each deletion, never deleting bytes another row still references.
 * - The hub bounces what an agency sends over its per-minute rate, before verifying it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { pino } from 'pino';
import t from 'tap';
import type { Submitted } from '../../src/edge/outbox.js';
import { verifyAuditChain } from '../../src/store/audit.js';
import { A, B, C, agency, documentPacket, hubPacket, inboxOf, letter, openExchange, publishAs, signAs, stageAt, waitFor } from '../helpers/exchange.js';

const DAY_MS = 86_400_000;

/** Messages in an agency's lanes, found by name prefix (whatever the rest of the name). */
async function agencyQueueDepth(api: { listQueues(): Promise<Array<{ name: string; messages: number }>> }, prefix: string, organId: string): Promise<number> {
  const queues = (await api.listQueues()).filter((q) => q.name.startsWith(`${prefix}.agency.${organId}`));
  if (queues.length === 0) throw new Error(`no queue of ${organId} under ${prefix}`);
  return queues.reduce((sum, q) => sum + q.messages, 0);
}

function directoryBytes(dir: string): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  return total;
}

t.test("a full recipient queue: the sender's outbox keeps its packets; after the drain each arrives exactly once", async (t) => {
  // One packet fills a lane: the hub's inbound lanes and B's lanes hold one packet each.
  const { exchange, received, startEdge } = await openExchange(t, [agency(A), agency(B, { start: false })], {
    hubConfig: { concurrency: 1, quotas: { hubLaneBytes: 1, agencyLaneBytes: 1 } },
  });
  const policies = (await exchange.api.listPolicies()).filter((p) => p.name.startsWith(`${exchange.prefix}.`));
  t.same(
    policies.map((p) => [p.name, p.definition]).sort(),
    [
      [`${exchange.prefix}.limits.agency`, { 'max-length-bytes': 1, overflow: 'reject-publish' }],
      [`${exchange.prefix}.limits.hub-inbound`, { 'max-length-bytes': 1, overflow: 'reject-publish' }],
    ],
    'the byte limits are policies on the prefix, with reject-publish',
  );

  // RabbitMQ applies a policy to existing queues asynchronously: wait until the lanes carry it.
  await waitFor('the limits in force on the hub’s and B’s lanes', async () =>
    (await exchange.api.listQueues())
      .filter((q) => q.name.startsWith(`${exchange.prefix}.hub.inbound`) || q.name.startsWith(`${exchange.prefix}.agency.${B}`))
      .every((q) => typeof q.policy === 'string' && q.policy.startsWith(`${exchange.prefix}.limits.`)),
  );

  const a = exchange.edge(A);
  const sent: Submitted[] = [];
  const submit = async (): Promise<void> => {
    sent.push(await a.outbox.submitDocument(letter([B], `Q${sent.length + 1}`), 'test'));
  };
  for (let n = 1; n <= 6; n += 1) await submit();
  const unsent = () => (a.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').get() as { n: number }).n;
  const refused = () => a.db.prepare("SELECT last_error FROM outbox WHERE sent_at IS NULL AND last_error LIKE '%full%' LIMIT 1").get() !== undefined;
  const inboundReady = async (): Promise<number> =>
    (await exchange.api.listQueues()).filter((q) => q.name.startsWith(`${exchange.prefix}.hub.inbound`)).reduce((n, q) => n + q.messages_ready, 0);

  // B's edge is down: its lane fills with one packet, the hub holds the next, and its inbound
  // lane fills. A quorum queue checks its limit as it applies publishes, so a burst that arrives
  // together may all be taken before the lane counts as full; from then on every publish is
  // refused. Keep submitting (event-driven, bounded) until A's relay is refused.
  await waitFor('B’s queue to be full', async () => (await agencyQueueDepth(exchange.api, exchange.prefix, B)) >= 1);
  await waitFor('a packet waiting in the hub’s inbound lane', async () => refused() || (await inboundReady()) >= 1);
  for (let extra = 0; !refused() && extra < 10; extra += 1) {
    await submit();
    await waitFor('A’s relay to publish or be refused', () => refused() || unsent() === 0);
  }
  await waitFor('A’s relay to be refused by the full inbound lane', refused, {
    describe: () => ({ unsent: unsent(), hubPackets: (exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM packets').get() as { n: number }).n }),
  });
  const count = sent.length;
  t.ok(unsent() >= 1, `A's outbox keeps what the hub cannot take (${unsent()} of ${count} unsent)`);
  t.equal(await agencyQueueDepth(exchange.api, exchange.prefix, B), 1, 'B’s queue holds what its limit allows, nothing more');
  const deadLetters = () => (exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n;
  t.equal(deadLetters(), 0, 'nothing was dead-lettered');
  t.equal((exchange.hub.db.prepare("SELECT COUNT(*) AS n FROM packets WHERE verdict = 'refused'").get() as { n: number }).n, 0, 'nothing was refused');

  // B's edge comes back and drains its lane: everything flows, once.
  const b = await startEdge(B);
  await waitFor(`all ${count} documents in B’s inbox`, () => inboxOf(b).total === count, { describe: () => ({ inbox: inboxOf(b).total, unsent: unsent() }) });
  await waitFor('A’s outbox empty', () => unsent() === 0);
  const events = received.get(B) ?? [];
  const documents = events.filter((e) => e.type === 'document').map((e) => (e as { documentId: string }).documentId);
  t.same([...documents].sort(), sent.map((s) => s.documentId).sort(), 'every document reached B, each once');
  t.same(events.filter((e) => e.type === 'dropped'), [], 'no packet reached B twice');
  for (const s of sent) t.equal(hubPacket(exchange, s.packetId)?.verdict, 'routed', `${s.documentId} routed`);
  await waitFor('A sees every document arrive', () => sent.every((s) => stageAt(a, s.documentId, B) === '01'));
  // The hub marks a row published once the broker confirms it, which can be after B has the
  // packet: wait for the marks rather than read them the moment B's inbox is complete.
  const unpublished = () => (exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM outbound WHERE published_at IS NULL').get() as { n: number }).n;
  await waitFor('the hub to have published everything it decided', () => unpublished() === 0, { describe: unpublished });
  t.pass('the hub published everything it decided');
  t.equal(deadLetters(), 0, 'still nothing dead-lettered');
});

t.test('one recipient’s queue full: the others get the document at once and once, the full one after its drain', async (t) => {
  const retries: number[] = [];
  const log = pino({ level: 'debug' }, new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { msg?: string; attempt?: number };
      if (line.msg === 'recipient queue still full; trying again' && typeof line.attempt === 'number') retries.push(line.attempt);
      done();
    },
  }));
  const { exchange, received, startEdge } = await openExchange(t, [agency(A), agency(B), agency(C, { start: false })], {
    hubConfig: { quotas: { agencyLaneBytes: 1 } },
    log,
  });
  const a = exchange.edge(A);
  const first = await a.outbox.submitDocument(letter([C], 'F1'), 'test');
  await waitFor('C’s queue full', async () => (await agencyQueueDepth(exchange.api, exchange.prefix, C)) >= 1);
  const both = await a.outbox.submitDocument(letter([B, C], 'F2'), 'test');
  await waitFor('the document in B’s inbox while C’s queue is full', () => inboxOf(exchange.edge(B)).documentIds.includes(both.documentId));
  const outbound = () => exchange.hub.db.prepare('SELECT target, published_at FROM outbound WHERE cause = ? ORDER BY target').all(both.packetId) as Array<{ target: string; published_at: string | null }>;
  t.match(outbound(), [{ target: B, published_at: String }, { target: C, published_at: null }], 'B’s copy is marked published, C’s waits');

  // Let the hub try C's full queue again a few times: none of those tries may publish B's copy.
  await waitFor('the hub to retry C’s full queue twice', () => retries.length >= 2);
  const c = await startEdge(C);
  await waitFor('both documents in C’s inbox', () => inboxOf(c).total === 2);
  t.same(inboxOf(c).documentIds.sort(), [first.documentId, both.documentId].sort());
  await waitFor('C’s copy marked published', () => outbound().every((r) => r.published_at !== null));
  t.match(outbound(), [{ target: B, published_at: String }, { target: C, published_at: String }]);
  // A barrier instead of a pause: any second copy for B was published before C's was, so it is
  // ahead of a later document in B's (first-in, first-out) lane.
  const barrier = await a.outbox.submitDocument(letter([B], 'F3'), 'test');
  await waitFor('the later document in B’s inbox', () => inboxOf(exchange.edge(B)).documentIds.includes(barrier.documentId));
  t.same((received.get(B) ?? []).filter((e) => e.type === 'dropped'), [], 'B never received it twice');
  t.equal((received.get(B) ?? []).filter((e) => e.type === 'document').length, 2, 'B received F2 once, and the later F3');
  t.equal((exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n, 0);
});

t.test("an agency's broker user: connection and channel limits, enforced by RabbitMQ", async (t) => {
  const { exchange } = await openExchange(t, [agency(A, { start: false })], { hubConfig: { quotas: { maxConnections: 2, maxChannels: 3 } } });
  const user = exchange.names.agencyUser(A);
  t.same(await exchange.api.getUserLimits(user), { 'max-connections': 2, 'max-channels': 3 }, 'set at agency add');
  const url = exchange.edgeConfigs.get(A)?.amqpUrl as string;
  const open: amqp.ChannelModel[] = [];
  t.teardown(async () => {
    for (const c of open) await c.close().catch(() => {});
  });
  for (let i = 0; i < 2; i += 1) {
    const connection = await amqp.connect(url);
    connection.on('error', () => {});
    open.push(connection);
  }
  const third = await amqp.connect(url).then(
    async (c) => {
      open.push(c);
      return undefined;
    },
    (error: Error) => error,
  );
  // amqplib reports the broker's connection.close without its text ("user connection limit reached").
  t.match(third?.message, /ConnectionClose|NOT_ALLOWED|limit/, 'the third connection is refused by the broker');
  const dropped = open.pop() as amqp.ChannelModel;
  await dropped.close();
  const replacement = await amqp.connect(url);
  replacement.on('error', () => {});
  open.push(replacement);
  t.pass('with one closed, a connection opens again: it was the limit that refused the third');

  const channels = [];
  const [first, second] = open as [amqp.ChannelModel, amqp.ChannelModel];
  second.on('error', () => {});
  channels.push(await first.createChannel(), await first.createChannel(), await second.createChannel());
  const fourth = await second.createChannel().then(
    () => undefined,
    (error: Error) => error,
  );
  t.ok(fourth, `a fourth channel, over both connections, is refused (${fourth?.message ?? 'accepted'})`);

  // The default leaves room for an edge: one connection, a publisher and a consumer per lane.
  const { exchange: defaults } = await openExchange(t, [agency(A), agency(B)]);
  t.same(await defaults.api.getUserLimits(defaults.names.agencyUser(A)), { 'max-connections': 5, 'max-channels': 20 }, 'defaults');
  const sent = await defaults.edge(A).outbox.submitDocument(letter([B], 'L1'), 'test');
  await waitFor('the document in B’s inbox under the default limits', () => inboxOf(defaults.edge(B)).documentIds.includes(sent.documentId));
});

t.test('retention: the bytes of old refused packets and dead letters go, rows, hashes and audit stay', async (t) => {
  const { exchange, routed } = await openExchange(t, [agency(A, { start: false }), agency(B)], { hubConfig: { retention: { refusedDays: 30 } } });
  const blobsDir = join(exchange.hubConfig.dataDir, 'blobs');
  // Blobs are files, or rows of the hub's database up to DATABASE_BLOB_MAX (these junk packets are that size).
  const storedBytes = (): number => directoryBytes(blobsDir) + (exchange.hub.db.prepare('SELECT coalesce(sum(length(content)), 0) FROM blobs').pluck().get() as number);
  const held = (hash: string): boolean => existsSync(join(blobsDir, hash.slice(0, 2), hash)) || exchange.hub.db.prepare('SELECT 1 FROM blobs WHERE sha256 = ?').get(hash) !== undefined;
  const before = storedBytes();

  // The attack: random bytes, refused (bounced: they name a document) or dead-lettered (they do not).
  const junk: string[] = [];
  for (let i = 0; i < 4; i += 1) {
    const packetId = randomUUID();
    junk.push(packetId);
    await publishAs(t, exchange, A, randomBytes(256 * 1024), {
      packetId,
      type: 'edoc',
      from: A,
      to: [B],
      priority: '0',
      documentId: i < 3 ? `${A},2026/11/30,${i}/JUNK` : '',
    });
  }
  // A document routed, then the same bytes again under another packet id: refused as a
  // duplicate, its blob is the routed packet's and must survive.
  const packet = documentPacket(A, [B], 'R1');
  const signed = await signAs(packet, A);
  const documentId = packet.kind === 'document' ? packet.documentId : '';
  const routedId = randomUUID();
  const duplicateId = randomUUID();
  for (const packetId of [routedId, duplicateId]) {
    await publishAs(t, exchange, A, signed, { packetId, type: 'edoc', from: A, to: [B], priority: '0', documentId });
    await waitFor('the hub’s decision', () => routed.find((o) => o.packetId === packetId));
  }
  for (const packetId of junk) await waitFor('the hub’s decision on junk', () => routed.find((o) => o.packetId === packetId));
  await waitFor('the dead letter collected', () => exchange.hub.deadLetters.list().total === 1);
  t.equal(hubPacket(exchange, duplicateId)?.error_code, 'DOCUMENT_DUPLICATE');
  const grown = storedBytes() - before;
  t.ok(grown >= 4 * 256 * 1024, `the junk was stored: the blob store grew by ${grown} bytes`);

  const row = (id: string) => exchange.hub.db.prepare('SELECT blob, sha256, size, verdict FROM packets WHERE packet_id = ?').get(id) as { blob: string | null; sha256: string; size: number; verdict: string };

  // Within the period nothing is touched.
  const early = await exchange.hub.prune(new Date(Date.now() + 29 * DAY_MS));
  t.same(early, { packets: 0, deadLetters: 0, discarded: 0, blobsDeleted: 0, bytesDeleted: 0 }, 'nothing is younger than 30 days old… nothing goes');

  const auditBefore = (exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  const result = await exchange.hub.prune(new Date(Date.now() + 31 * DAY_MS));
  t.equal(result.packets, 5, 'four junk packets and the duplicate released');
  t.equal(result.discarded, 1, 'the pending dead letter was discarded first');
  t.equal(result.deadLetters, 1, 'and its bytes released');
  t.equal(result.blobsDeleted, 4, 'four junk blobs deleted (the dead letter shared one with its refused packet)');
  t.equal(result.bytesDeleted, 4 * 256 * 1024);
  for (const id of junk) {
    const r = row(id);
    t.equal(r.verdict, 'refused', 'the row stays');
    t.equal(r.blob, null, 'without its bytes');
    t.match(r.sha256, /^[0-9a-f]{64}$/, 'with its hash');
    t.equal(r.size, 256 * 1024, 'and its size');
    t.notOk(held(r.sha256), 'the bytes are gone');
  }
  t.equal(row(duplicateId).blob, null, 'the duplicate’s reference is released…');
  t.ok(held(row(routedId).sha256), '…but the routed packet’s bytes, the same hash, stay');
  t.equal(row(routedId).blob, row(routedId).sha256);
  const dead = exchange.hub.deadLetters.list().items[0];
  t.equal(dead?.status, 'discarded');
  t.equal(dead?.resolvedBy, 'hub:retention');

  const audit = exchange.hub.db.prepare("SELECT subject, details FROM audit WHERE action = 'blob.pruned' ORDER BY seq").all() as Array<{ subject: string; details: string }>;
  t.equal(audit.length, 6, 'one audit row per released row');
  const junkAudit = audit.find((a) => a.subject === junk[0]);
  t.match(JSON.parse(junkAudit?.details ?? '{}'), { sha256: row(junk[0] as string).sha256, size: 256 * 1024, retentionDays: 30 });
  t.match(JSON.parse(audit.find((a) => a.subject === duplicateId)?.details ?? '{}'), { stillReferenced: true });
  t.ok((exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n > auditBefore);
  t.same(verifyAuditChain(exchange.hub.db), { ok: true, rows: (exchange.hub.db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n }, 'the audit chain holds');
  t.ok(storedBytes() - before < 64 * 1024, `the blob store is back near its size (${storedBytes() - before} bytes above)`);

  const again = await exchange.hub.prune(new Date(Date.now() + 31 * DAY_MS));
  t.same(again, { packets: 0, deadLetters: 0, discarded: 0, blobsDeleted: 0, bytesDeleted: 0 }, 'a second run finds nothing');
});

t.test('over its packets per minute, an agency is bounced with RATE_LIMITED before verification', async (t) => {
  const { exchange, routed } = await openExchange(t, [agency(A), agency(B)], { hubConfig: { quotas: { packetsPerMinute: 3 } } });
  const a = exchange.edge(A);
  const sent: Submitted[] = [];
  for (let n = 1; n <= 6; n += 1) sent.push(await a.outbox.submitDocument(letter([B], `RL${n}`), 'test'));
  const outcomes = await waitFor('six decisions', () => {
    const mine = sent.map((s) => routed.find((o) => o.packetId === s.packetId));
    return mine.every(Boolean) ? mine : undefined;
  });
  const verdicts = outcomes.map((o) => `${o?.verdict}${o?.errorCode ? `:${o.errorCode}` : ''}`);
  t.equal(verdicts.filter((v) => v === 'routed').length, 3, `three routed (${verdicts.join(', ')})`);
  t.equal(verdicts.filter((v) => v === 'refused:RATE_LIMITED').length, 3, 'three bounced as rate-limited');
  const limited = sent.filter((_, i) => outcomes[i]?.errorCode === 'RATE_LIMITED');
  for (const s of limited) {
    const p = exchange.hub.db.prepare('SELECT blob, verification, error_message FROM packets WHERE packet_id = ?').get(s.packetId) as { blob: string | null; verification: string | null; error_message: string };
    t.equal(p.blob, null, 'its bytes are not kept');
    t.equal(p.verification, null, 'it was not verified');
    t.match(p.error_message, /more than 3 packets in a minute/);
    await waitFor(`A learns ${s.documentId} bounced`, () => stageAt(a, s.documentId, B) === 'bounced');
  }
  await waitFor('the three within the rate in B’s inbox', () => inboxOf(exchange.edge(B)).total === 3);
  // Every decision is made and only routed packets are published to B: its inbox is final.
  const within = sent.filter((_, i) => outcomes[i]?.verdict === 'routed').map((s) => s.documentId);
  t.same(inboxOf(exchange.edge(B)).documentIds.sort(), within.sort(), 'B received the three within the rate, no more');
});
