/**
 * `lienthong hub --config hub.json` with a "dashboard" section, as an operator runs it (the
 * built bin/lienthong.js in a child process, test/helpers/processes.ts): it logs the
 * dashboard's URL (port 0 = a free port), the first operator made by `lienthong hub user add`
 * logs in, /metrics answers, SIGTERM closes the dashboard with the hub; a port already taken
 * stops the hub at once with the reason instead of leaving it half up. Needs dist/
 * (`npm test` builds first) and RabbitMQ.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ManagedProcess, REPO, runCli, startCluster } from '../helpers/processes.js';

const PASSWORD = 'first-operator-password';

if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
  t.fail('dist/ is missing: run "npm run build" before this test');
} else {
  t.test('lienthong hub serves the dashboard, logs its URL, and closes it on SIGTERM', async (t) => {
    const cluster = await startCluster(t, { prefixBase: 'lt-dash-cli', agencies: [], hubConfig: { dashboard: { host: '127.0.0.1', port: 0 } } });
    const add = runCli(REPO, ['hub', 'user', 'add', 'chief', '--role', 'operator', '--password-stdin', '--config', cluster.hubConfigPath], { input: `${PASSWORD}\n` });
    t.equal(add.status, 0, add.stderr);
    t.match(add.stdout, /user chief \(operator\) created/);

    await cluster.hub.start();
    const line = cluster.hub
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; url?: string })
      .find((l) => l.msg?.startsWith('dashboard listening on '));
    t.ok(line, 'the hub logs where its dashboard listens');
    const url = line?.url ?? '';
    t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    t.equal(line?.msg, `dashboard listening on ${url}`);

    const loginPage = await fetch(`${url}/login`);
    t.equal(loginPage.status, 200);
    t.match(await loginPage.text(), /Đăng nhập/);
    const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'chief', password: PASSWORD }) });
    t.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    t.match(cookie, /^lt_session=/);
    const overview = await fetch(`${url}/api/overview`, { headers: { cookie } });
    t.equal(overview.status, 200);
    t.match(await overview.json(), { overview: { routedToday: 0 }, queues: { ok: true } });
    const metrics = await fetch(`${url}/metrics`);
    t.equal(metrics.status, 200);
    t.match(await metrics.text(), /^lt_dead_letters_pending 0$/m);

    // The same port again: the second hub stops at once, naming the reason.
    const port = new URL(url).port;
    const taken = join(cluster.dir, 'hub-taken.json');
    const config = JSON.parse(readFileSync(cluster.hubConfigPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(taken, JSON.stringify({ ...config, dashboard: { host: '127.0.0.1', port: Number(port) } }));
    const second = new ManagedProcess('hub-taken', ['hub', '--config', taken], join(cluster.dir, 'hub-taken.log'), 'hub started');
    await t.rejects(second.start(), /exited \(\d+\) before "hub started"[\s\S]*EADDRINUSE/, 'refused with the reason, not left running');

    await cluster.hub.stop();
    t.ok(cluster.hub.lines('hub stopped').length > 0, 'a clean stop');
    await t.rejects(fetch(`${url}/login`), 'the dashboard closed with the hub');
  });
}
