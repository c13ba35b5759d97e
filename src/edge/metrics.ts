/**
 * The edge's Prometheus metrics (prom-client, as the hub's), served by its REST API at /metrics
 * with an API key: whether it is degraded, how long its signing certificate and CRLs have left,
 * and what the adapters register (webhook deliveries).
 */
import { Gauge, Registry } from 'prom-client';
import type { HealthBoard } from '../health.js';
import { registerTrustGauges, type TrustGaugeSources } from '../trust-metrics.js';

export class EdgeMetrics {
  readonly registry = new Registry();

  constructor(health: HealthBoard, trust: TrustGaugeSources) {
    registerTrustGauges(this.registry, trust);
    new Gauge({
      name: 'lt_health_degraded',
      help: 'Whether the edge is degraded (1): something keeps it from doing all its work (see /health)',
      registers: [this.registry],
      collect() {
        this.set(health.snapshot().status === 'degraded' ? 1 : 0);
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
