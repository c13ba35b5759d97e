/**
 * The trust gauges hub and edge serve: the signing certificate's time left (negative once past,
 * absent before the node opened its identity) and each CRL's time to its nextUpdate.
 */
import t from 'tap';
import { Registry } from 'prom-client';
import { registerTrustGauges } from '../../src/trust-metrics.js';
import type { CrlFreshness } from '../../src/crypto/crl-freshness.js';

const now = new Date('2026-12-02T00:00:00Z');

async function gauges(notAfter: Date | undefined, crls: CrlFreshness[] = []): Promise<string> {
  const registry = new Registry();
  registerTrustGauges(registry, { signingCertificate: () => notAfter && { subject: 'CN=Văn phòng', notAfter }, crls: () => crls, clock: () => now });
  return registry.metrics();
}

t.test('the signing certificate: seconds left, negative once past, nothing before it is known', async (t) => {
  t.match(await gauges(new Date('2026-12-31T00:00:00Z')), /^lt_signing_certificate_expiry_seconds\{subject="CN=Văn phòng"\} 2505600$/m, '29 days left');
  t.match(await gauges(new Date('2026-12-01T23:00:00Z')), /^lt_signing_certificate_expiry_seconds\{subject="CN=Văn phòng"\} -3600$/m, 'expired an hour ago');
  t.notMatch(await gauges(undefined), /^lt_signing_certificate_expiry_seconds\b/m, 'no sample before the identity is open');
});

t.test('CRLs: one series per issuer with a nextUpdate', async (t) => {
  const crl = (issuer: string, secondsLeft: number | undefined): CrlFreshness =>
    ({ issuer, source: 'file', thisUpdate: now, nextUpdate: secondsLeft === undefined ? undefined : new Date(now.getTime() + secondsLeft * 1000), secondsLeft, state: 'fresh' }) as CrlFreshness;
  const text = await gauges(undefined, [crl('CN=Issuing CA', 7200), crl('CN=Root CA', -60), crl('CN=Undated CA', undefined)]);
  t.match(text, /^lt_crl_next_update_seconds\{issuer="CN=Issuing CA"\} 7200$/m);
  t.match(text, /^lt_crl_next_update_seconds\{issuer="CN=Root CA"\} -60$/m, 'negative once past');
  t.notMatch(text, /Undated CA/, 'a CRL without nextUpdate has no series');
});
