/**
 * Peak RSS of `lienthong sign` and `lienthong verify` of 20 MB and 100 MB packets, each a fresh
 * process, as a multiple of the packet's size; next to a process that only reads the file and
 * hashes and signs (or verifies) its bytes with node:crypto.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureNode } from './child.js';
import { CLI, SIGNERS, certsPath, identityFiles, packetOfSize } from './packets.js';
import type { Sample } from './stats.js';

const RAW = join(import.meta.dirname, 'raw-crypto.mjs');
const SIZES = [
  { label: '20 MB', bytes: 20e6 },
  { label: '100 MB', bytes: 100e6 },
];

export async function measurePeakRss(): Promise<Sample[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-rss-'));
  const { organId } = SIGNERS[0];
  const files = identityFiles(organId);
  const trust = ['--trust', certsPath('root-ca.pem'), '--crl', certsPath('issuing-ca.crl.pem'), '--crl', certsPath('root-ca.crl.pem')];
  const samples: Sample[] = [];
  try {
    for (const size of SIZES) {
      const unsigned = join(dir, 'unsigned.xml');
      const signed = join(dir, 'signed.xml');
      writeFileSync(unsigned, packetOfSize(organId, size.bytes));
      // Above the default 32 MiB the commands need the flag; below it they run as operators run them.
      const limit = size.bytes > 32 * 1024 * 1024 ? ['--max-packet-bytes', `${Math.ceil((size.bytes * 1.25) / 1024 / 1024)}M`] : [];
      const signing = measureNode([CLI, 'sign', unsigned, '--key', files.key, '--cert', files.cert, '--chain', files.chain, ...limit, '-o', signed], dir);
      const rawSigning = measureNode([RAW, 'sign', unsigned, files.key], dir);
      const bytes = readFileSync(signed);
      const signatureFile = join(dir, 'raw.sig');
      writeFileSync(signatureFile, sign('sha256', bytes, createPrivateKey(readFileSync(files.key))));
      const packetBytes = bytes.length;
      const verifying = measureNode([CLI, 'verify', signed, ...trust, ...limit], dir);
      const rawVerifying = measureNode([RAW, 'verify', signed, files.key, signatureFile], dir);
      samples.push(
        { name: `sign ${size.label} (RSA-2048)`, measured: signing.maxRssBytes, baseline: rawSigning.maxRssBytes, ratio: signing.maxRssBytes / packetBytes, baselineRatio: rawSigning.maxRssBytes / packetBytes },
        { name: `verify ${size.label} (RSA-2048)`, measured: verifying.maxRssBytes, baseline: rawVerifying.maxRssBytes, ratio: verifying.maxRssBytes / packetBytes, baselineRatio: rawVerifying.maxRssBytes / packetBytes },
      );
      rmSync(unsigned);
      rmSync(signed);
    }
    return samples;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
