/**
 * verifyPacket on one RSA-2048 packet of 5 KB and one of 100 KB, through the fast XML reader and
 * through xmldom alone (issue 15): CPU time per verification (process.cpuUsage, so other work on
 * the machine does not count), verifications per second, and the share of raw node:crypto's
 * verify rate over the same bytes. A few seconds each: `node --import tsx bench/verify-micro.ts`.
 */
import { createPrivateKey, createPublicKey, sign as rawSign, verify as rawVerify } from 'node:crypto';
import { loadSigningIdentity } from '../src/crypto/certificates.js';
import { signPacket } from '../src/crypto/sign.js';
import { createTrustStore } from '../src/crypto/trust.js';
import { verifyPacket } from '../src/crypto/verify.js';
import { certsPath, identityFiles, packetOfSize, readText, SIGNERS } from './targets/packets.js';

const SECONDS = Number(process.env.SECONDS_PER_CASE ?? 3);

async function cpuPerOp(run: () => unknown): Promise<{ cpuUs: number; opsPerSecond: number }> {
  // Warmed up until the optimising compiler is done with it: the first case measured is otherwise the slowest.
  for (let i = 0; i < 300; i++) await run();
  const start = process.cpuUsage();
  const wallStart = performance.now();
  let ops = 0;
  while (performance.now() - wallStart < SECONDS * 1000) {
    await run();
    ops += 1;
  }
  const cpu = process.cpuUsage(start);
  return { cpuUs: (cpu.user + cpu.system) / ops, opsPerSecond: ops / ((performance.now() - wallStart) / 1000) };
}

const signer = SIGNERS[0];
const files = identityFiles(signer.organId);
const identity = await loadSigningIdentity(readText(files.key), readText(files.cert), readText(files.chain));
const publicKey = createPublicKey(createPrivateKey(readText(files.key)));
const trust = createTrustStore({
  anchors: [readText(certsPath('root-ca.pem'))],
  intermediates: [readText(certsPath('issuing-ca.pem'))],
  crls: [readText(certsPath('issuing-ca.crl.pem')), readText(certsPath('root-ca.crl.pem'))],
});
for (const [label, size] of [['5 KB', 5e3], ['100 KB', 100e3]] as const) {
  const signed = Buffer.from(await signPacket(packetOfSize(signer.organId, size), identity));
  const signature = rawSign('sha256', signed, createPrivateKey(readText(files.key)));
  const raw = await cpuPerOp(() => rawVerify('sha256', signed, publicKey, signature));
  for (const fastXml of [false, true]) {
    const check = await verifyPacket(signed, trust, { fastXml });
    if (!check.report.valid) throw new Error(`${label} does not verify: ${JSON.stringify(check.report.errors)}`);
    const v = await cpuPerOp(() => verifyPacket(signed, trust, { fastXml }));
    const reader = fastXml ? 'fast reader' : 'xmldom     ';
    console.log(
      `${signer.kind} verify ${label.padEnd(6)} ${reader}: ${v.cpuUs.toFixed(0).padStart(6)} µs CPU/op, ${v.opsPerSecond.toFixed(0).padStart(6)} ops/s, ` +
        `${((100 * v.opsPerSecond) / raw.opsPerSecond).toFixed(1)} % of raw verify (${raw.opsPerSecond.toFixed(0)} ops/s, ${raw.cpuUs.toFixed(0)} µs)`,
    );
  }
}
