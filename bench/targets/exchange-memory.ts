/**
 * Peak RSS of route and receive (issue 15): a hub and two edges, each its own `lienthong`
 * process as an operator runs it, under a broker prefix of their own on the local RabbitMQ
 * (test/helpers/processes.ts provisions it as the e2e tests do and deletes all of it after).
 * One document of 20 MB, then one of 100 MB, is posted unsigned to the sender edge's REST API
 * as an agency's system posts it: the sender signs, stores and publishes it, the hub verifies,
 * stores and routes it, the recipient verifies and stores it and answers 01. Once that 01 is
 * back at the sender, each process's VmHWM (its crypto worker threads included) is read as a
 * multiple of the signed packet's size, next to a Node.js process that only keeps a timer.
 * Every size gets a fresh cluster: the peak read is that size's alone.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { API_PREFIX } from '../../src/adapters/rest/views.js';
import { AGENCY_A, AGENCY_B, freePort, readDb, startCluster, type Cluster, type ManagedProcess } from '../../test/helpers/processes.js';
import { plainEnv } from './child.js';
import { packetOfSize } from './packets.js';
import { procStatusBytes } from './proc-status.js';
import type { Sample } from './stats.js';

const MiB = 1024 * 1024;
/** The default maxPacketBytes: below it the nodes run with the configuration operators have. */
const DEFAULT_LIMIT = 32 * MiB;
/** How long one document may take from the POST to the 01 back at the sender. */
const RECEIPT_DEADLINE_MS = 10 * 60_000;

/** The sizes measured, MB: LT_BENCH_EXCHANGE_RSS_MB="2" tries the bench on a small packet. */
function sizes(): number[] {
  return (process.env.LT_BENCH_EXCHANGE_RSS_MB ?? '20,100').split(',').map((mb) => Number(mb) * 1e6);
}

/**
 * What a node needs to take a packet of `bytes` (its XML text grows a little when signed):
 * above the default limit, maxPacketBytes with a quarter to spare, the crypto workers' heap the
 * README asks for it (8 × the limit), and an API body as large.
 */
function limitsFor(bytes: number): { node: Record<string, number>; api: Record<string, number> } {
  if (bytes * 1.25 <= DEFAULT_LIMIT) return { node: {}, api: {} };
  const limitMiB = Math.ceil((bytes * 1.25) / MiB);
  return { node: { maxPacketBytes: limitMiB * MiB, cryptoHeapMb: 8 * limitMiB }, api: { bodyLimit: limitMiB * MiB } };
}

interface DocumentView {
  deliveries: Array<{ recipient: string; stage: string }>;
}

/** The edge logs "edge started" before its REST API listens. */
async function apiListening(sender: ManagedProcess, port: number): Promise<void> {
  const message = `REST API listening on http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (sender.lines(message).length === 0) {
    if (!sender.running || Date.now() > deadline) throw new Error(`the sender's REST API is not listening:\n${sender.tail(10)}`);
    await sleep(50);
  }
}

async function submit(port: number, key: string, packet: Buffer): Promise<{ documentId: string; packetId: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${API_PREFIX}/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', 'x-api-key': key },
    // A view of the same bytes (an ArrayBuffer of its own, not shared): the DOM typings take no Buffer.
    body: new Uint8Array(packet.buffer as ArrayBuffer, packet.byteOffset, packet.byteLength),
  });
  const body = (await response.json()) as { documentId?: string; packetId?: string };
  if (!response.ok || !body.documentId || !body.packetId) throw new Error(`POST /documents answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return { documentId: body.documentId, packetId: body.packetId };
}

/** Asked as the agency's system asks: until the recipient's 01 is recorded at the sender. */
async function receiptBack(cluster: Cluster, port: number, key: string, documentId: string): Promise<void> {
  const deadline = Date.now() + RECEIPT_DEADLINE_MS;
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}${API_PREFIX}/documents/${encodeURIComponent(documentId)}`, { headers: { 'x-api-key': key } });
    if (!response.ok) throw new Error(`GET the document answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
    const view = (await response.json()) as DocumentView;
    const stages = view.deliveries.map((d) => d.stage);
    if (stages.length > 0 && stages.every((s) => s === '01')) return;
    // 02 or 05: the hub or the recipient refused it; no 01 will come.
    if (stages.some((s) => s === '02' || s === '05')) throw new Error(`the document was refused (${stages.join(', ')}):\n${cluster.hub.tail(10)}`);
    if (Date.now() > deadline) throw new Error(`no 01 within ${RECEIPT_DEADLINE_MS / 1000} s (stages ${stages.join(', ')}):\n${cluster.hub.tail(10)}`);
    await sleep(250);
  }
}

async function measureSize(bytes: number): Promise<Sample[]> {
  const label = `${bytes / 1e6} MB`;
  const port = await freePort();
  const { key, entry } = newApiKey('bench');
  const limits = limitsFor(bytes);
  // Every node with its default crypto threads and concurrency (the helpers give them fewer).
  const defaults = { cryptoThreads: undefined, concurrency: undefined };
  const cluster = await startCluster(undefined, {
    prefixBase: 'lt-bench-rss',
    agencies: [AGENCY_A, AGENCY_B],
    hubConfig: { ...defaults, ...limits.node },
    edgeConfig: { ...defaults, ...limits.node },
    edgeConfigOf: { [AGENCY_A.organId]: { api: { host: '127.0.0.1', port, keys: [entry], ...limits.api } } },
  });
  const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: plainEnv(), stdio: 'ignore' });
  try {
    const sender = cluster.edge(AGENCY_A.organId);
    const recipient = cluster.edge(AGENCY_B.organId);
    await cluster.hub.start();
    await recipient.start();
    await sender.start();
    await apiListening(sender, port);
    const submitted = await submit(port, key, packetOfSize(AGENCY_A.organId, bytes));
    await receiptBack(cluster, port, key, submitted.documentId);
    const packetBytes = readDb(cluster.hubDb, (db) => (db.prepare('SELECT size FROM packets WHERE packet_id = ?').get(submitted.packetId) as { size: number }).size);
    const base = procStatusBytes(baseline.pid as number, 'VmHWM');
    const row = (name: string, pid: number | undefined): Sample => {
      const peak = procStatusBytes(pid as number, 'VmHWM');
      return { name: `${name} ${label}`, measured: peak, baseline: base, ratio: peak / packetBytes, baselineRatio: base / packetBytes };
    };
    return [row('sender edge (sign + send)', sender.pid), row('hub (verify + route)', cluster.hub.pid), row('recipient edge (receive + verify + store)', recipient.pid)];
  } finally {
    baseline.kill();
    await cluster.cleanup();
  }
}

export async function measureExchangePeakRss(): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const bytes of sizes()) samples.push(...(await measureSize(bytes)));
  return samples;
}
