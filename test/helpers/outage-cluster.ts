/**
 * A hub and two edges as processes (bin/lienthong.js: build first) on a private RabbitMQ node
 * with management, for the tests of what a broker does to them in production: it goes down,
 * raises a memory alarm, is down when an edge starts, refuses a login once it is back. Each test
 * file opens its own (a node per file, so that each stays within tap's time per file on a loaded
 * machine), with the measures its assertions read: what A sent, what B holds, what is unsent.
 */
import type { Test } from 'tap';
import { waitFor } from './exchange.js';
import { apiKeyFromCli } from './edge-api.js';
import { startPrivateBroker, type PrivateBroker } from './private-broker.js';
import { AGENCY_A, AGENCY_B, readDb, startCluster, type Cluster, type ManagedProcess } from './processes.js';

export const A = AGENCY_A.organId;
export const B = AGENCY_B.organId;
/** Short, so that a stop stuck until its deadline does not make the test long. */
export const STOP_TIMEOUT_SECONDS = 5;
/**
 * A stop may finish its last steps (crypto workers, database) after the deadline; on a loaded
 * machine those take seconds. The bug this guards against is a stop that hangs until the
 * process is killed (a minute here), which this margin still tells apart.
 */
const CLOSING_MS = 10_000;

export interface OutageCluster {
  broker: PrivateBroker;
  /** The REST API key of A's and B's edges. */
  client: { key: string };
  cluster: Cluster;
  hub: ManagedProcess;
  edgeA: ManagedProcess;
  edgeB: ManagedProcess;
  /** Documents A has been given to send so far (submitted, or counted with `count`). */
  readonly sent: number;
  /** Submit `count` documents from A to B, as `lienthong send` does (A's database, not its process). */
  submit(count: number): Promise<void>;
  /** The number the next document sent another way (REST) is to carry; counts it as sent. */
  next(): number;
  /** Until every document sent is at B, once, and answered 01 at A. */
  allAnswered(): Promise<unknown>;
  /** Documents A sent that B answered with 01, and B's incoming documents (and how many were stored twice). */
  progress(): { answered: number; atB: number; twice: number };
  unsentAt(organId: string): number;
}

/** Broker, hub and both edges started, two documents exchanged. Everything goes with `t`. */
export async function openOutageCluster(t: Test, prefixBase: string): Promise<OutageCluster> {
  const broker = await startPrivateBroker(t, { management: true });
  const client = await apiKeyFromCli('qlvb');
  const cluster = await startCluster(t, {
    prefixBase,
    broker: { amqpUrls: [broker.url], managementUrls: broker.managementUrl ? [broker.managementUrl] : [] },
    hubConfig: { stopTimeoutSeconds: STOP_TIMEOUT_SECONDS },
    edgeConfig: { stopTimeoutSeconds: STOP_TIMEOUT_SECONDS, api: { host: '127.0.0.1', port: 0, keys: [client.entry] } },
  });
  const hub = cluster.hub;
  const edgeA = cluster.edge(A);
  const edgeB = cluster.edge(B);
  await hub.start();
  await edgeB.start();
  await edgeA.start();
  // Closed with the cluster.
  const submitter = await cluster.openSubmitter(A);
  let sent = 0;
  const progress = (): { answered: number; atB: number; twice: number } => {
    const answered = readDb(cluster.edgeDb(A), (db) => (db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE recipient = ? AND stage = '01'").get(B) as { n: number }).n);
    const atB = readDb(cluster.edgeDb(B), (db) => ({
      n: (db.prepare("SELECT COUNT(*) AS n FROM documents WHERE direction = 'in'").get() as { n: number }).n,
      twice: (db.prepare('SELECT COUNT(*) AS n FROM (SELECT document_id FROM documents GROUP BY document_id HAVING COUNT(*) > 1)').get() as { n: number }).n,
    }));
    return { answered, atB: atB.n, twice: atB.twice };
  };
  const outage: OutageCluster = {
    broker,
    client,
    cluster,
    hub,
    edgeA,
    edgeB,
    get sent() {
      return sent;
    },
    async submit(count) {
      for (let i = 0; i < count; i += 1) {
        sent += 1;
        await submitter.outbox.submitDocument(
          {
            to: [AGENCY_B],
            code: { codeNumber: String(sent), codeNotation: 'KT-DUNG' },
            subject: `V/v kiểm thử dừng khi máy chủ RabbitMQ gặp sự cố, văn bản ${sent}`,
            content: `Văn bản số ${sent}.`,
            signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
          },
          'stop-test',
        );
      }
    },
    next() {
      sent += 1;
      return sent;
    },
    allAnswered: () =>
      waitFor(
        `all ${sent} documents at B and answered 01 at A`,
        () => {
          const p = progress();
          return p.answered === sent && p.atB === sent ? p : undefined;
        },
        { describe: () => progress() },
      ),
    progress,
    unsentAt: (organId) => readDb(cluster.edgeDb(organId), (db) => (db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').get() as { n: number }).n),
  };
  await outage.submit(2);
  await outage.allAnswered();
  return outage;
}

/** SIGTERM, and how it ended: the process's own "stopped" line, its exit, the wall time. */
export async function terminate(t: Test, process: ManagedProcess, stoppedMessage: string): Promise<number> {
  const before = process.lines(stoppedMessage).length;
  const started = Date.now();
  await process.stop(60_000); // SIGKILL only if it were still there a minute later: the bug this tests
  const wall = Date.now() - started;
  t.equal(process.lastExit, '0', `${process.name} exits 0 by itself (not SIGKILLed)`);
  const stopped = process.lines(stoppedMessage).slice(before);
  t.equal(stopped.length, 1, `${process.name} says "${stoppedMessage}"`);
  // The whole stop, from the signal on (the REST API's share included), as the process measured it.
  const whole = [...process.log().matchAll(/: stopped in (\d+) ms\n/g)].at(-1);
  const ms = Number(whole?.[1]);
  t.ok(ms <= STOP_TIMEOUT_SECONDS * 1000 + CLOSING_MS, `${process.name} stopped within its deadline (${ms} ms, deadline ${STOP_TIMEOUT_SECONDS} s)`);
  t.notMatch(process.log(), /still not stopped/, 'on its own, not by the last-resort exit');
  t.comment(`${process.name}: stop took ${ms} ms from the signal (${Number(stopped[0]?.ms)} ms of it in the ${process.name === 'hub' ? 'hub' : 'edge'} itself), ${wall} ms from SIGTERM to exit as the test saw it`);
  return wall;
}

export function listening(edge: ManagedProcess): Array<Record<string, unknown>> {
  return edge.levels(30).filter((l) => String(l.msg).startsWith('REST API listening on '));
}

/** The base URL the edge's REST API logged at its last start. */
export function apiBase(edge: ManagedProcess): string | undefined {
  return listening(edge).at(-1)?.address as string | undefined;
}

export function blockLines(process: ManagedProcess): Array<Record<string, unknown>> {
  return process.levels(40).filter((l) => String(l.msg).startsWith('the broker blocks publishers ('));
}
