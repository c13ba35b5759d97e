/**
 * What a comment bomb costs now that the parsing budget refuses it before any DOM (issue 9):
 * a validly signed packet padded to 30 MiB with comments (c14n drops them, so the signature
 * stays valid), refused through the verify path (the hub's and the inbox's crypto pool) and
 * through the edge's REST submit of raw edXML, with /health polled over HTTP meanwhile and the
 * RSS growth. Then what a legitimate 32 MiB packet needs of a crypto worker's heap, and what the
 * same comments cost xmldom without the budget.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createEdgeApi } from '../src/adapters/rest/server.js';
import { hashApiKey } from '../src/adapters/rest/auth.js';
import { loadIdentityMaterial } from '../src/config.js';
import { CryptoPool, DEFAULT_WORKER_HEAP_MB } from '../src/crypto/pool.js';
import { readTrustFiles } from '../src/crypto/trust.js';
import { DEV_HUB, devPath, devTrust } from '../src/demo/local-exchange.js';
import { edgeConfigFrom } from '../src/edge/config.js';
import { Edge } from '../src/edge/edge.js';
import { buildPacket, composeDocument } from '../src/envelope/index.js';
import { DEFAULT_XML_LIMITS, parseXml } from '../src/envelope/xml.js';
import { silentLogger } from '../src/log.js';
import { fmt, table } from './harness.js';

const OFFICE = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
const FINANCE = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };
const MiB = 1024 * 1024;

function unsignedPacket(attachment: Uint8Array, codeNumber = '125'): string {
  return buildPacket(
    composeDocument(
      {
        from: OFFICE,
        to: [FINANCE],
        code: { codeNumber, codeNotation: 'UBND-VP' },
        subject: 'V/v đo chi phí từ chối gói tin độc hại',
        attachments: [{ name: 'cong-van.pdf', content: attachment }],
      },
      new Date(),
    ),
  );
}

/** `padding` inside the body, where exclusive c14n drops comments: the signature stays valid. */
const padded = (xml: string, padding: string): string => xml.replace('<edXML:edXMLBody>', `${padding}<edXML:edXMLBody>`);
const emptyComments = (bytes: number): string => '<!---->'.repeat(Math.floor(bytes / 7));

const rssMiB = (): number => process.memoryUsage().rss / MiB;

interface Watched<T> {
  result: T;
  wallMs: number;
  cpuMs: number;
  rssGrowthMiB: number;
  /** Longest stall of this process's event loop: work on the main thread, as opposed to a busy machine. */
  loopDelayMs: number;
}

/** Wall time, CPU time of the whole process (every thread) and RSS growth of `work`. */
async function watched<T>(work: () => Promise<T>): Promise<Watched<T>> {
  const rss = rssMiB();
  let peak = rss;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 5);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    const result = await work();
    const used = process.cpuUsage(cpu);
    return {
      result,
      wallMs: performance.now() - start,
      cpuMs: (used.user + used.system) / 1000,
      rssGrowthMiB: Math.max(peak, rssMiB()) - rss,
      loopDelayMs: loop.max / 1e6,
    };
  } finally {
    loop.disable();
    clearInterval(sampler);
  }
}

/** Polls GET /health every 10 ms until `until` settles; the slowest answer. */
async function healthDuring(url: string, until: Promise<unknown>): Promise<{ polls: number; slowestMs: number }> {
  let settled = false;
  void until.finally(() => (settled = true));
  let polls = 0;
  let slowestMs = 0;
  while (!settled) {
    const asked = performance.now();
    const r = await fetch(`${url}/api/v1/health`);
    await r.arrayBuffer();
    slowestMs = Math.max(slowestMs, performance.now() - asked);
    polls += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { polls, slowestMs };
}

/** POST a file as application/xml from a child process; its status and error body. */
function postFromChild(url: string, key: string, file: string): Promise<{ status: number; body: { error?: { code: string } } }> {
  const script = `
    const body = require('node:fs').readFileSync(${JSON.stringify(file)});
    fetch(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/xml', 'x-api-key': ${JSON.stringify(key)} }, body })
      .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { maxBuffer: 1024 * 1024 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as { status: number; body: { error?: { code: string } } });
    });
  });
}

export async function benchParsing(): Promise<string> {
  const out: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-parsing-'));
  const raw = {
    organId: OFFICE.organId,
    organization: OFFICE,
    hubOrganId: DEV_HUB.organId,
    amqpUrl: 'amqp://127.0.0.1:1',
    dataDir: dir,
    identity: { key: devPath('agencies', `${OFFICE.organId}.key.pem`), cert: devPath('agencies', `${OFFICE.organId}.pem`), chain: devPath('issuing-ca.pem') },
    trust: devTrust(),
    cryptoThreads: 2,
  };
  const config = edgeConfigFrom(raw, dir, 'bench edge.json', {});
  const identity = await loadIdentityMaterial(config.identity);
  const pool = new CryptoPool({ size: 2, trust: await readTrustFiles(config.trust) });
  const edge = new Edge(config, { log: silentLogger() });
  const key = randomBytes(24).toString('base64url');
  let app: ReturnType<typeof createEdgeApi> | undefined;
  try {
    await edge.open();
    app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [{ name: 'bench', sha256: hashApiKey(key) }], bodyLimit: 48 * MiB }, { log: silentLogger(), rateLimit: false });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });

    const signed = await pool.sign(unsignedPacket(randomBytes(4096)), identity);
    const bomb = Buffer.from(padded(signed, emptyComments(30 * MiB)));
    const unsignedBomb = Buffer.from(padded(unsignedPacket(randomBytes(4096), '126'), emptyComments(30 * MiB)));
    // Both workers started and warm: their start is not the bomb's cost.
    await Promise.all([pool.verify(signed), pool.verify(signed), edge.outbox.readPacket(signed), edge.outbox.readPacket(signed)]);

    const rows: Array<Record<string, string | number>> = [];
    const verifyRun = await watched(async () => {
      const pending = pool.verify(bomb);
      const health = await healthDuring(url, pending);
      return { verification: await pending, health };
    });
    rows.push({
      path: 'verify (hub, inbox)',
      bomb: `${fmt(bomb.byteLength / MiB)} MiB`,
      refused: verifyRun.result.verification.report.errors[0]?.code ?? 'accepted!',
      'wall ms': fmt(verifyRun.wallMs, 0),
      'cpu ms': fmt(verifyRun.cpuMs, 0),
      'health polls': verifyRun.result.health.polls,
      'slowest /health ms': fmt(verifyRun.result.health.slowestMs),
      'longest loop stall ms': fmt(verifyRun.loopDelayMs),
      'rss growth MiB': fmt(verifyRun.rssGrowthMiB),
    });
    // The bomb comes from another process, as it would: uploading 30 MiB from this one would
    // charge the client's work to the server's event loop.
    const bombFile = join(dir, 'bomb.xml');
    writeFileSync(bombFile, unsignedBomb);
    const restRun = await watched(async () => {
      const pending = postFromChild(`${url}/api/v1/documents`, key, bombFile);
      const health = await healthDuring(url, pending);
      return { answer: await pending, health };
    });
    rows.push({
      path: 'REST POST /documents (edge)',
      bomb: `${fmt(unsignedBomb.byteLength / MiB)} MiB`,
      refused: `${restRun.result.answer.status} ${restRun.result.answer.body.error?.code ?? ''}`,
      'wall ms': fmt(restRun.wallMs, 0),
      'cpu ms': fmt(restRun.cpuMs, 0),
      'health polls': restRun.result.health.polls,
      'slowest /health ms': fmt(restRun.result.health.slowestMs),
      'longest loop stall ms': fmt(restRun.loopDelayMs),
      'rss growth MiB': fmt(restRun.rssGrowthMiB),
    });
    out.push('A validly signed packet padded with 30 MiB of empty comments (cpu: every thread of the process):');
    out.push(table(rows));

    // The legitimate maximum: what a worker's heap must hold.
    const legit = unsignedPacket(randomBytes(Math.floor(((32 * MiB - 8192) * 3) / 4)));
    const heapRows: Array<Record<string, string | number>> = [];
    for (const heapMb of [160, DEFAULT_WORKER_HEAP_MB]) {
      const capped = new CryptoPool({ size: 1, trust: await readTrustFiles(config.trust), heapMb });
      try {
        const run = await watched(async () => {
          const s = await capped.sign(legit, identity);
          const v = await capped.verify(s);
          const p = await capped.parsePacket(s);
          return v.report.valid && p.kind === 'document' ? 'ok' : 'invalid';
        }).catch((error: Error & { code?: string }) => ({ result: error.code ?? error.message, wallMs: 0, rssGrowthMiB: 0 }));
        heapRows.push({ 'worker heap cap MiB': heapMb, packet: `${fmt(Buffer.byteLength(legit) / MiB)} MiB`, 'sign + verify + parse': run.result, 'wall ms': fmt(run.wallMs, 0), 'rss growth MiB': fmt(run.rssGrowthMiB) });
      } finally {
        await capped.close();
      }
    }
    out.push('', 'The largest legitimate packet in one capped worker (by hand: a 128 MiB cap fails it with WORKER_OUT_OF_MEMORY):');
    out.push(table(heapRows));

    // Without the budget: what the comments cost xmldom on its own (a small bomb, on this thread).
    const small = padded(unsignedPacket(randomBytes(1024), '127'), emptyComments(2 * MiB));
    const start = performance.now();
    parseXml(small, { ...DEFAULT_XML_LIMITS, maxNodes: Infinity, maxCommentNodes: Infinity, maxCommentBytes: Infinity });
    out.push('', `Without the budget, xmldom parses 2 MiB of empty comments (300 000) in ${fmt(performance.now() - start, 0)} ms; the cost grows faster than the size.`);
  } finally {
    await app?.close();
    await edge.stop();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out.join('\n');
}
