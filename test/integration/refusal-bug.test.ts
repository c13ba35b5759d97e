/**
 * A bug met while handling a packet repeats on every redelivery: the hub and the edges
 * dead-letter such a packet at once, its cause filed and logged with the code
 * PACKET_UNPROCESSABLE, instead of sending it back to its queue until the delivery limit
 * (issue 11, point 2).
 *
 * The bug is planted without touching the code: the real hub and edges run over the shared
 * RabbitMQ with a clock (a dependency they take) that answers one call, from the router's or
 * the inbox's handling of a packet, with an invalid date. The real code then throws the
 * RangeError ("Invalid time value") that any bug would; the next call is sound again, as the
 * code that files the dead letter needs it.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { DocumentPacket } from '../../src/envelope/types.js';
import { deadLetterCause } from '../../src/hub/dead-letter-cause.js';
import type { DeadLetter } from '../../src/hub/dead-letters.js';
import { A, B, agency, documentPacket, openExchange, publishAs, signAs, waitFor } from '../helpers/exchange.js';
import { captureLog } from '../helpers/log-capture.js';

/** A clock that breaks once, on the first call from `caller` (a frame of the stack) after `arm()`. */
function brittleClock(caller: RegExp): { clock: () => Date; arm: () => void; struck: () => boolean } {
  let armed = false;
  let struck = false;
  return {
    clock: () => {
      if (armed && caller.test(new Error().stack ?? '')) {
        armed = false;
        struck = true;
        return new Date(Number.NaN);
      }
      return new Date();
    },
    arm: () => {
      armed = true;
    },
    struck: () => struck,
  };
}

t.test('a bug met on a packet dead-letters it at once, with the cause, at the hub and at an edge', async (t) => {
  const hubClock = brittleClock(/Router\.route/);
  const edgeClock = brittleClock(/Inbox\.receiveDocument/);
  const captured = captureLog('lt');
  const { exchange, routed, received } = await openExchange(t, [agency(A), agency(B, { edgeOptions: { clock: edgeClock.clock } })], {
    log: captured.log,
    hubOptions: { clock: hubClock.clock },
  });

  const n = Date.now() % 100_000;
  const ids = { hub: randomUUID(), edge: randomUUID() };
  const publish = async (packetId: string, number: string): Promise<void> => {
    const packet = documentPacket(A, [B], number) as DocumentPacket;
    await publishAs(t, exchange, A, await signAs(packet, A), { packetId, type: 'edoc', from: A, to: [B], priority: '0', documentId: packet.documentId });
  };

  const deadLetter = (packetId: string): Promise<DeadLetter> =>
    waitFor(`the hub to collect dead letter ${packetId}`, () => exchange.hub.deadLetters.list({ limit: 500 }).items.find((d) => d.packetId === packetId));
  const deliveryCount = (d: DeadLetter): number => {
    const row = exchange.hub.db.prepare('SELECT properties FROM dead_letters WHERE id = ?').get(d.id) as { properties: string };
    return Number((JSON.parse(row.properties) as { headers?: Record<string, unknown> }).headers?.['x-delivery-count'] ?? 0);
  };

  await t.test('at the hub', async (t) => {
    hubClock.arm();
    await publish(ids.hub, `${n}1`);
    const outcome = await waitFor('the hub to decide', () => routed.find((o) => o.packetId === ids.hub));
    t.match(outcome, { verdict: 'dead-letter', errorCode: 'PACKET_UNPROCESSABLE', redelivered: false }, 'dead-lettered on its first delivery');
    const d = await deadLetter(ids.hub);
    t.equal(d.reason, 'rejected', 'by the hub, not by the delivery limit');
    t.equal(deliveryCount(d), 0, 'the broker never redelivered it');
    const cause = deadLetterCause(exchange.hub.db, exchange.names, d);
    t.equal(cause.code, 'PACKET_UNPROCESSABLE', 'the dashboard shows the cause');
    t.match(cause.message, /RangeError: Invalid time value/, '... with the error');
    t.ok(hubClock.struck(), 'the planted bug struck in the router');
    const logged = await captured.next('the error logged with its code', (l) => l.errorCode === 'PACKET_UNPROCESSABLE' && l.packetId === ids.hub);
    t.equal(logged.level, 50, 'logged as an error');
    t.equal(routed.filter((o) => o.packetId === ids.hub).length, 1, 'decided once');
  });

  await t.test('at the recipient edge', async (t) => {
    edgeClock.arm();
    await publish(ids.edge, `${n}2`);
    const outcome = await waitFor('the hub to route it', () => routed.find((o) => o.packetId === ids.edge));
    t.match(outcome, { verdict: 'routed', delivered: [B] });
    const event = await waitFor("B's edge to handle it", () => received.get(B)?.find((e) => e.packetId === ids.edge));
    t.match(event, { type: 'dropped', reason: /RangeError: Invalid time value/ });
    t.ok(edgeClock.struck(), "the planted bug struck in B's inbox");
    const d = await deadLetter(ids.edge);
    t.equal(d.reason, 'rejected', "by B's edge, not by the delivery limit");
    t.equal(deliveryCount(d), 0, 'the broker never redelivered it');
    const logged = await captured.next('the error logged with its code', (l) => l.errorCode === 'PACKET_UNPROCESSABLE' && l.packetId === ids.edge && l.level === 50);
    t.ok(logged, 'logged as an error, with its code');
    t.equal(received.get(B)?.filter((e) => e.packetId === ids.edge).length, 1, 'handled once');
  });

  t.same(
    captured.lines.filter((l) => /redelivered/.test(l.msg ?? '')).map((l) => l.msg),
    [],
    'no node sent a packet back to its queue',
  );
});
