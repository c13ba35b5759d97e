/**
 * The hub's watch over the broker's capacity: at start, whenever the number of agencies changes
 * (`agency add` runs in another process: the directory is the one shared truth), and now and
 * then in case the broker was restarted with other limits. A node short of file descriptors or
 * memory for the agencies is a problem on the health board (log, /health, dashboard) and the
 * figures are gauges on /metrics; the problem clears when the node has enough again.
 */
import { LANES } from '../broker/topology.js';
import { estimate, tightest, type CapacityEstimate } from '../broker/capacity.js';
import type { ManagementClient } from '../broker/management.js';
import type { HealthBoard } from '../health.js';
import type { Logger } from '../log.js';

export const CAPACITY_COMPONENT = 'broker-capacity';

/** Every node's estimate for `agencies` agencies; nodes that have not published statistics yet are left out. */
export async function brokerCapacity(api: Pick<ManagementClient, 'nodeBudgets'>, agencies: number): Promise<CapacityEstimate[]> {
  return (await api.nodeBudgets()).map((facts) => estimate(agencies, LANES.length, facts));
}

/** The one sentence for the log and the health board, or undefined when every node has enough. */
export function capacityProblem(estimates: CapacityEstimate[]): string | undefined {
  const short = estimates.filter((e) => !e.ok);
  if (short.length === 0) return undefined;
  return short.flatMap((e) => e.advice).join('; ');
}

export interface CapacityWatchOptions {
  api: Pick<ManagementClient, 'nodeBudgets'>;
  /** How many agencies own queues on the broker now. */
  agencies: () => number;
  health: HealthBoard;
  log: Logger;
  /** Fed with every fresh estimate (metrics). */
  onEstimate?: (estimates: CapacityEstimate[]) => void;
  /** How often the number of agencies is looked at (one COUNT). Default 15 s. */
  pollMs?: number;
  /** How often the broker is asked even when nothing changed here. Default 10 min. */
  refreshMs?: number;
}

export class CapacityWatch {
  private timer: NodeJS.Timeout | undefined;
  private checked: { agencies: number; at: number } | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: CapacityWatchOptions) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): Promise<void> | undefined {
    const agencies = this.options.agencies();
    const stale = !this.checked || Date.now() - this.checked.at >= (this.options.refreshMs ?? 600_000);
    if (stale || agencies !== this.checked?.agencies) return this.check();
    return undefined;
  }

  /** Ask the broker now; one check at a time. */
  check(): Promise<void> {
    this.running ??= (async () => {
      const agencies = this.options.agencies();
      try {
        const estimates = await brokerCapacity(this.options.api, agencies);
        // No statistics yet (a node just started): asked again at the next poll.
        if (estimates.length === 0) return;
        this.checked = { agencies, at: Date.now() };
        this.options.onEstimate?.(estimates);
        const problem = capacityProblem(estimates);
        if (problem) this.options.health.raise(CAPACITY_COMPONENT, 'BROKER_CAPACITY', problem);
        else this.options.health.clear(CAPACITY_COMPONENT);
        const worst = tightest(estimates) as CapacityEstimate;
        this.options.log.info(
          { agencies, node: worst.node, needFds: worst.needFds, haveFds: worst.haveFds, needMemMiB: Math.round(worst.needMem / 2 ** 20), haveMemMiB: Math.round(worst.haveMem / 2 ** 20), maxAgencies: worst.maxAgencies },
          `broker capacity: ${agencies} agencies, room for ${worst.maxAgencies} on the tightest node`,
        );
      } catch (error) {
        this.options.log.warn({ err: (error as Error).message }, "cannot read the broker's file-descriptor and memory budget (management API); checked again later");
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
