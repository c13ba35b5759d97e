/**
 * What RabbitMQ says about the deployment's queues, for the overview: depth and consumers of
 * each agency's two lanes, of each link's two lanes (what waits to go to another hub) and of the
 * hub's own queues, and which agencies' edges have stopped taking their packets. Read from the management API at most every few seconds (one call for
 * all queues, shared by every viewer of the page); when the API does not answer, the snapshot
 * says so instead of failing the page.
 */
import type { QueueInfo } from '../broker/management.js';
import type { Lane, QueueOwner, ResourceNames } from '../broker/names.js';
import type { Db } from '../store/db.js';

export interface QueueSource {
  listQueues(): Promise<QueueInfo[]>;
}

export interface LaneState {
  queue: string;
  messages: number;
  consumers: number;
  /** When the queue last saw activity, ISO (when RabbitMQ reports it). */
  idleSince: string | null;
}

export type StaleReason = 'no-consumer' | 'not-consuming';

export interface AgencyQueues {
  organId: string;
  name: string;
  status: string;
  urgent: LaneState | null;
  normal: LaneState | null;
  /** Why the agency's edge counts as not receiving, or null. */
  stale: StaleReason | null;
  /** Since when (idle_since of the stalest lane), when known. */
  staleSince: string | null;
}

/** The lanes of one link to another hub: packets waiting there to be forwarded. */
export interface LinkQueues {
  link: string;
  urgent: LaneState | null;
  normal: LaneState | null;
}

export type QueueSnapshot =
  | {
      ok: true;
      at: string;
      staleAfterMinutes: number;
      agencies: AgencyQueues[];
      /** One entry per configured link (none without federation). */
      links: LinkQueues[];
      hub: { inboundUrgent: LaneState | null; inboundNormal: LaneState | null; deadLetters: LaneState | null };
    }
  | { ok: false; at: string; staleAfterMinutes: number; error: string };

/** RabbitMQ's idle_since: "2026-11-25T17:23:10.137+00:00" (3.10+) or "2026-11-25 17:23:10" (UTC, older). */
export function parseIdleSince(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function laneState(info: QueueInfo | undefined): LaneState | null {
  if (!info) return null;
  const idle = parseIdleSince(info.idle_since);
  return { queue: info.name, messages: info.messages ?? 0, consumers: info.consumers ?? 0, idleSince: idle ? idle.toISOString() : null };
}

/**
 * Whether an active agency's edge has stopped taking its packets: no consumer on one of its
 * lanes (the edge consumes both) unless the queue was active within the last `staleAfterMs`, or
 * packets waiting in a lane idle for longer than that.
 */
export function staleness(lanes: readonly (LaneState | null)[], now: Date, staleAfterMs: number): { stale: StaleReason | null; since: string | null } {
  const present = lanes.filter((l): l is LaneState => l !== null);
  if (present.length === 0) return { stale: null, since: null };
  const idleFor = (l: LaneState): number | undefined => (l.idleSince ? now.getTime() - Date.parse(l.idleSince) : undefined);
  const oldest = present.map((l) => l.idleSince).filter((s): s is string => s !== null).sort()[0] ?? null;
  for (const lane of present) {
    if (lane.consumers === 0) {
      const idle = idleFor(lane);
      if (idle === undefined || idle >= staleAfterMs) return { stale: 'no-consumer', since: lane.idleSince ?? oldest };
    }
  }
  for (const lane of present) {
    const idle = idleFor(lane);
    if (lane.messages > 0 && idle !== undefined && idle >= staleAfterMs) return { stale: 'not-consuming', since: lane.idleSince };
  }
  return { stale: null, since: null };
}

export interface QueueMonitorOptions {
  source: QueueSource;
  names: ResourceNames;
  db: Db;
  staleAfterMinutes: number;
  clock: () => Date;
  /** How long one answer of the management API is reused. Default 5 s. */
  cacheMs?: number;
  /** The names of the hub's links to other hubs, whose queues the snapshot includes. */
  links?: readonly string[];
}

export class QueueMonitor {
  private cached: { at: number; result: Promise<{ queues: QueueInfo[] } | { error: string }> } | undefined;

  constructor(private readonly options: QueueMonitorOptions) {}

  private queues(): Promise<{ queues: QueueInfo[] } | { error: string }> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= (this.options.cacheMs ?? 5_000)) {
      const result = this.options.source.listQueues().then(
        (all) => ({ queues: all.filter((q) => this.options.names.owns(q.name)) }),
        (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
      );
      this.cached = { at: now, result };
    }
    return this.cached.result;
  }

  async snapshot(): Promise<QueueSnapshot> {
    const { names, db, staleAfterMinutes } = this.options;
    const answer = await this.queues();
    const now = this.options.clock();
    const at = now.toISOString();
    if ('error' in answer) return { ok: false, at, staleAfterMinutes, error: answer.error };
    const byName = new Map(answer.queues.map((q) => [q.name, q]));
    const lane = (owner: QueueOwner, l: Lane): LaneState | null => laneState(byName.get(names.agencyQueue(owner, l)));
    const agencies = (
      db.prepare("SELECT organ_id, name, status, queue_token FROM agencies WHERE status <> 'removed' AND kind = 'agency' ORDER BY organ_id").all() as Array<{ organ_id: string; name: string; status: string; queue_token: string }>
    ).map(
      (a): AgencyQueues => {
        const owner = { organId: a.organ_id, queueToken: a.queue_token };
        const urgent = lane(owner, 'urgent');
        const normal = lane(owner, 'normal');
        const { stale, since } = a.status === 'active' ? staleness([urgent, normal], now, staleAfterMinutes * 60_000) : { stale: null, since: null };
        return { organId: a.organ_id, name: a.name, status: a.status, urgent, normal, stale, staleSince: since };
      },
    );
    const links = (this.options.links ?? []).map(
      (link): LinkQueues => ({ link, urgent: laneState(byName.get(names.federationQueue(link, 'urgent'))), normal: laneState(byName.get(names.federationQueue(link, 'normal'))) }),
    );
    return {
      ok: true,
      at,
      staleAfterMinutes,
      agencies,
      links,
      hub: {
        inboundUrgent: laneState(byName.get(names.hubInbound.urgent)),
        inboundNormal: laneState(byName.get(names.hubInbound.normal)),
        deadLetters: laneState(byName.get(names.deadLetters)),
      },
    };
  }
}
