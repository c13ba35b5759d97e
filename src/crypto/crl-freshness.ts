/**
 * The decisions of CRL refreshing, free of I/O: which CRL of an issuer is in force, when a
 * source is asked again, how fresh each CRL in force is and what the operator is told about it.
 * src/crypto/revocation-refresher.ts does the reading, downloading and timing around them.
 */
import * as x509 from './x509.js';

export interface CrlRefreshSettings {
  /** Longest time between two reads of a CRL file or downloads of a distribution point, minutes. */
  intervalMinutes: number;
  /** Download CRLs from the HTTP(S) distribution points named in the trusted certificates. */
  fetch: boolean;
  /** Alarm (log, /health, /metrics) when a CRL in force reaches its nextUpdate within this many hours. */
  warnBeforeHours: number;
  /** How long past its nextUpdate a CRL is still used (with an alarm), hours; 0: not at all. */
  graceHours: number;
  /**
   * A source is asked again once this fraction of its CRL's validity (thisUpdate to nextUpdate)
   * has passed, if the interval has not come first: a CA publishes the next CRL well before the
   * current one ends, and fetching it early leaves room for a few failed tries.
   */
  refreshFraction: number;
  /** More CRL URLs than the distribution points name (a CA whose certificates name none). */
  urls: string[];
}

export const DEFAULT_CRL_REFRESH: CrlRefreshSettings = {
  intervalMinutes: 60,
  fetch: true,
  warnBeforeHours: 24,
  graceHours: 0,
  refreshFraction: 0.5,
  urls: [],
};

/** A CRL read from a source, with what the decisions need. */
export interface CrlCandidate {
  crl: x509.X509Crl;
  /** Where it came from: a file path or a URL. */
  source: string;
  /** Signed by the key of a trusted CA whose subject is the CRL's issuer. */
  authentic: boolean;
}

/**
 * The CRLs in force: per issuer, the authentic one issued last. A configured file that is not
 * authentic stays only where no authentic CRL of its issuer exists, so that verification still
 * names the problem ("not signed by that CA's key") instead of "no CRL". A downloaded CRL is
 * never in the candidates unless it is authentic (the refresher drops it with an alarm).
 */
export function crlsInForce(candidates: readonly CrlCandidate[]): CrlCandidate[] {
  const newest = new Map<string, CrlCandidate>();
  for (const c of candidates) {
    if (!c.authentic) continue;
    const current = newest.get(c.crl.issuer);
    if (!current || c.crl.thisUpdate > current.crl.thisUpdate) newest.set(c.crl.issuer, c);
  }
  const orphans = candidates.filter((c) => !c.authentic && !newest.has(c.crl.issuer));
  return [...newest.values(), ...orphans];
}

/**
 * Whether a downloaded CRL may replace the one of its issuer in force: only a later one. An
 * older CRL served again (a stale mirror, a replay) could un-revoke a certificate.
 */
export function supersedes(candidate: x509.X509Crl, current: x509.X509Crl | undefined): boolean {
  return !current || candidate.thisUpdate > current.thisUpdate;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** After a failed download, tried again this soon (or at the interval, if shorter). */
export const RETRY_AFTER_FAILURE_MS = 5 * MINUTE_MS;

/**
 * When a source is asked next: at the interval, or earlier once `refreshFraction` of its CRL's
 * validity has passed; after a failure within RETRY_AFTER_FAILURE_MS, sooner than the interval;
 * never in the past (a CRL already due is asked for at the next interval, not in a loop).
 */
export function nextAttemptAt(settings: CrlRefreshSettings, attemptedAt: Date, outcome: { ok: boolean; crl?: x509.X509Crl | undefined }): Date {
  const interval = settings.intervalMinutes * MINUTE_MS;
  let due = attemptedAt.getTime() + (outcome.ok ? interval : Math.min(interval, RETRY_AFTER_FAILURE_MS));
  const crl = outcome.crl;
  if (crl?.nextUpdate) {
    const from = crl.thisUpdate.getTime();
    const early = from + (crl.nextUpdate.getTime() - from) * settings.refreshFraction;
    if (early > attemptedAt.getTime()) due = Math.min(due, early);
  }
  return new Date(due);
}

export type FreshnessState = 'fresh' | 'expiring' | 'grace' | 'stale' | 'undated';

export interface CrlFreshness {
  issuer: string;
  source: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Seconds until nextUpdate (negative once past); undefined without nextUpdate. */
  secondsLeft: number | undefined;
  state: FreshnessState;
}

export function freshnessOf(crls: readonly CrlCandidate[], now: Date, settings: Pick<CrlRefreshSettings, 'warnBeforeHours' | 'graceHours'>): CrlFreshness[] {
  return crls
    .filter((c) => c.authentic)
    .map(({ crl, source }) => {
      const next = crl.nextUpdate;
      if (!next) return { issuer: crl.issuer, source, thisUpdate: crl.thisUpdate, nextUpdate: undefined, secondsLeft: undefined, state: 'undated' as const };
      const left = next.getTime() - now.getTime();
      const state: FreshnessState =
        left < -settings.graceHours * HOUR_MS ? 'stale' : left < 0 ? 'grace' : left <= settings.warnBeforeHours * HOUR_MS ? 'expiring' : 'fresh';
      return { issuer: crl.issuer, source, thisUpdate: crl.thisUpdate, nextUpdate: next, secondsLeft: Math.round(left / 1000), state };
    })
    .sort((a, b) => a.issuer.localeCompare(b.issuer));
}

/**
 * The alarm the CRLs in force raise, one for all of them (a health board keeps one problem per
 * component), worst first; undefined when every CRL is fresh. Raised before anything is
 * refused: from `warnBeforeHours` before nextUpdate.
 */
export function freshnessAlarm(freshness: readonly CrlFreshness[], policy: 'require' | 'best-effort'): { code: 'CRL_STALE'; message: string } | undefined {
  const refused = policy === 'require' ? 'signatures of certificates it covers are refused' : 'revocation of the certificates it covers is reported as unknown';
  const parts: string[] = [];
  for (const state of ['stale', 'grace', 'expiring'] as const) {
    for (const f of freshness.filter((x) => x.state === state)) {
      const until = f.nextUpdate?.toISOString() ?? '';
      if (state === 'stale') parts.push(`the CRL of "${f.issuer}" (${f.source}) expired on ${until}, past the grace period: ${refused}`);
      if (state === 'grace') parts.push(`the CRL of "${f.issuer}" (${f.source}) expired on ${until}; it is still used under the grace policy (trust.crlRefresh.graceHours), then ${refused}`);
      if (state === 'expiring') parts.push(`the CRL of "${f.issuer}" (${f.source}) expires on ${until} and no later one was found yet`);
    }
  }
  if (parts.length === 0) return undefined;
  return { code: 'CRL_STALE', message: `${parts.join('; ')}; publish or install the CA's current CRL` };
}

const CRL_DISTRIBUTION_POINTS = '2.5.29.31';

/** The HTTP(S) CRL distribution points a certificate names (LDAP and others are not fetched). */
export function distributionPoints(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension<x509.CRLDistributionPointsExtension>(CRL_DISTRIBUTION_POINTS);
  if (!ext) return [];
  const urls: string[] = [];
  for (const point of ext.distributionPoints) {
    for (const name of point.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri && /^https?:\/\//i.test(uri)) urls.push(uri);
    }
  }
  return urls;
}
