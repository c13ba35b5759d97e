/**
 * The hub's Prometheus metrics (prom-client), served at /metrics: packets routed and refused
 * by reason, status packets by code, routing latency, queue depths and consumers per queue
 * (read from RabbitMQ's management API at scrape time), pending dead letters, what keeps the
 * hub from doing all its work (its health board: a full disk pausing routing...), and how long
 * its signing certificate and CRLs have left (trust-metrics.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ManagementClient } from '../broker/management.js';
import type { ResourceNames } from '../broker/names.js';
import type { Db } from '../store/db.js';
import type { HealthBoard } from '../health.js';
import type { CrlFreshness } from '../crypto/crl-freshness.js';
import type { RouteOutcome } from './router.js';
import type { CapacityEstimate } from '../broker/capacity.js';
import type { LinkStats } from '../federation/link-process.js';
import { registerTrustGauges, type TrustGaugeSources } from '../trust-metrics.js';

export class HubMetrics {
  readonly registry = new Registry();
  private readonly routed: Counter<'kind'>;
  private readonly refused: Counter<'reason'>;
  private readonly statuses: Counter<'code'>;
  private readonly latency: Histogram<'kind'>;
  private readonly linkForwarded: Counter<'link'>;
  private readonly linkFailures: Counter<'link'>;
  private readonly capacity: Record<'fdTotal' | 'fdNeeded' | 'memLimit' | 'memNeeded' | 'maxAgencies', Gauge<'node'>>;

  constructor(deps: {
    db: Db;
    api?: ManagementClient;
    names: ResourceNames;
    health?: HealthBoard;
    crls?: () => CrlFreshness[];
    signingCertificate?: TrustGaugeSources['signingCertificate'];
    clock?: () => Date;
    links?: () => LinkStats[];
  }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'lt_hub_process_' });
    this.routed = new Counter({ name: 'lt_packets_routed_total', help: 'Packets routed to their recipients, by kind', labelNames: ['kind'], registers: [this.registry] });
    this.refused = new Counter({ name: 'lt_packets_refused_total', help: 'Packets refused (bounced or dead-lettered), by error code', labelNames: ['reason'], registers: [this.registry] });
    this.statuses = new Counter({ name: 'lt_status_packets_total', help: 'Status packets routed, by status code', labelNames: ['code'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'lt_routing_latency_seconds',
      help: 'From taking a packet off the inbound queue to its decision published and confirmed',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.linkForwarded = new Counter({ name: 'lt_federation_forwarded_total', help: 'Packets a link forwarded to its remote hub and the remote broker confirmed, by link', labelNames: ['link'], registers: [this.registry] });
    this.linkFailures = new Counter({ name: 'lt_federation_failures_total', help: 'Attempts to forward a packet over a link that failed (each is retried), by link', labelNames: ['link'], registers: [this.registry] });
    const links = deps.links;
    if (links) {
      new Gauge({
        name: 'lt_federation_last_success_timestamp_seconds',
        help: 'When each link last forwarded a packet (Unix time; 0: not since the hub started)',
        labelNames: ['link'],
        registers: [this.registry],
        collect() {
          for (const link of links()) this.set({ link: link.name }, link.lastSuccessAt ? Date.parse(link.lastSuccessAt) / 1000 : 0);
        },
      });
      new Gauge({
        name: 'lt_federation_connected',
        help: "Whether each link reaches its remote hub's broker right now (1) or not (0)",
        labelNames: ['link'],
        registers: [this.registry],
        collect() {
          for (const link of links()) this.set({ link: link.name }, link.connected ? 1 : 0);
        },
      });
      const api = deps.api;
      const names = deps.names;
      if (api) {
        new Gauge({
          name: 'lt_federation_backlog',
          help: "Packets waiting in each link's queues (both lanes) to be forwarded, from RabbitMQ's management API",
          labelNames: ['link'],
          registers: [this.registry],
          async collect() {
            this.reset();
            for (const link of links()) {
              let waiting = 0;
              for (const lane of ['urgent', 'normal'] as const) waiting += (await api.getQueue(names.federationQueue(link.name, lane)).catch(() => undefined))?.messages ?? 0;
              this.set({ link: link.name }, waiting);
            }
          },
        });
      }
    }
    const gauge = (name: string, help: string): Gauge<'node'> => new Gauge({ name, help, labelNames: ['node'], registers: [this.registry] });
    this.capacity = {
      fdTotal: gauge('lt_broker_fd_total', "File descriptors a RabbitMQ node has for queues and connections (its open-file limit less RabbitMQ's own reserve)"),
      fdNeeded: gauge('lt_broker_fd_needed', "File descriptors the hub's agencies need on the node (quorum queue replicas and edge connections)"),
      memLimit: gauge('lt_broker_memory_limit_bytes', "A RabbitMQ node's memory high watermark (vm_memory_high_watermark), bytes"),
      memNeeded: gauge('lt_broker_memory_needed_bytes', "Memory the hub's agencies need on the node, bytes"),
      maxAgencies: gauge('lt_broker_agencies_capacity', 'How many agencies the node holds at most with its file descriptors, connections and memory'),
    };
    new Gauge({
      name: 'lt_dead_letters_pending',
      help: 'Dead letters waiting for an operator',
      registers: [this.registry],
      collect() {
        this.set((deps.db.prepare("SELECT COUNT(*) AS n FROM dead_letters WHERE status = 'pending'").get() as { n: number }).n);
      },
    });
    const health = deps.health;
    if (health) {
      new Gauge({
        name: 'lt_health_degraded',
        help: 'Whether the hub is degraded (1): something keeps it from doing all its work and it waits for it to heal',
        registers: [this.registry],
        collect() {
          this.set(health.snapshot().status === 'degraded' ? 1 : 0);
        },
      });
      new Gauge({
        name: 'lt_health_problems',
        help: 'Problems the hub has right now (1 each), by component and error code; e.g. storage STORAGE_FULL while its disk is full',
        labelNames: ['component', 'code'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const p of health.snapshot().problems) this.set({ component: p.component, code: p.code }, 1);
        },
      });
    }
    registerTrustGauges(this.registry, {
      signingCertificate: deps.signingCertificate ?? (() => undefined),
      crls: deps.crls ?? (() => []),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
    const api = deps.api;
    if (api) {
      // One management call per scrape feeds both gauges.
      let snapshot: Promise<Array<{ name: string; messages: number; consumers: number }>> | undefined;
      const queues = (): Promise<Array<{ name: string; messages: number; consumers: number }>> => {
        snapshot ??= api
          .listQueues()
          .then((all) => {
            // Scrapers and whoever reads them are no reason to learn the agencies' queue tokens.
            const tokens = (deps.db.prepare("SELECT queue_token FROM agencies WHERE queue_token <> ''").all() as Array<{ queue_token: string }>).map((r) => `.${r.queue_token}`);
            const untokened = (name: string): string => tokens.reduce((n, token) => n.replace(token, ''), name);
            return all.filter((q) => deps.names.owns(q.name)).map((q) => ({ ...q, name: untokened(q.name) }));
          })
          .catch(() => [])
          .finally(() => setTimeout(() => (snapshot = undefined), 1000).unref());
        return snapshot;
      };
      new Gauge({
        name: 'lt_queue_messages',
        help: 'Messages in each lienthong queue (from the RabbitMQ management API)',
        labelNames: ['queue'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const q of await queues()) this.set({ queue: q.name }, q.messages ?? 0);
        },
      });
      new Gauge({
        name: 'lt_queue_consumers',
        help: 'Consumers of each lienthong queue; 0 on an agency queue means its edge is not connected',
        labelNames: ['queue'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const q of await queues()) this.set({ queue: q.name }, q.consumers ?? 0);
        },
      });
    }
  }

  /** Feed from the broker capacity watch: one series per node, replaced at every estimate. */
  brokerCapacity(estimates: CapacityEstimate[]): void {
    for (const gauge of Object.values(this.capacity)) gauge.reset();
    for (const e of estimates) {
      this.capacity.fdTotal.set({ node: e.node }, e.haveFds);
      this.capacity.fdNeeded.set({ node: e.node }, e.needFds);
      this.capacity.memLimit.set({ node: e.node }, e.haveMem);
      this.capacity.memNeeded.set({ node: e.node }, e.needMem);
      this.capacity.maxAgencies.set({ node: e.node }, e.maxAgencies);
    }
  }

  /** Feed from the router's decisions (Hub passes it as onRouted). */
  observe(outcome: RouteOutcome): void {
    if (outcome.verdict === 'duplicate') return;
    if (outcome.verdict === 'routed') {
      this.routed.inc({ kind: outcome.kind });
      if (outcome.kind === 'status' && outcome.statusCode) this.statuses.inc({ code: outcome.statusCode });
      for (const _ of outcome.bounced) this.refused.inc({ reason: 'RECIPIENT_BOUNCED' });
    } else {
      this.refused.inc({ reason: outcome.errorCode ?? 'UNKNOWN' });
    }
    if (outcome.seconds !== undefined) this.latency.observe({ kind: outcome.kind }, outcome.seconds);
  }

  /** A link forwarded a packet (federation/link-process.ts). */
  linkForwardedOne(link: string): void {
    this.linkForwarded.inc({ link });
  }

  linkFailedOnce(link: string): void {
    this.linkFailures.inc({ link });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
