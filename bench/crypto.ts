/**
 * Sign and verify rates of edXML packets (5 KB, 100 KB, 2 MB, 20 MB; RSA-2048 and ECDSA
 * P-256), next to the raw node:crypto signature rate over the same bytes, i.e. what XML
 * parsing and canonicalisation cost on top of the cryptography. Also compares Node's
 * webcrypto with @peculiar/webcrypto as the engine, and the two ways of digesting the
 * canonical document: as one string, or hashed as it is written (what profile.ts does).
 */
import { createHash } from 'node:crypto';
import { createPrivateKey, createPublicKey, sign as rawSign, verify as rawVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSigningIdentity } from '../src/crypto/certificates.js';
import { SIGNING_C14N } from '../src/crypto/algorithms.js';
import { canonicalDocument, referenceDigest } from '../src/crypto/profile.js';
import { signPacket } from '../src/crypto/sign.js';
import { parseXml } from '../src/envelope/xml.js';
import { verifyPacket } from '../src/crypto/verify.js';
import { createTrustStore } from '../src/crypto/trust.js';
import { useCryptoEngine, type CryptoEngineName } from '../src/crypto/engine.js';
import { fmt, measure, table } from './harness.js';
import { packetOfSize } from './targets/packets.js';

const CERTS = join(import.meta.dirname, '..', 'certs-dev');
const read = (p: string): string => readFileSync(join(CERTS, p), 'utf8');

const SIGNERS = [
  { kind: 'RSA-2048', organId: '000.00.01.H12' },
  { kind: 'ECDSA P-256', organId: '000.00.14.H12' },
];

const SIZES = [
  { label: '5 KB', bytes: 5 * 1024 },
  { label: '100 KB', bytes: 100 * 1024 },
  { label: '2 MB', bytes: 2 * 1024 * 1024 },
  { label: '20 MB', bytes: 20 * 1024 * 1024 },
];

export async function benchCrypto(engines: CryptoEngineName[] = ['node', 'peculiar']): Promise<string> {
  const out: string[] = [];
  const trust = createTrustStore({ anchors: [read('root-ca.pem')], intermediates: [read('issuing-ca.pem')], crls: [read('issuing-ca.crl.pem'), read('root-ca.crl.pem')] });
  for (const engine of engines) {
    useCryptoEngine(engine);
    const rows: Array<Record<string, string | number>> = [];
    for (const signer of SIGNERS) {
      const keyPem = read(`agencies/${signer.organId}.key.pem`);
      const identity = await loadSigningIdentity(keyPem, read(`agencies/${signer.organId}.pem`), read('issuing-ca.pem'));
      const privateKey = createPrivateKey(keyPem);
      const publicKey = createPublicKey(privateKey);
      for (const size of SIZES) {
        // 2 MB at the JS polyfill is slow; keep the run bounded.
        const minMs = size.bytes > 1_000_000 ? 3000 : 1500;
        const xml = packetOfSize(signer.organId, size.bytes);
        const bytes = Buffer.from(xml);
        const signed = await signPacket(bytes, identity);
        const check = await verifyPacket(signed, trust);
        if (!check.report.valid) throw new Error(`benchmark packet does not verify: ${JSON.stringify(check.report.errors)}`);
        const s = await measure('sign', () => signPacket(bytes, identity), minMs);
        const v = await measure('verify', () => verifyPacket(signed, trust), minMs);
        const rawSig = rawSign('sha256', bytes, privateKey);
        const rs = await measure('raw sign', () => rawSign('sha256', bytes, privateKey), 500);
        const rv = await measure('raw verify', () => rawVerify('sha256', bytes, publicKey, rawSig), 500);
        rows.push({
          key: signer.kind,
          packet: `${size.label} (${Math.round(bytes.length / 1024)} KiB)`,
          'sign/s': fmt(s.opsPerSecond),
          'verify/s': fmt(v.opsPerSecond),
          'sign ms': fmt(s.meanMs, 2),
          'verify ms': fmt(v.meanMs, 2),
          'raw node:crypto sign/s': fmt(rs.opsPerSecond),
          'raw verify/s': fmt(rv.opsPerSecond),
          'sign % of raw': fmt((100 * s.opsPerSecond) / rs.opsPerSecond),
          'verify % of raw': fmt((100 * v.opsPerSecond) / rv.opsPerSecond),
        });
      }
    }
    out.push(`XMLDSig sign/verify (on ${engine === 'node' ? "Node's webcrypto" : '@peculiar/webcrypto'}; verify = digest + signature + chain + CRL + organ)`);
    out.push(table(rows));
    out.push('');
  }
  useCryptoEngine('node');
  out.push('Reference digest (exclusive c14n, SHA-256) of a parsed packet: the canonical text as one string then hashed, or hashed as it is written');
  out.push(table(await digestRows()));
  return out.join('\n');
}

async function digestRows(): Promise<Array<Record<string, string>>> {
  const rows: Array<Record<string, string>> = [];
  for (const size of SIZES) {
    const doc = parseXml(packetOfSize('000.00.01.H12', size.bytes));
    const whole = await measure('one string', () => createHash('sha256').update(canonicalDocument(doc, SIGNING_C14N, []), 'utf8').digest('base64'), 1000);
    const streamed = await measure('as written', () => referenceDigest(doc, SIGNING_C14N, 'SHA-256', []), 1000);
    rows.push({ packet: size.label, 'one string ms': fmt(whole.meanMs, 2), 'hashed as written ms': fmt(streamed.meanMs, 2) });
  }
  return rows;
}
