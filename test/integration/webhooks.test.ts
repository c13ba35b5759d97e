/**
 * Webhooks out, end to end with a real hub, two edges on the real RabbitMQ and a local HTTP
 * receiver: Văn phòng UBND tỉnh (A) sends to Sở Tài chính (B); B's edge POSTs each new document
 * to B's receiver and A's edge POSTs B's statuses to A's, each signed with its own secret.
 * Then what a receiver's trouble does: a 500 is retried; an edge stopped with a delivery pending
 * (one call hanging) stops at once and delivers it after the restart under the same event id; a
 * receiver down past the give-up time leaves the delivery failed, visible in the REST API, the
 * CLI and /metrics, until a replay delivers it. A captured call replayed later is refused.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import type { WebhookPayload } from '../../src/adapters/webhooks/events.js';
import { WebhookDispatcher } from '../../src/adapters/webhooks/dispatcher.js';
import { verifyWebhookSignature } from '../../src/adapters/webhooks/signature.js';
import { lienthongInProcess } from '../helpers/cli-in-process.js';
import type { EdgeConfig } from '../../src/edge/config.js';
import type { Edge } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/log.js';
import { A, B, agency, letter, openExchange, waitFor } from '../helpers/exchange.js';
import { freePort } from '../helpers/processes.js';

/** The edge's running webhook dispatcher (every edge of the exchange runs the adapters). */
function dispatcher(edge: Edge): WebhookDispatcher {
  const found = edge.adapter(WebhookDispatcher);
  if (!found) throw new Error('the edge runs no webhook dispatcher');
  return found;
}

const SECRET_A = 'secret-of-van-phong-0123456789';
const SECRET_B = 'secret-of-so-tai-chinh-0123456789';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  payload: WebhookPayload;
  answered: number | 'hang';
}

/** The agencies' document systems: records every call and answers as `answer` says at that moment. */
async function receiver(t: Test) {
  const calls: Received[] = [];
  const hanging: ServerResponse[] = [];
  const state = { answer: (_path: string, _payload: WebhookPayload): number | 'hang' => 200 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = request.url ?? '';
      const payload = JSON.parse(raw.toString('utf8')) as WebhookPayload;
      const answered = state.answer(path, payload);
      calls.push({ path, headers: request.headers, raw, payload, answered });
      if (answered === 'hang') hanging.push(response);
      else response.writeHead(answered).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${port}`, calls, state };
}

const cli = lienthongInProcess;

t.test('webhooks: signed events, retries, a restart, give-up, replay', async (t) => {
  const hooks = await receiver(t);
  const retry = { firstDelaySeconds: 0.2, maxDelaySeconds: 0.5, giveUpAfterSeconds: 120 };
  const apiPort: Record<string, number> = { [A]: await freePort(), [B]: await freePort() };
  const { key, entry } = newApiKey('qlvb');
  const edgeConfig = (organId: string, path: string, secret: string): Partial<EdgeConfig> => ({
    api: { host: '127.0.0.1', port: apiPort[organId] as number, keys: [entry], bodyLimit: 8 * 1024 * 1024, publicUrl: `http://127.0.0.1:${apiPort[organId]}` },
    webhooks: [{ url: `${hooks.url}${path}`, events: ['document.received', 'status.changed'], secret, timeoutMs: 60_000 }],
    webhookRetry: retry,
  });
  const observed = await openExchange(t, [agency(A, { config: edgeConfig(A, '/a', SECRET_A) }), agency(B, { config: edgeConfig(B, '/b', SECRET_B) })]);
  const { exchange } = observed;
  const apps: FastifyInstance[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close().catch(() => {});
  });
  const serve = async (edge: Edge): Promise<void> => {
    const config = edge.config.api as NonNullable<EdgeConfig['api']>;
    const app = createEdgeApi(edge, config, { log: silentLogger(), rateLimit: false });
    apps.push(app);
    await app.listen({ host: config.host, port: config.port });
  };
  await serve(exchange.edge(A));
  await serve(exchange.edge(B));
  const api = (organId: string, path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${apiPort[organId]}${path}`, { ...init, headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) } });

  const callsFor = (path: string, type: string, documentId: string) => hooks.calls.filter((c) => c.path === path && c.payload.type === type && c.payload.data.documentId === documentId);
  /** An answer for B's document.received of letter number `n`; 200 for everything else. */
  const forReceipt = (n: number, answer: () => number | 'hang') => (path: string, payload: WebhookPayload) =>
    path === '/b' && payload.type === 'document.received' && payload.data.subject === letter([B], n).subject ? answer() : 200;
  const verified = (c: Received, secret: string) => verifyWebhookSignature(secret, c.headers['lienthong-signature'] as string, c.raw);

  await t.test('document.received and status.changed arrive signed, with links that work', async (t) => {
    const sent = await exchange.edge(A).outbox.submitDocument(letter([B], 1), 'test');
    const [received] = await waitFor('document.received at B', () => {
      const calls = callsFor('/b', 'document.received', sent.documentId);
      return calls.length ? calls : undefined;
    });
    const call = received as Received;
    t.same(verified(call, SECRET_B).ok, true, "the call verifies with B's secret");
    t.equal(verified(call, SECRET_A).ok, false, "and not with A's");
    t.equal(call.headers['lienthong-event-id'], call.payload.id, 'Lienthong-Event-Id is the payload id');
    t.equal(call.headers['lienthong-event-type'], 'document.received');
    t.equal(call.headers['content-type'], 'application/json');
    t.match(call.payload.id, new RegExp(`^evt_${B.replaceAll('.', '\\.')}_\\d+$`), 'evt_<organId>_<n>');
    t.match(call.payload, { type: 'document.received', organId: B, data: { documentId: sent.documentId, packetId: sent.packetId, sender: A, direction: 'in', subject: letter([B], 1).subject } });
    t.equal(call.payload.links.attachments.length, 1, 'a link per attachment');
    const packet = await api(B, new URL(call.payload.links.packet).pathname.replace(/^/, ''));
    t.equal(packet.status, 200, 'the packet link answers');
    t.match(await packet.text(), /<.*Signature/s, 'with the signed packet');
    const file = await fetch(call.payload.links.attachments[0]!.url, { headers: { 'x-api-key': key } });
    t.same(Buffer.from(await file.arrayBuffer()), letter([B], 1).attachments?.[0]?.content, 'the attachment link gives the file byte for byte');
    const document = await fetch(call.payload.links.document, { headers: { 'x-api-key': key } });
    t.equal(((await document.json()) as { documentId: string }).documentId, sent.documentId, 'the document link gives the document');

    const accepted = await api(B, `/api/v1/documents/${encodeURIComponent(sent.documentId)}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: '03' }) });
    t.equal(accepted.status, 202, "B's clerk accepts (03)");
    const [status] = await waitFor('status.changed 03 at A', () => {
      const calls = callsFor('/a', 'status.changed', sent.documentId).filter((c) => c.payload.data.status?.code === '03');
      return calls.length ? calls : undefined;
    });
    t.ok(verified(status as Received, SECRET_A).ok, "A's call verifies with A's secret");
    t.match((status as Received).payload.data, { direction: 'out', recipient: B, status: { code: '03', stage: '03', previousStage: '01', recall: 'none' } }, 'A learns that B accepted');
    t.ok(callsFor('/a', 'status.changed', sent.documentId).some((c) => c.payload.data.status?.code === '01'), "A's 01 from B came too");
    // B's own 03 goes to B's receiver on B's dispatcher tick, not before A's arrives: waited for.
    t.ok(await waitFor("B's own 03 at B", () => callsFor('/b', 'status.changed', sent.documentId).some((c) => c.payload.data.status?.code === '03') || undefined), "B's own 03 is a status change at B");
  });

  await t.test('a receiver answering 500 gets the same event again until it takes it', async (t) => {
    let refusals = 0;
    hooks.state.answer = forReceipt(2, () => (refusals++ < 2 ? 500 : 200));
    const sent = await exchange.edge(A).outbox.submitDocument(letter([B], 2), 'test');
    const calls = await waitFor('a 2xx after two 500s', () => {
      const c = callsFor('/b', 'document.received', sent.documentId);
      return c.some((x) => x.answered === 200) ? c : undefined;
    });
    t.same(calls.map((c) => c.answered), [500, 500, 200], 'two refusals, then taken');
    t.equal(new Set(calls.map((c) => c.payload.id)).size, 1, 'the same event id every time');
    t.equal(new Set(calls.map((c) => c.raw.toString('base64'))).size, 1, 'the same body every time');
    t.ok(calls.every((c) => verified(c, SECRET_B).ok), 'each try signed afresh, each verifies');
    const listed = (await (await api(B, '/api/v1/webhooks/deliveries?state=delivered')).json()) as { items: Array<{ eventId: string; attempts: number; lastStatus: number }> };
    t.match(listed.items.find((d) => d.eventId === calls[0]!.payload.id), { attempts: 3, lastStatus: 200 }, 'the REST list shows three attempts');
  });

  let pendingEventId = '';
  await t.test('an edge stopped with a delivery pending stops at once and delivers it after the restart', async (t) => {
    hooks.state.answer = forReceipt(3, () => 500);
    const sent = await exchange.edge(A).outbox.submitDocument(letter([B], 3), 'test');
    await waitFor('a refused try', () => callsFor('/b', 'document.received', sent.documentId).length >= 1);
    hooks.state.answer = forReceipt(3, () => 'hang');
    await waitFor('a try hanging', () => callsFor('/b', 'document.received', sent.documentId).some((c) => c.answered === 'hang'));
    pendingEventId = callsFor('/b', 'document.received', sent.documentId)[0]!.payload.id;
    const b = exchange.edge(B);
    t.equal(dispatcher(b).store.list({ state: 'pending' }).find((d) => d.eventId === pendingEventId)?.state, 'pending', 'pending when the edge stops');
    await apps.pop()?.close();
    const stopping = Date.now();
    await b.stop();
    // The receiver would be given up after 60 s: a stop well under that did not wait for it, however loaded the machine.
    t.ok(Date.now() - stopping < 30_000, `the stop did not wait for the hanging receiver (${Date.now() - stopping} ms)`);
    const before = callsFor('/b', 'document.received', sent.documentId).length;

    hooks.state.answer = () => 200;
    // The same edge.json, but deliveries made from now on give up after 2 s (for the next test).
    exchange.edgeConfigs.set(B, { ...(exchange.edgeConfigs.get(B) as EdgeConfig), webhookRetry: { ...retry, giveUpAfterSeconds: 2 } });
    const restarted = await observed.startEdge(B);
    await serve(restarted);
    const after = await waitFor('the delivery after the restart', () => callsFor('/b', 'document.received', sent.documentId).slice(before).find((c) => c.answered === 200));
    t.equal(after.payload.id, pendingEventId, 'the same event id after the restart');
    t.ok(verified(after, SECRET_B).ok);
    t.equal(dispatcher(restarted).store.list({ state: 'delivered' }).find((d) => d.eventId === pendingEventId)?.state, 'delivered');
  });

  await t.test('a receiver down past the give-up time: failed, visible, then replayed', async (t) => {
    hooks.state.answer = forReceipt(4, () => 503);
    const sent = await exchange.edge(A).outbox.submitDocument(letter([B], 4), 'test');
    const b = exchange.edge(B);
    const failed = await waitFor('the delivery given up', () => dispatcher(b).store.list({ state: 'failed' }).find((d) => d.type === 'document.received'));
    const call = callsFor('/b', 'document.received', sent.documentId)[0] as Received;
    t.equal(failed.eventId, call.payload.id);
    t.ok(failed.attempts >= 2, `tried ${failed.attempts} times before giving up`);
    t.match(failed, { lastStatus: 503, lastError: 'the receiver answered HTTP 503', nextAttemptAt: null });

    const listed = (await (await api(B, '/api/v1/webhooks/deliveries?state=failed')).json()) as { counts: { failed: number }; items: Array<{ id: number }> };
    t.same(listed.items.map((d) => d.id), [failed.id], 'REST: GET /webhooks/deliveries?state=failed lists it');
    t.ok(listed.counts.failed >= 1);
    t.equal((await api(B, '/api/v1/webhooks/deliveries?state=lost')).status, 400, 'an unknown state: 400');
    t.equal((await fetch(`http://127.0.0.1:${apiPort[B]}/api/v1/webhooks/deliveries`)).status, 401, 'no key: 401');

    const configFile = join(exchange.dir, 'edge-b.json');
    const config = exchange.edgeConfigs.get(B) as EdgeConfig;
    writeFileSync(
      configFile,
      JSON.stringify({ organId: B, hubOrganId: config.hubOrganId, amqpUrl: config.amqpUrl, prefix: config.prefix, dataDir: config.dataDir, identity: config.identity, trust: config.trust, webhookRetry: config.webhookRetry }),
    );
    const list = await cli('webhooks', 'list', '--config', configFile, '--state', 'failed');
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, new RegExp(`^\\s*${failed.id}\\s+failed\\s+document\\.received\\s+${failed.eventId.replaceAll('.', '\\.')}\\s`, 'm'), 'CLI: webhooks list --state failed shows it');
    t.match(list.stdout, /the receiver answered HTTP 503/, 'with the last error');
    const json = JSON.parse((await cli('webhooks', 'list', '--config', configFile, '--state', 'failed', '--json')).stdout) as { items: Array<{ id: number }> };
    t.same(json.items.map((d) => d.id), [failed.id], 'CLI --json: the same as the REST list');

    const metrics = await (await api(B, '/metrics')).text();
    t.match(metrics, /^lt_webhook_deliveries\{state="failed"\} 1$/m, '/metrics: one failed delivery');
    t.match(metrics, /^lt_webhook_attempts_total\{outcome="failed"\} [1-9]\d*$/m, '/metrics: failed attempts counted');
    t.match(metrics, /^lt_webhook_attempts_total\{outcome="delivered"\} [1-9]\d*$/m, '/metrics: delivered attempts counted');
    t.equal((await fetch(`http://127.0.0.1:${apiPort[B]}/metrics`)).status, 401, '/metrics needs the key');

    hooks.state.answer = () => 200;
    const replay = await api(B, `/api/v1/webhooks/deliveries/${failed.id}/replay`, { method: 'POST' });
    t.equal(replay.status, 202, 'REST replay: 202');
    t.match(await replay.json(), { id: failed.id, state: 'pending' });
    const delivered = await waitFor('the replayed delivery taken', () => callsFor('/b', 'document.received', sent.documentId).find((c) => c.answered === 200));
    t.equal(delivered.payload.id, failed.eventId, 'the same event id');
    t.ok(verified(delivered, SECRET_B).ok);
    await waitFor('delivered in the store', () => dispatcher(b).store.get(failed.id)?.state === 'delivered');
    t.match(await (await api(B, '/metrics')).text(), /^lt_webhook_deliveries\{state="failed"\} 0$/m, '/metrics: none failed any more');
    t.equal((await api(B, '/api/v1/webhooks/deliveries/999999/replay', { method: 'POST' })).status, 404, 'an unknown delivery: 404');

    const before = callsFor('/b', 'document.received', sent.documentId).length;
    const again = await cli('webhooks', 'replay', String(failed.id), '--config', configFile);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /is pending again/);
    const resent = await waitFor('the CLI replay sent by the running edge', () => callsFor('/b', 'document.received', sent.documentId).slice(before)[0]);
    t.equal(resent.payload.id, failed.eventId, 'CLI replay of a delivered one: the same event once more, for a receiver that lost it');
    t.equal((await cli('webhooks', 'replay', '999999', '--config', configFile)).code, 1, 'CLI: an unknown delivery fails');
  });

  await t.test('a captured call replayed later is refused by verifyWebhookSignature', async (t) => {
    const call = hooks.calls.find((c) => c.payload.id === pendingEventId) as Received;
    const header = call.headers['lienthong-signature'] as string;
    const signedAt = Number(/t=(\d+)/.exec(header)?.[1]) * 1000;
    t.ok(verifyWebhookSignature(SECRET_B, header, call.raw, { now: new Date(signedAt + 60_000) }).ok, 'a minute later: accepted');
    t.match(verifyWebhookSignature(SECRET_B, header, call.raw, { now: new Date(signedAt + 301_000) }), { ok: false, reason: 'outside-window' }, 'past 5 minutes: refused');
  });
});
