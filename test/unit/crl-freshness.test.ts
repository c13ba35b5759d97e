/**
 * The decisions of CRL refreshing (src/crypto/crl-freshness.ts), the "trust.crlRefresh"
 * settings, the grace policy in path validation, and the trust swap of the crypto workers: a
 * CRL installed while the pool runs applies to the next job, without a new pool.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { crlRefreshSettings } from '../../src/config.js';
import {
  DEFAULT_CRL_REFRESH,
  RETRY_AFTER_FAILURE_MS,
  crlsInForce,
  distributionPoints,
  freshnessAlarm,
  freshnessOf,
  nextAttemptAt,
  supersedes,
  type CrlCandidate,
} from '../../src/crypto/crl-freshness.js';
import { CryptoPool } from '../../src/crypto/pool.js';
import { createTrustStore, readCrls } from '../../src/crypto/trust.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import * as x509 from '../../src/crypto/x509.js';
import { LtError } from '../../src/errors.js';
import { crlPem, devIssuingCa, issueSigner, makeCrl } from '../helpers/crl.js';
import { REVOKED, certsFile, documentFrom, identityOf, trustMaterial, unsignedDocument, identityMaterial } from '../helpers/pki.js';
import { signPacket } from '../../src/crypto/sign.js';
import { buildPacket } from '../../src/envelope/index.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'lt-crl-unit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ca = devIssuingCa(dir);
const now = new Date('2026-06-01T00:00:00Z');

async function crl(spec: { thisUpdate: Date; nextUpdate?: Date; revoked?: string[] }): Promise<x509.X509Crl> {
  const [parsed] = readCrls(crlPem(await makeCrl(ca, spec)));
  return parsed as x509.X509Crl;
}

t.test('in force: per issuer the authentic CRL issued last; an inauthentic file only where nothing authentic exists', async (t) => {
  const older = await crl({ thisUpdate: new Date(now.getTime() - 48 * HOUR), nextUpdate: new Date(now.getTime() + HOUR) });
  const newer = await crl({ thisUpdate: new Date(now.getTime() - HOUR), nextUpdate: new Date(now.getTime() + 24 * HOUR) });
  const forged: CrlCandidate = { crl: await crl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + 99 * HOUR) }), source: 'forged', authentic: false };
  const picked = crlsInForce([
    { crl: older, source: 'file', authentic: true },
    forged,
    { crl: newer, source: 'http', authentic: true },
  ]);
  t.same(picked.map((c) => c.source), ['http'], 'the later authentic one; a later but inauthentic one never shadows it');
  t.same(crlsInForce([forged]).map((c) => c.source), ['forged'], 'kept when alone, so verification names what is wrong with it');
  t.ok(supersedes(newer, older) && !supersedes(older, newer) && !supersedes(newer, newer), 'only a later CRL replaces the one in force (no rollback)');
  t.ok(supersedes(older, undefined));
});

t.test('schedule: the interval, earlier at the configured fraction of the validity, sooner after a failure', async (t) => {
  const settings = { ...DEFAULT_CRL_REFRESH, intervalMinutes: 60, refreshFraction: 0.5 };
  const short = await crl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + HOUR) });
  const long = await crl({ thisUpdate: now, nextUpdate: new Date(now.getTime() + 7 * 24 * HOUR) });
  t.equal(nextAttemptAt(settings, now, { ok: true, crl: long }).getTime(), now.getTime() + HOUR, 'a week-long CRL: at the interval');
  t.equal(nextAttemptAt(settings, now, { ok: true, crl: short }).getTime(), now.getTime() + HOUR / 2, 'an hour-long CRL: half-way');
  const later = new Date(now.getTime() + 40 * 60_000);
  t.equal(nextAttemptAt(settings, later, { ok: true, crl: short }).getTime(), later.getTime() + HOUR, 'a point already passed is not a reason to ask in a loop');
  t.equal(nextAttemptAt(settings, now, { ok: false, crl: long }).getTime(), now.getTime() + RETRY_AFTER_FAILURE_MS, 'a failure is retried within minutes');
  t.equal(nextAttemptAt({ ...settings, intervalMinutes: 1 }, now, { ok: false }).getTime(), now.getTime() + 60_000, 'never later than the interval');
});

t.test('freshness and the alarm: raised from warnBeforeHours, says grace, then refusal', async (t) => {
  const settings = { warnBeforeHours: 24, graceHours: 6 };
  const at = async (hoursLeft: number) => {
    const c = await crl({ thisUpdate: new Date(now.getTime() - 72 * HOUR), nextUpdate: new Date(now.getTime() + hoursLeft * HOUR) });
    return freshnessOf([{ crl: c, source: 'http://ca.example/ca.crl', authentic: true }], now, settings);
  };
  const fresh = await at(48);
  t.equal(fresh[0]?.state, 'fresh');
  t.equal(fresh[0]?.secondsLeft, 48 * 3600);
  t.equal(freshnessAlarm(fresh, 'require'), undefined, 'no alarm while fresh');
  const expiring = await at(2);
  t.equal(expiring[0]?.state, 'expiring');
  t.match(freshnessAlarm(expiring, 'require'), { code: 'CRL_STALE', message: /\(http:\/\/ca\.example\/ca\.crl\) expires on / });
  const grace = await at(-2);
  t.equal(grace[0]?.state, 'grace');
  t.match(freshnessAlarm(grace, 'require')?.message, /grace policy .* then signatures of certificates it covers are refused/);
  const stale = await at(-7);
  t.equal(stale[0]?.state, 'stale');
  t.match(freshnessAlarm(stale, 'best-effort')?.message, /past the grace period: revocation .* reported as unknown/);
  const undated = freshnessOf([{ crl: await crl({ thisUpdate: now }), source: 'f', authentic: true }], now, settings);
  t.equal(undated[0]?.state, 'undated');
});

t.test('distribution points: the HTTP(S) URIs a certificate names', async (t) => {
  const signer = issueSigner(dir, ca, '000.00.01.H12', 'Van phong', 'with-cdp', 'http://crl.example.vn/issuing.crl');
  const { readFileSync } = await import('node:fs');
  t.same(distributionPoints(new x509.X509Certificate(readFileSync(signer.cert, 'utf8'))), ['http://crl.example.vn/issuing.crl']);
  t.same(distributionPoints(new x509.X509Certificate(certsFile('issuing-ca.pem'))), [], 'none named, none fetched');
});

t.test('trust.crlRefresh: defaults, and a clear error for each wrong value', async (t) => {
  t.same(crlRefreshSettings(undefined, 'edge.json'), DEFAULT_CRL_REFRESH);
  t.same(crlRefreshSettings({ intervalMinutes: 15, fetch: false, graceHours: 12, urls: ['https://ca.gov.vn/ca.crl'] }, 'edge.json'), {
    ...DEFAULT_CRL_REFRESH,
    intervalMinutes: 15,
    fetch: false,
    graceHours: 12,
    urls: ['https://ca.gov.vn/ca.crl'],
  });
  const bad: Array<[unknown, RegExp]> = [
    [[], /must be an object/],
    [{ intervalMinutes: 0 }, /intervalMinutes" must be a positive number/],
    [{ graceHours: -1 }, /graceHours" must be a number of hours/],
    [{ refreshFraction: 1.5 }, /refreshFraction/],
    [{ fetch: 'yes' }, /fetch" must be true/],
    [{ urls: ['ldap://ca/x'] }, /http:\/\/ or https:\/\//],
    [{ intervalMinute: 5 }, /crlRefresh.intervalMinute" is not a setting/],
  ];
  for (const [value, message] of bad) {
    let thrown: unknown;
    try {
      crlRefreshSettings(value, 'edge.json');
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof LtError && thrown.code === 'CONFIG_INVALID', `${JSON.stringify(value)}: CONFIG_INVALID`);
    t.match((thrown as Error | undefined)?.message, message);
  }
});

t.test('grace: a CRL past nextUpdate still establishes revocation within graceHours, not after', async (t) => {
  const signedAt = new Date(Date.now() - 60_000);
  const xml = await signPacket(buildPacket(documentFrom('000.00.05.H12', {}, signedAt)), await identityOf('000.00.05.H12'));
  const expired = crlPem(await makeCrl(ca, { thisUpdate: new Date(Date.now() - 3 * HOUR), nextUpdate: new Date(Date.now() - HOUR) }));
  const material = { ...trustMaterial(), crls: [expired, certsFile('root-ca.crl.pem')], revocation: 'require' as const };
  const refused = await verifyPacket(xml, createTrustStore(material));
  t.equal(refused.report.valid, false, 'expired without grace: refused under "require"');
  t.match(refused.report.errors.map((e) => e.message).join(' '), /expired on/);
  const accepted = await verifyPacket(xml, createTrustStore({ ...material, crlGraceMs: 2 * HOUR }));
  t.equal(accepted.report.valid, true, 'within the grace period: accepted');
  const past = await verifyPacket(xml, createTrustStore({ ...material, crlGraceMs: 0.5 * HOUR }));
  t.match(past.report.errors.map((e) => e.message).join(' '), /grace period of 0.5 h has passed/);
});

t.test('the pool takes new trust for the next job, without being re-created', async (t) => {
  const pool = new CryptoPool({ trust: { ...trustMaterial({ crls: false }), revocation: 'best-effort' }, size: 2 });
  t.teardown(() => pool.close());
  const revokedXml = await pool.sign(unsignedDocument(REVOKED), identityMaterial(REVOKED));
  const before = await pool.verify(revokedXml);
  t.equal(before.report.valid, true, 'no CRL yet: accepted, revocation unknown');
  t.equal(before.report.checks.revocation, 'unknown');
  // Jobs in flight while the trust changes: none of them is dropped.
  const inFlight = Array.from({ length: 6 }, () => pool.verify(revokedXml));
  pool.updateTrust({ ...trustMaterial(), revocation: 'require' });
  const settled = await Promise.all(inFlight);
  t.equal(settled.length, 6, 'every job in flight answered');
  const after = await pool.verify(revokedXml);
  t.equal(after.report.valid, false, 'with the CRL: refused');
  t.ok(after.report.errors.some((e) => e.code === 'CERT_REVOKED'), 'CERT_REVOKED');
});
