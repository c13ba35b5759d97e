/**
 * A broker of several nodes in the configuration (issue 11, point 8): "amqpUrl" and AMQP_URL take
 * one URL, an array or a comma-separated list; the nodes of one cluster must share user,
 * password, vhost and queue token; "management.url" takes a list as well. And the object amqplib
 * reads at each attempt says what the URL string would have said.
 */
import t from 'tap';
import { amqpUrlsOf, brokerSettings } from '../../src/config.js';
import { addressList, amqpTarget } from '../../src/broker/url.js';
import { devTrust } from '../../src/demo/local-exchange.js';
import { hubConfigFrom } from '../../src/hub/config.js';
import { LtError } from '../../src/errors.js';

const hubRaw = {
  organId: '000.00.90.H12',
  identity: { key: 'hub.key.pem', cert: 'hub.pem' },
  trust: devTrust(),
};

t.test('a list splits before each URL, never inside a password', async (t) => {
  t.same(addressList('amqp://u:p@a:5672, amqp://u:p@b:5672 ,amqps://u:p@c'), ['amqp://u:p@a:5672', 'amqp://u:p@b:5672', 'amqps://u:p@c']);
  t.same(addressList('amqp://u:a,b@host:5672/vh'), ['amqp://u:a,b@host:5672/vh'], 'a comma inside the password stays');
  t.same(addressList(['http://a:15672/', ' http://b:15672 ']), ['http://a:15672/', 'http://b:15672']);
  t.same(addressList(''), []);
});

t.test('one URL stays one URL; a list keeps its order, the first is amqpUrl', async (t) => {
  t.same(brokerSettings({ amqpUrl: 'amqp://u:p@a:5672' }, {}), { amqpUrl: 'amqp://u:p@a:5672', prefix: 'lt' });
  const listed = brokerSettings({ amqpUrl: ['amqp://u:p@a:5672', 'amqp://u:p@b:5673'] }, {});
  t.same(listed, { amqpUrl: 'amqp://u:p@a:5672', amqpUrls: ['amqp://u:p@a:5672', 'amqp://u:p@b:5673'], prefix: 'lt' });
  t.same(amqpUrlsOf(listed), ['amqp://u:p@a:5672', 'amqp://u:p@b:5673']);
  const fromEnv = brokerSettings({ amqpUrl: 'amqp://x@y' }, { AMQP_URL: 'amqp://u:p@a:5672,amqp://u:p@b:5673,amqp://u:p@c:5674' });
  t.same(amqpUrlsOf(fromEnv), ['amqp://u:p@a:5672', 'amqp://u:p@b:5673', 'amqp://u:p@c:5674'], 'AMQP_URL, comma-separated, over the file');
  t.same(amqpUrlsOf(brokerSettings({}, {})), ['amqp://guest:guest@127.0.0.1:5672'], "the hub's default");
  t.same(brokerSettings({}, {}, ''), { amqpUrl: '', prefix: 'lt' }, 'an edge without a URL has none');
});

t.test('the nodes of one cluster take the same user, password, vhost and queue token', async (t) => {
  for (const [what, other] of [
    ['user', 'amqp://v:p@b:5672/vh?queueToken=abc'],
    ['password', 'amqp://u:q@b:5672/vh?queueToken=abc'],
    ['vhost', 'amqp://u:p@b:5672/other?queueToken=abc'],
    ['queue token', 'amqp://u:p@b:5672/vh?queueToken=abd'],
  ] as const) {
    try {
      brokerSettings({ amqpUrl: ['amqp://u:p@a:5672/vh?queueToken=abc', other] }, {}, '', 'edge.json');
      t.fail(`a different ${what} was accepted`);
    } catch (error) {
      t.ok(error instanceof LtError && error.code === 'CONFIG_INVALID', `a different ${what} is refused`);
      t.match((error as Error).message, /^edge\.json: the AMQP URLs in "amqpUrl" .* only host and port may differ/);
      t.notMatch((error as Error).message, /:p@|:q@/, 'no password in the message');
    }
  }
  t.throws(() => brokerSettings({ amqpUrl: ['amqp://u:p@a', 42] }, {}, '', 'edge.json'), { code: 'CONFIG_INVALID' }, 'an array of something else');
  t.throws(() => brokerSettings({ amqpUrl: 'amqp://u:p@a,amqp://u:p@b:notaport' }, {}, '', 'edge.json'), { code: 'CONFIG_INVALID' }, 'a node that is not a URL');
});

t.test("the hub's management API: one URL, a list or an array; the vhost from the first AMQP URL", async (t) => {
  const hub = hubConfigFrom({ ...hubRaw, amqpUrl: ['amqp://u:p@a:5672/lt', 'amqp://u:p@b:5672/lt'], management: { url: ['http://a:15672', 'http://b:15672'] } }, '/etc/lienthong', 'hub.json', {});
  t.equal(hub.management.url, 'http://a:15672,http://b:15672');
  t.equal(hub.management.vhost, 'lt');
  t.equal(hubConfigFrom(hubRaw, '/etc/lienthong', 'hub.json', { LT_MANAGEMENT_URL: 'http://a:15672,http://b:15672' }).management.url, 'http://a:15672,http://b:15672');
  t.throws(() => hubConfigFrom({ ...hubRaw, management: { url: [] } }, '/etc/lienthong', 'hub.json', {}), { code: 'CONFIG_INVALID' });
});

t.test('what amqplib reads at each attempt is what the URL says', async (t) => {
  t.same(amqpTarget('amqp://lt%2Dagency:p%40ss@127.0.0.1:5673/lt%2Fprod?heartbeat=15&queueToken=abc&frameMax=131072'), {
    protocol: 'amqp',
    hostname: '127.0.0.1',
    port: 5673,
    username: 'lt-agency',
    password: 'p@ss',
    vhost: 'lt%2Fprod',
    heartbeat: 15,
    frameMax: 131072,
  });
  t.same(amqpTarget('amqps://[::1]'), { protocol: 'amqps', hostname: '::1', port: 5671, username: 'guest', password: 'guest', vhost: '' }, 'defaults as amqplib has them');
});
