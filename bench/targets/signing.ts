/**
 * Sign and verify rates of edXML packets as a share of raw node:crypto over the same bytes
 * (hashing included: `sign('sha256', bytes, key)`), RSA-2048 and P-256, 5 KB to 20 MB. What is
 * left of the raw rate is what parsing, canonicalisation and the checks of a packet cost.
 * Verification is the whole of it: digest, signature, chain, CRL, organ.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign as rawSign, verify as rawVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import { createTrustStore } from '../../src/crypto/trust.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { measure } from '../harness.js';
import { SIGNERS, certsPath, identityFiles, packetOfSize, readText } from './packets.js';
import type { Sample } from './stats.js';

const SIZES = [
  { label: '5 KB', bytes: 5e3 },
  { label: '100 KB', bytes: 100e3 },
  { label: '2 MB', bytes: 2e6 },
  { label: '20 MB', bytes: 20e6 },
];

/**
 * Each run in a process of its own, started with the loader and environment of this one:
 * measured inside the benchmark's process, after the idle edge's cluster and the other figures
 * had been set up in it, the same code ran at up to half the rate it reaches alone (RSA 20 MB:
 * 14 % against 34 %), while the raw baselines moved much less; a figure should not depend on
 * what the benchmark did before it.
 */
export async function measureSigning(): Promise<Sample[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--measure-here'], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as Sample[];
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--measure-here') {
  process.stdout.write(JSON.stringify(await measureSigningHere()));
}

async function measureSigningHere(): Promise<Sample[]> {
  const trust = createTrustStore({ anchors: [readText(certsPath('root-ca.pem'))], intermediates: [readText(certsPath('issuing-ca.pem'))], crls: [readText(certsPath('issuing-ca.crl.pem')), readText(certsPath('root-ca.crl.pem'))] });
  const samples: Sample[] = [];
  for (const signer of SIGNERS) {
    const files = identityFiles(signer.organId);
    const identity = await loadSigningIdentity(readText(files.key), readText(files.cert), readText(files.chain));
    const privateKey = createPrivateKey(readText(files.key));
    const publicKey = createPublicKey(privateKey);
    for (const size of SIZES) {
      const bytes = packetOfSize(signer.organId, size.bytes);
      const signed = Buffer.from(await signPacket(bytes, identity));
      const check = await verifyPacket(signed, trust);
      if (!check.report.valid) throw new Error(`the ${size.label} packet does not verify: ${JSON.stringify(check.report.errors)}`);
      // Large packets take long enough per operation that 3 of them are a stable mean; small ones need time to average out.
      const minMs = size.bytes >= 20e6 ? 0 : 1000;
      const s = await measure('sign', () => signPacket(bytes, identity), minMs);
      const v = await measure('verify', () => verifyPacket(signed, trust), minMs);
      const signature = rawSign('sha256', signed, privateKey);
      const rs = await measure('raw sign', () => rawSign('sha256', bytes, privateKey), Math.min(minMs, 500));
      const rv = await measure('raw verify', () => rawVerify('sha256', signed, publicKey, signature), Math.min(minMs, 500));
      samples.push(
        { name: `${signer.kind} sign ${size.label}`, measured: s.opsPerSecond, baseline: rs.opsPerSecond, ratio: s.opsPerSecond / rs.opsPerSecond },
        { name: `${signer.kind} verify ${size.label}`, measured: v.opsPerSecond, baseline: rv.opsPerSecond, ratio: v.opsPerSecond / rv.opsPerSecond },
      );
    }
  }
  return samples;
}
