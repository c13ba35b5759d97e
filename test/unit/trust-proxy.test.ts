/**
 * Whose X-Forwarded-For names the client (issue 9): the dashboard counts failed logins per
 * client address, so believing the header from any client would let one guesser pick a fresh
 * "address" per try. `dashboard.trustProxy` (hub.json) and `api.trustProxy` (edge.json) say
 * which proxies to believe; by default none. With app.inject (remote address 127.0.0.1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { resourceNames } from '../../src/broker/names.js';
import type { TrustProxy } from '../../src/config.js';
import { createDashboard } from '../../src/dashboard/server.js';
import { devPath, devTrust } from '../../src/demo/local-exchange.js';
import { hubConfigFrom } from '../../src/hub/config.js';
import type { DeadLetters } from '../../src/hub/dead-letters.js';
import { addUser } from '../../src/hub/users.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { apiKeyFromCli, openedEdge } from '../helpers/edge-api.js';

const A = '000.00.01.H12';

async function dashboard(t: Test, trustProxy?: TrustProxy): Promise<FastifyInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-trust-proxy-'));
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  t.teardown(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  addUser(db, { name: 'alice', role: 'operator', password: 'operator-password-1' }, 'cli:test', new Date());
  const app = createDashboard({
    db,
    names: resourceNames('lt'),
    hub: { organId: '000.00.90.H12', organName: 'hub', calendar: {}, urgentReceiptMinutes: 30 },
    settings: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false, ...(trustProxy !== undefined ? { trustProxy } : {}) },
    queues: { listQueues: async () => [] },
    deadLetters: () => ({}) as unknown as DeadLetters,
    log: silentLogger(),
  });
  t.teardown(() => app.close());
  await app.ready();
  return app;
}

/** A failed login (another user name each time, so only the per-address limit can stop it). */
async function failedLogin(app: FastifyInstance, n: number, forwardedFor?: string): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: JSON.stringify({ name: `guess-${n}`, password: 'wrong-password' }),
  });
  return response.statusCode;
}

t.test('dashboard, default: a forged X-Forwarded-For does not escape the per-address login limit', async (t) => {
  const app = await dashboard(t);
  const answers: number[] = [];
  for (let i = 0; i < 12; i++) answers.push(await failedLogin(app, i, `198.51.100.${i + 1}`));
  t.same(answers.slice(0, 10), Array(10).fill(401), 'ten failures counted against the real client address');
  t.same(answers.slice(10), [429, 429], 'then refused, whatever address the header claims');
});

t.test('dashboard behind a named proxy: its X-Forwarded-For names the client; any other sender is not believed', async (t) => {
  const behind = await dashboard(t, '127.0.0.1');
  for (let i = 0; i < 10; i++) t.equal(await failedLogin(behind, i, '203.0.113.7'), 401);
  t.equal(await failedLogin(behind, 10, '203.0.113.7'), 429, 'the client the proxy named is limited');
  t.equal(await failedLogin(behind, 11, '203.0.113.8'), 401, 'another client behind the same proxy is not');

  const otherProxy = await dashboard(t, '10.0.0.5');
  for (let i = 0; i < 10; i++) await failedLogin(otherProxy, i, `198.51.100.${i + 1}`);
  t.equal(await failedLogin(otherProxy, 10, '198.51.100.99'), 429, 'a request not from the named proxy: the header is ignored');
});

t.test('hub.json dashboard.trustProxy: false by default, validated', async (t) => {
  const base = { organId: '000.00.90.H12', identity: { key: 'k', cert: 'c' }, trust: { anchors: ['r'] } };
  t.equal(hubConfigFrom({ ...base, dashboard: {} }, '/', 'hub.json', {}).dashboard?.trustProxy, false);
  t.same(hubConfigFrom({ ...base, dashboard: { trustProxy: ['127.0.0.1', '::1'] } }, '/', 'hub.json', {}).dashboard?.trustProxy, ['127.0.0.1', '::1']);
  for (const bad of [0, '', [], [1], { ip: 'x' }]) {
    t.throws(() => hubConfigFrom({ ...base, dashboard: { trustProxy: bad } }, '/', 'hub.json', {}), { code: 'CONFIG_INVALID', message: /dashboard\.trustProxy/ }, JSON.stringify(bad));
  }
});

t.test("edge REST API: the client address is the TCP peer unless api.trustProxy names the proxy", async (t) => {
  const edge = await openedEdge(t, A, { identity: { key: devPath('agencies', `${A}.key.pem`), cert: devPath('agencies', `${A}.pem`), chain: devPath('issuing-ca.pem') }, trust: devTrust() });
  const { key, entry } = await apiKeyFromCli('trust-proxy-test');
  const seen = async (trustProxy: TrustProxy | undefined): Promise<string> => {
    const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [entry], bodyLimit: 1024 * 1024, ...(trustProxy !== undefined ? { trustProxy } : {}) }, { log: silentLogger() });
    let ip = '';
    app.addHook('onRequest', async (request) => {
      ip = request.ip;
    });
    t.teardown(() => app.close());
    await app.ready();
    const response = await app.inject({ url: '/api/v1/outbox', headers: { 'x-api-key': key, 'x-forwarded-for': '198.51.100.23' } });
    t.equal(response.statusCode, 200);
    return ip;
  };
  t.equal(await seen(undefined), '127.0.0.1', 'default: the header is ignored');
  t.equal(await seen('127.0.0.1'), '198.51.100.23', 'from the named proxy: the forwarded client');
  t.equal(await seen('10.0.0.5'), '127.0.0.1', 'from anyone else: ignored');
});
