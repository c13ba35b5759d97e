/**
 * The broker's max_message_size against the packet limit (issue 11, point 8): a private node
 * whose limit is 1 MiB refuses a 2 MiB probe and says its limit; the hub started with
 * maxPacketBytes over it warns at start-up and routes anyway. The shared broker (default limit,
 * 128 MiB) takes a probe of the default packet limit.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { brokerLimitOf, probeMessageSize } from '../../src/broker/message-size.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { waitFor } from '../helpers/exchange.js';
import { startPrivateBroker } from '../helpers/private-broker.js';
import { ManagedProcess } from '../helpers/processes.js';

const MiB = 1024 * 1024;

t.test("RabbitMQ's refusal names its limit", async (t) => {
  t.equal(brokerLimitOf('PRECONDITION_FAILED - message size 2097152 is larger than configured max size 1048576'), 1048576);
  t.equal(brokerLimitOf('PRECONDITION_FAILED - message size 600000000 is larger than max size 536870912'), 536870912);
  t.equal(brokerLimitOf('NOT_FOUND - no queue'), undefined);
});

t.test('the shared broker takes a message of the default packet limit (dropped: no queue takes it)', async (t) => {
  const connection = await amqp.connect(process.env.AMQP_URL ?? DEFAULT_AMQP_URL);
  t.teardown(() => connection.close());
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  t.same(await probeMessageSize(channel, 32 * MiB, `lt-probe-${randomBytes(3).toString('hex')}.unroutable`), { fits: true });
});

t.test('a broker limit under maxPacketBytes: the probe says so, the hub warns and runs', async (t) => {
  const broker = await startPrivateBroker(t, { config: 'max_message_size = 1048576\n' });
  const connection = await amqp.connect(broker.url);
  t.teardown(() => connection.close().catch(() => {}));
  connection.on('error', () => {});
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  t.same(await probeMessageSize(channel, 2 * MiB, 'lt-probe.unroutable'), { fits: false, brokerLimit: MiB });
  const fits = await connection.createChannel();
  t.same(await probeMessageSize(fits, MiB / 2, 'lt-probe.unroutable'), { fits: true }, 'half a MiB fits');

  const dir = mkdtempSync(join(tmpdir(), 'lt-message-size-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: DEV_HUB.organId,
      organName: DEV_HUB.organName,
      amqpUrl: broker.url,
      prefix: `lt-size-${randomBytes(3).toString('hex')}`,
      management: { url: 'http://127.0.0.1:9', user: 'guest', password: 'guest' },
      dataDir: join(dir, 'hub'),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
      maxPacketBytes: 2 * MiB,
    }),
  );
  const hub = new ManagedProcess('hub', ['hub', '--config', config], join(dir, 'hub.log'), 'hub started');
  t.teardown(() => hub.kill());
  await hub.start();
  const warning = await waitFor('the warning about max_message_size', () => hub.levels(40).find((l) => String(l.msg).includes('max_message_size')));
  t.equal(warning.brokerMaxMessageSize, MiB, 'the broker limit');
  t.equal(warning.maxPacketBytes, 2 * MiB, 'and the packet limit');
  t.match(String(warning.msg), /raise max_message_size in rabbitmq\.conf on every node .* or lower maxPacketBytes/);
  t.ok(hub.running, 'the hub runs on');
  await hub.stop();
  t.equal(hub.lines('hub stopped').length, 1);
});
