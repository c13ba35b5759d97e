/**
 * `lienthong edge init`, `edge check` and `hub check` against the real broker (issue 12, point
 * 6): an agency provisioned with `agency add`, its configuration written by `edge init`, the
 * check green before any traffic; then each fault the check claims to find is provoked, one at
 * a time, and its row must say problem with the fix that fits, while the other rows stay ok.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import * as x509 from '../../src/crypto/x509.js';
import { withCredentials } from '../../src/broker/url.js';
import { agencyPermissions } from '../../src/broker/topology.js';
import { stripJsonComments } from '../../src/json-comments.js';
import { AGENCY_A, AGENCY_B, REPO, freePort, startCluster } from '../helpers/processes.js';
import { CLI, childEnv, runCli } from '../helpers/cli.js';

interface Row {
  name: string;
  status: 'ok' | 'problem' | 'skipped';
  detail: string;
  fix?: string;
}

const A = AGENCY_A.organId;
const dev = (...parts: string[]): string => join(REPO, 'certs-dev', ...parts);

t.test('edge init writes a commented configuration; edge check is green on it, and red with the right fix for each fault', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-check', agencies: [AGENCY_A] });
  await cluster.hub.start(); // declares the submit exchange, as in production before any edge
  const given = JSON.parse(readFileSync(cluster.edgeConfigPath(A), 'utf8')) as Record<string, unknown> & { amqpUrl: string; trust: { crls: string[] } };

  // init, with the answers on standard input as a script would pipe them.
  const configPath = join(cluster.dir, 'edge-init.json');
  const answers = [A, '000.00.90.H12', given.amqpUrl, dev('agencies', `${A}.pem`), dev('agencies', `${A}.key.pem`), dev('issuing-ca.pem'), dev('root-ca.pem'), given.trust.crls.join(',')];
  const init = runCli(cluster.dir, ['edge', 'init', '--out', configPath, '--prefix', cluster.prefix, '--data-dir', join(cluster.dir, 'init-data'), '--dev'], { input: `${answers.join('\n')}\n` });
  t.equal(init.status, 0, `init exits 0: ${init.stderr}`);
  t.match(init.stdout, `next: lienthong edge check --config`);
  const text = readFileSync(configPath, 'utf8');
  t.match(text, /^\/\/ lienthong edge configuration/, 'starts with a comment');
  t.match(text, /\/\/ .*"lienthong agency add"/, 'explains where the AMQP URL comes from');
  t.equal(statSync(configPath).mode & 0o777, 0o600, 'mode 600: it holds the broker password');
  t.equal((JSON.parse(stripJsonComments(text)) as { organId: string }).organId, A);

  const again = runCli(cluster.dir, ['edge', 'init', '--out', configPath, '--organ-id', A], { input: '' });
  t.equal(again.status, 2, 'a second init on the same file is refused');
  t.match(again.stderr, /exists; it is never overwritten/);
  t.equal(readFileSync(configPath, 'utf8'), text, 'and the file is untouched');

  // Asynchronous: the fake clamd and management API of some cases answer from this process.
  const check = async (config: string, extra: string[] = []): Promise<{ status: number | null; rows: Row[]; stdout: string }> => {
    const run = await lienthong(cluster.dir, ['edge', 'check', '--config', config, '--json', ...extra]);
    try {
      return { status: run.status, rows: (JSON.parse(run.stdout) as { rows: Row[] }).rows, stdout: run.stdout };
    } catch {
      throw new Error(`edge check printed no JSON (exit ${run.status}): ${run.stdout} ${run.stderr}`);
    }
  };
  const row = (rows: Row[], name: string): Row => {
    const found = rows.find((r) => r.name === name);
    if (!found) throw new Error(`no row "${name}" in ${rows.map((r) => r.name).join(', ')}`);
    return found;
  };
  const base = JSON.parse(stripJsonComments(text)) as Record<string, unknown> & { trust: Record<string, unknown>; identity: Record<string, unknown> };
  let n = 0;
  const variant = (patch: Record<string, unknown>): string => {
    const path = join(cluster.dir, `edge-variant-${(n += 1)}.json`);
    writeFileSync(path, JSON.stringify({ ...base, ...patch }, null, 2));
    return path;
  };

  await t.test('green before traffic', async (t) => {
    const run = runCli(cluster.dir, ['edge', 'check', '--config', configPath]);
    t.equal(run.status, 0, `exit 0:\n${run.stdout}${run.stderr}`);
    t.match(run.stdout, /^CHECK +STATUS +DETAIL \/ FIX\n/, 'a table with a header');
    t.match(run.stdout, /\nall \d+ checks ok/);
    const { rows } = await check(configPath);
    for (const name of ['broker user', 'broker transport', 'broker connection', 'submit exchange', 'publish permission', 'queue urgent', 'queue normal', 'consume permission', 'signing key', 'certificate organ id', 'certificate validity', 'trust anchors', 'certificate chain', 'data directory', 'free space', 'clock skew']) {
      t.equal(row(rows, name).status, 'ok', `${name}: ${row(rows, name).detail}`);
    }
    t.equal(row(rows, 'clamd').status, 'skipped', 'clamd is not configured: skipped, not a problem');
    t.ok(rows.filter((r) => r.name.startsWith('CRL ')).length >= 1, 'a row per CRL');
  });

  // Each fault: the config (or flags) that provoke it, the row that must say problem, its fix.
  const expectProblem = async (name: string, config: string, rowName: string, detail: RegExp, fix: RegExp, extra: string[] = []): Promise<void> => {
    await t.test(name, async (t) => {
      const { status, rows } = await check(config, extra);
      t.equal(status, 1, 'exit 1');
      const r = row(rows, rowName);
      t.equal(r.status, 'problem', `${rowName} is a problem`);
      t.match(r.detail, detail, 'says what is wrong');
      t.match(r.fix ?? '', fix, 'and how to fix it');
    });
  };
  const url = new URL(given.amqpUrl);

  const wrongPassword = new URL(url);
  wrongPassword.password = 'not-the-password';
  await expectProblem('wrong password', variant({ amqpUrl: wrongPassword.toString() }), 'broker connection', /refused the login.*BROKER_LOGIN_REFUSED/, /"lienthong agency add" printed/);

  const otherVhost = new URL(url);
  otherVhost.pathname = `/no-such-vhost-${randomBytes(3).toString('hex')}`;
  await expectProblem('unknown vhost', variant({ amqpUrl: otherVhost.toString() }), 'broker connection', /virtual host.*BROKER_VHOST_REFUSED/, /vhost/);

  const closed = await freePort();
  const unreachable = new URL(url);
  unreachable.port = String(closed);
  await expectProblem('broker unreachable', variant({ amqpUrl: unreachable.toString() }), 'broker connection', /BROKER_UNREACHABLE/, /start the broker|host and port/);

  const admin = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  await expectProblem("another user's URL (the administrator's)", variant({ amqpUrl: admin }), 'broker user', /no agency's/, /lienthong agency add/);

  await t.test('missing publish and consume permissions', async (t) => {
    const user = cluster.names.agencyUser(A);
    const owner = { organId: A, queueToken: url.searchParams.get('queueToken') ?? '' };
    await cluster.api.setPermissions(user, { configure: '^$', write: '^$', read: '^$' });
    t.teardown(() => cluster.api.setPermissions(user, agencyPermissions(cluster.names, owner)));
    const { status, rows } = await check(configPath);
    t.equal(status, 1);
    for (const name of ['publish permission', 'consume permission']) {
      t.equal(row(rows, name).status, 'problem', name);
      t.match(row(rows, name).detail, /BROKER_ACCESS_REFUSED/);
      t.match(row(rows, name).fix ?? '', new RegExp(`rabbitmqctl set_permissions -p "/" ${user.replace(/\./g, '\\.')} '\\^\\$' '`), 'the exact command that restores them');
    }
    t.equal(row(rows, 'queue urgent').status, 'ok', 'the queues are still there');
  });

  await t.test('a queue deleted: named, and the fix (restart the hub) heals it', async (t) => {
    const queue = cluster.names.agencyQueue({ organId: A, queueToken: url.searchParams.get('queueToken') ?? '' }, 'urgent');
    await cluster.api.deleteQueue(queue);
    const { status, rows } = await check(configPath);
    t.equal(status, 1);
    t.equal(row(rows, 'queue urgent').status, 'problem');
    t.match(row(rows, 'queue urgent').detail, queue);
    t.match(row(rows, 'queue urgent').fix ?? '', /restart the hub/);
    t.equal(row(rows, 'queue normal').status, 'ok');
    t.equal(row(rows, 'consume permission').status, 'skipped', 'no read probe on a missing queue');
    await cluster.hub.stop();
    await cluster.hub.start();
    t.equal((await check(configPath)).status, 0, 'green again once the fix is applied');
  });

  await expectProblem('expired certificate', variant({ identity: { ...base.identity, cert: dev('expired', '000.00.97.H12.pem'), key: dev('expired', '000.00.97.H12.key.pem') } }), 'certificate validity', /expired on/, /new certificate/);
  await expectProblem("another agency's certificate", variant({ identity: { ...base.identity, cert: dev('agencies', `${AGENCY_B.organId}.pem`), key: dev('agencies', `${AGENCY_B.organId}.key.pem`) } }), 'certificate organ id', new RegExp(`issued to ${AGENCY_B.organId.replace(/\./g, '\\.')}, not to`), /identity\.cert/);
  await expectProblem('key of another certificate', variant({ identity: { ...base.identity, key: dev('agencies', `${AGENCY_B.organId}.key.pem`) } }), 'signing key', /does not belong to the certificate/, /issued for that very key/);

  const otherRoot = join(cluster.dir, 'other-root.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(cluster.dir, 'other-root.key'), '-out', otherRoot, '-subj', '/CN=Some other root/O=Elsewhere', '-days', '30'], { stdio: 'ignore' });
  await expectProblem('untrusted anchor', variant({ trust: { ...base.trust, anchors: [otherRoot] } }), 'certificate chain', /does not chain to a configured trust anchor/, /trust\.anchors/);
  await expectProblem('development anchor without "dev": true', variant({ trust: { ...base.trust, dev: false } }), 'trust anchors', /development certificate/, /government CA's root/);

  const staleCrl = join(cluster.dir, 'stale.crl.pem');
  writeFileSync(staleCrl, await crlOfIssuingCa(new Date(Date.now() - 3 * 86_400_000), new Date(Date.now() - 86_400_000)));
  const crls = (base.trust.crls as string[]).filter((c) => !c.includes('issuing-ca'));
  await expectProblem('stale CRL', variant({ trust: { ...base.trust, crls: [...crls, staleCrl] } }), 'CRL stale.crl.pem', /stale: its nextUpdate .* has passed/, /current CRL/);

  const aFile = join(cluster.dir, 'not-a-directory');
  writeFileSync(aFile, 'x');
  await expectProblem('unwritable data directory', variant({ dataDir: join(aFile, 'data') }), 'data directory', /is a file, not a directory/, /dataDir/);
  await expectProblem('too little free space', configPath, 'free space', /under the 1000000000 MiB floor/, /free space/, ['--min-free-mb', '1000000000']);

  await expectProblem('clamd down', variant({ clamd: `tcp://127.0.0.1:${closed}` }), 'clamd', /unreachable/, /start clamd/);
  await t.test('clamd up (answers PONG)', async (t) => {
    const clamd = createTcpServer((socket) => {
      socket.once('data', (data) => socket.end(data.toString() === 'zPING\0' ? 'PONG\0' : 'UNKNOWN COMMAND\0'));
    });
    await new Promise<void>((resolve) => clamd.listen(0, '127.0.0.1', resolve));
    t.teardown(() => clamd.close());
    const { rows } = await check(variant({ clamd: `tcp://127.0.0.1:${(clamd.address() as AddressInfo).port}` }));
    t.equal(row(rows, 'clamd').status, 'ok', row(rows, 'clamd').detail);
  });

  await t.test('clock skew with the broker', async (t) => {
    // A management API whose clock is ten minutes ahead: the Date header is what is compared.
    const skewed = createHttpServer((_request, response) => {
      response.writeHead(401, { date: new Date(Date.now() + 600_000).toUTCString() });
      response.end();
    });
    await new Promise<void>((resolve) => skewed.listen(0, '127.0.0.1', resolve));
    t.teardown(() => skewed.close());
    const at = `http://127.0.0.1:${(skewed.address() as AddressInfo).port}`;
    const { status, rows } = await check(configPath, ['--management-url', at]);
    t.equal(status, 1);
    t.match(row(rows, 'clock skew').detail, /600 s behind|599 s behind|601 s behind/);
    t.match(row(rows, 'clock skew').fix ?? '', /NTP/);
    t.equal((await check(configPath, ['--management-url', `http://127.0.0.1:${closed}`])).rows.find((r) => r.name === 'clock skew')?.status, 'skipped', 'no answer: skipped, with why');
  });

  await t.test('a configuration that cannot be read is a row, not a crash', async (t) => {
    const broken = join(cluster.dir, 'broken.json');
    writeFileSync(broken, '{ /* never closed ');
    const { status, rows } = await check(broken);
    t.equal(status, 1);
    t.equal(row(rows, 'configuration').status, 'problem');
    t.match(row(rows, 'configuration').detail, /never closed/);
  });

  await t.test('usage errors exit 2', async (t) => {
    const run = runCli(cluster.dir, ['edge', 'check']);
    t.equal(run.status, 2);
    t.match(run.stderr, /--config is required/);
  });

  await t.test('hub check: green on the running hub, red with a wrong management password', async (t) => {
    const run = runCli(cluster.dir, ['hub', 'check', '--config', cluster.hubConfigPath, '--json'], { env: childEnv() });
    const rows = (JSON.parse(run.stdout) as { rows: Row[] }).rows;
    t.equal(run.status, 0, rows.filter((r) => r.status !== 'ok').map((r) => `${r.name}: ${r.detail}`).join('\n'));
    for (const name of ['broker connection', 'submit exchange', 'queue inbound urgent', 'queue dead letters', 'management API', 'management user', 'broker permissions', 'broker capacity', 'certificate chain', 'data directory', 'clock skew']) {
      t.equal(row(rows, name).status, 'ok', `${name}: ${row(rows, name).detail}`);
    }
    const wrong = runCli(cluster.dir, ['hub', 'check', '--config', cluster.hubConfigPath, '--json'], { env: childEnv({ LT_MANAGEMENT_PASSWORD: 'wrong' }) });
    t.equal(wrong.status, 1);
    const api = row((JSON.parse(wrong.stdout) as { rows: Row[] }).rows, 'management API');
    t.equal(api.status, 'problem');
    t.match(api.detail, /BROKER_MANAGEMENT_LOGIN/);
    t.match(api.fix ?? '', /management\.password/);

    // A management user without the administrator tag: agency add would fail.
    const monitor = `${cluster.prefix}-monitor`;
    await cluster.api.putUser(monitor, 'monitor-password', 'monitoring');
    t.teardown(() => cluster.api.deleteUser(monitor));
    const notAdmin = await lienthong(cluster.dir, ['hub', 'check', '--config', cluster.hubConfigPath, '--json'], { LT_MANAGEMENT_USER: monitor, LT_MANAGEMENT_PASSWORD: 'monitor-password' });
    t.equal(notAdmin.status, 1);
    const notAdminRows = (JSON.parse(notAdmin.stdout) as { rows: Row[] }).rows;
    t.equal(row(notAdminRows, 'management user').status, 'problem');
    t.match(row(notAdminRows, 'management user').fix ?? '', `rabbitmqctl set_user_tags ${monitor} administrator`);
    t.equal(row(notAdminRows, 'broker permissions').status, 'skipped');

    // A queue of the hub's deleted while it is stopped: named, with "start the hub".
    await cluster.hub.stop();
    await cluster.api.deleteQueue(cluster.names.deadLetters);
    const missing = await lienthong(cluster.dir, ['hub', 'check', '--config', cluster.hubConfigPath, '--json']);
    t.equal(missing.status, 1);
    const dead = row((JSON.parse(missing.stdout) as { rows: Row[] }).rows, 'queue dead letters');
    t.equal(dead.status, 'problem');
    t.match(dead.detail, `${cluster.names.deadLetters} does not exist`);
    t.match(dead.fix ?? '', /start the hub/);
  });
});

/** Run a lienthong verb to its end without blocking this process. */
function lienthong(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: childEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A CRL of the development issuing CA, signed with its key, valid over [thisUpdate, nextUpdate]. */
async function crlOfIssuingCa(thisUpdate: Date, nextUpdate: Date): Promise<string> {
  const issuer = new x509.X509Certificate(readFileSync(dev('issuing-ca.pem'), 'utf8'));
  const der = createPrivateKey(readFileSync(dev('issuing-ca.key.pem'), 'utf8')).export({ type: 'pkcs8', format: 'der' });
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  const crl = await x509.X509CrlGenerator.create({ issuer: issuer.subjectName, signingKey, signingAlgorithm: algorithm, thisUpdate, nextUpdate, entries: [] }, webcrypto as Crypto);
  return `${crl.toString('pem').replace(/(BEGIN|END) CRL/g, '$1 X509 CRL')}\n`;
}
