/**
 * Signing and verification off the main thread. Canonicalising a 20 MB packet takes long
 * enough to stall a hub's event loop (heartbeats, HTTP), so the work runs in a few worker
 * threads behind a small async API.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LtError } from '../errors.js';
import type { CryptoEngineName } from './engine.js';
import { unwrapResult, type CryptoJob, type CryptoJobResult, type IdentityMaterial } from './jobs.js';
import type { TrustMaterial } from './trust.js';
import type { Verification, VerifyOptions } from './verify.js';

export interface CryptoPoolOptions {
  /** Number of worker threads. Default: 2, or 1 on a single-core machine. */
  size?: number;
  /** Trust anchors, intermediates and CRLs for verification. */
  trust?: TrustMaterial;
  /** WebCrypto implementation. Default "node". */
  engine?: CryptoEngineName;
}

interface Slot {
  worker: Worker;
  pending: Map<number, (result: CryptoJobResult) => void>;
}

// Under the TypeScript loaders used by tests and benchmarks the sources are .ts files.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/**
 * The worker thread for this process. Compiled code (dist/) needs nothing special; tap's
 * TypeScript hooks reach worker threads by themselves, but tsx's (`node --import tsx`, used by
 * the benchmarks) do not on Node 20, so there a tiny bootstrap registers tsx inside the worker
 * before importing worker.ts.
 */
function createWorker(workerData: unknown): Worker {
  if (FROM_SOURCE && process.execArgv.some((a) => /(^|[/=])tsx(\/|$)/.test(a) || a === 'tsx')) {
    const bootstrap =
      "import { workerData } from 'node:worker_threads';" +
      'const { register } = await import(workerData.tsx); register(); await import(workerData.entry);';
    return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      workerData: { ...(workerData as object), tsx: import.meta.resolve('tsx/esm/api'), entry: WORKER_URL.href },
    });
  }
  return new Worker(WORKER_URL, { workerData });
}

export class CryptoPool {
  private readonly slots: Slot[];
  private nextId = 1;
  private closed = false;

  constructor(options: CryptoPoolOptions = {}) {
    const size = Math.max(1, options.size ?? Math.min(2, availableParallelism()));
    this.slots = Array.from({ length: size }, () => this.spawn(options));
  }

  private spawn(options: CryptoPoolOptions): Slot {
    const worker = createWorker({ trust: options.trust, engine: options.engine });
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', ({ id, result }: { id: number; result: CryptoJobResult }) => {
      const resolve = slot.pending.get(id);
      slot.pending.delete(id);
      resolve?.(result);
    });
    const failAll = (error: Error): void => {
      for (const resolve of slot.pending.values()) {
        resolve({ ok: false, error: { code: 'INTERNAL', message: `crypto worker failed: ${error.message}`, context: {} } });
      }
      slot.pending.clear();
      if (!this.closed) {
        const index = this.slots.indexOf(slot);
        if (index !== -1) this.slots[index] = this.spawn(options);
      }
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (slot.pending.size > 0 || (!this.closed && code !== 0)) failAll(new Error(`exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }

  private run(job: CryptoJob): Promise<CryptoJobResult> {
    if (this.closed) return Promise.reject(new LtError('INTERNAL', 'the crypto pool is closed'));
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve) => {
      slot.pending.set(id, resolve);
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ id, job });
    }).finally(() => {
      if (slot.pending.size === 0) slot.worker.unref();
    }) as Promise<CryptoJobResult>;
  }

  /** Sign an unsigned packet; resolves to the signed XML text. */
  async sign(xml: Uint8Array | string, identity: IdentityMaterial): Promise<string> {
    const result = unwrapResult(await this.run({ op: 'sign', xml, identity }));
    return (result as { xml: string }).xml;
  }

  /**
   * Verify a packet; never rejects for a bad packet (the report says why it is invalid).
   * Nothing is ever written back into the packet: whoever relays it relays the bytes it got.
   */
  async verify(xml: Uint8Array | string, options: Omit<VerifyOptions, 'now'> & { now?: Date } = {}): Promise<Verification> {
    const { now, ...rest } = options;
    const job: CryptoJob = { op: 'verify', xml, options: now ? { ...rest, now: now.getTime() } : rest };
    return (unwrapResult(await this.run(job)) as { verification: Verification }).verification;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
