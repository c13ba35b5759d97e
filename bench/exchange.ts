/**
 * End-to-end documents per second through a real exchange on this machine (hub + two edges in
 * one process, the local RabbitMQ): 5 KB documents from one agency to one other, counted when
 * the recipient's status 01 is back at the sender (sign, relay, hub verify + route, recipient
 * verify + store + 01 signed, hub route, sender update). Next to it, the raw confirmed
 * publish + consume rate of the same broker for the same message size, on a quorum queue.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BrokerConnection } from '../src/broker/connection.js';
import { LaneConsumer } from '../src/broker/consumer.js';
import { ConfirmPublisher } from '../src/broker/publisher.js';
import { startLocalExchange } from '../src/demo/local-exchange.js';
import { DEFAULT_AMQP_URL } from '../src/config.js';
import { fmt, table } from './harness.js';
import { mainThreadCpuMs } from './targets/proc-status.js';

const A = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
const B = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };

async function rawRate(count: number, size: number): Promise<number> {
  const url = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const queue = `lt-bench-raw-${randomBytes(3).toString('hex')}`;
  const connection = await BrokerConnection.connect(url, { name: 'lienthong bench raw' });
  const setup = await connection.channel();
  await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const publisher = new ConfirmPublisher({ name: 'bench-publisher' });
  let received = 0;
  let done: () => void = () => {};
  const allIn = new Promise<void>((resolve) => (done = resolve));
  const consumer = new LaneConsumer({
    name: 'bench-consumer',
    queues: [{ queue, lane: 'normal', prefetch: 100 }],
    concurrency: 100,
    handler: async () => {
      received += 1;
      if (received === count) done();
      return 'ack';
    },
  });
  await connection.add(publisher);
  await connection.add(consumer);
  const body = randomBytes(size);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) => publisher.publish({ exchange: '', routingKey: queue, content: body, options: { persistent: true, messageId: String(i) } })),
  );
  await allIn;
  const seconds = (performance.now() - start) / 1000;
  await consumer.stop();
  publisher.stop();
  await setup.deleteQueue(queue);
  await setup.close();
  await connection.close();
  return count / seconds;
}

export interface ExchangeRate {
  documentsPerSecond: number;
  /** Validate + sign + SQLite at the sender, documents/s. */
  submitPerSecond: number;
  /** Bytes of one signed packet. */
  packetBytes: number;
  /** CPU per document end to end, every thread of the process (hub, both edges, their workers), ms. */
  cpuMsPerDocument: number;
  /** Of which the main thread's (the three nodes' event loop), ms. */
  mainThreadMsPerDocument: number;
}

/**
 * `documents` documents with an attachment of `attachmentBytes` from A to B through a real hub
 * and two edges, 16 in flight, timed until every 01 is back at A.
 */
export async function measureExchange(documents: number, attachmentBytes: number): Promise<ExchangeRate> {
  // Receipts are counted as they arrive (the sender edge reports each status it stores), so the
  // measurement does not itself poll the database.
  let receipts = 0;
  let allIn: () => void = () => {};
  let target = 1;
  const counted = (): Promise<void> => new Promise((resolve) => (allIn = resolve));
  const exchange = await startLocalExchange({
    prefixBase: 'lt-bench',
    agencies: [
      {
        ...A,
        edgeOptions: {
          onReceived: (e) => {
            if (e.type === 'status' && e.statusCode === '01' && ++receipts >= target) allIn();
          },
        },
      },
      B,
    ],
    // Throughput, not the hub's per-agency rate limit (600 packets a minute by default).
    hubConfig: { cryptoThreads: 2, quotas: { packetsPerMinute: 0 } },
  });
  try {
    const sender = exchange.edge(A.organId);
    const attachment = randomBytes(attachmentBytes);
    const submitOne = (i: number) =>
      sender.outbox.submitDocument(
        {
          to: [B],
          code: { codeNumber: String(1000 + i), codeNotation: 'BENCH' },
          subject: `V/v đo thông lượng ${i}`,
          attachments: [{ name: 'phu-luc.pdf', content: attachment }],
        },
        'bench',
      );
    // Warm-up: workers, JIT, the first connection round trips.
    let done = counted();
    await submitOne(0);
    await done;
    receipts = 0;
    target = documents;
    done = counted();

    const start = performance.now();
    const cpuAtStart = process.cpuUsage();
    const mainAtStart = mainThreadCpuMs();
    const ids: string[] = [];
    const inFlight = new Set<Promise<void>>();
    for (let i = 1; i <= documents; i++) {
      const p = submitOne(i).then((s) => {
        ids.push(s.documentId);
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 16) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const submitted = performance.now();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not every document got its receipt within 5 minutes')), 300_000).unref());
    await Promise.race([done, timeout]);
    const end = performance.now();
    const cpu = process.cpuUsage(cpuAtStart);
    const mainThreadMs = mainThreadCpuMs() - mainAtStart;
    if (!ids.every((id) => sender.document(id)?.deliveries.every((d) => d.stage === '01'))) throw new Error('a receipt is missing');
    const packetBytes = (await sender.blobs.get(sender.records.document(ids[0] as string)?.blob as string)).length;
    return {
      documentsPerSecond: documents / ((end - start) / 1000),
      submitPerSecond: documents / ((submitted - start) / 1000),
      packetBytes,
      cpuMsPerDocument: (cpu.user + cpu.system) / 1000 / documents,
      mainThreadMsPerDocument: mainThreadMs / documents,
    };
  } finally {
    await exchange.stop();
  }
}

export async function benchExchange(documents = 300): Promise<string> {
  // A small attachment: with the signature and two certificates in KeyInfo the signed packet
  // is then about 6 KB, the smallest realistic document.
  const e2e = await measureExchange(documents, 200);
  const raw = await rawRate(3000, e2e.packetBytes);
  return [
    `Exchange end to end: ${documents} documents of ${e2e.packetBytes} bytes, one recipient, counted when status 01 is back at the sender`,
    table([
      { measure: 'documents/s end to end (sign → hub → recipient → 01 → sender)', value: fmt(e2e.documentsPerSecond) },
      { measure: 'submit rate (validate + sign + SQLite), documents/s', value: fmt(e2e.submitPerSecond) },
      { measure: 'mean time from submit to 01 at the sender, ms', value: fmt(1000 / e2e.documentsPerSecond, 2) },
      { measure: 'CPU per document, all threads, ms (of which the main thread)', value: `${fmt(e2e.cpuMsPerDocument, 2)} (${fmt(e2e.mainThreadMsPerDocument, 2)})` },
      { measure: `raw confirmed publish + consume, same broker, quorum queue, ${e2e.packetBytes} B messages/s`, value: fmt(raw) },
    ]),
    '(hub and both edges share this process and its two cores; each runs its own crypto worker threads)',
    '',
  ].join('\n');
}
