/**
 * Signing, verification and every parse of untrusted XML off the main thread. Canonicalising a
 * 20 MB packet takes long enough to stall a hub's event loop (heartbeats, HTTP), so the work
 * runs in a few worker threads behind a small async API. Each worker runs one job at a time
 * under a heap cap, so a job that exhausts it takes down only itself.
 *
 * A worker is a V8 isolate of its own, some 20 MB of resident memory before any job: an idle
 * node would spend most of its memory on them. So a worker starts when a job needs it and stops
 * after it has had nothing to do for a while.
 */
import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Packet } from '../envelope/types.js';
import type { XmlLimits } from '../envelope/xml.js';
import { LtError } from '../errors.js';
import type { CryptoEngineName } from './engine.js';
import { ownBuffer, unwrapResult, type CryptoJob, type CryptoJobResult, type IdentityMaterial } from './jobs.js';
import type { TrustMaterial } from './trust.js';
import type { Verification, VerifyOptions } from './verify.js';

export interface CryptoPoolOptions {
  /** Number of worker threads. Default: 2, or 1 on a single-core machine. */
  size?: number;
  /** Trust anchors, intermediates and CRLs for verification. */
  trust?: TrustMaterial;
  /** WebCrypto implementation. Default "node". */
  engine?: CryptoEngineName;
  /**
   * Heap of each worker thread (V8 old generation), MiB. A job that needs more kills its
   * worker instead of the process: that job alone fails with WORKER_OUT_OF_MEMORY and a new
   * worker takes the next one. Default DEFAULT_WORKER_HEAP_MB.
   */
  heapMb?: number;
  /**
   * Parsing limits of every job that brings none: the node's maxPacketBytes, so that what its
   * queues and its API accept is also what its workers read and sign. Default the parser's.
   */
  limits?: XmlLimits;
  /**
   * A worker with no job for this long stops; the next job starts one again (about 250 ms of
   * CPU). 0: a worker, once started, runs until the pool closes. Default DEFAULT_WORKER_IDLE_MS.
   */
  idleMs?: number;
}

/**
 * Long enough that a steady trickle of packets (an agency's working day) keeps its workers, so
 * only a node that has been quiet for a while pays a worker's start again.
 */
export const DEFAULT_WORKER_IDLE_MS = 60_000;

/**
 * Signing, verifying and parsing a 32 MiB packet (the largest accepted, its text held as
 * two-byte characters) succeed with 160 MiB of worker heap and fail with 128 (bench/parsing.ts
 * tries both): 512 leaves room for the unexpected without letting one packet take the machine.
 */
export const DEFAULT_WORKER_HEAP_MB = 512;

interface Task {
  id: number;
  job: CryptoJob;
  /** The caller gives up its bytes: they move to the worker without a copy. */
  handOver: boolean;
  /** An urgent document's work goes before every normal job still waiting (see run). */
  urgent: boolean;
  resolve: (result: CryptoJobResult) => void;
}

/** Per job: an urgent document's packet or its status (Decree 30/2020: handled immediately). */
export interface JobPriority {
  urgent?: boolean;
}

interface Slot {
  worker: Worker;
  /** The one job the worker runs: when it dies, that job, and only that one, fails. */
  task: Task | undefined;
  dead: boolean;
  /** Stops the worker once it has been idle for the pool's idleMs. */
  idleTimer: NodeJS.Timeout | undefined;
}

// Under the TypeScript loaders used by tests and benchmarks the sources are .ts files.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/**
 * The worker thread for this process. Compiled code (dist/) needs nothing special. From the
 * TypeScript sources (tests, benchmarks) a tiny bootstrap registers tsx inside the worker before
 * importing worker.ts, and the worker does not inherit the parent's loader flags: tap's loaders,
 * re-run in every worker, cost each one about 2.8 s of CPU against 1 s, and every hub and edge
 * a test starts has its workers (the suite's largest CPU cost under load).
 */
function createWorker(workerData: unknown, resourceLimits: ResourceLimits): Worker {
  if (FROM_SOURCE) {
    const bootstrap =
      "import { workerData } from 'node:worker_threads';" +
      'const { register } = await import(workerData.tsx); register(); await import(workerData.entry);';
    return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
      workerData: { ...(workerData as object), tsx: import.meta.resolve('tsx/esm/api'), entry: WORKER_URL.href },
      resourceLimits,
      execArgv: [],
    });
  }
  return new Worker(WORKER_URL, { workerData, resourceLimits });
}

/**
 * Large input bytes go to the worker in one copy the worker reads in place: posted as they are,
 * they are copied twice (serialised, then deserialised), 60 MiB more for a 30 MiB packet.
 */
function sharedInput(job: CryptoJob): CryptoJob {
  if (typeof job.xml === 'string' || job.xml.byteLength < 1024 * 1024) return job;
  const shared = new Uint8Array(new SharedArrayBuffer(job.xml.byteLength));
  shared.set(job.xml);
  return { ...job, xml: shared };
}

/**
 * The buffer to move to the worker instead of copying: even one copy of 30 MiB stalls this
 * thread for 100 ms and more (fresh pages). Only bytes that own their whole ArrayBuffer can
 * move: a small Buffer shares Node's pool with others.
 */
function movable(task: Task): ArrayBuffer | undefined {
  const xml = task.job.xml;
  if (!task.handOver || typeof xml === 'string') return undefined;
  return ownBuffer(xml);
}

export class CryptoPool {
  /**
   * A slot is empty until a job needs it: before the first job, after its worker stopped idle,
   * and after its worker died (a worker that cannot start is not restarted in a loop).
   */
  private readonly slots: Array<Slot | undefined>;
  private readonly queue: Task[] = [];
  private readonly heapMb: number;
  private readonly idleMs: number;
  private nextId = 1;
  private closed = false;
  /** What workers verify against; replaced by updateTrust, given to every worker started later. */
  private trust: TrustMaterial | undefined;

  constructor(private readonly options: CryptoPoolOptions = {}) {
    const size = Math.max(1, options.size ?? Math.min(2, availableParallelism()));
    this.heapMb = options.heapMb ?? DEFAULT_WORKER_HEAP_MB;
    this.idleMs = options.idleMs ?? DEFAULT_WORKER_IDLE_MS;
    this.trust = options.trust;
    this.slots = Array.from({ length: size }, () => undefined);
  }

  /** Worker threads running now (started and not stopped or dead): what the pool costs in memory. */
  get threads(): number {
    return this.slots.filter((slot) => slot !== undefined).length;
  }

  private spawn(): Slot {
    const worker = createWorker({ trust: this.trust, engine: this.options.engine }, { maxOldGenerationSizeMb: this.heapMb });
    const slot: Slot = { worker, task: undefined, dead: false, idleTimer: undefined };
    worker.on('message', ({ id, result }: { id: number; result: CryptoJobResult }) => {
      const task = slot.task;
      if (task?.id !== id) return;
      slot.task = undefined;
      task.resolve(result);
      this.dispatch();
    });
    const died = (error: Error & { code?: string }): void => {
      if (slot.dead) return;
      slot.dead = true;
      clearTimeout(slot.idleTimer);
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots[index] = undefined;
      const task = slot.task;
      slot.task = undefined;
      if (task) task.resolve({ ok: false, error: this.failure(task.job, error) });
      this.dispatch();
    };
    // On running out of heap a worker emits 'error' (ERR_WORKER_OUT_OF_MEMORY), then 'exit'.
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`exited with code ${code}`)));
    worker.unref();
    return slot;
  }

  private failure(job: CryptoJob, error: Error & { code?: string }): Extract<CryptoJobResult, { ok: false }>['error'] {
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return {
        code: 'WORKER_OUT_OF_MEMORY',
        message:
          `the ${job.op} job needed more than the ${this.heapMb} MiB of heap a crypto worker may use, and was stopped; ` +
          'a packet within the parsing limits needs far less, so the input is hostile or cryptoHeapMb is set too low',
        context: {},
      };
    }
    // Not the input's doing as far as anyone can tell: the caller may wait and try again (src/store/faults.ts).
    return { code: 'WORKER_FAILED', message: `crypto worker failed: ${error.message}`, context: {} };
  }

  /** Hand queued jobs to idle workers, starting a worker where one died. */
  private dispatch(): void {
    if (this.closed) return;
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      let slot = this.slots[i];
      if (!slot) {
        slot = this.spawn();
        this.slots[i] = slot;
      }
      if (slot.task) continue;
      const task = this.queue.shift() as Task;
      slot.task = task;
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      slot.worker.ref();
      const moved = movable(task);
      // Moved bytes are the worker's alone: parsed, they can go (a verification's go back instead).
      if (moved) slot.worker.postMessage({ id: task.id, job: task.job.op === 'verify' ? task.job : { ...task.job, release: true } }, [moved]);
      else slot.worker.postMessage({ id: task.id, job: sharedInput(task.job) });
    }
    // An idle worker must not keep the process alive.
    for (const slot of this.slots) {
      if (!slot || slot.task) continue;
      slot.worker.unref();
      if (this.idleMs > 0 && !slot.idleTimer) {
        slot.idleTimer = setTimeout(() => this.retire(slot), this.idleMs);
        slot.idleTimer.unref();
      }
    }
  }

  /**
   * Stop a worker that has had no job for idleMs. The slot is emptied in the same turn that
   * finds the worker idle, so no job can be handed to it afterwards: a job that arrives while
   * it terminates starts a worker of its own in the slot.
   */
  private retire(slot: Slot): void {
    slot.idleTimer = undefined;
    if (slot.task || slot.dead) return;
    slot.dead = true;
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots[index] = undefined;
    void slot.worker.terminate();
  }

  /** The job with the pool's limits where it names none. */
  private limited(job: CryptoJob): CryptoJob {
    const limits = this.options.limits;
    if (!limits) return job;
    if (job.op === 'verify') return job.options?.limits ? job : { ...job, options: { ...job.options, limits } };
    return job.limits ? job : { ...job, limits };
  }

  /**
   * Queue a job. The lanes put an urgent delivery first among those a node has taken, but each
   * handler then waits here behind every job the others queued: with a normal backlog that is a
   * few signatures and verifications per worker, on every hop. So an urgent job is queued after
   * the urgent ones already waiting and before every normal one.
   */
  private run(job: CryptoJob, handOver = false, priority: JobPriority = {}): Promise<CryptoJobResult> {
    if (this.closed) return Promise.reject(new LtError('INTERNAL', 'the crypto pool is closed'));
    return new Promise((resolve) => {
      const urgent = priority.urgent === true;
      const task: Task = { id: this.nextId++, job: this.limited(job), handOver, urgent, resolve };
      const firstNormal = urgent ? this.queue.findIndex((t) => !t.urgent) : -1;
      if (firstNormal === -1) this.queue.push(task);
      else this.queue.splice(firstNormal, 0, task);
      this.dispatch();
    });
  }

  /**
   * Verify from now on against `trust` (a refreshed CRL, reloaded trust files), without stopping
   * a worker: a job running finishes under the trust it started with, every job handed out
   * after this call runs under the new one (a worker takes its messages in order).
   */
  updateTrust(trust: TrustMaterial): void {
    this.trust = trust;
    for (const slot of this.slots) if (slot && !slot.dead) slot.worker.postMessage({ trust });
  }

  /** Sign an unsigned packet; resolves to the signed XML text. */
  async sign(xml: Uint8Array | string, identity: IdentityMaterial, priority: JobPriority = {}): Promise<string> {
    const result = unwrapResult(await this.run({ op: 'sign', xml, identity }, false, priority));
    return (result as { xml: string }).xml;
  }

  /**
   * Sign an unsigned packet; resolves to the signed packet's UTF-8 bytes, moved from the worker:
   * what a node stores and publishes, without the copies of a large text crossing threads.
   * With `handOver` the caller gives up `xml` (as parsePacket's).
   */
  async signBytes(xml: Uint8Array | string, identity: IdentityMaterial, options: JobPriority & { handOver?: boolean } = {}): Promise<Buffer> {
    const result = unwrapResult(await this.run({ op: 'sign', xml, identity, bytes: true }, options.handOver === true, options));
    const bytes = (result as { xml: Uint8Array }).xml;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Verify a packet; never rejects for a bad packet (the report says why it is invalid).
   * Nothing is ever written back into the packet: whoever relays it relays the bytes it got.
   */
  async verify(xml: Uint8Array | string, options: Omit<VerifyOptions, 'now'> & { now?: Date } & JobPriority = {}): Promise<Verification> {
    const { now, urgent, ...rest } = options;
    const job: CryptoJob = { op: 'verify', xml, options: now ? { ...rest, now: now.getTime() } : rest };
    return (unwrapResult(await this.run(job, false, { urgent })) as { verification: Verification }).verification;
  }

  /**
   * Verify bytes the caller lends to the worker for the job: bytes that own their ArrayBuffer
   * (what the broker client assembles a large message into) move there and back instead of
   * being copied to shared memory, which held a second copy of the packet beside the caller's
   * while the worker held its text. The caller's Buffer is empty from the call on, for good:
   * it goes on with the one returned (its own, when it could not move). Should the worker die
   * on the job, the bytes die with it: the caller reads what it needs of them (the size) before.
   */
  async verifyLent(bytes: Buffer, options: Omit<VerifyOptions, 'now'> & { now?: Date } & JobPriority = {}): Promise<{ verification: Verification; bytes: Buffer }> {
    if (!ownBuffer(bytes)) return { verification: await this.verify(bytes, options), bytes };
    const { now, urgent, ...rest } = options;
    const job: CryptoJob = { op: 'verify', xml: bytes, giveBack: true, options: now ? { ...rest, now: now.getTime() } : rest };
    const result = unwrapResult(await this.run(job, true, { urgent })) as { verification: Verification; input?: Uint8Array };
    const back = result.input;
    if (!back) throw new LtError('INTERNAL', 'the crypto worker did not give back the bytes lent to it');
    return { verification: result.verification, bytes: Buffer.from(back.buffer, back.byteOffset, back.byteLength) };
  }

  /**
   * Read an untrusted packet (size, parsing budget, DOM, edXML model) in a worker, so that the
   * caller's thread never parses it; the model is plain data. With `handOver` the caller gives
   * up `xml`: bytes that own their ArrayBuffer move to the worker and are empty afterwards.
   */
  async parsePacket(xml: Uint8Array | string, limits?: XmlLimits, options: { handOver?: boolean } = {}): Promise<Packet> {
    const job: CryptoJob = limits ? { op: 'parse', xml, limits } : { op: 'parse', xml };
    return (unwrapResult(await this.run(job, options.handOver === true)) as { packet: Packet }).packet;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots) clearTimeout(slot?.idleTimer);
    for (const task of this.queue.splice(0)) {
      task.resolve({ ok: false, error: { code: 'INTERNAL', message: 'the crypto pool was closed before the job ran', context: {} } });
    }
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
  }
}
