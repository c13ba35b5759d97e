/**
 * What keeps a node (edge or hub) from doing all its work right now, in one place: the broker
 * being down or blocking publishers, storage that cannot take writes, and the like. Each part of
 * the node raises a problem under its own name when it starts and clears it when it ends; the
 * board logs each change once (not each retry) and `/health`, metrics and the dashboard read the
 * same snapshot, so what the log says and what monitoring shows cannot disagree.
 *
 * A degraded node is still alive: it keeps what it accepted and resumes by itself. Liveness
 * probes should not restart it for a problem raised here.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from './log.js';

export interface HealthProblem {
  /** What is affected, e.g. "broker", "storage". One problem per component at a time. */
  component: string;
  /** An error code of src/errors.ts (or a broker failure code) a person can look up. */
  code: string;
  /** What is wrong and what the node does about it, in words an operator can act on. */
  message: string;
  /** ISO time the problem was first raised (kept while it is raised again unchanged). */
  since: string;
}

export interface HealthSnapshot {
  status: 'ok' | 'degraded';
  problems: HealthProblem[];
}

export interface HealthBoardEvents {
  change: [HealthSnapshot];
}

export class HealthBoard extends EventEmitter<HealthBoardEvents> {
  private readonly problems = new Map<string, HealthProblem>();

  constructor(
    private readonly log?: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {
    super();
  }

  /** Raise (or update) the problem of a component; logged only when it is new or its code changes. */
  raise(component: string, code: string, message: string): void {
    const current = this.problems.get(component);
    if (current && current.code === code && current.message === message) return;
    const since = current?.code === code ? current.since : this.clock().toISOString();
    this.problems.set(component, { component, code, message, since });
    if (current?.code !== code) this.log?.warn({ health: component, errorCode: code }, `degraded: ${message}`);
    this.emit('change', this.snapshot());
  }

  /** The component works again; logged with how long it did not. */
  clear(component: string): void {
    const current = this.problems.get(component);
    if (!current) return;
    this.problems.delete(component);
    const seconds = Math.max(0, Math.round((this.clock().getTime() - Date.parse(current.since)) / 1000));
    this.log?.info({ health: component, errorCode: current.code, seconds }, `recovered: ${component} works again after ${seconds} s`);
    this.emit('change', this.snapshot());
  }

  problem(component: string): HealthProblem | undefined {
    return this.problems.get(component);
  }

  snapshot(): HealthSnapshot {
    const problems = [...this.problems.values()].sort((a, b) => a.component.localeCompare(b.component));
    return { status: problems.length ? 'degraded' : 'ok', problems };
  }
}
