/**
 * The urgent lane under a backlog, as deployed: the hub and both edges each a process of its own
 * (`lienthong hub`, `lienthong edge`, started by test/helpers/processes.ts under a fresh broker
 * prefix, every node at its default settings but the hub's rate limit). A backlog of normal
 * documents (LT_BENCH_BACKLOG, default 10 000) waits in the recipient's queue while its edge is
 * down; then its edge starts, and once it works through the backlog urgent documents (Hỏa tốc,
 * priority 3; LT_BENCH_URGENT, default 40) are submitted one by one through the sender's REST
 * API. Each one's latency is the time from its POST to its status 01 stored at the sender
 * (issue 15: median ≤ 50 ms, p99 ≤ 250 ms). The same is measured for a normal document sent at
 * the same moment as the first urgent one: it waits behind the backlog; and, before the backlog,
 * for urgent documents with none, the floor that this machine gives.
 *
 * Besides the figures, where the time goes: every hop of the urgent documents from what the
 * nodes record (bench/urgency-hops.ts). LT_BENCH_PROFILE=<dir> runs every node with --cpu-prof
 * into that directory.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { newApiKey } from '../src/adapters/rest/auth.js';
import { AGENCY_A, AGENCY_B, freePort, queueDepths, readDb, startCluster, type Cluster } from '../test/helpers/processes.js';
import { startCpuShare, type CpuShare } from './cpu-share.js';
import { fmt, percentile, table } from './harness.js';
import { hopTable, roundTrips, slowestTrip, type RoundTrip, type Submitted } from './urgency-hops.js';

const TARGET = { medianMs: 50, p99Ms: 250 };

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The sender's document system: POSTs to its edge's REST API. */
function restClient(base: string, key: string): (priority: string, subject: string) => Promise<{ documentId: string; packetId: string }> {
  let serial = 0;
  return async (priority, subject) => {
    const response = await fetch(`${base}/api/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({ to: [AGENCY_B], code: { codeNumber: String(++serial), codeNotation: 'BENCH' }, subject, priority }),
    });
    if (response.status !== 202) throw new Error(`POST /documents answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as { documentId: string; packetId: string };
  };
}

/** The documents of `documentIds` whose 01 the sender has stored. */
function answered(cluster: Cluster, documentIds: readonly string[]): Set<string> {
  return readDb(cluster.edgeDb(AGENCY_A.organId), (db) => {
    const has = db.prepare(`SELECT 1 FROM deliveries WHERE document_id = ? AND stage = '01'`);
    return new Set(documentIds.filter((id) => has.get(id) !== undefined));
  });
}

function cpuLine(what: string, share: CpuShare): string {
  const processes = Object.entries(share.processes).map(([name, cores]) => `${name} ${fmt(cores, 2)}`).join(', ');
  return `${what}: machine ${fmt(share.machine * 100, 0)} % busy of ${share.cores} cores; cores used by ${processes}`;
}

export async function benchUrgency(backlog = 10_000, urgentCount = 40): Promise<string> {
  const { key, entry } = newApiKey('bench');
  const port = await freePort();
  const profileDir = process.env.LT_BENCH_PROFILE;
  const cluster = await startCluster(undefined, {
    prefixBase: 'lt-bench-urgent',
    agencies: [AGENCY_A, AGENCY_B],
    // The hub's per-agency rate limit (600 packets a minute by default) would make the backlog
    // take a quarter of an hour to queue and measure the limit, not the lanes.
    hubConfig: { cryptoThreads: undefined, quotas: { packetsPerMinute: 0 } },
    // The helpers run every node with one crypto thread; measured here as configured by default.
    edgeConfig: { cryptoThreads: undefined },
    // The API's own rate limit would likewise throttle the backlog's submission.
    edgeConfigOf: { [AGENCY_A.organId]: { api: { host: '127.0.0.1', port, keys: [entry], rateLimit: false } } },
    ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
  });
  try {
    await cluster.hub.start();
    await cluster.edge(AGENCY_A.organId).start();
    const base = `http://127.0.0.1:${port}`;
    // The API listens once the edge has started.
    await until(() => fetch(`${base}/api/v1/health`).then((r) => r.ok, () => false), 30_000, "the sender's REST API");
    const submit = restClient(base, key);
    const nodes = (): Record<string, number | undefined> => ({ hub: cluster.hub.pid, sender: cluster.edge(AGENCY_A.organId).pid, recipient: cluster.edge(AGENCY_B.organId).pid });
    const sendUrgent = async (count: number, onFirst?: () => Promise<void>): Promise<Submitted[]> => {
      const sent: Submitted[] = [];
      for (let i = 0; i < count; i++) {
        const submittedAt = Date.now();
        sent.push({ ...(await submit('3', `Văn bản hỏa tốc ${i}`)), submittedAt });
        if (i === 0) await onFirst?.();
        await sleep(250);
      }
      const ids = sent.map((u) => u.documentId);
      await until(() => answered(cluster, ids).size === ids.length, 600_000, `the 01 of ${count} urgent documents`, 200);
      return sent;
    };

    // What this machine gives without a backlog, in the same run: the floor the backlog adds to.
    // A few first documents start every node's crypto workers and are not counted.
    await cluster.edge(AGENCY_B.organId).start();
    await sendUrgent(3);
    const endFloorShare = startCpuShare(nodes());
    const floor = await sendUrgent(Math.min(urgentCount, 20));
    const floorShare = endFloorShare();
    await cluster.edge(AGENCY_B.organId).stop();

    // Fill the recipient's normal queue while its edge is down.
    const fillStart = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < backlog; i++) {
      const p = submit('0', `Văn bản thường ${i}`);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p)).catch(() => {});
      if (inFlight.size >= 32) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const queueToken = readDb(cluster.hubDb, (db) => (db.prepare('SELECT queue_token FROM agencies WHERE organ_id = ?').get(AGENCY_B.organId) as { queue_token: string }).queue_token);
    const normalQueue = cluster.names.agencyQueue({ organId: AGENCY_B.organId, queueToken }, 'normal');
    await until(async () => ((await queueDepths(cluster, [AGENCY_B.organId]))[normalQueue] ?? 0) >= backlog, 900_000, `${backlog} documents in the recipient's normal queue`, 500);
    const fillSeconds = (performance.now() - fillStart) / 1000;

    // Start the recipient and send urgent documents while it drains the backlog: from its first
    // stored document on, since a start (crypto workers starting, about 250 ms of CPU each, far
    // more on a loaded machine) costs whatever arrives first, with or without a backlog.
    const storedAtB = (): number => readDb(cluster.edgeDb(AGENCY_B.organId), (db) => (db.prepare(`SELECT count(*) AS n FROM documents WHERE direction = 'in'`).get() as { n: number }).n);
    const storedBefore = storedAtB();
    await cluster.edge(AGENCY_B.organId).start();
    const drainStart = performance.now();
    if (backlog > 0) await until(() => storedAtB() > storedBefore, 120_000, 'the recipient to store its first document of the backlog', 20);
    let probe = { documentId: '', submittedAt: 0 };
    const endShare = startCpuShare(nodes());
    const urgent = await sendUrgent(urgentCount, async () => {
      probe = { documentId: (await submit('0', 'Văn bản thường gửi cùng lúc')).documentId, submittedAt: Date.now() };
    });
    const share = endShare();
    await until(() => answered(cluster, [probe.documentId]).size === 1, 1_800_000, 'the normal probe', 500);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    // A clean stop: the profiles are written on exit, and the logs hold every line.
    await cluster.stopAll();

    const trips = roundTrips(cluster, AGENCY_A.organId, AGENCY_B.organId, urgent);
    const floorTrips = roundTrips(cluster, AGENCY_A.organId, AGENCY_B.organId, floor);
    const latenciesOf = (of: RoundTrip[]): number[] => of.map((t) => (t.moments.at(-1) as number) - (t.moments[0] as number)).sort((a, b) => a - b);
    const latencies = latenciesOf(trips);
    const floorLatencies = latenciesOf(floorTrips);
    const probeTrip = roundTrips(cluster, AGENCY_A.organId, AGENCY_B.organId, [{ ...probe, packetId: '' }])[0];
    const probeLatency = (probeTrip?.moments.at(-1) as number) - probe.submittedAt;
    const lanes = new Map<string, number>();
    for (const t of trips) lanes.set(t.receiptLanes.join(' / '), (lanes.get(t.receiptLanes.join(' / ')) ?? 0) + 1);
    const met = (value: number, limit: number): string => (value <= limit ? 'yes' : 'NO');
    const median = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    return [
      `Urgent lane, hub and edges as separate processes: ${urgentCount} Hỏa tốc documents submitted one by one (REST) while the recipient works through ${backlog} normal ones (latency = POST → status 01 stored at the sender)`,
      table([
        { measure: 'urgent document, median (ms)', value: fmt(median), 'no backlog': fmt(percentile(floorLatencies, 50)), target: `≤ ${TARGET.medianMs}`, met: met(median, TARGET.medianMs) },
        { measure: 'urgent document, p95 (ms)', value: fmt(percentile(latencies, 95)), 'no backlog': fmt(percentile(floorLatencies, 95)), target: '', met: '' },
        { measure: 'urgent document, p99 (ms)', value: fmt(p99), 'no backlog': fmt(percentile(floorLatencies, 99)), target: `≤ ${TARGET.p99Ms}`, met: met(p99, TARGET.p99Ms) },
        { measure: 'urgent document, slowest (ms)', value: fmt(percentile(latencies, 100)), 'no backlog': fmt(percentile(floorLatencies, 100)), target: '', met: '' },
        { measure: 'the same document sent as normal at the same moment (ms)', value: fmt(probeLatency), 'no backlog': '', target: '', met: '' },
        { measure: `time to queue the ${backlog}-document backlog (s)`, value: fmt(fillSeconds), 'no backlog': '', target: '', met: '' },
        { measure: 'time for the recipient to drain it, 01 back at the sender (s)', value: fmt(drainSeconds), 'no backlog': '', target: '', met: '' },
      ]),
      '',
      `Lane of the urgent documents' 01 (recipient's outbox / hub's outbound): ${[...lanes].map(([lane, n]) => `${lane} × ${n}`).join(', ')}`,
      '',
      cpuLine('CPU while the urgent documents were sent behind the backlog', share),
      cpuLine('CPU while they were sent without one', floorShare),
      '',
      'Per hop, over the urgent documents:',
      hopTable(trips, floorTrips),
      '',
      slowestTrip(trips),
      '',
    ].join('\n');
  } finally {
    await cluster.cleanup();
  }
}
