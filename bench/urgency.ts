/**
 * The urgent lane under a backlog: 10 000 normal documents wait in one recipient's queue (its
 * edge is down); then its edge starts, and while it works through the backlog urgent documents
 * (Hỏa tốc, priority 3) are sent to it one by one. Each one's latency is the time from submit
 * at the sender to its status 01 back at the sender. The same is measured for a normal
 * document sent at the same moment as the first urgent one: it waits behind the backlog.
 */
import { performance } from 'node:perf_hooks';
import { startLocalExchange } from '../src/demo/local-exchange.js';
import type { Edge } from '../src/edge/edge.js';
import { fmt, table } from './harness.js';

const A = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
const B = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function benchUrgency(backlog = 10_000, urgentCount = 40): Promise<string> {
  const exchange = await startLocalExchange({
    prefixBase: 'lt-bench-urgent',
    agencies: [A, { ...B, start: false }],
    // The hub's per-agency rate limit (600 packets a minute by default) would make the backlog
    // take a quarter of an hour to queue and measure the limit, not the lanes.
    hubConfig: { cryptoThreads: 2, quotas: { packetsPerMinute: 0 } },
  });
  try {
    const sender = exchange.edge(A.organId);
    let serial = 0;
    const submit = (priority: string, subject: string) =>
      sender.outbox.submitDocument(
        { to: [B], code: { codeNumber: String(++serial), codeNotation: 'BENCH' }, subject, priority },
        'bench',
      );
    // Fill the recipient's normal queue while its edge is down.
    const fillStart = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < backlog; i++) {
      const p = submit('0', `Văn bản thường ${i}`);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 32) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const queue = exchange.names.agencyQueue(exchange.hub.directory.get(B.organId) ?? { organId: B.organId, queueToken: '' }, 'normal');
    await until(async () => ((await exchange.api.getQueue(queue))?.messages ?? 0) >= backlog, 900_000, `${backlog} documents in ${queue}`);
    const fillSeconds = (performance.now() - fillStart) / 1000;

    // Start the recipient and send urgent documents while it drains the backlog.
    const receiverConfig = exchange.edgeConfigs.get(B.organId);
    if (!receiverConfig) throw new Error('no configuration for the recipient');
    const { Edge: EdgeClass } = await import('../src/edge/edge.js');
    const { silentLogger } = await import('../src/log.js');
    const receiver: Edge = new EdgeClass(receiverConfig, { log: silentLogger() });
    exchange.edges.set(B.organId, receiver);
    const answeredAt = (documentId: string): boolean => sender.document(documentId)?.deliveries[0]?.stage === '01';
    await receiver.start();
    const drainStart = performance.now();

    const urgentLatencies: number[] = [];
    const normalProbe = { documentId: '', start: 0, latency: NaN };
    const watchers: Promise<void>[] = [];
    for (let i = 0; i < urgentCount; i++) {
      const start = performance.now();
      const urgent = await submit('3', `Văn bản hỏa tốc ${i}`);
      if (i === 0) {
        normalProbe.start = performance.now();
        normalProbe.documentId = (await submit('0', 'Văn bản thường gửi cùng lúc')).documentId;
      }
      watchers.push(until(() => answeredAt(urgent.documentId), 600_000, `01 for ${urgent.documentId}`).then(() => void urgentLatencies.push(performance.now() - start)));
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.all(watchers);
    await until(() => answeredAt(normalProbe.documentId), 1_800_000, 'the normal probe');
    normalProbe.latency = performance.now() - normalProbe.start;
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const sorted = [...urgentLatencies].sort((a, b) => a - b);
    return [
      `Urgent lane: ${urgentCount} Hỏa tốc documents sent one by one while the recipient works through ${backlog} normal ones (latency = submit → status 01 back at the sender)`,
      table([
        { measure: 'urgent document, median latency (ms)', value: fmt(percentile(sorted, 50)) },
        { measure: 'urgent document, p99 latency (ms)', value: fmt(percentile(sorted, 99)) },
        { measure: 'urgent document, slowest (ms)', value: fmt(sorted[sorted.length - 1] ?? NaN) },
        { measure: 'the same document sent as normal at the same moment (ms)', value: fmt(normalProbe.latency) },
        { measure: `time to queue the ${backlog}-document backlog (s)`, value: fmt(fillSeconds) },
        { measure: 'time for the recipient to drain it, 01 back at the sender (s)', value: fmt(drainSeconds) },
      ]),
      '',
    ].join('\n');
  } finally {
    await exchange.stop();
  }
}
