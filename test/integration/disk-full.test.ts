/**
 * A full disk heals by itself (issue 11, acceptance b), with real processes: a hub and two edges
 * run as `lienthong hub|edge --config ...`, each edge's data directory on a small tmpfs of its
 * own. The recipient B's disk is filled to its last byte while A's documents flow: B must stop
 * taking packets (degraded, in its log) instead of returning them until the delivery limit
 * dead-letters them. The sender A's disk is then filled too: its REST API and `lienthong send`
 * answer a retryable STORAGE_FULL and store nothing. B's disk is freed: B takes its packets again
 * by itself and answers 01, which now meet A's full disk: A stops taking them (degraded at
 * /health). A's disk is freed: every 01 arrives. In the end every document is at B once with its
 * 01 at A, and nothing was dead-lettered (the hub's records and the broker's queue). The hub's
 * own disk full while documents flow: it stops routing, and routes everything once freed.
 *
 * Needs root (mount -t tmpfs); skipped, saying so, where mounting is refused. Needs RabbitMQ and
 * `npm run build`. LT_DISK_FULL_DOCS sets N (default 100); LT_KEEP_TMP=1 keeps configs and logs.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { apiKeyFromCli } from '../helpers/edge-api.js';
import { waitFor } from '../helpers/exchange.js';
import { AGENCY_A, AGENCY_B, freePort, queueDepths, readDb, REPO, runCli, startCluster, type Cluster, type ManagedProcess } from '../helpers/processes.js';
import { cannotMount, fill, smallDisk } from '../helpers/small-disk.js';

const N = Number(process.env.LT_DISK_FULL_DOCS ?? 100);
const A = AGENCY_A.organId;
const B = AGENCY_B.organId;
/** Room for N documents with their attachments, the databases and their WAL several times over. */
const DISK = '48m';
/** Documents of the hub's scenario. */
const N_HUB = Math.max(10, Math.round(N / 3));

const count = (cluster: Cluster, organId: string, sql: string, ...args: unknown[]): number =>
  readDb(cluster.edgeDb(organId), (db) => (db.prepare(sql).get(...args) as { n: number }).n);
const receivedAtB = (c: Cluster): number => count(c, B, "SELECT COUNT(*) AS n FROM documents WHERE direction = 'in'");
const answeredAtA = (c: Cluster): number => count(c, A, "SELECT COUNT(*) AS n FROM deliveries WHERE recipient = ? AND stage = '01'", B);
const hubRouted = (c: Cluster, kind: string): number =>
  readDb(c.hubDb, (db) => (db.prepare("SELECT COUNT(*) AS n FROM packets WHERE kind = ? AND verdict = 'routed'").get(kind) as { n: number }).n);

/** Lines where an edge said its storage stopped (warn) or works again (info). */
function storageLines(p: ManagedProcess): { degraded: number; recovered: number } {
  const lines = p.levels(30).filter((l) => l.health === 'storage');
  return { degraded: lines.filter((l) => l.level === 40).length, recovered: lines.filter((l) => l.level === 30).length };
}

/** The depth of an agency's normal lane, as the broker counts it (ready messages). */
async function laneDepth(cluster: Cluster, organId: string): Promise<number> {
  const depths = await queueDepths(cluster, [organId]);
  return Object.entries(depths).find(([queue]) => queue.includes(`.agency.${organId}.`) && !queue.endsWith('.urgent'))?.[1] ?? -1;
}

/** Poll until `probe` changes from `before`; the milliseconds it took. */
async function msUntil(what: string, probe: () => boolean): Promise<number> {
  const from = Date.now();
  await waitFor(what, () => {
    try {
      return probe();
    } catch {
      return false; // a database being written right now: next round
    }
  }, { intervalMs: 50 });
  return Date.now() - from;
}

const skip = cannotMount('a small disk for each edge');

t.test('a full disk at the recipient, then at the sender: every document stored with its 01, nothing dead-lettered', { skip }, async (t) => {
  const diskA = smallDisk(t, 'a', DISK);
  const diskB = smallDisk(t, 'b', DISK);
  const client = await apiKeyFromCli('qlvb');
  const apiPort = await freePort();
  const cluster = await startCluster(t, {
    prefixBase: 'lt-diskfull',
    edgeConfigOf: {
      [A]: { dataDir: diskA, api: { host: '127.0.0.1', port: apiPort, keys: [client.entry] } },
      [B]: { dataDir: diskB },
    },
  });
  const api = `http://127.0.0.1:${apiPort}`;
  const health = async (): Promise<{ status: string; problems: Array<{ component: string; code: string; message: string }> }> =>
    (await fetch(`${api}/health`)).json() as Promise<{ status: string; problems: Array<{ component: string; code: string; message: string }> }>;
  await cluster.hub.start();
  await cluster.edge(A).start();
  await cluster.edge(B).start();
  t.same((await health()).status, 'ok', 'A is healthy at the start');

  // 1. B's disk full while A sends N documents.
  const fillerB = fill(diskB);
  const submitStarted = Date.now();
  const submitter = await cluster.openSubmitter(A);
  const documentIds: string[] = [];
  for (let i = 1; i <= N; i += 1) {
    const { documentId } = await submitter.outbox.submitDocument(
      {
        to: [AGENCY_B],
        code: { codeNumber: String(i), codeNotation: 'KT-DIA' },
        subject: `V/v kiểm thử ổ đĩa đầy, văn bản ${i}/${N}`,
        content: `Văn bản số ${i}: nơi nhận hết chỗ ghi thì phải chờ, không được trả lại.`,
        attachments: [{ name: `phu-luc-${i}.txt`, content: Buffer.from(`Phụ lục ${i}\n`.repeat(50)) }],
      },
      'disk-test',
    );
    documentIds.push(documentId);
  }
  await cluster.closeSubmitter(submitter);
  t.comment(`${N} documents submitted at A in ${Date.now() - submitStarted} ms while B's disk was full`);
  await waitFor(`B to say its storage is full`, () => storageLines(cluster.edge(B)).degraded >= 1, { describe: () => cluster.edge(B).tail(5) });
  await waitFor(`the hub to route all ${N} documents`, () => hubRouted(cluster, 'document') === N, { describe: () => hubRouted(cluster, 'document') });
  await waitFor(`B's lane to hold the documents B cannot store`, async () => (await laneDepth(cluster, B)) >= N - 4);
  const depthB = await laneDepth(cluster, B);
  t.equal(receivedAtB(cluster), 0, 'B stored nothing while its disk was full');

  // 2. A's disk full too: submitting answers a retryable error and stores nothing.
  const fillerA = fill(diskA);
  const outboxBefore = count(cluster, A, 'SELECT COUNT(*) AS n FROM outbox');
  const response = await fetch(`${api}/api/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': client.key },
    body: JSON.stringify({ to: [AGENCY_B], code: { codeNumber: 'R1', codeNotation: 'KT-DIA' }, subject: 'V/v gửi khi ổ đĩa đầy' }),
  });
  const answer = (await response.json()) as { error: { code: string; message: string } };
  t.equal(response.status, 503, 'REST: 503 while the disk is full');
  t.equal(response.headers.get('retry-after'), '30', 'REST: with Retry-After');
  t.equal(answer.error.code, 'STORAGE_FULL');
  t.match(answer.error.message, /data directory is full: nothing was stored/);
  const metaFile = join(cluster.dir, 'meta.json');
  writeFileSync(metaFile, JSON.stringify({ to: [AGENCY_B], code: { codeNumber: 'C1', codeNotation: 'KT-DIA' }, subject: 'V/v gửi bằng dòng lệnh khi ổ đĩa đầy' }));
  const cli = runCli(REPO, ['send', '--config', cluster.edgeConfigPath(A), metaFile]);
  t.equal(cli.status, 75, 'CLI: exit 75 (EX_TEMPFAIL) while the disk is full');
  t.match(cli.stderr, /^lienthong send: the edge's data directory is full: nothing was stored.*\(STORAGE_FULL\)$/m);
  t.equal(count(cluster, A, 'SELECT COUNT(*) AS n FROM outbox'), outboxBefore, "nothing half-written into A's outbox");
  t.equal(count(cluster, A, "SELECT COUNT(*) AS n FROM documents WHERE code IN ('R1/KT-DIA', 'C1/KT-DIA')"), 0, 'neither document recorded');

  // 3. B's disk freed: B takes its packets again by itself; its 01s meet A's full disk.
  rmSync(fillerB);
  const resumeB = await msUntil('B to store documents again', () => receivedAtB(cluster) > 0);
  t.comment(`B's disk freed: B stored again after ${resumeB} ms`);
  const drainB = await msUntil(`all ${N} documents at B`, () => receivedAtB(cluster) === N);
  t.comment(`B stored all ${N} in ${resumeB + drainB} ms after its disk was freed`);
  await waitFor('A to report its storage full at /health', async () => {
    const h = await health();
    return h.status === 'degraded' && h.problems.some((p) => p.component === 'storage' && p.code === 'STORAGE_FULL');
  });
  await waitFor(`the hub to route all ${N} answers 01`, () => hubRouted(cluster, 'status') === N, { describe: () => hubRouted(cluster, 'status') });
  await waitFor(`A's lane to hold the 01s A cannot store`, async () => (await laneDepth(cluster, A)) >= N - 4);
  const depthA = await laneDepth(cluster, A);
  t.equal(answeredAtA(cluster), 0, 'A stored no 01 while its disk was full');

  // 4. A's disk freed: every 01 arrives.
  rmSync(fillerA);
  const resumeA = await msUntil('A to store 01s again', () => answeredAtA(cluster) > 0);
  t.comment(`A's disk freed: A stored 01s again after ${resumeA} ms`);
  const drainA = await msUntil(`all ${N} answers 01 at A`, () => answeredAtA(cluster) === N);
  await waitFor('A healthy again', async () => (await health()).status === 'ok');
  t.comment(`queue depths seen: B's lane ${depthB} documents while B's disk was full, A's lane ${depthA} answers while A's was; A drained in ${resumeA + drainA} ms`);
  await cluster.stopAll();

  // Every document at B once, answered once, and nothing dead-lettered anywhere.
  const atB = readDb(cluster.edgeDb(B), (db) => db.prepare("SELECT document_id, verdict FROM documents WHERE direction = 'in'").all() as Array<{ document_id: string; verdict: string }>);
  t.same(atB.map((d) => d.document_id).sort(), [...documentIds].sort(), `B holds exactly the ${N} documents`);
  t.ok(atB.every((d) => d.verdict === 'accepted'), 'every one accepted');
  t.same(
    readDb(cluster.edgeDb(A), (db) => db.prepare('SELECT stage, COUNT(*) AS n FROM deliveries WHERE recipient = ? GROUP BY stage').all(B)),
    [{ stage: '01', n: N }],
    `A: all ${N} deliveries at 01`,
  );
  t.equal(count(cluster, A, 'SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL'), 0, "A's outbox is drained");
  t.equal(readDb(cluster.hubDb, (db) => (db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n), 0, 'the hub recorded no dead letter');
  const depths = await queueDepths(cluster, [A, B]);
  t.same(
    Object.entries(depths).filter(([, n]) => n > 0),
    [],
    "every queue is empty, the broker's dead-letter queue included",
  );
  for (const edge of [cluster.edge(A), cluster.edge(B)]) {
    const said = storageLines(edge);
    t.ok(said.degraded >= 1 && said.recovered === said.degraded, `${edge.name} said its storage failed and that it works again (${said.degraded} time(s) each)`);
    t.same(edge.lines('handling a packet failed; it will be redelivered'), [], `${edge.name} returned no packet to its queue`);
  }
});

t.test("the hub's disk full while documents flow: it stops routing, says so, and routes everything once freed", { skip }, async (t) => {
  const diskHub = smallDisk(t, 'hub', DISK);
  const cluster = await startCluster(t, { prefixBase: 'lt-diskfull-hub', hubConfig: { dataDir: diskHub } });
  await cluster.hub.start();
  await cluster.edge(A).start();
  await cluster.edge(B).start();
  const filler = fill(diskHub);
  const submitter = await cluster.openSubmitter(A);
  for (let i = 1; i <= N_HUB; i += 1) {
    await submitter.outbox.submitDocument({ to: [AGENCY_B], code: { codeNumber: String(i), codeNotation: 'KT-TRUC' }, subject: `V/v trục đầy ổ đĩa, văn bản ${i}/${N_HUB}` }, 'disk-test');
  }
  await cluster.closeSubmitter(submitter);
  await waitFor('the hub to say its storage is full', () => storageLines(cluster.hub).degraded >= 1, { describe: () => cluster.hub.tail(5) });
  const inbound = async (): Promise<number> => (await queueDepths(cluster, []))[cluster.names.hubInbound.normal] ?? -1;
  await waitFor("the hub's inbound lane to hold what the hub cannot route", async () => (await inbound()) >= N_HUB - 8);
  const depth = await inbound();
  t.equal(receivedAtB(cluster), 0, 'nothing routed while the hub\'s disk was full');
  rmSync(filler);
  const resumed = await msUntil('B to receive documents again', () => receivedAtB(cluster) > 0);
  await waitFor(`all ${N_HUB} answers 01 at A`, () => answeredAtA(cluster) === N_HUB, { describe: () => answeredAtA(cluster) });
  t.comment(`hub's disk freed: documents flowed again after ${resumed} ms; its inbound lane held ${depth} while full`);
  await cluster.stopAll();
  t.equal(hubRouted(cluster, 'document'), N_HUB, `the hub routed each of the ${N_HUB} documents once`);
  t.equal(readDb(cluster.hubDb, (db) => (db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n), 0, 'the hub recorded no dead letter');
  t.same(
    Object.entries(await queueDepths(cluster, [A, B])).filter(([, n]) => n > 0),
    [],
    "every queue is empty, the broker's dead-letter queue included",
  );
  const said = storageLines(cluster.hub);
  t.ok(said.degraded >= 1 && said.recovered === said.degraded, `the hub said its storage failed and that it works again (${said.degraded} time(s) each)`);
  t.same(cluster.hub.lines('routing failed; the packet will be redelivered'), [], 'the hub returned no packet to its queue');
});
