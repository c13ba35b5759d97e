/**
 * Hub and edges as processes on a private RabbitMQ node (test/helpers/outage-cluster.ts; the
 * shared broker is never stopped nor alarmed), stopped while the broker cannot take what they
 * hold (issue 11): SIGTERM while the broker is down, and while a memory alarm blocks publishers
 * with packets in hand. Edge and hub each stop within stopTimeoutSeconds, exit 0, and lose
 * nothing: every document accepted before the stop is delivered, and answered 01, after the
 * restart. broker-outage-start.test.ts has the starts without a broker.
 *
 * Tests wait on what the processes say (log lines, /health, databases), never on the clock;
 * the stop times are measured and printed as comments.
 */
import t from 'tap';
import { reportBrokerHealth } from '../../src/broker/broker-health.js';
import { BrokerConnection } from '../../src/broker/connection.js';
import { ConfirmPublisher } from '../../src/broker/publisher.js';
import { HealthBoard } from '../../src/health.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/exchange.js';
import { A, apiBase, blockLines, openOutageCluster, terminate } from '../helpers/outage-cluster.js';

t.test('stops during a broker outage and a memory alarm', async (t) => {
  const o = await openOutageCluster(t, 'lt-outage-stop');
  const { broker, hub, edgeA } = o;

  await t.test('SIGTERM during a broker outage: edge and hub stop in time, nothing is lost', async (t) => {
    await broker.stopApp();
    await waitFor("A to see the broker gone", () => edgeA.lines('broker connection lost; reconnecting').length > 0);
    await o.submit(3); // into A's outbox: the relay waits for a connection that does not come
    await waitFor('A to try to reconnect', () => edgeA.levels(40).some((l) => String(l.msg).includes('retrying in')));
    await terminate(t, edgeA, 'edge stopped');
    await terminate(t, hub, 'hub stopped');
    t.equal(o.unsentAt(A), 3, 'the three documents wait in A\'s outbox');

    await broker.startApp();
    await hub.start();
    await edgeA.start();
    await o.allAnswered();
    t.same(o.progress(), { answered: o.sent, atB: o.sent, twice: 0 }, 'every document delivered once and answered after the restart');
  });

  await t.test('SIGTERM during a memory alarm, packets in hand: edge and hub stop in time, nothing is lost', async (t) => {
    // Packets for the hub to route when it comes back: they will be in its hands during the alarm.
    await hub.stop();
    await o.submit(3);
    await waitFor('A to relay them to the stopped hub', () => o.unsentAt(A) === 0);
    // A publisher of the test's own, that sees the alarm come and go while edge and hub are stopped.
    const captured = captureLog('broker');
    const probe = await BrokerConnection.connect(broker.url, { name: 'lienthong alarm probe', log: captured.log });
    t.teardown(() => probe.close());
    const board = new HealthBoard();
    reportBrokerHealth(probe, board, 'messages wait');
    const publisher = new ConfirmPublisher({ name: 'alarm-probe', log: captured.log });
    await probe.add(publisher);
    const channel = await probe.channel();
    const { queue } = await channel.assertQueue('', { exclusive: true });

    await broker.ctl('set_vm_memory_high_watermark', '0.0000001');
    t.teardown(() => broker.ctl('set_vm_memory_high_watermark', '0.4').catch(() => {}));
    const confirmed = publisher.publish({ exchange: '', routingKey: queue, content: Buffer.from('alarm probe'), options: {} });
    await captured.next('the probe blocked', (l) => String(l.msg).startsWith('the broker blocks publishers ('), { timeoutMs: 120_000 });
    t.match(board.problem('broker'), { code: 'BROKER_BLOCKED', message: /low on memory/ }, 'the health board has it');
    await o.submit(3); // A publishes into the alarm
    const blockedA = await waitFor('A to log the block', () => blockLines(edgeA)[0]);
    t.match(blockedA.msg, /low on memory/, 'with the reason the broker gave');
    t.equal(blockedA.level, 40, 'a warning');
    const health = await waitFor('A to say degraded: broker', async () => {
      const body = (await (await fetch(`${apiBase(edgeA)}/health`)).json()) as { status: string; problems: Array<{ component: string; code: string }> };
      return body.status === 'degraded' ? body : undefined;
    });
    t.match(health.problems, [{ component: 'broker', code: 'BROKER_BLOCKED' }], 'on /health, with its code');
    await hub.start(); // it consumes the three packets and routes them: its publishes block
    await waitFor('the hub to log the block', () => blockLines(hub).length > 0);

    await terminate(t, edgeA, 'edge stopped');
    await terminate(t, hub, 'hub stopped');
    t.ok(
      edgeA.lines('stopping: the broker did not confirm in time (down or blocking publishers); dropping the connection. Unconfirmed packets stay in the outbox and are sent after the restart').length > 0,
      'A says why it dropped the connection',
    );
    t.ok(o.unsentAt(A) > 0, 'what the broker did not confirm is still in A\'s outbox');

    await broker.ctl('set_vm_memory_high_watermark', '0.4');
    const unblocked = await captured.next('the probe unblocked', (l) => l.msg === 'the broker unblocked publishers; publishing resumes', { timeoutMs: 120_000 });
    t.equal(unblocked.level, 30, 'the unblock is logged');
    await confirmed;
    t.pass('and what waited is confirmed');
    t.same(board.snapshot(), { status: 'ok', problems: [] }, 'the problem is cleared');
    await channel.close().catch(() => {});
    await hub.start();
    await edgeA.start();
    await o.allAnswered();
    t.same(o.progress(), { answered: o.sent, atB: o.sent, twice: 0 }, 'every document delivered once and answered after the restart');
  });
});
