/**
 * The gauges hub and edge alike serve about what their signatures depend on: how long their own
 * signing certificate has left, and how long each CRL in force has until its nextUpdate. Either
 * running out stops the exchange (an expired certificate signs packets every verifier refuses, a
 * stale CRL makes `require` refuse every packet of its CA), so both are alerted on ahead of time.
 */
import { Gauge, type Registry } from 'prom-client';
import type { CrlFreshness } from './crypto/crl-freshness.js';

export interface TrustGaugeSources {
  /** The node's signing certificate; undefined before the node opened its identity. */
  signingCertificate: () => { subject: string; notAfter: Date } | undefined;
  crls: () => CrlFreshness[];
  clock?: () => Date;
}

export function registerTrustGauges(registry: Registry, sources: TrustGaugeSources): void {
  const clock = sources.clock ?? (() => new Date());
  new Gauge({
    name: 'lt_signing_certificate_expiry_seconds',
    help: "Seconds until the node's own signing certificate expires (negative once past), by subject; renew it well before 0 (README: Revocation and certificate rotation)",
    // A label, so that before the identity is open there is no sample rather than a 0 that alarms.
    labelNames: ['subject'],
    registers: [registry],
    collect() {
      this.reset();
      const certificate = sources.signingCertificate();
      if (certificate) this.set({ subject: certificate.subject }, Math.round((certificate.notAfter.getTime() - clock().getTime()) / 1000));
    },
  });
  new Gauge({
    name: 'lt_crl_next_update_seconds',
    help: 'Seconds until the nextUpdate of each CRL in force (negative once past), by issuer; alert well before 0 (the node raises CRL_STALE from trust.crlRefresh.warnBeforeHours)',
    labelNames: ['issuer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of sources.crls()) if (f.secondsLeft !== undefined) this.set({ issuer: f.issuer }, f.secondsLeft);
    },
  });
}
