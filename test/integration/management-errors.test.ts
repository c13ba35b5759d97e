/**
 * The management API client against the real broker, wrongly configured in each way an
 * operator can: every cause gets its own code and advice, and paths are shown as sent, the
 * default vhost as %2F (never "/api/queues///name").
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { ManagementClient, type ManagementOptions } from '../../src/broker/management.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { managementOptions } from '../../src/demo/local-exchange.js';
import { LtError } from '../../src/errors.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const good = managementOptions(amqpUrl, process.env);
const admin = new ManagementClient(good);
const run = randomBytes(3).toString('hex');

async function failure(options: Partial<ManagementOptions>, call: (api: ManagementClient) => Promise<unknown>): Promise<LtError> {
  try {
    await call(new ManagementClient({ ...good, ...options }));
  } catch (error) {
    if (error instanceof LtError) return error;
    throw error;
  }
  throw new Error('the call succeeded');
}

t.test('a wrong password: the user is named, the password never', async (t) => {
  const e = await failure({ password: 'not-the-password' }, (api) => api.overview());
  t.equal(e.code, 'BROKER_MANAGEMENT_LOGIN');
  t.match(e.message, `the user "${good.user}" does not exist or its password is wrong`);
  t.notMatch(e.message, /not-the-password/);
  t.notMatch(e.message, /rabbitmq-plugins/, 'no advice to enable a plugin that answered');
});

t.test('a user without the management tag is told so', async (t) => {
  const user = `lt-mgmt-${run}`;
  await admin.putUser(user, 'pw-of-the-test');
  t.teardown(() => admin.deleteUser(user));
  const e = await failure({ user, password: 'pw-of-the-test' }, (api) => api.overview());
  t.equal(e.code, 'BROKER_MANAGEMENT_LOGIN');
  t.match(e.message, /no management tag/);
});

t.test('nothing listening: enable the plugin or correct the port', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const e = await failure({ url: `http://127.0.0.1:${port}` }, (api) => api.overview());
  t.equal(e.code, 'BROKER_MANAGEMENT_UNREACHABLE');
  t.match(e.message, /ECONNREFUSED/);
  t.match(e.message, /rabbitmq-plugins enable rabbitmq_management/);
});

t.test('the AMQP port given as the management URL', async (t) => {
  const amqpPort = new URL(amqpUrl).port || '5672';
  const e = await failure({ url: `http://127.0.0.1:${amqpPort}` }, (api) => api.overview());
  t.equal(e.code, 'BROKER_MANAGEMENT_UNREACHABLE');
  t.match(e.message, /not the AMQP port/);
});

t.test('a wrong path: no management API at that URL (404 at /api/overview), for any call', async (t) => {
  const url = `${good.url.replace(/\/+$/, '')}/no-such-prefix`;
  for (const call of [(api: ManagementClient) => api.overview(), (api: ManagementClient) => api.putQueue(`lt-mgmt-${run}`, {}), (api: ManagementClient) => api.listQueues()]) {
    const e = await failure({ url }, call);
    t.equal(e.code, 'BROKER_MANAGEMENT_UNREACHABLE');
    t.match(e.message, `no RabbitMQ management API at ${url}`);
    t.notMatch(e.message, /rabbitmq-plugins enable/, 'not the advice for a port nothing listens on');
  }
});

t.test('paths are shown encoded, the default vhost as %2F', async (t) => {
  const e = await failure({ vhost: '/' }, (api) => api.setPermissions(`lt-mgmt-no-such-user-${run}`, { configure: '', write: '', read: '' }));
  t.equal(e.code, 'BROKER_MANAGEMENT');
  t.match(e.message, `/api/permissions/%2F/lt-mgmt-no-such-user-${run}`);
  t.notMatch(e.message, /\/\/\//, 'no empty segment');
  const missingVhost = await failure({ vhost: `lt-no-vhost-${run}` }, (api) => api.putQueue('q', {}));
  t.equal(missingVhost.code, 'BROKER_MANAGEMENT');
  t.match(missingVhost.message, `/api/queues/lt-no-vhost-${run}/q answered 404`);
  t.match(missingVhost.message, `the virtual host "lt-no-vhost-${run}" or the object does not exist`);
});
