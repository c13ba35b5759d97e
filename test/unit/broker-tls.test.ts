/**
 * TLS settings and TLS failures, without a broker: "brokerTls" read from a configuration and
 * the environment, the PEM files checked at start-up, and what BrokerConnection says when the
 * TLS handshake fails. The failures are real: a TLS server of the test's own (node:tls, with
 * certificates openssl makes here) that the connection meets, or a plain one for amqps://.
 */
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import t, { type Test } from 'tap';
import { BrokerConnection } from '../../src/broker/connection.js';
import { explainBrokerFailure } from '../../src/broker/failures.js';
import { brokerTlsSetting, loadBrokerTls } from '../../src/broker/tls.js';
import { brokerSettings } from '../../src/config.js';
import { LtError } from '../../src/errors.js';
import { httpsSetting, loadHttpsFiles } from '../../src/https.js';
import { silentLogger } from '../../src/log.js';
import { openssl } from '../helpers/pki.js';
import { issueClientCertificate, issueServerCertificate, makeTlsCa } from '../helpers/tls-pki.js';

const dir = t.testdir();
const ca = makeTlsCa(dir);
const stranger = makeTlsCa(dir, 'stranger-ca');
const server = issueServerCertificate(ca, 'server', ['127.0.0.1', 'localhost']);
const client = issueClientCertificate(ca, 'client', 'lt.agency.000.00.01.H12');

t.test('"brokerTls": paths relative to the configuration, the environment over the file', async (t) => {
  const resolve = (p: string): string => resolvePath('/etc/lienthong', p);
  t.equal(brokerTlsSetting(undefined, {}, resolve, 'hub.json'), undefined, 'absent: no TLS settings');
  t.same(brokerTlsSetting({ ca: 'broker-ca.pem', servername: 'rabbit.tinh.gov.vn' }, {}, resolve, 'hub.json'), { ca: '/etc/lienthong/broker-ca.pem', servername: 'rabbit.tinh.gov.vn' });
  t.same(
    brokerTlsSetting({ ca: 'a.pem' }, { LT_BROKER_CA: '/run/secrets/ca.pem', LT_BROKER_CERT: 'c.pem', LT_BROKER_KEY: 'k.pem', LT_BROKER_KEY_PASSPHRASE: 'bí mật' }, resolve, 'edge.json'),
    { ca: '/run/secrets/ca.pem', cert: '/etc/lienthong/c.pem', key: '/etc/lienthong/k.pem', passphrase: 'bí mật' },
    'every variable overrides its setting',
  );
  t.throws(() => brokerTlsSetting({ cert: 'c.pem' }, {}, resolve, 'edge.json'), { code: 'CONFIG_INVALID', message: /needs both "brokerTls.cert" and "brokerTls.key".*only the certificate/ });
  t.throws(() => brokerTlsSetting({ cacert: 'c.pem' }, {}, resolve, 'edge.json'), { code: 'CONFIG_INVALID', message: /"brokerTls.cacert" is not a setting; known: ca, cert, key, passphrase, servername/ });
  t.throws(() => brokerTlsSetting('ca.pem', {}, resolve, 'edge.json'), { code: 'CONFIG_INVALID', message: /"brokerTls" must be an object/ });
  t.throws(() => brokerTlsSetting({ ca: '' }, {}, resolve, 'edge.json'), { code: 'CONFIG_INVALID', message: /"brokerTls.ca" must be a non-empty text/ });
});

t.test('"brokerTls" goes with amqps:// URLs only', async (t) => {
  const settings = brokerSettings({ amqpUrl: 'amqps://u:p@rabbit:5671', brokerTls: { ca: 'ca.pem' } }, {}, '', 'edge.json', '/srv/edge');
  t.same(settings.tls, { ca: '/srv/edge/ca.pem' }, 'kept, relative to the configuration');
  t.throws(() => brokerSettings({ amqpUrl: 'amqp://u:p@rabbit:5672', brokerTls: { ca: 'ca.pem' } }, {}, '', 'edge.json'), {
    code: 'CONFIG_INVALID',
    message: /edge.json: "brokerTls" is set but the AMQP URL .* starts with amqp:\/\/, which does not use TLS: write amqps:\/\//,
  });
  t.throws(() => brokerSettings({ amqpUrl: ['amqps://u:p@a:5671', 'amqp://u:p@b:5672'] }, { LT_BROKER_CA: '/ca.pem' }, '', 'edge.json'), { code: 'CONFIG_INVALID' }, 'one plain node of a cluster is enough to refuse');
  t.equal(brokerSettings({ amqpUrl: 'amqps://u:p@rabbit:5671' }, {}).tls, undefined, 'amqps:// without brokerTls: the system CAs');
});

t.test('the PEM files are checked when read, with the file named', async (t) => {
  const material = loadBrokerTls({ ca: ca.caCertPath, cert: client.cert, key: client.key });
  t.equal(material.clientName, 'lt.agency.000.00.01.H12', "the client certificate's common name: the broker user of an EXTERNAL login");
  t.throws(() => loadBrokerTls({ ca: join(dir, 'missing.pem') }), { code: 'IO', message: /cannot read the broker CA \(brokerTls.ca\) .*missing\.pem: ENOENT/ });
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  t.throws(() => loadBrokerTls({ ca: notPem }), { code: 'CONFIG_INVALID', message: /is not a PEM file/ });
  t.throws(() => loadBrokerTls({ cert: client.cert, key: server.key }), { code: 'CONFIG_INVALID', message: /the client key .* does not belong to the client certificate/ });
  const encrypted = join(dir, 'client.enc.pem');
  openssl(dir, 'pkey', '-in', client.key, '-aes256', '-passout', 'pass:mật-khẩu', '-out', encrypted);
  t.throws(() => loadBrokerTls({ cert: client.cert, key: encrypted }), { code: 'CONFIG_INVALID', message: /is encrypted and no passphrase is given: set brokerTls.passphrase/ });
  t.throws(() => loadBrokerTls({ cert: client.cert, key: encrypted, passphrase: 'sai' }), { code: 'CONFIG_INVALID', message: /the passphrase does not open it/ });
  t.equal(loadBrokerTls({ cert: client.cert, key: encrypted, passphrase: 'mật-khẩu' }).clientName, 'lt.agency.000.00.01.H12', 'the right passphrase opens it');
});

t.test('"api.tls" / "dashboard.tls": a certificate and its key', async (t) => {
  const resolve = (p: string): string => join(dir, p);
  t.equal(httpsSetting(undefined, resolve, 'edge.json', 'api.tls'), undefined);
  const files = httpsSetting({ cert: 'server.pem', key: 'server.key.pem' }, resolve, 'edge.json', 'api.tls');
  t.same(files, { cert: server.cert, key: server.key });
  t.ok(loadHttpsFiles(files as { cert: string; key: string }, 'api.tls').cert.length > 0, 'read');
  t.throws(() => httpsSetting({ cert: 'server.pem' }, resolve, 'edge.json', 'api.tls'), { code: 'CONFIG_INVALID', message: /"api.tls" must be \{"cert": .*"key"/ });
  t.throws(() => httpsSetting({ cert: 'a', key: 'b', ca: 'c' }, resolve, 'hub.json', 'dashboard.tls'), { code: 'CONFIG_INVALID', message: /"dashboard.tls.ca" is not a setting/ });
  t.throws(() => loadHttpsFiles({ cert: server.cert, key: client.key }, 'api.tls'), { code: 'CONFIG_INVALID', message: /api.tls: the key .* does not belong to the certificate/ });
  t.throws(() => loadHttpsFiles({ cert: join(dir, 'nope.pem'), key: server.key }, 'dashboard.tls'), { code: 'IO', message: /cannot read the certificate of dashboard.tls/ });
});

async function listening(t: Test, s: Server): Promise<number> {
  // Sockets a refused handshake left half-open would keep close() waiting.
  const sockets = new Set<Socket>();
  s.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  return (s.address() as AddressInfo).port;
}

/** The error BrokerConnection.connect refuses with (one attempt, no retry). */
async function refusal(url: string, tls: Parameters<typeof BrokerConnection.connect>[1]['tls']): Promise<LtError> {
  try {
    const connection = await BrokerConnection.connect(url, { name: 'tls unit test', initialRetries: 0, log: silentLogger(), ...(tls ? { tls } : {}) });
    await connection.close();
  } catch (error) {
    if (error instanceof LtError) return error;
    throw error;
  }
  throw new Error('connected: expected a refusal');
}

t.test('TLS handshake failures say what to fix', async (t) => {
  const cert = readFileSync(server.cert);
  const key = readFileSync(server.key);
  // A TLS server with the broker's certificate.
  const tlsServer = createTlsServer({ cert, key }, (socket) => socket.end());
  tlsServer.on('tlsClientError', () => {});
  const port = await listening(t, tlsServer);
  const url = `amqps://u:secret@127.0.0.1:${port}`;
  const untrusted = await refusal(url, { ca: stranger.caCertPath });
  t.equal(untrusted.code, 'BROKER_TLS');
  t.ok(untrusted.message.includes('brokerTls.ca'), 'names the setting');
  t.match(untrusted.message, /the TLS connection to RabbitMQ at amqps:\/\/u:\*\*\*@127\.0\.0\.1:\d+ failed: the broker's certificate is not signed by a CA this node trusts .*Set brokerTls\.ca \(or LT_BROKER_CA\)/);
  t.notMatch(untrusted.message, /secret/, 'no password');

  const system = await refusal(url, undefined);
  t.equal(system.code, 'BROKER_TLS', 'without brokerTls the system CAs do not know a private CA either');

  const name = await refusal(url, { ca: ca.caCertPath, servername: 'rabbit.example.org' });
  t.equal(name.code, 'BROKER_TLS');
  t.match(name.message, /does not name the host this node connects to .*set brokerTls\.servername/);

  // One that insists on a client certificate (ssl_options.fail_if_no_peer_cert), over TLS 1.2,
  // where the refusal is an alert inside the handshake. (A certificate of another CA node:tls
  // refuses by closing, not with RabbitMQ's alert: the e2e test meets RabbitMQ's own.)
  const strict = createTlsServer({ cert, key, ca: readFileSync(ca.caCertPath), requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2' }, (socket) => socket.end());
  strict.on('tlsClientError', () => {});
  const strictUrl = `amqps://u:p@127.0.0.1:${await listening(t, strict)}`;
  const noCert = await refusal(strictUrl, { ca: ca.caCertPath });
  t.equal(noCert.code, 'BROKER_TLS');
  t.match(noCert.message, /the broker refused the TLS handshake \(ERR_SSL_\w+\): it requires a client certificate .*brokerTls\.cert and brokerTls\.key/);

  // amqps:// to a port that speaks plain AMQP: RabbitMQ answers a TLS hello with its protocol header.
  const plain = createTcpServer((socket) => socket.end(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
  const plainPort = await listening(t, plain);
  const mixUp = await refusal(`amqps://u:p@127.0.0.1:${plainPort}`, { ca: ca.caCertPath });
  t.equal(mixUp.code, 'BROKER_TLS');
  t.match(mixUp.message, new RegExp(`port ${plainPort} does not speak TLS .*Use the broker's TLS port`));

  // amqp:// to a TLS listener: the broker closes (or resets) the connection without a word.
  for (const [how, end] of [
    ['closes', (socket: Socket) => socket.end()],
    ['resets', (socket: Socket) => socket.resetAndDestroy()],
  ] as const) {
    const tlsOnly = createTcpServer((socket) => socket.once('data', () => end(socket)));
    const tlsPort = await listening(t, tlsOnly);
    const plainUrl = `amqp://u:p@127.0.0.1:${tlsPort}`;
    const wrongScheme = await refusal(plainUrl, undefined);
    t.equal(wrongScheme.code, 'BROKER_UNREACHABLE', `a listener that ${how}: retried (a broker stopping does the same)`);
    t.match(wrongScheme.message, new RegExp(`if port ${tlsPort} is the broker's TLS listener .*must start with amqps://`), 'and told to use amqps://');
  }
  const lost = explainBrokerFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'amqp://u:p@127.0.0.1:5671', 'connected');
  t.notMatch(lost.error.message, /amqps/, 'a connection lost once up is not a scheme mix-up');
});
