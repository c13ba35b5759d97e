/**
 * Webhooks, the pure parts: the signature and its replay window, the retry schedule, the
 * settings of edge.json and what each refusal says, and which timeline entries are events.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_WEBHOOK_RETRY, publicUrlSetting, webhookRetrySettings, webhookSettings } from '../../src/edge/webhook-settings.js';
import { stateBefore, webhookEventOf, type TimelineRow } from '../../src/adapters/webhooks/events.js';
import { afterFailure, retryDelaySeconds } from '../../src/adapters/webhooks/retry.js';
import { signWebhook, verifyWebhookSignature } from '../../src/adapters/webhooks/signature.js';
import { WebhookStore } from '../../src/adapters/webhooks/store.js';
import { openDatabase } from '../../src/store/db.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';
import { edgeConfigFrom } from '../../src/edge/config.js';
import type { DocumentRow } from '../../src/edge/records.js';

const SECRET = 'whsec-0123456789abcdef';
const body = JSON.stringify({ id: 'evt_000.00.05.H12_7', type: 'document.received', data: { subject: 'V/v thẩm định dự toán' } });
const at = new Date('2026-11-25T03:00:00Z');

t.test('the signature is HMAC-SHA256 over "<t>.<body>" and verifies within the window', async (t) => {
  const header = signWebhook(SECRET, body, at);
  const ts = Math.floor(at.getTime() / 1000);
  t.equal(header, `t=${ts},v1=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`, 'the documented recipe, computable by any receiver');
  t.same(verifyWebhookSignature(SECRET, header, body, { now: at }), { ok: true, timestamp: ts });
  t.ok(verifyWebhookSignature(SECRET, header, Buffer.from(body), { now: new Date(at.getTime() + 299_000) }).ok, 'bytes as received, 299 s later');
  t.ok(verifyWebhookSignature(SECRET, header, body, { now: new Date(at.getTime() - 299_000) }).ok, 'a receiver clock slightly behind');
  const twoSecrets = `${header},v1=${'0'.repeat(64)}`;
  t.ok(verifyWebhookSignature(SECRET, twoSecrets, body, { now: at }).ok, 'one of several v1 values matching is enough (secret rotation)');
});

t.test('outside the replay window, with another body or secret, or malformed: refused, saying why', async (t) => {
  const header = signWebhook(SECRET, body, at);
  const late = verifyWebhookSignature(SECRET, header, body, { now: new Date(at.getTime() + 301_000) });
  t.match(late, { ok: false, reason: 'outside-window', message: /301 s from now: outside the 300 s replay window/ }, 'a captured call replayed after 5 minutes');
  t.match(verifyWebhookSignature(SECRET, header, body, { now: new Date(at.getTime() - 301_000) }), { ok: false, reason: 'outside-window' }, 'from the future too');
  t.match(verifyWebhookSignature(SECRET, header, body, { now: new Date(at.getTime() + 61_000), toleranceSeconds: 60 }), { ok: false, reason: 'outside-window' }, 'a tighter window');
  t.match(verifyWebhookSignature(SECRET, header, body.replace('thẩm định', 'tham dinh'), { now: at }), { ok: false, reason: 'mismatch' }, 'a changed body');
  t.match(verifyWebhookSignature('another-secret-0123456789', header, body, { now: at }), { ok: false, reason: 'mismatch' }, 'another secret');
  const newT = header.replace(/^t=\d+/, `t=${Math.floor(at.getTime() / 1000) + 60}`);
  t.match(verifyWebhookSignature(SECRET, newT, body, { now: at }), { ok: false, reason: 'mismatch' }, 'a timestamp moved to pass the window breaks the signature');
  t.match(verifyWebhookSignature(SECRET, undefined, body, { now: at }), { ok: false, reason: 'missing' });
  for (const bad of ['v1=abc', `t=1,v1=${'z'.repeat(64)}`, 't=x,v1=00', 'garbage']) {
    t.match(verifyWebhookSignature(SECRET, bad, body, { now: at }), { ok: false, reason: 'malformed' }, `malformed: ${bad}`);
  }
});

t.test('retries back off exponentially from the first delay to the longest, with jitter, and give up on time', async (t) => {
  const retry = { firstDelaySeconds: 1, maxDelaySeconds: 600, giveUpAfterSeconds: 86_400 };
  const middle = () => 0.5; // no jitter
  t.same([1, 2, 3, 4, 5, 10, 11, 30].map((n) => retryDelaySeconds(n, retry, middle)), [1, 2, 4, 8, 16, 512, 600, 600], '1, 2, 4 … capped at 600');
  t.equal(retryDelaySeconds(1, retry, () => 0), 0.8, 'jitter: -20 %');
  t.equal(retryDelaySeconds(3, retry, () => 0.999999), 4 * (0.8 + 0.4 * 0.999999), 'jitter: +20 %');
  t.equal(retryDelaySeconds(12, retry, () => 1), 600, 'never above the longest delay');
  const now = new Date('2026-11-25T03:00:00Z');
  const giveUpAt = new Date(now.getTime() + 3000);
  t.same(afterFailure(1, now, giveUpAt, retry, middle), { state: 'pending', nextAttemptAt: new Date(now.getTime() + 1000) }, 'first failure: again in 1 s');
  t.same(afterFailure(3, now, giveUpAt, retry, middle), { state: 'pending', nextAttemptAt: giveUpAt }, 'a wait past the give-up time: one last try at it');
  t.same(afterFailure(4, giveUpAt, giveUpAt, retry, middle), { state: 'failed' }, 'failing at the give-up time: failed');
  t.same(DEFAULT_WEBHOOK_RETRY, { firstDelaySeconds: 1, maxDelaySeconds: 600, giveUpAfterSeconds: 86_400 }, 'defaults: 1 s, 10 min, a day');
});

t.test('edge.json: webhooks, webhookRetry and api.publicUrl are read and checked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-webhooks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hook.secret'), `${SECRET}\n`, { mode: 0o600 });
  const base = {
    organId: '000.00.05.H12',
    hubOrganId: '000.00.90.H12',
    amqpUrl: 'amqp://lt.agency.000.00.05.H12:pw@127.0.0.1:5672',
    identity: { key: 'k.pem', cert: 'c.pem' },
    trust: { anchors: ['r.pem'] },
  };
  const config = edgeConfigFrom(
    {
      ...base,
      api: { port: 8081, publicUrl: 'https://lienthong.stc.camau.gov.vn/' },
      webhooks: [
        { url: 'https://qlvb.stc.camau.gov.vn/hooks/lienthong', events: ['document.received'], secretFile: 'hook.secret', timeoutMs: 5000 },
        { url: 'http://127.0.0.1:9000/all', secret: SECRET },
      ],
      webhookRetry: { giveUpAfterSeconds: 3600 },
    },
    dir,
    'edge.json',
    {},
  );
  t.same(config.webhooks, [
    { url: 'https://qlvb.stc.camau.gov.vn/hooks/lienthong', events: ['document.received'], secret: SECRET, timeoutMs: 5000 },
    { url: 'http://127.0.0.1:9000/all', events: ['document.received', 'status.changed'], secret: SECRET, timeoutMs: 10_000 },
  ], 'the secret file read (its line break dropped); events default to all, timeout to 10 s');
  t.same(config.webhookRetry, { firstDelaySeconds: 1, maxDelaySeconds: 600, giveUpAfterSeconds: 3600 }, 'unset retry parts keep their defaults');
  t.equal(config.api?.publicUrl, 'https://lienthong.stc.camau.gov.vn', 'publicUrl without its trailing slash');
  t.same(edgeConfigFrom(base, dir, 'edge.json', {}).webhooks, [], 'none by default');

  const refused = (webhooks: unknown, message: RegExp, path: string) =>
    t.throws(() => webhookSettings(webhooks, 'edge.json', dir), { name: 'LtError', code: 'CONFIG_INVALID', message, context: { path } }, String(message));
  refused({ url: 'x' }, /"webhooks" must be an array/, 'webhooks');
  refused([{ secret: SECRET }], /"webhooks\[0\]\.url" is required/, 'webhooks[0].url');
  refused([{ url: 'ftp://x/y', secret: SECRET }], /must be an http:\/\/ or https:\/\/ URL, not ftp:/, 'webhooks[0].url');
  refused([{ url: 'https://u:p@x/y', secret: SECRET }], /must not carry a user name or password/, 'webhooks[0].url');
  refused([{ url: 'not a url', secret: SECRET }], /is not a URL/, 'webhooks[0].url');
  refused([{ url: 'https://x/y' }], /needs "secret" or "secretFile"/, 'webhooks[0]');
  refused([{ url: 'https://x/y', secret: 'short' }], /at least 16 characters/, 'webhooks[0].secret');
  refused([{ url: 'https://x/y', secret: SECRET, secretFile: 'hook.secret' }], /both "secret" and "secretFile"/, 'webhooks[0]');
  refused([{ url: 'https://x/y', secretFile: 'missing.secret' }], /missing\.secret, which cannot be read \(ENOENT\)/, 'webhooks[0].secretFile');
  refused([{ url: 'https://x/y', secret: SECRET, events: ['document.sent'] }], /one or more of "document\.received", "status\.changed"/, 'webhooks[0].events');
  refused([{ url: 'https://x/y', secret: SECRET, events: [] }], /one or more of/, 'webhooks[0].events');
  refused([{ url: 'https://x/y', secret: SECRET, timeoutMs: 5 }], /milliseconds from 100 to 300000/, 'webhooks[0].timeoutMs');
  refused([{ url: 'https://x/y', secret: SECRET, retries: 3 }], /"webhooks\[0\]\.retries" is not a webhook setting/, 'webhooks[0].retries');
  refused([{ url: 'https://x/y', secret: SECRET }, { url: 'https://x/y', secret: SECRET }], /repeats https:\/\/x\/y/, 'webhooks[1].url');

  const retryRefused = (value: unknown, message: RegExp, path: string) =>
    t.throws(() => webhookRetrySettings(value, 'edge.json'), { code: 'CONFIG_INVALID', message, context: { path } }, String(message));
  retryRefused({ firstDelaySeconds: 0 }, /"webhookRetry\.firstDelaySeconds" must be a positive number of seconds/, 'webhookRetry.firstDelaySeconds');
  retryRefused({ giveUpAfterSeconds: '1d' }, /must be a positive number/, 'webhookRetry.giveUpAfterSeconds');
  retryRefused({ firstDelaySeconds: 60, maxDelaySeconds: 10 }, /\(60\) must not exceed maxDelaySeconds \(10\)/, 'webhookRetry.firstDelaySeconds');
  retryRefused({ maxDelay: 10 }, /is not a retry setting/, 'webhookRetry.maxDelay');
  retryRefused([1], /must be an object/, 'webhookRetry');
  t.throws(() => publicUrlSetting('lienthong.gov.vn', 'edge.json'), { code: 'CONFIG_INVALID', message: /"api\.publicUrl" is not a URL/ });
  t.throws(() => publicUrlSetting('https://x/?a=1', 'edge.json'), { code: 'CONFIG_INVALID', message: /without query or fragment/ });
  t.throws(() => edgeConfigFrom({ ...base, webhooks: [{ url: 'https://x/y' }] }, dir, 'edge.json', {}), { code: 'CONFIG_INVALID', message: /^edge\.json: "webhooks\[0\]" needs/ }, 'edge.json names itself');
});

t.test('which timeline entries are events, and what their payload says', async (t) => {
  const context = { organId: '000.00.05.H12', publicBase: 'https://edge.example' };
  const incoming: DocumentRow = {
    documentId: '000.00.01.H12,2026/11/25,77/UBND-VP',
    direction: 'in',
    sender: '000.00.01.H12',
    packetId: 'b7f4a3a2-0000-4000-8000-000000000001',
    subject: 'V/v thẩm định dự toán',
    code: '77/UBND-VP',
    priority: '1',
    lane: 'urgent',
    bussinessType: '0',
    responseFor: null,
    blob: 'x',
    createdAt: '2026-11-25T03:00:00.000Z',
    verdict: 'accepted',
    errorCode: null,
    errorMessage: null,
    promulgationDate: null,
    dueDate: null,
    paper: false,
    relatedDocument: null,
    supersededBy: null,
    assignment: null,
  };
  const attachment = { documentId: incoming.documentId, contentId: 'cid:1', name: 'Kế hoạch.pdf', contentType: 'application/pdf', size: 10, sha256: 'ab'.repeat(32) };
  const row = (id: number, event: string, extra: Partial<TimelineRow> = {}): TimelineRow => ({
    id,
    documentId: incoming.documentId,
    recipient: '000.00.05.H12',
    event,
    packetId: `p-${id}`,
    description: null,
    at: '2026-11-25T03:00:00.000Z',
    ...extra,
  });
  const received = webhookEventOf(row(7, 'delivered'), incoming, [], [attachment], context);
  const encoded = encodeURIComponent(incoming.documentId);
  t.match(received, {
    id: 'evt_000.00.05.H12_7',
    type: 'document.received',
    organId: '000.00.05.H12',
    data: { documentId: incoming.documentId, packetId: incoming.packetId, sender: '000.00.01.H12', subject: incoming.subject, priority: '1', urgent: true, attachments: [{ contentId: 'cid:1', name: 'Kế hoạch.pdf' }] },
    links: {
      document: `https://edge.example/api/v1/documents/${encoded}`,
      packet: `https://edge.example/api/v1/documents/${encoded}/packet`,
      attachments: [{ contentId: 'cid:1', url: `https://edge.example/api/v1/documents/${encoded}/attachments/cid%3A1` }],
    },
  });
  t.notOk(received?.data.status, 'a receipt has no status part');
  t.equal(webhookEventOf(row(7, 'delivered'), { ...incoming, verdict: 'rejected' }, [], [], context), undefined, 'a refused document is not "received"');
  t.match(webhookEventOf(row(8, '01'), incoming, ['delivered'], [], context), { type: 'status.changed', data: { status: { code: '01', stage: '01', previousStage: 'delivered', recall: 'none', packetId: 'p-8' } } }, "this agency's 01");
  t.match(webhookEventOf(row(9, '13', { description: 'Sai số liệu' }), incoming, ['delivered', '01'], [], context), { data: { status: { code: '13', stage: '01', recall: 'requested', previousRecall: 'none', reason: 'Sai số liệu' } } }, 'a recall request');
  t.equal(webhookEventOf(row(9, '03'), incoming, ['delivered', '01', '03'], [], context), undefined, 'a repeated status changes nothing');
  t.equal(webhookEventOf(row(9, '06'), incoming, ['delivered', '01'], [], context), undefined, 'a status the state machine refused (06 before 03) changes nothing');
  t.equal(webhookEventOf(row(9, 'superseded'), incoming, ['delivered', '01'], [], context), undefined, 'notes are not events');
  const outgoing = { ...incoming, direction: 'out' as const, sender: '000.00.05.H12' };
  t.match(webhookEventOf(row(3, '03', { recipient: '000.00.01.H12' }), outgoing, ['sent', '01'], [], { ...context, publicBase: '' }), {
    type: 'status.changed',
    data: { direction: 'out', recipient: '000.00.01.H12', status: { code: '03', stage: '03', previousStage: '01' } },
    links: { document: `/api/v1/documents/${encoded}` },
  }, "a recipient's 03 on a document this agency sent; relative links without a base");
  t.equal(webhookEventOf(row(1, 'sent'), outgoing, [], [], context), undefined, 'sending is not a status change');
  t.same(stateBefore(['sent', 'delivered', '01', 'refused-by-hub', '03', '13', '15']), { stage: '03', recall: 'recalled' });
});

t.test('an upgraded edge starts its webhooks at the end of its timeline; the cursor moves with each batch', async (t) => {
  const path = join(t.testdir(), 'edge.sqlite');
  const old = openDatabase(path, EDGE_MIGRATIONS.filter((m) => m.version < 4));
  for (let i = 0; i < 3; i++) old.prepare("INSERT INTO events (document_id, recipient, event, at) VALUES ('d', 'r', '01', '2026-01-01T00:00:00Z')").run();
  old.close();
  const db = openDatabase(path, EDGE_MIGRATIONS);
  t.teardown(() => db.close());
  t.same(db.prepare('SELECT last_event_id FROM webhook_cursor').get(), { last_event_id: 3 }, 'migration 4: the history is not sent');
  const store = new WebhookStore(db);
  const webhooks = [{ url: 'http://127.0.0.1:1/h', events: ['document.received' as const, 'status.changed' as const], secret: SECRET, timeoutMs: 1000 }];
  const context = { organId: '000.00.05.H12', publicBase: '', now: new Date(), giveUpAfterSeconds: 60 };
  t.equal(store.collect(webhooks, context), 0, 'nothing new');
  db.prepare("INSERT INTO events (document_id, recipient, event, at) VALUES ('unknown', 'r', '03', '2026-01-01T00:00:00Z')").run();
  t.equal(store.collect(webhooks, context), 1, 'a new entry is read');
  t.same(db.prepare('SELECT last_event_id FROM webhook_cursor').get(), { last_event_id: 4 }, 'and the cursor passes it');
  t.same(store.list(), [], 'an entry about no known document makes no delivery');
  t.equal(store.collect(webhooks, context), 0, 'read once');
});
