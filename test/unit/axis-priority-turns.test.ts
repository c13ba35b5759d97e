/**
 * The line in front of the national axis: one packet at a time, the oldest urgent one first;
 * a packet that met an outage goes back to its place and, once the axis answers, the urgent
 * ones go before it.
 */
import t from 'tap';
import { LineStopped, PriorityTurns, Superseded, type Ticket } from '../../src/federation/axis/priority-turns.js';

/** Tickets in the order their turns came, each released at once unless `hold` says otherwise. */
function recorder(turns: PriorityTurns) {
  const order: string[] = [];
  const enter = (name: string, ticket: Ticket, after: (ticket: Ticket) => void = (tk) => turns.done(tk)): Promise<void> =>
    turns.turn(ticket).then(() => {
      order.push(name);
      after(ticket);
    });
  return { order, enter };
}

t.test('one at a time, the oldest urgent ticket first, then the oldest normal one', async (t) => {
  const turns = new PriorityTurns();
  const { order, enter } = recorder(turns);
  let releaseFirst!: () => void;
  const first = turns.ticket('normal');
  const holding = enter('n1', first, (tk) => {
    releaseFirst = () => turns.done(tk);
  });
  const rest = [enter('n2', turns.ticket('normal')), enter('u1', turns.ticket('urgent')), enter('n3', turns.ticket('normal')), enter('u2', turns.ticket('urgent'))];
  await holding;
  t.same(order, ['n1'], 'the others wait while one holds the line');
  releaseFirst();
  await Promise.all(rest);
  t.same(order, ['n1', 'u1', 'u2', 'n2', 'n3']);
});

t.test('a ticket that met an outage goes back to its place; the urgent ones go before it once the line opens', async (t) => {
  const turns = new PriorityTurns();
  const order: string[] = [];
  const n1 = turns.ticket('normal');
  await turns.turn(n1);
  const n2 = turns.ticket('normal');
  const u1 = turns.ticket('urgent');
  const later = [turns.turn(n2).then(() => (order.push('n2'), turns.done(n2))), turns.turn(u1).then(() => (order.push('u1'), turns.done(u1)))];
  turns.close(n1); // sending n1 failed: the axis is away
  t.notOk(turns.isOpen);
  const again = turns.turn(n1).then(() => (order.push('n1'), turns.done(n1)));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(order, [], 'nobody goes while the line is closed');
  turns.open();
  await Promise.all([...later, again]);
  t.same(order, ['u1', 'n1', 'n2'], 'urgent first, then n1 in its old place, before the younger n2');
});

t.test('a newer delivery of the same packet replaces the waiting one; stopping refuses the rest', async (t) => {
  const turns = new PriorityTurns();
  const holder = turns.ticket('normal');
  await turns.turn(holder);
  const old = turns.turn(turns.ticket('normal', 'packet-1'));
  const newer = turns.ticket('normal', 'packet-1');
  const replaced = turns.turn(newer);
  await t.rejects(old, Superseded);
  t.equal(turns.length, 1, 'one ticket for the packet');
  turns.stop();
  await t.rejects(replaced, LineStopped);
  await t.rejects(turns.turn(turns.ticket('urgent')), LineStopped, 'no turns after stop');
});
