/**
 * deploy/rabbitmq.conf and deploy/rabbitmq-tls.conf as a real node reads them (a private node:
 * RabbitMQ refuses to start on a key it does not know, so this is the judge of the files), with
 * the administrator file deploy/make-secrets.sh writes and a certificate made with openssl:
 * the memory and disk alarms and the message size are in force, no guest user exists, AMQP and
 * the management API answer over TLS only (openssl s_client, TLS 1.3), and the administrator
 * logs in over amqps.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import t from 'tap';
import { REPO } from '../helpers/cli.js';
import { startPrivateBroker } from '../helpers/private-broker.js';
import { freePort } from '../helpers/processes.js';

/** A CA and a server certificate for 127.0.0.1 / localhost, by openssl. */
function makeTls(dir: string): { ca: string; cert: string; key: string } {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=lienthong test broker CA');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key.pem', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key.pem') };
}

/** Whether anything accepts a TCP connection there. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

t.test('a node runs with the production configuration: alarms, no guest, TLS only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-rabbit-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tls = makeTls(dir);
  const amqpsPort = await freePort();
  const managementTlsPort = await freePort();
  const base = readFileSync(join(REPO, 'deploy/rabbitmq.conf'), 'utf8');
  // The production files as they are, but for this machine's free ports and the test certificate.
  const tlsConf = readFileSync(join(REPO, 'deploy/rabbitmq-tls.conf'), 'utf8')
    .replace(/^listeners\.ssl\.default = 5671$/m, `listeners.ssl.default = ${amqpsPort}`)
    .replace(/^management\.ssl\.port = 15671$/m, `management.ssl.port = ${managementTlsPort}`)
    .replaceAll('/etc/rabbitmq/tls/ca.pem', tls.ca)
    .replaceAll('/etc/rabbitmq/tls/server.pem', tls.cert)
    .replaceAll('/etc/rabbitmq/tls/server.key.pem', tls.key);
  t.not(tlsConf, readFileSync(join(REPO, 'deploy/rabbitmq-tls.conf'), 'utf8'), 'ports and files substituted');
  // The administrator as deploy/make-secrets.sh writes it.
  const secrets = join(dir, 'secrets');
  const made = spawnSync('sh', [join(REPO, 'deploy/make-secrets.sh')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LT_SECRETS_DIR: secrets }, encoding: 'utf8' });
  t.equal(made.status, 0, made.stderr);
  const adminConf = readFileSync(join(secrets, 'broker-admin.conf'), 'utf8');
  const password = readFileSync(join(secrets, 'broker-admin-password'), 'utf8').trim();

  const broker = await startPrivateBroker(t, { management: true, config: `${base}\n${tlsConf}\n${adminConf}` });
  const plainPort = Number(new URL(broker.url).port);

  const environment = await broker.ctl('environment');
  t.match(environment, /\{vm_memory_high_watermark,\s*0\.6\}/, 'memory alarm at 60 %');
  t.match(environment, /\{disk_free_limit,\s*"2GB"\}/, 'disk alarm at 2 GB');
  t.match(environment, /\{vm_memory_high_watermark_paging_ratio,\s*0\.75\}/, 'paging before the alarm');
  t.match(environment, /\{max_message_size,\s*33554432\}/, 'message size of the packet limit');
  t.match(environment, /\{loopback_users,\s*\[<<"guest">>\]\}/, 'guest only from the node itself, should it exist');

  const users = await broker.ctl('list_users', '--silent');
  t.notMatch(users, /^guest\b/m, 'no guest user');
  t.match(users, /^lienthong-admin\s+\[administrator\]/m, 'the administrator of the secret file');

  t.notOk(await listening(plainPort), 'no plain AMQP listener');
  // openssl, not Node, says the listener speaks TLS 1.3 with the node's certificate.
  const handshake = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${amqpsPort}`, '-CAfile', tls.ca, '-verify_return_error', '-tls1_3', '-brief'], { input: '', encoding: 'utf8', timeout: 20_000 });
  t.match(handshake.stderr + handshake.stdout, /Protocol version: TLSv1\.3/, 'AMQP over TLS 1.3');
  t.match(handshake.stderr + handshake.stdout, /Verification: OK/, 'with the certificate the CA signed');
  const old = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${amqpsPort}`, '-tls1_1', '-brief'], { input: '', encoding: 'utf8', timeout: 20_000 });
  t.notMatch(old.stderr + old.stdout, /Protocol version: TLSv1\.1/, 'TLS 1.1 refused');

  const connection = await amqp.connect(`amqps://lienthong-admin:${password}@localhost:${amqpsPort}`, { ca: [readFileSync(tls.ca)] });
  t.teardown(() => connection.close().catch(() => {}));
  const channel = await connection.createChannel();
  const queue = `lt-conf-${randomBytes(3).toString('hex')}`;
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  t.pass('the administrator declares a quorum queue over amqps');
  await t.rejects(amqp.connect(`amqps://guest:guest@localhost:${amqpsPort}`, { ca: [readFileSync(tls.ca)] }), 'guest cannot log in');

  const curl = spawnSync('curl', ['-sS', '--cacert', tls.ca, '-u', `lienthong-admin:${password}`, `https://localhost:${managementTlsPort}/api/overview`], { encoding: 'utf8', timeout: 20_000 });
  t.match(curl.stdout, /"rabbitmq_version"/, 'curl reads the management API over HTTPS with the CA');
});
