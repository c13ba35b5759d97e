/**
 * Every log line names its component once, the most specific one: a part's logger (the hub's
 * dashboard, an edge's REST API, with Fastify's per-request children under it) replaces the
 * component of its parent instead of writing the key a second time. Checked on the raw lines:
 * JSON.parse would silently keep only the last of two keys.
 */
import t from 'tap';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { componentLogger } from '../../src/log.js';
import { captureLog } from '../helpers/log-capture.js';

function componentKeys(raw: string): number {
  return raw.match(/"component":/g)?.length ?? 0;
}

t.test('a component, its parts and their children: one component per line', async (t) => {
  const captured = captureLog('hub');
  const hub = captured.log;
  hub.info('hub line');
  hub.child({ organId: '000.00.90.H12' }).warn({ attempt: 1 }, 'child line');
  const dashboard = componentLogger(hub, 'dashboard');
  dashboard.info('dashboard line');
  dashboard.child({ reqId: 'req-1' }).info('request line');
  hub.info('hub again');
  t.same(
    captured.lines.map((l) => [l.msg, l.component]),
    [
      ['hub line', 'hub'],
      ['child line', 'hub'],
      ['dashboard line', 'dashboard'],
      ['request line', 'dashboard'],
      ['hub again', 'hub'],
    ],
  );
  for (const raw of captured.raw) t.equal(componentKeys(raw), 1, raw);
});

t.test("Fastify's request logs under a part's logger: one component per line", async (t) => {
  const captured = captureLog('edge');
  const app = Fastify({ loggerInstance: componentLogger(captured.log.child({ organId: '000.00.01.H12' }), 'api') as unknown as FastifyBaseLogger });
  app.get('/ping', async (request) => {
    request.log.info('handled');
    return { ok: true };
  });
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'GET', url: '/ping' });
  t.equal(response.statusCode, 200);
  const handled = captured.find('handled');
  t.equal(handled.length, 1);
  t.equal(handled[0]?.component, 'api');
  t.equal(handled[0]?.organId, '000.00.01.H12', 'the bindings of the parent stay');
  t.ok(captured.raw.length >= 3, 'request, handler and response lines');
  for (const raw of captured.raw) t.equal(componentKeys(raw), 1, raw);
});
