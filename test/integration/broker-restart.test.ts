/**
 * A broker that goes away and comes back, on a private RabbitMQ node (the shared one is never
 * stopped): the hub program keeps running, logs the loss, every reconnect attempt (attempt,
 * delay, cause) and the recovery, and consumes its lanes again; a connection asked for while
 * the broker is still starting waits for it, logging each attempt.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { BrokerConnection } from '../../src/broker/connection.js';
import { resourceNames } from '../../src/broker/names.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { waitFor } from '../helpers/exchange.js';
import { captureLog } from '../helpers/log-capture.js';
import { startPrivateBroker } from '../helpers/private-broker.js';
import { ManagedProcess } from '../helpers/processes.js';

// Two private nodes, each started, stopped and started again: at a load of 20 on two cores the
// node's boots take minutes, and the file took 750 s, near tap's 900 s per file.
t.setTimeout(30 * 60_000);

t.test('the hub survives a broker restart: loss, attempts and recovery are logged, the lanes are consumed again', async (t) => {
  const broker = await startPrivateBroker(t);
  const dir = mkdtempSync(join(tmpdir(), 'lt-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = `lt-restart-${randomBytes(3).toString('hex')}`;
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: DEV_HUB.organId,
      organName: DEV_HUB.organName,
      amqpUrl: broker.url,
      prefix,
      // The private node has no management plugin: the hub says so and routes anyway.
      management: { url: 'http://127.0.0.1:9', user: 'guest', password: 'guest' },
      dataDir: join(dir, 'hub'),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    }),
  );
  const hub = new ManagedProcess('hub', ['hub', '--config', config], join(dir, 'hub.log'), 'hub started');
  t.teardown(() => hub.kill());
  await hub.start();

  const probe = await amqp.connect(broker.url);
  probe.on('error', () => {});
  const consumers = async (queue: string): Promise<number> => {
    const channel = await probe.createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).consumerCount;
    } finally {
      await channel.close().catch(() => {});
    }
  };
  const names = resourceNames(prefix);
  t.equal(await consumers(names.hubInbound.urgent), 1, 'the hub consumes its urgent lane');
  await probe.close();

  await broker.stopApp();
  await waitFor('the hub to log the loss', () => hub.lines('broker connection lost; reconnecting').length > 0);
  await waitFor('two logged attempts', () => hub.levels(40).filter((l) => String(l.msg).includes('retrying in')).length >= 2);
  await broker.startApp();
  const restored = await waitFor('the hub to log the recovery', () => hub.lines('broker connection restored')[0]);
  t.ok(hub.running, 'the hub did not exit');

  const lost = hub.lines('broker connection lost; reconnecting')[0];
  t.equal(lost?.level, 40, 'the loss is a warning');
  t.equal(lost?.code, 'BROKER_UNREACHABLE');
  const attempts = hub.levels(40).filter((l) => String(l.msg).includes('retrying in'));
  t.same(
    attempts.map((a) => a.attempt),
    attempts.map((_, i) => i + 1),
    'attempts are numbered from 1',
  );
  for (const a of attempts) {
    t.type(a.delayMs, 'number', 'each with its delay');
    t.type(a.err, 'string', 'and its cause');
  }
  t.equal(restored.attempt, attempts.length, 'the recovery names the attempt that succeeded');
  t.notMatch(hub.log(), /\n\s+at .+:\d+:\d+|Unhandled 'error' event|uncaught/i, 'no stack trace, no unhandled error');

  const again = await amqp.connect(broker.url);
  again.on('error', () => {});
  t.teardown(() => again.close().catch(() => {}));
  const channel = await again.createChannel();
  await waitFor('the hub to consume both lanes again', async () => {
    const urgent = await channel.checkQueue(names.hubInbound.urgent);
    const normal = await channel.checkQueue(names.hubInbound.normal);
    return urgent.consumerCount === 1 && normal.consumerCount === 1;
  });
  await hub.stop();
  t.equal(hub.lines('hub stopped').length, 1, 'and it still stops cleanly');
});

t.test('a connection asked for while the broker is down waits for it, logging each attempt', async (t) => {
  const broker = await startPrivateBroker(t);
  await broker.stopApp();
  const captured = captureLog('broker');
  const connecting = BrokerConnection.connect(broker.url, { name: 'lienthong test', log: captured.log, initialRetries: 60 });
  const first = await captured.next('a first logged attempt', (l) => typeof l.msg === 'string' && l.msg.includes('retrying in'));
  t.equal(first.attempt, 1);
  t.match(first.err, /ECONNREFUSED|closed the connection/, 'the cause');
  await broker.startApp();
  const connection = await connecting;
  t.teardown(() => connection.close());
  t.ok(connection.connected);
  const connected = captured.find('connected to the broker');
  t.equal(connected.length, 1);
  t.ok(Number(connected[0]?.attempt) >= 1, 'the connection names the attempt that succeeded');
});
