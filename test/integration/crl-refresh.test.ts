/**
 * Revocation that stays fresh and certificate rotation, under a running hub and edges, never
 * restarted: a local HTTP server plays the CA's CRL distribution point (named in the hub's and
 * an agency's certificates) and its CRL changes under the hub; a CRL file is replaced on disk;
 * an edge and the hub take a new key and certificate on reload. Real broker, real SQLite, CRLs
 * signed by the development issuing CA.
 */
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { Packet } from '../../src/envelope/index.js';
import { DEFAULT_CRL_REFRESH } from '../../src/crypto/crl-freshness.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import type { LocalExchange } from '../../src/demo/local-exchange.js';
import * as x509 from '../../src/crypto/x509.js';
import { crlPem, devIssuingCa, issueSigner, makeCrl, startCrlServer } from '../helpers/crl.js';
import { A, B, C, agency, documentPacket, letter, openExchange, publishAs, signAs, waitFor } from '../helpers/exchange.js';
import { makeCa } from '../helpers/pki.js';

const HOUR = 3_600_000;
const ISSUING_CA_DN = '/C=VN/O=lienthong development/CN=lienthong DEV Issuing CA - NOT FOR PRODUCTION';

interface HubVerdict {
  verdict: 'routed' | 'refused';
  error_code: string | null;
  serial: string | undefined;
}

/** The hub's decision on a document and the serial of the certificate that signed it. */
async function hubVerdict(exchange: LocalExchange, documentId: string): Promise<HubVerdict> {
  return waitFor(`the hub's decision on ${documentId}`, () => {
    const row = exchange.hub.db.prepare('SELECT verdict, error_code, verification FROM packets WHERE document_id = ? ORDER BY rowid LIMIT 1').get(documentId) as
      | { verdict: 'routed' | 'refused'; error_code: string | null; verification: string | null }
      | undefined;
    if (!row) return undefined;
    const report = row.verification ? (JSON.parse(row.verification) as { signer?: { serialNumber?: string } }) : {};
    return { verdict: row.verdict, error_code: row.error_code, serial: report.signer?.serialNumber };
  });
}

/** The value of the hub's lt_crl_next_update_seconds for the issuing CA. */
async function issuingCrlSeconds(exchange: LocalExchange): Promise<number | undefined> {
  const text = await exchange.hub.metrics.text();
  const line = text.split('\n').find((l) => l.startsWith('lt_crl_next_update_seconds{') && l.includes('Issuing CA'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

/**
 * A document of C signed in-thread with C's committed (pre-rotation) certificate, published with
 * C's broker credentials as an agency system that signed it earlier would have it sent.
 */
async function publishSignedByOldCertificate(t: Test, exchange: LocalExchange, n: number | string): Promise<string> {
  const packet = documentPacket(C, [B], n) as Packet & { documentId: string };
  await publishAs(t, exchange, C, await signAs(packet, C), { packetId: randomUUID(), type: 'edoc', from: C, to: [B], priority: '0', documentId: packet.documentId });
  return packet.documentId;
}

t.test('a CRL that changes at its distribution point under the running hub', async (t) => {
  const dir = t.testdir();
  const ca = devIssuingCa(dir);
  const server = await startCrlServer(t);
  const hubCert = issueSigner(dir, ca, DEV_HUB.organId, 'Truc lien thong DEV', 'hub', server.url);
  const office = issueSigner(dir, ca, A, 'Van phong UBND tinh', 'office', server.url);
  const start = Date.now();
  // thisUpdate counts in whole seconds: each CRL the CA publishes here is a minute later than the last.
  const issued = (n: number): Date => new Date(start - (10 - n) * 60_000);
  server.serve(await makeCrl(ca, { thisUpdate: issued(0), nextUpdate: new Date(start + 48 * HOUR) }));

  // The distribution point is named only in the certificates: hub and edge find it in their own.
  const trust = { ...devTrust(), crlRefresh: { ...DEFAULT_CRL_REFRESH, intervalMinutes: 0.02, warnBeforeHours: 1 } };
  const { exchange } = await openExchange(t, [agency(A, { identity: { key: office.key, cert: office.cert, chain: devPath('issuing-ca.pem') }, config: { trust } }), agency(B)], {
    hubConfig: { identity: { key: hubCert.key, cert: hubCert.cert, chain: devPath('issuing-ca.pem') }, trust },
  });
  const a = exchange.edge(A);
  const b = exchange.edge(B);

  // The committed CRL file is valid for years; the downloaded one (48 h) is later, so it is in force.
  const downloaded = await waitFor('the downloaded CRL in force at the hub', async () => {
    const s = await issuingCrlSeconds(exchange);
    return s !== undefined && s < 49 * 3600 ? s : undefined;
  });
  t.ok(downloaded > 47 * 3600, `lt_crl_next_update_seconds about 48 h (${downloaded})`);
  t.equal(exchange.hub.health.snapshot().status, 'ok', 'a fresh CRL raises nothing');
  const first = await a.outbox.submitDocument(letter([B], 1), 'test');
  t.match(await hubVerdict(exchange, first.documentId), { verdict: 'routed', serial: office.serial }, 'A is not revoked: routed');

  // The CA revokes A's certificate and publishes: no restart, the next packet of A is refused.
  server.serve(await makeCrl(ca, { thisUpdate: issued(1), nextUpdate: new Date(Date.now() + 72 * HOUR), revoked: [office.serial] }));
  await waitFor('the CRL revoking A in force at the hub', async () => ((await issuingCrlSeconds(exchange)) ?? 0) > 60 * 3600);
  const second = await a.outbox.submitDocument(letter([B], 2), 'test');
  t.match(await hubVerdict(exchange, second.documentId), { verdict: 'refused', error_code: 'CERT_REVOKED' }, 'revoked after the refresh');
  // A's edge learns it from the same CRL: it is degraded, rather than signing on in silence.
  const ownRevoked = await waitFor("A's edge: its own certificate revoked", () => a.health.problem('identity'), { describe: () => a.health.snapshot() });
  t.equal(ownRevoked.code, 'CERT_REVOKED', "A's edge: CERT_REVOKED on its health board");
  t.match(ownRevoked.message, /own signing certificate .* fails verification: .*revoked.*install a new key and certificate/);
  t.notOk(b.health.problem('identity'), "B's certificate is not revoked: no such alarm on B");

  // A CRL close to its nextUpdate: the alarm is up (health board, /metrics) while nothing is refused yet.
  server.serve(await makeCrl(ca, { thisUpdate: issued(2), nextUpdate: new Date(Date.now() + 0.5 * HOUR), revoked: [office.serial] }));
  const alarm = await waitFor('the stale-CRL alarm', () => exchange.hub.health.problem('revocation'));
  t.equal(alarm.code, 'CRL_STALE');
  t.match(alarm.message, /Issuing CA.*expires on .*no later one was found yet/);
  const metrics = await exchange.hub.metrics.text();
  t.match(metrics, /lt_health_problems\{component="revocation",code="CRL_STALE"\} 1/, '/metrics shows the alarm');
  t.match(metrics, /lt_health_degraded 1/);
  const edgeMetrics = await a.metrics.text();
  t.match(edgeMetrics, /^lt_crl_next_update_seconds\{issuer="[^"]*Issuing CA[^"]*"\} \d+$/m, "the edge's /metrics has the CRL's time left too");
  for (const [who, text, cert] of [['the hub', metrics, hubCert.cert], ["A's edge", edgeMetrics, office.cert]] as const) {
    const left = Number(/^lt_signing_certificate_expiry_seconds\{subject="[^"]+"\} (-?\d+)$/m.exec(text)?.[1]);
    const expected = (new x509.X509Certificate(readFileSync(cert, 'utf8')).notAfter.getTime() - Date.now()) / 1000;
    t.ok(Math.abs(left - expected) < 600, `${who}: lt_signing_certificate_expiry_seconds is its certificate's time left (${left} s, expected ${Math.round(expected)})`);
  }
  const seconds = (await issuingCrlSeconds(exchange)) ?? Number.NaN;
  t.ok(seconds > 0 && seconds <= 1800, `lt_crl_next_update_seconds under 30 min (${seconds})`);
  const atEdge = await waitFor("the stale-CRL alarm on A's edge (its /health)", () => a.health.problem('revocation'));
  t.equal(atEdge.code, 'CRL_STALE', 'the edge raises it too');
  const fromB = await b.outbox.submitDocument(letter([A], 3), 'test');
  t.match(await hubVerdict(exchange, fromB.documentId), { verdict: 'routed' }, 'before nextUpdate nothing is refused: B is routed');

  // The distribution point fails: the last good CRL stays in force (A stays revoked), with an alarm.
  server.serve({ status: 500, body: 'database down' });
  const failing = await waitFor('the CRL source alarm', () => exchange.hub.health.problem('crl-sources'));
  t.equal(failing.code, 'CRL_FETCH_FAILED');
  t.match(failing.message, /HTTP 500/);
  const third = await a.outbox.submitDocument(letter([B], 4), 'test');
  t.match(await hubVerdict(exchange, third.documentId), { error_code: 'CERT_REVOKED' }, 'a failed download un-revokes nothing');

  // A CRL under the CA's name but not signed by its key, later and listing nothing, is not taken.
  const forger = makeCa(dir, 'forger', ISSUING_CA_DN);
  server.serve(await makeCrl(forger, { thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 96 * HOUR) }));
  const forged = await waitFor('the forged CRL named in the alarm', () => /not signed by a trusted CA/.test(exchange.hub.health.problem('crl-sources')?.message ?? ''), {
    describe: () => exchange.hub.health.problem('crl-sources'),
  });
  t.ok(forged, 'the forged CRL is refused and named in the alarm');
  const fourth = await a.outbox.submitDocument(letter([B], 5), 'test');
  t.match(await hubVerdict(exchange, fourth.documentId), { error_code: 'CERT_REVOKED' }, 'the forged CRL did not replace the real one');

  // The CA publishes a current CRL again: both alarms clear by themselves.
  server.serve(await makeCrl(ca, { thisUpdate: issued(3), nextUpdate: new Date(Date.now() + 72 * HOUR), revoked: [office.serial] }));
  await waitFor('the alarms cleared', () => exchange.hub.health.snapshot().status === 'ok', { describe: () => exchange.hub.health.snapshot() });
  t.pass('healthy again');

  // A's agency gets a new certificate and reloads: its own-certificate alarm is over at once.
  t.ok(a.health.problem('identity'), "A's edge still knows its certificate is revoked");
  const renewed = issueSigner(dir, ca, A, 'Van phong UBND tinh', 'office-renewed', server.url);
  copyFileSync(renewed.key, office.key);
  copyFileSync(renewed.cert, office.cert);
  t.match(await a.reload(), { identity: 'replaced', problems: [] }, 'the renewed certificate is taken');
  t.notOk(a.health.problem('identity'), 'and the alarm is cleared');
});

t.test('rotation on reload: an edge signs with its new key, the hub accepts old and new; a CRL file replaced on disk ends the overlap', async (t) => {
  const dir = t.testdir();
  const ca = devIssuingCa(dir);
  const keyPath = join(dir, 'city.key.pem');
  const certPath = join(dir, 'city.pem');
  copyFileSync(devPath('agencies', `${C}.key.pem`), keyPath);
  copyFileSync(devPath('agencies', `${C}.pem`), certPath);
  const hubKey = join(dir, 'hub.key.pem');
  const hubCertPath = join(dir, 'hub.pem');
  copyFileSync(devPath('hub.key.pem'), hubKey);
  copyFileSync(devPath('hub.pem'), hubCertPath);
  const crlFile = join(dir, 'issuing-ca.crl.pem');
  copyFileSync(devPath('issuing-ca.crl.pem'), crlFile);
  const oldSerial = new x509.X509Certificate(readFileSync(certPath, 'utf8')).serialNumber;

  const { exchange } = await openExchange(t, [agency(B), agency(C, { identity: { key: keyPath, cert: certPath, chain: devPath('issuing-ca.pem') } })], {
    // Interval of an hour: only the watch of the file can bring its new CRL within the test.
    hubConfig: { identity: { key: hubKey, cert: hubCertPath, chain: devPath('issuing-ca.pem') }, trust: { ...devTrust(), crls: [crlFile, devPath('root-ca.crl.pem')] } },
  });
  const city = exchange.edge(C);
  const before = await city.outbox.submitDocument(letter([B], 10), 'test');
  t.match(await hubVerdict(exchange, before.documentId), { verdict: 'routed', serial: oldSerial }, 'signed with the old certificate');

  const next = issueSigner(dir, ca, C, 'UBND thanh pho Ca Mau', 'city-next');
  copyFileSync(next.key, keyPath);
  copyFileSync(next.cert, certPath);
  t.match(await city.reload(), { identity: 'replaced', trust: 'reloaded', problems: [] });
  const after = await city.outbox.submitDocument(letter([B], 11), 'test');
  t.match(await hubVerdict(exchange, after.documentId), { verdict: 'routed', serial: next.serial }, 'signed with the new certificate, accepted');
  // The overlap: a packet an agency system signed with the old key before the rotation still passes.
  const late = await publishSignedByOldCertificate(t, exchange, 12);
  t.match(await hubVerdict(exchange, late), { verdict: 'routed', serial: oldSerial }, 'the old certificate, still valid, is accepted too');

  // A bad new pair is refused and the one in force stays.
  copyFileSync(devPath('agencies', `${B}.key.pem`), keyPath);
  const mismatched = await city.reload();
  t.equal(mismatched.identity, 'refused');
  t.match(mismatched.problems.join(' '), /private key does not belong to the certificate/);
  copyFileSync(devPath('agencies', `${B}.pem`), certPath);
  const foreign = await city.reload();
  t.equal(foreign.identity, 'refused', "another agency's key pair is refused");
  t.match(foreign.problems.join(' '), new RegExp(`issued to ${B.replace(/\./g, '\\.')}, not to ${C.replace(/\./g, '\\.')}`));
  const kept = await city.outbox.submitDocument(letter([B], 13), 'test');
  t.match(await hubVerdict(exchange, kept.documentId), { verdict: 'routed', serial: next.serial }, 'still signing with the new certificate');

  // The hub rotates too: its directory entry shows the new certificate.
  const hubNext = issueSigner(dir, ca, DEV_HUB.organId, 'Truc lien thong DEV', 'hub-next');
  copyFileSync(hubNext.key, hubKey);
  copyFileSync(hubNext.cert, hubCertPath);
  t.match(await exchange.hub.reload(), { identity: 'replaced', trust: 'reloaded' });
  t.equal(exchange.hub.directory.get(DEV_HUB.organId)?.certificate, readFileSync(hubNext.cert, 'utf8'), "the hub's directory entry has the new certificate");

  // The CA revokes the old certificate; the CRL file is replaced (by rename, as publishing tools do).
  const staging = join(dir, 'issuing-ca.crl.pem.new');
  writeFileSync(staging, crlPem(await makeCrl(ca, { thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 72 * HOUR), revoked: [oldSerial] })));
  renameSync(staging, crlFile);
  let attempt = 0;
  const refused = await waitFor('a packet signed with the old certificate refused', async () => {
    const verdict = await hubVerdict(exchange, await publishSignedByOldCertificate(t, exchange, `14-${++attempt}`));
    return verdict.error_code === 'CERT_REVOKED' ? verdict : undefined;
  }, { intervalMs: 500 });
  t.equal(refused.serial, oldSerial, 'the old certificate, revoked in the replaced file, is refused without a restart');
  const current = await city.outbox.submitDocument(letter([B], 15), 'test');
  t.match(await hubVerdict(exchange, current.documentId), { verdict: 'routed', serial: next.serial }, 'the new one goes on');
});
