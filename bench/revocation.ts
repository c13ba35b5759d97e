/**
 * What revocation checking costs with a CRL the size a national CA publishes: loading it into a
 * trust store (parsing, and the serial set read from its DER) once, and verifying a packet
 * against it, next to the committed two-entry CRL. The CRLs are made by the real openssl with
 * the development issuing CA's key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildPacket, composeDocument } from '../src/envelope/index.js';
import { loadSigningIdentity } from '../src/crypto/certificates.js';
import { signPacket } from '../src/crypto/sign.js';
import { createTrustStore } from '../src/crypto/trust.js';
import { verifyPacket } from '../src/crypto/verify.js';
import { fmt, measure, table } from './harness.js';

const CERTS = join(import.meta.dirname, '..', 'certs-dev');
const read = (p: string): string => readFileSync(join(CERTS, p), 'utf8');

/** A CRL of the development issuing CA listing `entries` serials, made by `openssl ca -gencrl`. */
function bigCrl(dir: string, entries: number): string {
  const lines: string[] = [];
  for (let i = 1; i <= entries; i++) lines.push(`R\t351231000000Z\t250101000000Z,keyCompromise\t${(0x10000000 + i).toString(16).toUpperCase()}\tunknown\t/CN=revoked ${i}`);
  writeFileSync(join(dir, 'index.txt'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n');
  const out = join(dir, `big-${entries}.crl.pem`);
  execFileSync('openssl', ['ca', '-config', 'ca.cnf', '-gencrl', '-crldays', '30', '-cert', join(CERTS, 'issuing-ca.pem'), '-keyfile', join(CERTS, 'issuing-ca.key.pem'), '-out', out], { cwd: dir, stdio: 'ignore' });
  return readFileSync(out, 'utf8');
}

export async function benchRevocation(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-crl-'));
  try {
    const identity = await loadSigningIdentity(read('agencies/000.00.01.H12.key.pem'), read('agencies/000.00.01.H12.pem'), read('issuing-ca.pem'));
    const signed = await signPacket(
      buildPacket(
        composeDocument({
          from: { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' },
          to: [{ organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' }],
          code: { codeNumber: '125', codeNotation: 'UBND-VP' },
          subject: 'V/v đo chi phí kiểm tra thu hồi chứng thư',
        }, new Date()),
      ),
      identity,
    );
    const rows: Array<Record<string, string | number>> = [];
    const cases: Array<{ label: string; crl: string }> = [{ label: 'committed (1 entry)', crl: read('issuing-ca.crl.pem') }];
    for (const n of [10_000, 100_000]) cases.push({ label: `${n.toLocaleString('en')} entries`, crl: bigCrl(dir, n) });
    for (const c of cases) {
      const material = { anchors: [read('root-ca.pem')], intermediates: [read('issuing-ca.pem')], crls: [c.crl, read('root-ca.crl.pem')], revocation: 'require' as const };
      const start = performance.now();
      const store = createTrustStore(material);
      const loadMs = performance.now() - start;
      const check = await verifyPacket(signed, store);
      if (!check.report.valid) throw new Error(`the bench packet does not verify: ${JSON.stringify(check.report.errors)}`);
      const rate = await measure(`verify with ${c.label}`, () => verifyPacket(signed, store), 1500);
      rows.push({ CRL: c.label, 'CRL bytes': c.crl.length, 'load ms (once)': fmt(loadMs), 'verify/s': fmt(rate.opsPerSecond, 0), 'ms/verify': fmt(rate.meanMs, 2) });
    }
    return table(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
