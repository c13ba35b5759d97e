/**
 * "Effectively once" (design.md, Delivery guarantees) under faults, with real processes: a flow
 * of documents from A to B through a hub (test/helpers/processes.ts), with processes or broker
 * nodes SIGKILLed and started again while it runs, and the checks that every document reached
 * B exactly once, was answered with 01 at A exactly once, and nothing was dead-lettered.
 */
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { EVENT_DEADLINE_MS } from './deadline.js';
import { AGENCY_A, AGENCY_B, queueDepths, readDb, type Cluster, type ManagedProcess } from './processes.js';

const A = AGENCY_A.organId;
const B = AGENCY_B.organId;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The flow's deadline: EVENT_DEADLINE_MS without progress (a document more at B or an answer
 * more at A), not a bound on the whole flow, whose duration depends on the machine's load.
 */
class Stall {
  private last = '';
  private deadline = Date.now() + EVENT_DEADLINE_MS;

  /** Record the current progress; the deadline moves on when it changed. */
  progress(...counts: number[]): void {
    const now = counts.join('/');
    if (now !== this.last) {
      this.last = now;
      this.deadline = Date.now() + EVENT_DEADLINE_MS;
    }
  }

  get stalled(): boolean {
    return Date.now() > this.deadline;
  }
}

/** Poll `condition` (an exception, e.g. a database being recovered, counts as false). */
async function until(what: string, condition: () => boolean, stall: Stall, aborted: () => boolean = () => false): Promise<void> {
  for (;;) {
    try {
      if (condition()) return;
    } catch {
      // next round
    }
    if (aborted()) throw new Error(`gave up waiting for ${what}: the test failed meanwhile`);
    if (stall.stalled) throw new Error(`no progress for ${EVENT_DEADLINE_MS} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** What a flow can kill and start again: a hub or edge process, a broker node. */
export interface Killable {
  readonly name: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface Kill {
  /** When B's inbox holds this many documents... */
  atReceived: number;
  /** ...SIGKILL this... */
  target: Killable;
  /** ...and start it again after this pause, */
  pauseMs?: number;
  /**
   * ...or only once the flow resumed without it: more than a window of documents at B and of
   * answers 01 at A since the kill (what went through the pipeline before it cannot count).
   */
  restartOnceResumed?: boolean;
}

export interface KillRecord {
  name: string;
  atReceived: number;
  downMs: number;
  /** From the kill to the first document more at B. */
  firstDocumentMs?: number;
  /** From the kill to more than a window of documents at B and of answers 01 at A. */
  resumedMs?: number;
}

export interface FlowResult {
  documentIds: string[];
  seconds: number;
  kills: KillRecord[];
}

export interface FlowOptions {
  /** Documents submitted from A to B. */
  documents: number;
  /** Documents submitted but not yet in B's inbox, at most: the flow goes on through every crash. Default 50. */
  window?: number;
}

/** Counts read from the databases of running processes (read-only, WAL: never blocks them). */
export function receivedAtB(cluster: Cluster): number {
  const path = cluster.edgeDb(B);
  if (!existsSync(path)) return 0;
  return readDb(path, (db) => (db.prepare("SELECT COUNT(*) AS n FROM documents WHERE direction = 'in'").get() as { n: number }).n);
}

export function answeredAtA(cluster: Cluster): number {
  return readDb(cluster.edgeDb(A), (db) => (db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE recipient = ? AND stage = '01'").get(B) as { n: number }).n);
}

/**
 * Start hub, A and B; submit N documents from A to B (never more than a window ahead of B's
 * inbox) while the kills happen; wait until B holds N documents and A has N answers 01;
 * stop everything cleanly.
 */
export async function flow(t: Test, cluster: Cluster, options: FlowOptions, plan: (c: Cluster) => Kill[]): Promise<FlowResult> {
  const N = options.documents;
  const WINDOW = options.window ?? 50;
  const started = Date.now();
  await cluster.hub.start();
  await cluster.edge(A).start();
  await cluster.edge(B).start();
  t.comment(`hub, ${A} and ${B} up after ${Date.now() - started} ms (prefix ${cluster.prefix})`);

  const t0 = Date.now();
  const stall = new Stall();
  let received = 0;
  let answered = 0;
  let polling = true;
  let failed = false;
  /** Called by the poller after each reading. */
  const watchers = new Set<() => void>();
  const poller = (async () => {
    while (polling) {
      try {
        received = receivedAtB(cluster);
        answered = answeredAtA(cluster);
        stall.progress(received, answered);
        for (const watch of watchers) watch();
      } catch {
        // B's database being created or recovered right now: next round
      }
      await sleep(100);
    }
  })();

  const submitter = await cluster.openSubmitter(A);
  const documentIds: string[] = [];
  const submitting = (async () => {
    for (let i = 1; i <= N; i += 1) {
      while (documentIds.length - received >= WINDOW) {
        if (failed) return;
        if (stall.stalled) throw new Error(`submission stalled at ${documentIds.length}: B's inbox holds ${received}`);
        await sleep(50);
      }
      const submitted = await submitter.outbox.submitDocument(
        {
          to: [AGENCY_B],
          code: { codeNumber: String(i), codeNotation: 'KT-CRASH' },
          subject: `V/v kiểm thử khởi động lại giữa chừng, văn bản ${i}/${N}`,
          content: `Văn bản số ${i} của phép thử "hiệu quả đúng một lần".`,
          signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
        },
        'crash-test',
      );
      documentIds.push(submitted.documentId);
    }
  })();

  const kills: KillRecord[] = [];
  const chaos = (async () => {
    for (const step of plan(cluster)) {
      await until(`${step.atReceived} documents at B before killing ${step.target.name}`, () => received >= step.atReceived, stall, () => failed);
      const atReceived = received;
      const atAnswered = answered;
      const record: KillRecord = { name: step.target.name, atReceived, downMs: 0 };
      kills.push(record);
      const down = Date.now();
      await step.target.kill();
      const watch = (): void => {
        if (record.firstDocumentMs === undefined && received > atReceived) record.firstDocumentMs = Date.now() - down;
        if (record.resumedMs === undefined && received > atReceived + WINDOW && answered > atAnswered + WINDOW) record.resumedMs = Date.now() - down;
        if (record.resumedMs !== undefined) watchers.delete(watch);
      };
      watchers.add(watch);
      if (step.restartOnceResumed) {
        await until(`the flow to resume without ${step.target.name}`, () => record.resumedMs !== undefined, stall, () => failed);
      } else {
        await sleep(step.pauseMs ?? 0);
      }
      if (failed) return;
      await step.target.start();
      record.downMs = Date.now() - down;
    }
  })();

  try {
    await Promise.all([submitting, chaos]).catch((error: unknown) => {
      failed = true; // the other task stops too, rather than (re)starting processes during the cleanup
      throw error;
    });
    await cluster.closeSubmitter(submitter);
    t.comment(`${N} documents submitted in ${Date.now() - t0} ms`);
    await until(`${N} documents at B and ${N} answers 01 at A`, () => receivedAtB(cluster) >= N && answeredAtA(cluster) >= N, stall);
  } catch (error) {
    const at = (() => {
      try {
        return `B holds ${receivedAtB(cluster)}, A has ${answeredAtA(cluster)} answers 01`;
      } catch {
        return '';
      }
    })();
    throw new Error(`${(error as Error).message} (${at})`, { cause: error });
  } finally {
    polling = false;
    await poller;
  }
  const seconds = (Date.now() - t0) / 1000;
  for (const k of kills) {
    const resumed = k.resumedMs === undefined ? '' : `; first document at B ${k.firstDocumentMs} ms after the kill, flow resumed (a window more at B and at A) after ${k.resumedMs} ms`;
    t.comment(`killed ${k.name} at ${k.atReceived} documents received; back up after ${k.downMs} ms${resumed}`);
  }
  t.comment(`all ${N} documents delivered and answered in ${seconds.toFixed(1)} s`);
  await cluster.stopAll();
  return { documentIds, seconds, kills };
}


/**
 * Redeliveries the broker counted per queue (management API: sampled every few seconds, so a
 * lower bound; for the comment only).
 */
export async function brokerRedeliveries(cluster: Cluster): Promise<string> {
  try {
    const queues = (await cluster.api.listQueues()) as Array<{ name: string; message_stats?: { redeliver?: number } }>;
    const parts = queues
      .filter((q) => cluster.names.owns(q.name) && (q.message_stats?.redeliver ?? 0) > 0)
      .map((q) => `${q.name.slice(cluster.prefix.length + 1)}: ${q.message_stats?.redeliver}`);
    return parts.length > 0 ? parts.join(', ') : 'none';
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  }
}

/** The exactly-once checks of a flow, on the databases of the stopped processes. */
export async function checkExactlyOnce(t: Test, cluster: Cluster, result: FlowResult): Promise<void> {
  const N = result.documentIds.length;
  const expected = new Set(result.documentIds);
  t.equal(expected.size, N, `${N} distinct DocumentIds were submitted`);

  // B: every document exactly once in `documents`, none missing, none extra.
  const atB = readDb(cluster.edgeDb(B), (db) => ({
    documents: db.prepare("SELECT document_id, verdict, packet_id FROM documents WHERE direction = 'in'").all() as Array<{ document_id: string; verdict: string; packet_id: string }>,
    perDocument: db.prepare("SELECT document_id, COUNT(*) AS n FROM documents GROUP BY document_id HAVING n > 1").all() as Array<{ document_id: string; n: number }>,
    received: db.prepare("SELECT verdict, COUNT(*) AS n FROM received_packets WHERE kind = 'document' GROUP BY verdict").all() as Array<{ verdict: string; n: number }>,
    acceptedPerDocument: db
      .prepare("SELECT document_id, COUNT(*) AS n FROM received_packets WHERE kind = 'document' AND verdict = 'accepted' GROUP BY document_id HAVING n > 1")
      .all() as Array<{ document_id: string; n: number }>,
    answers: db.prepare("SELECT COUNT(*) AS n, COUNT(sent_at) AS sent FROM outbox WHERE kind = 'status' AND status_code = '01'").get() as { n: number; sent: number },
    events: db.prepare("SELECT event, COUNT(*) AS n FROM events WHERE recipient = ? GROUP BY event").all(B) as Array<{ event: string; n: number }>,
  }));
  const atBIds = atB.documents.map((d) => d.document_id);
  t.equal(atB.documents.length, N, `B's inbox holds ${N} documents`);
  t.same(atB.perDocument, [], 'no DocumentId twice in B\'s documents');
  t.same(
    result.documentIds.filter((id) => !atBIds.includes(id)),
    [],
    'no submitted document missing at B',
  );
  t.same(
    atBIds.filter((id) => !expected.has(id)),
    [],
    'nothing at B that was not submitted',
  );
  t.ok(
    atB.documents.every((d) => d.verdict === 'accepted'),
    'every document accepted at B (none rejected with 02)',
  );
  const receivedVerdicts = Object.fromEntries(atB.received.map((r) => [r.verdict, r.n]));
  t.equal(receivedVerdicts.accepted, N, `B's received_packets: ${N} document packets accepted`);
  t.same(atB.acceptedPerDocument, [], 'no document accepted twice in B\'s received_packets');
  t.same(
    Object.keys(receivedVerdicts).filter((v) => v !== 'accepted' && v !== 'duplicate'),
    [],
    'B\'s received_packets: only accepted rows and rows marked duplicate',
  );
  t.same(atB.answers, { n: N, sent: N }, `B queued and sent exactly ${N} answers 01`);
  const eventsAtB = Object.fromEntries(atB.events.map((e) => [e.event, e.n]));
  t.same(eventsAtB, { delivered: N, '01': N }, 'B\'s timeline: each document delivered once, answered 01 once');

  // A: N× 01, every 01 received once, the outbox drained.
  const atA = readDb(cluster.edgeDb(A), (db) => ({
    stages: db.prepare('SELECT stage, COUNT(*) AS n FROM deliveries WHERE recipient = ? GROUP BY stage').all(B) as Array<{ stage: string; n: number }>,
    events: db.prepare("SELECT event, COUNT(*) AS n FROM events WHERE recipient = ? GROUP BY event").all(B) as Array<{ event: string; n: number }>,
    unsent: (db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').get() as { n: number }).n,
    statuses: db.prepare("SELECT verdict, COUNT(*) AS n FROM received_packets WHERE kind = 'status' GROUP BY verdict").all() as Array<{ verdict: string; n: number }>,
    outgoing: db.prepare("SELECT document_id FROM documents WHERE direction = 'out'").all() as Array<{ document_id: string }>,
  }));
  t.same(atA.stages, [{ stage: '01', n: N }], `A: all ${N} deliveries to B are at 01`);
  t.same(Object.fromEntries(atA.events.map((e) => [e.event, e.n])), { sent: N, '01': N }, 'A\'s timeline: each document sent once, 01 applied once');
  t.same(atA.statuses, [{ verdict: 'accepted', n: N }], `A received exactly ${N} status packets`);
  t.equal(atA.unsent, 0, 'A\'s outbox is drained');
  t.equal(atA.outgoing.length, N, `A recorded ${N} outgoing documents`);

  // Hub: each packet once, every outbound row published.
  const atHub = readDb(cluster.hubDb, (db) => ({
    packets: db.prepare('SELECT kind, verdict, COUNT(*) AS n, COUNT(DISTINCT document_id) AS documents FROM packets GROUP BY kind, verdict ORDER BY kind').all() as Array<{
      kind: string;
      verdict: string;
      n: number;
      documents: number;
    }>,
    documents: (db.prepare('SELECT COUNT(*) AS n FROM documents').get() as { n: number }).n,
    outbound: db.prepare('SELECT type, target, COUNT(*) AS n, COUNT(published_at) AS published FROM outbound GROUP BY type, target ORDER BY type').all() as Array<{
      type: string;
      target: string;
      n: number;
      published: number;
    }>,
    stages: db.prepare('SELECT stage, COUNT(*) AS n FROM deliveries GROUP BY stage').all() as Array<{ stage: string; n: number }>,
  }));
  t.same(
    atHub.packets,
    [
      { kind: 'document', verdict: 'routed', n: N, documents: N },
      { kind: 'status', verdict: 'routed', n: N, documents: N },
    ],
    `hub: ${N} document packets and ${N} status packets, each recorded once and routed`,
  );
  t.equal(atHub.documents, N, `hub: ${N} documents`);
  t.same(
    atHub.outbound,
    [
      { type: 'edoc', target: B, n: N, published: N },
      { type: 'status', target: A, n: N, published: N },
    ],
    'hub: one outbound row per document and per 01, every one with published_at set',
  );
  t.same(atHub.stages, [{ stage: '01', n: N }], 'hub: every delivery at 01');

  // Broker: nothing left over, nothing dead-lettered.
  const depths = await queueDepths(cluster, [A, B]);
  t.same(
    Object.entries(depths).filter(([, n]) => n > 0),
    [],
    'every queue is empty, the dead letters included',
  );

  // What the crashes caused: redeliveries and duplicates seen (and dropped) along the way.
  const count = (p: ManagedProcess, msg: string): number => p.lines(msg).length;
  const processes = [cluster.hub, cluster.edge(A), cluster.edge(B)];
  const errorLines = processes.map((p) => `${p.name} ${p.levels(50).length}`).join(', ');
  t.comment(`broker redeliveries (sampled): ${await brokerRedeliveries(cluster)}`);
  t.comment(
    `duplicates seen and dropped: hub ${count(cluster.hub, 'redelivered packet already routed; finished publishing')} packets already routed ` +
      `(redelivered or republished; publishing finished, nothing routed twice); ` +
      `B ${count(cluster.edge(B), 'duplicate delivery dropped')} packets already received, ` +
      `${receivedVerdicts.duplicate ?? 0} known documents under another packet id; ` +
      `A ${count(cluster.edge(A), 'duplicate delivery dropped')} statuses already received`,
  );
  t.comment(
    `recoveries: hub routing retried ${count(cluster.hub, 'routing failed; the packet will be redelivered')}, ` +
      `edge handling retried ${count(cluster.edge(A), 'handling a packet failed; it will be redelivered') + count(cluster.edge(B), 'handling a packet failed; it will be redelivered')}, ` +
      `relay rounds failed ${count(cluster.edge(A), 'relay round failed') + count(cluster.edge(B), 'relay round failed')}; error lines logged: ${errorLines}`,
  );
}

