/**
 * TLS on every link (issue 12), against a private RabbitMQ node that speaks only TLS: no plain
 * AMQP listener (listeners.tcp = none), the management API over HTTPS only, the certificate
 * login (rabbitmq_auth_mechanism_ssl, ssl_cert_login_from = common_name) enabled. Every
 * certificate is made here with openssl: a CA, the broker's certificate for 127.0.0.1 and
 * localhost, client certificates, and a CA nobody trusts.
 *
 * Hub and two edges run as the image runs them (bin/lienthong.js hub/edge --config, agencies
 * provisioned with `agency add` over the HTTPS management API): the hub and edge A log in with
 * a client certificate (EXTERNAL; A's URL carries a wrong password to prove it is not used),
 * edge B with its password over TLS. A document goes from A to B and its 01 comes back. The
 * edge's REST API and the hub's dashboard serve HTTPS, checked with curl against the CA.
 * Refusals: a plain amqp:// URL, a CA that did not sign the broker's certificate, and a client
 * certificate the broker does not trust, each with its code and advice, no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/exchange.js';
import { apiKeyFromCli } from '../helpers/edge-api.js';
import { startPrivateBroker } from '../helpers/private-broker.js';
import { AGENCY_A, AGENCY_B, REPO, readDb, runCli, startCluster, type Cluster } from '../helpers/processes.js';
import { issueClientCertificate, issueServerCertificate, makeTlsCa } from '../helpers/tls-pki.js';

const A = AGENCY_A.organId;
const B = AGENCY_B.organId;

function answered(cluster: Cluster): number {
  return readDb(cluster.edgeDb(A), (db) => (db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE recipient = ? AND stage = '01'").get(B) as { n: number }).n);
}

/** A copy of a configuration file with some settings changed (undefined removes one). */
function variant(path: string, to: string, changes: Record<string, unknown>): string {
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  writeFileSync(to, `${JSON.stringify(config, null, 2)}\n`);
  return to;
}

function curl(ca: string, url: string, ...extra: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('curl', ['--silent', '--show-error', '--max-time', '30', '--cacert', ca, ...extra, url], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('a TLS-only broker: hub and two edges over amqps://, certificate and password logins, and the refusals', async (t) => {
  const dir = t.testdir();
  const ca = makeTlsCa(dir);
  const stranger = makeTlsCa(dir, 'stranger-ca');
  const server = issueServerCertificate(ca);
  const broker = await startPrivateBroker(t, {
    management: true,
    plugins: ['rabbitmq_auth_mechanism_ssl'],
    tls: { ca: ca.caCertPath, cert: server.cert, key: server.key, only: true },
  });
  t.match(broker.url, /^amqps:/, 'the node is reached over amqps://');
  t.match(broker.managementUrl, /^https:/, 'its management API over https://');
  // The broker's administrator (guest) logs in with a certificate named after it.
  const admin = issueClientCertificate(ca, 'admin', 'guest');
  const client = await apiKeyFromCli('qlvb');
  const cluster = await startCluster(t, {
    prefixBase: 'lt-tls',
    broker: { amqpUrls: [broker.url], managementUrls: [broker.managementUrl as string], tls: { ca: ca.caCertPath, cert: admin.cert, key: admin.key } },
    hubConfig: { dashboard: { host: '127.0.0.1', port: 0, tls: { cert: server.cert, key: server.key } } },
    edgeConfig: { brokerTls: { ca: ca.caCertPath }, api: { host: '127.0.0.1', port: 0, keys: [client.entry], tls: { cert: server.cert, key: server.key } } },
  });
  // Edge A logs in with a certificate whose CN is its broker user; a wrong password proves the URL's is not sent.
  const userA = cluster.names.agencyUser(A);
  const certA = issueClientCertificate(ca, 'edge-a', userA);
  const configA = cluster.edgeConfigPath(A);
  const urlA = new URL(JSON.parse(readFileSync(configA, 'utf8')).amqpUrl as string);
  urlA.password = 'not-the-password';
  variant(configA, configA, { amqpUrl: urlA.toString(), brokerTls: { ca: ca.caCertPath, cert: certA.cert, key: certA.key } });

  await cluster.hub.start();

  await t.test('edge check and hub check are green over TLS before any traffic', async (t) => {
    for (const organId of [A, B]) {
      const check = runCli(REPO, ['edge', 'check', '--config', cluster.edgeConfigPath(organId), '--management-url', broker.managementUrl as string, '--json']);
      const report = JSON.parse(check.stdout) as { ok: boolean; rows: Array<{ name: string; status: string; detail: string; fix?: string }> };
      const problems = report.rows.filter((r) => r.status === 'problem');
      t.same(problems, [], `edge check of ${organId}: no problem`);
      t.equal(check.status, 0, `edge check of ${organId} exits 0`);
      const row = (name: string): string | undefined => report.rows.find((r) => r.name === name)?.status;
      t.equal(row('broker connection'), 'ok', `${organId} reached the broker over amqps://`);
      t.equal(row('clock skew'), 'ok', `${organId} read the broker's time from its management API over https://`);
    }
    const hub = runCli(REPO, ['hub', 'check', '--config', cluster.hubConfigPath, '--json']);
    const hubReport = JSON.parse(hub.stdout) as { rows: Array<{ name: string; status: string }> };
    t.same(hubReport.rows.filter((r) => r.status === 'problem'), [], 'hub check: no problem');
    t.equal(hub.status, 0, 'hub check exits 0');
  });

  await cluster.edge(B).start();
  await cluster.edge(A).start();

  await t.test('a document goes from A to B and its 01 comes back, over TLS only', async (t) => {
    const submitter = await cluster.openSubmitter(A);
    await submitter.outbox.submitDocument(
      {
        to: [AGENCY_B],
        code: { codeNumber: '1', codeNotation: 'KT-TLS' },
        subject: 'V/v kiểm thử liên thông qua kết nối TLS',
        content: 'Văn bản gửi qua amqps://.',
        signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
      },
      'tls-test',
    );
    await cluster.closeSubmitter(submitter);
    await waitFor('B to answer 01', () => answered(cluster) === 1 || undefined, { describe: () => ({ answered: answered(cluster) }) });
    t.equal(answered(cluster), 1, 'A has the 01 of B');

    // The broker's own account of who is connected, and how.
    const rows = (await broker.ctl('list_connections', '--silent', 'user', 'auth_mechanism', 'ssl', 'ssl_protocol'))
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    const of = (user: string): string[][] => rows.filter((r) => r[0] === user);
    t.ok(rows.length >= 3, `hub and edges are connected (${rows.length} connections)`);
    t.ok(rows.every((r) => r[2] === 'true'), `every connection is TLS (${[...new Set(rows.map((r) => r[3]))].join(', ')})`);
    t.ok(of('guest').length > 0 && of('guest').every((r) => r[1] === 'EXTERNAL'), 'the hub logged in with its certificate');
    t.ok(of(userA).length > 0 && of(userA).every((r) => r[1] === 'EXTERNAL'), 'edge A logged in with its certificate');
    const userB = cluster.names.agencyUser(B);
    t.ok(of(userB).length > 0 && of(userB).every((r) => r[1] === 'PLAIN'), 'edge B logged in with its password');
  });

  await t.test("the edge's REST API and the hub's dashboard serve HTTPS", async (t) => {
    const listening = await waitFor("B's REST API address", () => cluster.edge(B).log().match(/REST API listening on (https:\/\/[^"\s]+)/)?.[1]);
    const health = curl(ca.caCertPath, `${listening}/health`);
    t.equal(health.status, 0, `curl trusts the API with the CA (${health.stderr.trim()})`);
    t.match(JSON.parse(health.stdout), { status: 'ok' }, '/health answers over HTTPS');
    const documents = curl(ca.caCertPath, `${listening}/api/v1/inbox`, '--header', `x-api-key: ${client.key}`);
    t.equal(documents.status, 0, 'an authenticated request too');
    t.match(documents.stdout, /KT-TLS|kiểm thử liên thông qua kết nối TLS|documents|items/, "B's inbox answers");
    const untrusted = curl(stranger.caCertPath, `${listening}/health`);
    t.equal(untrusted.status, 60, 'curl refuses the API against another CA (60: peer certificate cannot be authenticated)');

    const dashboard = await waitFor('the dashboard address', () => cluster.hub.log().match(/dashboard listening on (https:\/\/[^"\s]+)/)?.[1]);
    const page = curl(ca.caCertPath, `${dashboard}/login`, '--include');
    t.equal(page.status, 0, `the dashboard answers over HTTPS (${page.stderr.trim()})`);
    t.match(page.stdout, /^HTTP\/1\.1 200/m, 'its login page');
    const added = runCli(REPO, ['hub', 'user', 'add', 'chief', '--role', 'viewer', '--config', cluster.hubConfigPath, '--password-stdin'], { input: 'mật khẩu đủ dài 2026\n' });
    t.equal(added.status, 0, `a dashboard user (${added.stderr.trim()})`);
    const jar = join(dir, 'cookies.txt');
    const login = curl(ca.caCertPath, `${dashboard}/login`, '--include', '--cookie-jar', jar, '--header', 'content-type: application/json', '--data', JSON.stringify({ name: 'chief', password: 'mật khẩu đủ dài 2026' }));
    t.match(login.stdout, /^set-cookie: [^\n]*; Secure/im, 'the session cookie is Secure over HTTPS, though secureCookies is not set');
    const overview = curl(ca.caCertPath, `${dashboard}/api/overview`, '--cookie', jar);
    const queues = (JSON.parse(overview.stdout) as { queues: { ok: boolean; error?: string } }).queues;
    t.equal(queues.ok, true, `the dashboard reads the queues from the management API over HTTPS (${queues.error ?? 'no error'})`);
    t.same(cluster.hub.lines('cannot set the queue byte limits and agency user limits on the broker; lanes may grow unbounded until it works (retried)'), [], 'and the hub set its limits through it');
  });

  const refusalDir = (name: string): string => join(dir, name);

  await t.test('plain amqp:// to the TLS-only broker is refused with a clear message', async (t) => {
    const tlsPort = String(broker.tlsPort);
    const plain = variant(cluster.hubConfigPath, join(dir, 'hub-plain.json'), {
      amqpUrl: `amqp://guest:guest@127.0.0.1:${tlsPort}`,
      brokerTls: undefined,
      dashboard: undefined,
      dataDir: refusalDir('hub-plain'),
    });
    const run = runCli(REPO, ['hub', '--config', plain]);
    t.equal(run.status, 1, 'the hub exits 1');
    t.match(run.stderr, /BROKER_UNREACHABLE/, 'with its code');
    t.match(run.stderr, new RegExp(`closed the connection before the AMQP handshake: if port ${tlsPort} is the broker's TLS listener .* must start with amqps://`), 'saying what to fix');
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');

    const mixed = variant(cluster.hubConfigPath, join(dir, 'hub-mixed.json'), { amqpUrl: `amqp://guest:guest@127.0.0.1:${tlsPort}`, dashboard: undefined, dataDir: refusalDir('hub-mixed') });
    const refused = runCli(REPO, ['hub', '--config', mixed]);
    t.equal(refused.status, 1, 'brokerTls with an amqp:// URL: refused before connecting');
    t.match(refused.stderr, /"brokerTls" is set but the AMQP URL .* starts with amqp:\/\/, which does not use TLS: write amqps:\/\/.*\(CONFIG_INVALID\)/);
  });

  await t.test('a CA that did not sign the broker certificate is refused with a clear error', async (t) => {
    const wrong = variant(cluster.hubConfigPath, join(dir, 'hub-wrong-ca.json'), {
      brokerTls: { ca: stranger.caCertPath, cert: admin.cert, key: admin.key },
      dashboard: undefined,
      dataDir: refusalDir('hub-wrong-ca'),
    });
    const run = runCli(REPO, ['hub', '--config', wrong]);
    t.equal(run.status, 1, 'the hub exits 1');
    t.match(run.stderr, /the TLS connection to RabbitMQ at amqps:\/\/guest:\*\*\*@127\.0\.0\.1:\d+\/? failed: the broker's certificate is not signed by a CA this node trusts/, 'what happened');
    t.match(run.stderr, /Set brokerTls\.ca \(or LT_BROKER_CA\) to the PEM file of the CA that issued the broker's certificate.*\(BROKER_TLS\)/, 'what to do, and the code');
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
    t.notMatch(run.stderr, /guest:guest/, 'no password');

    // `agency add` talks to the management API: the same CA mistake, the same kind of answer.
    const add = runCli(REPO, ['agency', 'add', '000.00.31.H12', '--name', 'UBND thành phố Cà Mau', '--config', wrong]);
    t.equal(add.status, 1, 'agency add exits 1');
    t.match(add.stderr, /cannot talk to the RabbitMQ management API at https:\/\/127\.0\.0\.1:\d+ over TLS: the API's certificate is not signed by a CA this node trusts: set brokerTls\.ca/);
    t.match(add.stderr, /\(BROKER_TLS\)/);

    const edgeWrong = variant(cluster.edgeConfigPath(B), join(dir, 'edge-b-wrong-ca.json'), {
      brokerTls: { ca: stranger.caCertPath },
      api: undefined,
      dataDir: refusalDir('edge-wrong-ca'),
    });
    const edge = runCli(REPO, ['edge', '--config', edgeWrong]);
    t.equal(edge.status, 1, 'an edge refuses to start too (retrying cannot cure it)');
    t.match(edge.stderr, /the broker's certificate is not signed by a CA this node trusts.*\(BROKER_TLS\)/);

    // edge check names the same fault, and the setting to correct.
    const check = runCli(REPO, ['edge', 'check', '--config', edgeWrong, '--json']);
    t.equal(check.status, 1, 'edge check exits 1');
    const connection = (JSON.parse(check.stdout) as { rows: Array<{ name: string; status: string; detail: string; fix?: string }> }).rows.find((r) => r.name === 'broker connection');
    t.equal(connection?.status, 'problem', 'edge check: the broker connection is the problem');
    t.match(connection?.detail, /not signed by a CA this node trusts/);
    t.match(`${connection?.detail ?? ''} ${connection?.fix ?? ''}`, /brokerTls\.ca/, 'and the fix names brokerTls.ca');
  });

  await t.test('a client certificate the broker does not trust is refused with a clear error', async (t) => {
    const foreign = issueClientCertificate(stranger, 'foreign', userA);
    const config = variant(configA, join(dir, 'edge-a-foreign.json'), {
      brokerTls: { ca: ca.caCertPath, cert: foreign.cert, key: foreign.key },
      api: undefined,
      dataDir: refusalDir('edge-foreign'),
    });
    const run = runCli(REPO, ['edge', '--config', config]);
    t.equal(run.status, 1, 'the edge exits 1');
    t.match(run.stderr, /the broker does not trust this node's client certificate \(brokerTls\.cert\).*\(BROKER_TLS\)/);
    t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');

    const other = issueClientCertificate(ca, 'other-user', cluster.names.agencyUser(B));
    const mismatch = variant(configA, join(dir, 'edge-a-other-cn.json'), {
      brokerTls: { ca: ca.caCertPath, cert: other.cert, key: other.key },
      api: undefined,
      dataDir: refusalDir('edge-other-cn'),
    });
    const refused = runCli(REPO, ['edge', '--config', mismatch]);
    t.equal(refused.status, 1, "a certificate of another agency's user is refused before connecting");
    t.match(refused.stderr, new RegExp(`is for "${cluster.names.agencyUser(B).replace(/\./g, '\\.')}", but the edge publishes as broker user "${userA.replace(/\./g, '\\.')}".*CN=.*\\(BROKER_USER_MISMATCH\\)`));
  });
});
