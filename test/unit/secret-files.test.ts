import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envSecret } from '../../src/config.js';
import { hubConfigFrom } from '../../src/hub/config.js';

const dir = mkdtempSync(join(tmpdir(), 'lt-secret-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text, { mode: 0o600 });
  return join(dir, name);
};
const hubRaw = { organId: '000.00.90.H12', identity: { key: 'k.pem', cert: 'c.pem' }, trust: { anchors: ['r.pem'] } };

t.test('NAME_FILE gives the secret from a file (compose secrets, systemd credentials), its line break dropped', async (t) => {
  const url = 'amqp://lt.agency.000.00.01.H12:s3cret@rabbitmq:5672?queueToken=abc';
  t.equal(envSecret({ AMQP_URL_FILE: file('url', `${url}\n`) }, 'AMQP_URL'), url);
  t.equal(envSecret({ AMQP_URL_FILE: file('url-crlf', `${url}\r\n`) }, 'AMQP_URL'), url);
  t.equal(envSecret({ AMQP_URL: url }, 'AMQP_URL'), url, 'the variable itself still works');
  t.equal(envSecret({}, 'AMQP_URL'), undefined);
  const hub = hubConfigFrom(hubRaw, dir, 'hub.json', { AMQP_URL_FILE: file('hub-url', 'amqp://admin:pw@mq1:5672\n'), LT_MANAGEMENT_PASSWORD_FILE: file('pw', 'pw\n') });
  t.equal(hub.amqpUrl, 'amqp://admin:pw@mq1:5672', 'the hub reads AMQP_URL_FILE');
  t.equal(hub.management.password, 'pw', 'and LT_MANAGEMENT_PASSWORD_FILE');
});

t.test('a file that is missing, empty, or set next to the variable is refused, saying what to fix', async (t) => {
  const refused = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
    t.throws(() => envSecret(env, 'AMQP_URL'), { name: 'LtError', code: 'CONFIG_INVALID', message: pattern });
  refused({ AMQP_URL_FILE: join(dir, 'nope') }, /AMQP_URL_FILE names .*nope, which cannot be read \(ENOENT\)/);
  refused({ AMQP_URL_FILE: file('empty', '\n') }, /which is empty/);
  refused({ AMQP_URL_FILE: file('both', 'amqp://a:b@c'), AMQP_URL: 'amqp://a:b@c' }, /both AMQP_URL and AMQP_URL_FILE are set/);
});
