/**
 * One function shows a certificate's subject or issuer (src/crypto/certificates.ts
 * describeName): UID (the organ id) and the other attributes by name, never as an OID, and the
 * same text wherever a name is shown: `verify` on a packet, `audit check` on a bundle, the
 * development PKI's organs.json.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '../../src/crypto/x509.js';
import { describeName, readCertificates } from '../../src/crypto/certificates.js';
import { appendAudit } from '../../src/store/audit.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { CERTS, HUB, OFFICE, organ } from '../helpers/pki.js';
import { runCli } from '../helpers/cli.js';

const OID = /\d+\.\d+\.\d+\.\d+/;

function certificate(file: string): x509.X509Certificate {
  const [cert] = readCertificates(readFileSync(join(CERTS, file), 'utf8'));
  if (!cert) throw new Error(`no certificate in ${file}`);
  return cert;
}

function lienthong(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return runCli(cwd, args);
}

t.test('UID by name, in the certificate order or most specific first (as organs.json)', async (t) => {
  const office = certificate(`agencies/${OFFICE}.pem`);
  t.equal(describeName(office.subjectName), `C=VN, O=Văn phòng UBND tỉnh Cà Mau, CN=Văn phòng UBND tỉnh Cà Mau, UID=${OFFICE}`);
  t.equal(describeName(office.subjectName, { mostSpecificFirst: true }), `UID=${OFFICE}, CN=Văn phòng UBND tỉnh Cà Mau, O=Văn phòng UBND tỉnh Cà Mau, C=VN`);
  t.equal(describeName(office.subjectName), `C=VN, O=Văn phòng UBND tỉnh Cà Mau, CN=Văn phòng UBND tỉnh Cà Mau, UID=${OFFICE}`, 'the name remembered is still in the certificate order');
  const entries: Array<{ subject: string; cert: string }> = [];
  const collect = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const entry = value as { subject?: unknown; cert?: unknown };
    if (typeof entry.subject === 'string' && typeof entry.cert === 'string') entries.push({ subject: entry.subject, cert: entry.cert });
    for (const child of Object.values(value)) collect(child);
  };
  collect(JSON.parse(readFileSync(join(CERTS, 'organs.json'), 'utf8')));
  t.ok(entries.length >= 5, 'the CAs, the hub and the agencies');
  for (const entry of entries) t.equal(describeName(certificate(entry.cert).subjectName, { mostSpecificFirst: true }), entry.subject, `${entry.cert}: as organs.json says`);
});

t.test('other attributes known only by OID are named; special characters escaped', async (t) => {
  const name = new x509.Name([{ C: ['VN'] }, { '2.5.4.97': ['VNMST-0101234567'] }, { '2.5.4.5': ['CMND:012345678'] }, { CN: ['Sở A, phòng B'] }, { '0.9.2342.19200300.100.1.1': ['000.00.01.H12'] }]);
  t.equal(describeName(name), 'C=VN, organizationIdentifier=VNMST-0101234567, serialNumber=CMND:012345678, CN=Sở A\\, phòng B, UID=000.00.01.H12');
});

t.test('verify and audit check show signers alike: UID=, no OID', async (t) => {
  const meta = {
    from: { organId: OFFICE, organName: 'Văn phòng UBND tỉnh Cà Mau' },
    to: [{ organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' }],
    code: { codeNumber: '7', codeNotation: 'UBND-VP' },
    subject: 'V/v thử tên chứng thư',
    content: 'Nội dung.',
    signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
  };
  const dir = t.testdir({ 'META.json': JSON.stringify(meta) });
  const build = lienthong(dir, 'build', 'META.json', '-o', 'packet.xml');
  t.equal(build.status, 0, build.stderr);
  const office = organ(OFFICE);
  const sign = lienthong(dir, 'sign', 'packet.xml', '--key', office.keyPath, '--cert', office.certPath, '--chain', join(CERTS, 'chain.pem'), '-o', 'signed.xml');
  t.equal(sign.status, 0, sign.stderr);
  const verify = lienthong(dir, 'verify', 'signed.xml', '--json', '--trust', join(CERTS, 'root-ca.pem'));
  const report = JSON.parse(verify.stdout) as { signer: { subject: string; issuer: string } };
  const officeCert = certificate(`agencies/${OFFICE}.pem`);
  t.equal(report.signer.subject, describeName(officeCert.subjectName), 'verify: the subject');
  t.equal(report.signer.issuer, describeName(officeCert.issuerName), 'verify: the issuer');

  const config = join(dir, 'hub.json');
  writeFileSync(config, JSON.stringify({ organId: HUB, dataDir: dir, identity: { key: join(CERTS, 'hub.key.pem'), cert: join(CERTS, 'hub.pem'), chain: join(CERTS, 'issuing-ca.pem') }, trust: { anchors: [join(CERTS, 'root-ca.pem')] } }));
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  appendAudit(db, { actor: 'operator:lan', action: 'agency.suspend', subject: OFFICE, details: {} }, new Date('2026-12-01T01:00:00Z'));
  db.close();
  const exported = lienthong(dir, 'audit', 'export', '--config', config, '--from', '2026-12-01', '--to', '2026-12-02', '-o', 'bundle.json');
  t.equal(exported.status, 0, exported.stderr);
  const check = lienthong(dir, 'audit', 'check', 'bundle.json', '--trust', join(CERTS, 'root-ca.pem'));
  t.equal(check.status, 0, check.stdout);
  const hubSubject = describeName(certificate('hub.pem').subjectName);
  t.match(check.stdout, `signed by ${hubSubject}`, 'audit check: the same function');
  t.match(hubSubject, `UID=${HUB}`);
  for (const text of [verify.stdout, check.stdout]) t.notMatch(text, OID, 'no OID printed');
});
