/**
 * An edge started while RabbitMQ is down (issue 11), as processes on a private node
 * (test/helpers/outage-cluster.ts; the shared broker is never stopped): it starts anyway,
 * accepts documents through REST, says "degraded: broker" on /health, and sends them when the
 * broker comes; one the broker then refuses for good (a wrong password) logs it and exits 1,
 * its outbox kept. broker-outage-stop.test.ts has the stops during an outage or an alarm.
 *
 * Tests wait on what the processes say (log lines, /health, databases), never on the clock.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/exchange.js';
import { A, B, apiBase, listening, openOutageCluster } from '../helpers/outage-cluster.js';
import { AGENCY_B, ManagedProcess } from '../helpers/processes.js';

t.test('starts without the broker', async (t) => {
  const o = await openOutageCluster(t, 'lt-outage-start');
  const { broker, edgeA } = o;

  await t.test('an edge started while the broker is down accepts documents and sends them when it comes', async (t) => {
    await edgeA.stop();
    await broker.stopApp();
    const listened = listening(edgeA).length;
    await edgeA.start(); // "edge started" without a broker
    const started = edgeA.lines('edge started').at(-1);
    t.equal(started?.broker, 'unreachable', 'it says it started without the broker');
    t.ok(edgeA.lines('the broker cannot be reached: the edge starts without it, accepts documents into its outbox and sends them once the broker comes').length > 0);
    const base = await waitFor("A's REST API", () => (listening(edgeA).length > listened ? apiBase(edgeA) : undefined));
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string; problems: Array<{ component: string; code: string }> };
    t.equal(health.status, 'degraded', '/health: degraded');
    t.match(health.problems, [{ component: 'broker', code: 'BROKER_UNREACHABLE' }], 'because of the broker');

    for (let i = 0; i < 3; i += 1) {
      const n = o.next();
      const response = await fetch(`${base}/api/v1/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': o.client.key },
        body: JSON.stringify({ to: [{ organId: B, organName: AGENCY_B.organName }], code: { codeNumber: String(n), codeNotation: 'KT-DUNG' }, subject: `V/v gửi khi mất kết nối, văn bản ${n}` }),
      });
      t.equal(response.status, 202, `document ${n} accepted through REST while the broker is down`);
    }
    t.equal(o.unsentAt(A), 3, 'they wait in the outbox');

    await broker.startApp();
    await waitFor('A to join the broker', () => edgeA.lines('the broker is reachable: the edge relays its outbox and consumes its queues').length > 0);
    await o.allAnswered();
    t.same(o.progress(), { answered: o.sent, atB: o.sent, twice: 0 }, 'sent, delivered once and answered');
    const after = (await (await fetch(`${base}/health`)).json()) as { status: string };
    t.equal(after.status, 'ok', '/health: ok again');
  });

  await t.test('a refusal that comes only with the broker stops an edge started without it, exit 1, its outbox kept', async (t) => {
    // A's configuration with a password the broker refuses, on a data directory of its own.
    const config = JSON.parse(readFileSync(o.cluster.edgeConfigPath(A), 'utf8')) as Record<string, unknown>;
    const url = new URL(config.amqpUrl as string);
    url.password = 'not-its-password';
    const path = join(o.cluster.dir, 'edge-wrong-password.json');
    writeFileSync(path, JSON.stringify({ ...config, amqpUrl: url.toString(), dataDir: join(o.cluster.dir, 'wrong-password') }));
    const wrong = new ManagedProcess('wrong-password', ['edge', '--config', path], join(o.cluster.dir, 'edge-wrong-password.log'), 'edge started');
    t.teardown(() => wrong.kill());
    await broker.stopApp();
    await wrong.start();
    t.equal(wrong.lines('edge started')[0]?.broker, 'unreachable', 'it starts without the broker');
    await broker.startApp();
    await waitFor('the edge to exit', () => !wrong.running);
    t.equal(wrong.lastExit, '1', 'exit 1');
    const refused = wrong.lines('the broker refused this edge; it stops (the documents in its outbox are kept): fix the cause and start it again')[0];
    t.equal(refused?.level, 50, 'logged as an error');
    t.equal(refused?.code, 'BROKER_LOGIN_REFUSED', 'with its code');
    t.match(wrong.log(), /lienthong edge: RabbitMQ at .* refused the login of user .*\(BROKER_LOGIN_REFUSED\)\n/, 'and the same line a refused start prints');
    t.notMatch(wrong.log(), /not-its-password/, 'never the password');
    t.match(wrong.log(), '"msg":"edge stopped"', 'it stopped cleanly');
  });
});
