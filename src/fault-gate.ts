/**
 * One gate per node (edge or hub) in front of everything it consumes. A local fault (src/store/
 * faults.ts: full disk, locked or failing database, a dead crypto worker) closes it: every
 * consumer of the node stops taking deliveries and holds the ones it has, the node says so on
 * its health board (log once, /health, metrics, dashboard), and the gate probes with capped
 * exponential backoff until the node can store again, then opens by itself.
 *
 * Why hold instead of return: on RabbitMQ 3.10 quorum queues every return of a delivery counts
 * toward `x-delivery-limit`, whatever the way back (measured: basic.nack/reject with requeue,
 * closing the channel, closing the connection each add one to `x-delivery-count`). A consumer
 * that is cancelled (basic.cancel) gets nothing new and may still acknowledge the deliveries it
 * holds; those are not counted. So a paused node costs its held packets nothing, except that the
 * broker closes a channel holding a delivery longer than its `consumer_timeout` (30 min by
 * default), which counts one: a fault must last some 10 hours (20 × 30 min) before a held
 * packet is dead-lettered, while a packet returned at once was dead-lettered in 1.5 s.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { open, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { CryptoPool } from './crypto/pool.js';
import type { HealthBoard } from './health.js';
import type { Logger } from './log.js';
import type { Db } from './store/db.js';
import { assertHeadroom, classifyFault, faultMessage, type LocalFault } from './store/faults.js';

export interface FaultGateEvents {
  pause: [LocalFault];
  resume: [];
}

export interface FaultGateOptions {
  health: HealthBoard;
  log: Logger;
  /** Resolves when the node can work again; throws (the fault's error) while it cannot. */
  probe: (fault: LocalFault) => Promise<void>;
  /**
   * First probe after this long, doubling up to `maxDelayMs`. Defaults 250 ms and 5 s: a probe
   * costs a statfs, a 64 KiB synced write and an empty transaction, and the cap is what a node
   * may stay idle after its disk was freed.
   */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** A fault reported again this soon after the gate opened continues the backoff, not restarts it. */
const STREAK_MS = 30_000;

export class FaultGate extends EventEmitter<FaultGateEvents> {
  private fault: LocalFault | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private openedAt = 0;
  private stopped = false;
  private pausedAt = 0;

  constructor(private readonly options: FaultGateOptions) {
    super();
  }

  /** The fault the gate is closed for, if it is. */
  get paused(): LocalFault | undefined {
    return this.fault;
  }

  classify(error: unknown): LocalFault | undefined {
    return classifyFault(error);
  }

  /** A local fault happened: close the gate (once) and probe until it is over. */
  report(fault: LocalFault): void {
    if (this.stopped) return;
    if (this.fault) {
      if (fault.code !== this.fault.code) this.raise(fault);
      return;
    }
    this.fault = fault;
    this.pausedAt = Date.now();
    if (Date.now() - this.openedAt > STREAK_MS) this.attempt = 0;
    this.raise(fault);
    this.emit('pause', fault);
    this.schedule();
  }

  /** No more probing (the node stops); the gate stays as it is. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private raise(fault: LocalFault): void {
    this.fault = fault;
    this.options.health.raise(fault.component, fault.code, faultMessage(fault));
  }

  private schedule(): void {
    const delay = probeDelay(this.attempt, this.options.firstDelayMs ?? 250, this.options.maxDelayMs ?? 5_000);
    this.attempt += 1;
    this.timer = setTimeout(() => void this.probe(), delay);
  }

  private async probe(): Promise<void> {
    this.timer = undefined;
    const fault = this.fault;
    if (this.stopped || !fault) return;
    try {
      await this.options.probe(fault);
    } catch (error) {
      if (this.stopped) return;
      const still = classifyFault(error);
      if (still) this.raise(still);
      this.options.log.debug({ errorCode: still?.code, attempt: this.attempt, err: (error as Error).message }, 'local fault not over yet; probing again');
      this.schedule();
      return;
    }
    if (this.stopped) return;
    this.fault = undefined;
    this.openedAt = Date.now();
    this.options.health.clear(fault.component);
    // The health board has just logged "recovered"; the probing is detail.
    this.options.log.debug({ errorCode: fault.code, attempts: this.attempt, pausedMs: Date.now() - this.pausedAt }, 'local fault over: consuming again');
    this.emit('resume');
  }
}

/** The wait before probe number `attempt` (0 first): doubling from `firstMs`, never above `maxMs`. */
export function probeDelay(attempt: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 30));
}

/**
 * Can the node store again: room left in its data directory, a file written and synced there,
 * the database's write lock obtainable; for a crypto fault, a worker that runs a job.
 */
export function nodeProbe(deps: { db: Db; dataDir: string; pool: () => CryptoPool | undefined }): (fault: LocalFault) => Promise<void> {
  return async (fault) => {
    if (fault.component === 'crypto') {
      const pool = deps.pool();
      if (!pool) return;
      // Any answer but a worker failure will do: this is no packet, only a worker that must run.
      await pool.parsePacket('<probe/>').catch((error: unknown) => {
        if (classifyFault(error)) throw error;
      });
      return;
    }
    assertHeadroom(await statfs(deps.dataDir), deps.dataDir);
    const path = join(deps.dataDir, `.probe-${randomBytes(4).toString('hex')}`);
    try {
      const file = await open(path, 'w');
      try {
        await file.writeFile(Buffer.alloc(64 * 1024));
        await file.sync();
      } finally {
        await file.close();
      }
    } finally {
      await rm(path, { force: true });
    }
    // An empty IMMEDIATE transaction takes and releases the write lock, writing nothing.
    deps.db.transaction(() => {}).immediate();
  };
}
