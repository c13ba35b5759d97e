/**
 * End to end against a raw pipeline (issue 15): the documents per second of the real exchange
 * (bench/exchange.ts: sender edge → hub → recipient edge → 01 → hub → sender), next to a
 * pipeline that does the same work without XML, envelopes or lienthong's code: per document
 * 2 signatures (the document, its 01) and 4 verifications (hub and recipient verify the
 * document, hub and sender verify the 01) with node:crypto over the same number of bytes,
 * 5 SQLite commits (sender's outbox, hub's routing of each packet, recipient's store, sender's
 * receipt) in WAL mode with synchronous=NORMAL as the stores run, and the same four confirmed
 * hops through quorum queues of the same broker, with the same 16 documents in flight.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp, { type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import Database from 'better-sqlite3';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { measureExchange } from '../exchange.js';
import { keyPath } from './packets.js';
import { mainThreadCpuMs } from './proc-status.js';
import type { Sample } from './stats.js';

const IN_FLIGHT = 16;
/** A status packet signed by lienthong (the 01), about this size with its two certificates. */
const RECEIPT_BYTES = 4200;

interface Keys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function openStore(dir: string, name: string): Database.Database {
  const db = new Database(join(dir, `${name}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS packets (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL, at TEXT NOT NULL)');
  return db;
}

function recordIn(db: Database.Database): (id: string, bytes: number) => void {
  const insert = db.prepare('INSERT OR REPLACE INTO packets (id, bytes, at) VALUES (?, ?, ?)');
  return (id, bytes) => void insert.run(id, bytes, new Date().toISOString());
}

function publishConfirmed(channel: ConfirmChannel, queue: string, content: Buffer, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.sendToQueue(queue, content, { persistent: true, messageId: id }, (error) => (error ? reject(error) : resolve()));
  });
}

export interface PipelineRun {
  documentsPerSecond: number;
  /** CPU per document, every thread of the process, ms. */
  cpuMsPerDocument: number;
  /** Of which the main thread's, ms. */
  mainThreadMsPerDocument: number;
}

/** Raw documents per second, one recipient, `documents` of `packetBytes` each. */
export async function rawPipelineRate(documents: number, packetBytes: number): Promise<PipelineRun> {
  const pem = readFileSync(keyPath('000.00.01.H12'), 'utf8');
  const keys: Keys = { privateKey: createPrivateKey(pem), publicKey: createPublicKey(createPrivateKey(pem)) };
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-pipeline-'));
  const stores = { sender: openStore(dir, 'sender'), hub: openStore(dir, 'hub'), recipient: openStore(dir, 'recipient') };
  const record = { sender: recordIn(stores.sender), hub: recordIn(stores.hub), recipient: recordIn(stores.recipient) };
  const tag = randomBytes(3).toString('hex');
  const queues = { hub: `lt-bench-pipe-${tag}.hub`, recipient: `lt-bench-pipe-${tag}.recipient`, sender: `lt-bench-pipe-${tag}.sender` };
  const connection = await amqp.connect(process.env.AMQP_URL ?? DEFAULT_AMQP_URL, { noDelay: true });
  const setup: Channel = await connection.createChannel();
  for (const q of Object.values(queues)) await setup.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  // One confirm channel per party, as each process has its own.
  const channels = { sender: await connection.createConfirmChannel(), hub: await connection.createConfirmChannel(), recipient: await connection.createConfirmChannel() };
  const body = randomBytes(packetBytes);
  const receiptBody = randomBytes(RECEIPT_BYTES);
  const signatures = new Map<string, Buffer>();
  let answered = 0;
  let finished: () => void = () => {};
  const allAnswered = new Promise<void>((resolve) => (finished = resolve));

  const checked = (message: ConsumeMessage): void => {
    const signature = signatures.get(`${message.properties.messageId as string}`) as Buffer;
    if (!verify('sha256', message.content, keys.publicKey, signature)) throw new Error('a raw signature did not verify');
  };
  const consume = async (channel: ConfirmChannel, queue: string, handle: (m: ConsumeMessage) => Promise<void>): Promise<void> => {
    await channel.prefetch(64);
    await channel.consume(queue, (m) => {
      if (!m) return;
      void handle(m).then(() => channel.ack(m));
    });
  };
  await consume(channels.hub, queues.hub, async (m) => {
    checked(m);
    const id = m.properties.messageId as string;
    record.hub(id, m.content.length);
    await publishConfirmed(channels.hub, id.endsWith('.01') ? queues.sender : queues.recipient, m.content, id);
  });
  await consume(channels.recipient, queues.recipient, async (m) => {
    checked(m);
    const id = m.properties.messageId as string;
    record.recipient(id, m.content.length);
    const receiptId = `${id}.01`;
    signatures.set(receiptId, sign('sha256', receiptBody, keys.privateKey));
    await publishConfirmed(channels.recipient, queues.hub, receiptBody, receiptId);
  });
  await consume(channels.sender, queues.sender, async (m) => {
    checked(m);
    record.sender(m.properties.messageId as string, m.content.length);
    if (++answered === documents) finished();
  });

  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  const mainAtStart = mainThreadCpuMs();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < documents; i++) {
    const id = `${tag}-${i}`;
    const p = (async () => {
      signatures.set(id, sign('sha256', body, keys.privateKey));
      record.sender(id, body.length);
      await publishConfirmed(channels.sender, queues.hub, body, id);
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await allAnswered;
  const rate = documents / ((performance.now() - start) / 1000);
  const cpu = process.cpuUsage(cpuAtStart);
  const mainThreadMs = mainThreadCpuMs() - mainAtStart;

  for (const q of Object.values(queues)) await setup.deleteQueue(q);
  await connection.close();
  for (const db of Object.values(stores)) db.close();
  rmSync(dir, { recursive: true, force: true });
  return { documentsPerSecond: rate, cpuMsPerDocument: (cpu.user + cpu.system) / 1000 / documents, mainThreadMsPerDocument: mainThreadMs / documents };
}

export interface PipelineSamples {
  rate: Sample[];
  /**
   * Where the difference goes: CPU per document of the exchange and of the raw pipeline, each
   * one process, all threads and the main thread alone (the rest: crypto workers, libuv's pool
   * with the file writes, V8's collector).
   */
  cpu: Sample[];
}

/** The exchange and the raw pipeline at about 6.7 KB and 100 KB per signed packet. */
export async function measurePipeline(documents = Number(process.env.LT_BENCH_E2E_DOCS ?? 300)): Promise<PipelineSamples> {
  const samples: PipelineSamples = { rate: [], cpu: [] };
  for (const attachmentBytes of [200, 70_000]) {
    const real = await measureExchange(documents, attachmentBytes);
    const raw = await rawPipelineRate(documents, real.packetBytes);
    const size = `${(real.packetBytes / 1024).toFixed(1)} KiB packet`;
    samples.rate.push({ name: `${size}, 01 back at the sender`, measured: real.documentsPerSecond, baseline: raw.documentsPerSecond, ratio: real.documentsPerSecond / raw.documentsPerSecond });
    samples.cpu.push(
      { name: `${size}, all threads`, measured: real.cpuMsPerDocument, baseline: raw.cpuMsPerDocument, ratio: real.cpuMsPerDocument / raw.cpuMsPerDocument },
      { name: `${size}, main thread`, measured: real.mainThreadMsPerDocument, baseline: raw.mainThreadMsPerDocument, ratio: real.mainThreadMsPerDocument / raw.mainThreadMsPerDocument },
    );
  }
  return samples;
}
