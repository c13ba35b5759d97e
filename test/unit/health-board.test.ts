import t from 'tap';
import { HealthBoard } from '../../src/health.js';
import { captureLog } from '../helpers/log-capture.js';

t.test('a problem is logged once when raised and once when cleared, with how long it lasted', async (t) => {
  let now = new Date('2026-12-01T01:00:00Z');
  const { log: logger, lines } = captureLog('edge');
  const board = new HealthBoard(logger, () => now);
  const changes: string[] = [];
  board.on('change', (s) => changes.push(s.status));
  t.same(board.snapshot(), { status: 'ok', problems: [] });

  board.raise('storage', 'STORAGE_FULL', 'the data directory is full; receiving paused');
  now = new Date('2026-12-01T01:00:30Z');
  board.raise('storage', 'STORAGE_FULL', 'the data directory is full; receiving paused'); // a retry: not news
  t.equal(board.snapshot().status, 'degraded');
  t.equal(board.problem('storage')?.since, '2026-12-01T01:00:00.000Z');

  now = new Date('2026-12-01T01:01:05Z');
  board.clear('storage');
  board.clear('storage');
  t.same(board.snapshot(), { status: 'ok', problems: [] });
  t.same(changes, ['degraded', 'ok']);
  const logged = lines.filter((l) => l.health === 'storage');
  t.equal(logged.length, 2);
  t.match(logged[0], { level: 40, errorCode: 'STORAGE_FULL', msg: /degraded: the data directory is full/ });
  t.match(logged[1], { level: 30, seconds: 65, msg: /storage works again after 65 s/ });
});

t.test('problems of several components are listed in a stable order; a new code is news', async (t) => {
  const { log: logger, lines } = captureLog('hub');
  const board = new HealthBoard(logger);
  board.raise('storage', 'STORAGE_FULL', 'full');
  board.raise('broker', 'BROKER_UNREACHABLE', 'no broker');
  board.raise('broker', 'BROKER_BLOCKED', 'the broker blocks publishers (memory alarm)');
  t.same(
    board.snapshot().problems.map((p) => [p.component, p.code]),
    [
      ['broker', 'BROKER_BLOCKED'],
      ['storage', 'STORAGE_FULL'],
    ],
  );
  t.equal(lines.filter((l) => String(l.msg).startsWith('degraded')).length, 3);
});
