/**
 * "Effectively once" (design.md, Delivery guarantees) with real processes and the real broker:
 * a hub and two edges run as `lienthong hub|edge --config ...` child processes; documents are
 * submitted into A's outbox from this process (as `lienthong send` does, through the library,
 * on A's database while A's edge runs); and while they flow, processes are SIGKILLed and
 * restarted. At the end every document must be in B's inbox exactly once, answered with 01 at
 * A exactly once, and nothing may have been dead-lettered.
 *
 * Needs RabbitMQ (AMQP_URL, default 127.0.0.1:5672, management on 15672) and `npm run build`.
 * LT_CRASH_DOCS sets N (default 200); LT_KEEP_TMP=1 keeps configs, databases and logs.
 */
import t from 'tap';
import { checkExactlyOnce, flow } from '../helpers/exactly-once.js';
import { AGENCY_A, AGENCY_B, startCluster } from '../helpers/processes.js';

const N = Number(process.env.LT_CRASH_DOCS ?? 200);
const A = AGENCY_A.organId;
const B = AGENCY_B.organId;

t.test('edges SIGKILLed and restarted while documents flow: every document reaches B exactly once', async (t) => {
  const cluster = await startCluster(t);
  const result = await flow(t, cluster, { documents: N }, (c) => [
    { atReceived: Math.round(N * 0.15), target: c.edge(B), pauseMs: 500 },
    { atReceived: Math.round(N * 0.4), target: c.edge(A), pauseMs: 500 },
    { atReceived: Math.round(N * 0.65), target: c.edge(B), pauseMs: 1000 },
  ]);
  t.equal(cluster.edge(B).kills, 2, 'B was killed twice');
  t.equal(cluster.edge(A).kills, 1, 'A was killed once');
  await checkExactlyOnce(t, cluster, result);
});

t.test('hub SIGKILLed and restarted while documents flow: every document reaches B exactly once', async (t) => {
  const cluster = await startCluster(t);
  const result = await flow(t, cluster, { documents: N }, (c) => [
    { atReceived: Math.round(N * 0.2), target: c.hub, pauseMs: 500 },
    { atReceived: Math.round(N * 0.55), target: c.hub, pauseMs: 1500 },
  ]);
  t.equal(cluster.hub.kills, 2, 'the hub was killed twice');
  await checkExactlyOnce(t, cluster, result);
});
