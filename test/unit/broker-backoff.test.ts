/**
 * Reconnecting to a broker that is not there: every attempt is logged with its number, cause
 * and delay, the delay doubles from RECONNECT_FIRST_DELAY_MS and never exceeds its cap, and a
 * background connection (an edge's) keeps trying past the few attempts a start would make,
 * telling the health board why. No broker is needed: nothing listens on the port.
 */
import t from 'tap';
import { reportBrokerHealth } from '../../src/broker/broker-health.js';
import { BrokerConnection, RECONNECT_FIRST_DELAY_MS, RECONNECT_MAX_DELAY_MS } from '../../src/broker/connection.js';
import { HealthBoard } from '../../src/health.js';
import { captureLog } from '../helpers/log-capture.js';
import { freePort } from '../helpers/processes.js';

t.test('the default back-off: from 0.2 s, doubling, capped at 10 s', async (t) => {
  t.equal(RECONNECT_FIRST_DELAY_MS, 200);
  t.equal(RECONNECT_MAX_DELAY_MS, 10_000);
});

t.test('a background connection retries for ever with capped back-off, each attempt logged and on the health board', async (t) => {
  const port = await freePort();
  const cap = 800;
  const captured = captureLog('broker');
  const connection = await BrokerConnection.connect(`amqp://guest:guest@127.0.0.1:${port}`, { name: 'lienthong backoff test', log: captured.log, background: true, maxDelayMs: cap });
  t.teardown(() => connection.close());
  const board = new HealthBoard();
  reportBrokerHealth(connection, board, 'documents wait in the outbox');
  t.equal(await connection.firstOutcome(), 'retrying', 'the first outcome: retrying, not a refusal');

  // Past the five attempts a start makes before it gives up.
  const attempts = 8;
  await captured.next(`attempt ${attempts}`, (l) => l.attempt === attempts && String(l.msg).includes('retrying in'));
  const retries = captured.lines.filter((l) => String(l.msg).includes('retrying in'));
  t.same(
    retries.map((r) => r.attempt),
    retries.map((_, i) => i + 1),
    'every attempt logged, numbered from 1',
  );
  const delays = retries.map((r) => Number(r.delayMs));
  for (const [i, delay] of delays.entries()) {
    t.ok(delay <= cap, `attempt ${i + 1} waits ${delay} ms, not over the cap`);
    t.equal(retries[i]?.level, 40, 'a warning');
    t.match(retries[i]?.err, /ECONNREFUSED/, 'with its cause');
  }
  t.ok(Number(delays[0]) <= RECONNECT_FIRST_DELAY_MS * 1.2, 'the first wait is the shortest');
  // 200, 400, then the cap (less its jitter: ±20 % around cap / 1.2), rounded to the millisecond by amqplib.
  for (const delay of delays.slice(3)) t.ok(delay >= Math.round((cap / 1.2) * 0.8), `later attempts wait about the cap (${delay} ms)`);
  t.match(board.snapshot(), { status: 'degraded', problems: [{ component: 'broker', code: 'BROKER_UNREACHABLE', message: /ECONNREFUSED.*documents wait in the outbox/ }] });
  t.notOk(connection.connected);
});
