/**
 * Start-up of the CLI against Node.js itself: `lienthong --help` and `lienthong verify` of a
 * signed 5 KB packet, next to `node -e 0`, the median of many runs each (interleaved, so that
 * what else the machine does falls on all three alike).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import { measureNode, type ChildCost } from './child.js';
import { CLI, SIGNERS, certsPath, identityFiles, packetOfSize, readText } from './packets.js';
import { median, type Sample } from './stats.js';

export interface StartupSamples {
  help: Sample[];
  verify: Sample[];
}

export async function measureStartup(runs = Number(process.env.LT_BENCH_STARTUP_RUNS ?? 15)): Promise<StartupSamples> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-startup-'));
  try {
    const { organId } = SIGNERS[0];
    const files = identityFiles(organId);
    const identity = await loadSigningIdentity(readText(files.key), readText(files.cert), readText(files.chain));
    writeFileSync(join(dir, 'signed.xml'), await signPacket(packetOfSize(organId, 5 * 1024), identity));
    const commands = {
      node: ['-e', '0'],
      help: [CLI, '--help'],
      verify: [CLI, 'verify', 'signed.xml', '--trust', certsPath('root-ca.pem'), '--crl', certsPath('issuing-ca.crl.pem'), '--crl', certsPath('root-ca.crl.pem')],
    };
    const costs: Record<keyof typeof commands, ChildCost[]> = { node: [], help: [], verify: [] };
    // One of each first: the files are in the page cache before anything counts.
    for (const args of Object.values(commands)) measureNode(args, dir);
    for (let i = 0; i < runs; i++) for (const key of ['node', 'help', 'verify'] as const) costs[key].push(measureNode(commands[key], dir));
    const wall = (key: keyof typeof costs): number => median(costs[key].map((c) => c.wallMs));
    const cpu = (key: keyof typeof costs): number => median(costs[key].map((c) => c.cpuMs));
    const rows = (key: 'help' | 'verify', label: string): Sample[] => [
      { name: `${label}, wall time`, measured: wall(key), baseline: wall('node'), ratio: wall(key) / wall('node') },
      { name: `${label}, CPU user+sys`, measured: cpu(key), baseline: cpu('node'), ratio: cpu(key) / cpu('node') },
    ];
    return { help: rows('help', 'lienthong --help'), verify: rows('verify', 'lienthong verify 5 KB (RSA, 2 CRLs)') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
