/**
 * Packets over the default 32 MiB by hand (issue 15): `lienthong sign`, `verify`, `validate`
 * and `evidence verify` refuse a 40 MiB packet with XML_TOO_LARGE and say which flag raises the
 * limit, and take it with --max-packet-bytes. The flag is checked before any file is read: nonsense, a size over
 * 1 GiB, and a limit the process's heap cannot hold are usage errors that say what to do.
 * Runs the built CLI (dist/) as a child process, as cli-sign-verify.test.ts does.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parsePacket } from '../../src/envelope/parse.js';
import { xmlLimitsFor } from '../../src/envelope/xml.js';
import { buildEvidence } from '../../src/evidence/bundle.js';
import { CERTS, OFFICE, REPO, identityMaterial, organ, unsignedDocument } from '../helpers/pki.js';
import { childEnv, runCli } from '../helpers/cli.js';

if (!existsSync(join(REPO, 'dist/cli/main.js'))) {
  t.fail('dist/ is not built: run "npx tsc -p ." (npm test does it) before this test');
  process.exit(1);
}

const MiB = 1024 * 1024;
const office = organ(OFFICE);
const trustArgs = ['--trust', join(CERTS, 'root-ca.pem'), '--intermediate', join(CERTS, 'issuing-ca.pem')];
const signArgs = ['--key', office.keyPath, '--cert', office.certPath, '--chain', join(CERTS, 'chain.pem')];

t.test('a 40 MiB packet: refused by default with XML_TOO_LARGE, signed and verified with --max-packet-bytes', async (t) => {
  const dir = t.testdir();
  // 30 MiB of scan as base64: the packet is just over 40 MiB.
  writeFileSync(join(dir, 'big.xml'), unsignedDocument(OFFICE, { attachments: [{ name: 'ban-ve.pdf', content: randomBytes(30 * MiB) }] }));

  const refused = runCli(dir, ['sign', 'big.xml', ...signArgs, '-o', 'signed.xml']);
  t.equal(refused.status, 1, 'sign exits 1', { stderr: refused.stderr });
  t.match(refused.stderr, /^lienthong sign: XML input is 40\.\d MiB, over the limit of 32\.0 MiB; .* \(XML_TOO_LARGE\)\n {2}--max-packet-bytes raises the limit \(e\.g\. --max-packet-bytes 200M; at most 1G\)\n$/);
  t.notOk(existsSync(join(dir, 'signed.xml')), 'nothing written');

  const signed = runCli(dir, ['sign', 'big.xml', ...signArgs, '--max-packet-bytes', '64M', '-o', 'signed.xml']);
  t.equal(signed.status, 0, 'sign --max-packet-bytes 64M exits 0', { stderr: signed.stderr });

  const tooLarge = runCli(dir, ['verify', 'signed.xml', ...trustArgs]);
  t.equal(tooLarge.status, 1, 'verify exits 1: invalid here', { stdout: tooLarge.stdout, stderr: tooLarge.stderr });
  t.match(tooLarge.stdout, /^signed\.xml: INVALID\n {2}XML_TOO_LARGE: XML input is 40\.\d MiB, over the limit of 32\.0 MiB.*\n {2}--max-packet-bytes raises the limit/);

  const valid = runCli(dir, ['verify', 'signed.xml', ...trustArgs, '--max-packet-bytes', '47185920', '--json']);
  t.equal(valid.status, 0, 'verify --max-packet-bytes exits 0', { stdout: valid.stdout.slice(0, 2000), stderr: valid.stderr });
  const report = JSON.parse(valid.stdout) as { valid: boolean; organId: string };
  t.same({ valid: report.valid, organId: report.organId }, { valid: true, organId: OFFICE });

  // The evidence file of such a document: its packet is over both the XML and the ZIP defaults.
  const signedBytes = readFileSync(join(dir, 'signed.xml'));
  const packet = parsePacket(signedBytes, xmlLimitsFor(48 * MiB));
  if (packet.kind !== 'document') throw new Error('the signed packet is not a document');
  const evidence = {
    node: { kind: 'edge' as const, organId: OFFICE },
    documentId: packet.documentId,
    summary: {},
    packets: [{ packetId: 'big-1', role: 'document' as const, direction: 'sent' as const, from: OFFICE, at: new Date().toISOString(), bytes: signedBytes }],
    deliveries: [],
    timeline: [],
  };
  writeFileSync(join(dir, 'evidence.zip'), buildEvidence(evidence, identityMaterial(OFFICE), new Date()));
  const evidenceRefused = runCli(dir, ['evidence', 'verify', 'evidence.zip', ...trustArgs]);
  t.equal(evidenceRefused.status, 1, 'evidence verify exits 1 by default', { stdout: evidenceRefused.stdout, stderr: evidenceRefused.stderr });
  t.match(evidenceRefused.stdout, /INVALID evidence[^]*\n {2}--max-packet-bytes raises the limit/, 'and says which flag raises the limit');
  const evidenceValid = runCli(dir, ['evidence', 'verify', 'evidence.zip', ...trustArgs, '--max-packet-bytes', '48M']);
  t.equal(evidenceValid.status, 0, 'evidence verify --max-packet-bytes 48M exits 0', { stdout: evidenceValid.stdout, stderr: evidenceValid.stderr });
  t.ok(evidenceValid.stdout.startsWith(`evidence.zip: VALID evidence of ${packet.documentId} `), 'the document named', { stdout: evidenceValid.stdout });

  const unvalidated = runCli(dir, ['validate', 'big.xml']);
  t.equal(unvalidated.status, 1, 'validate exits 1 by default');
  t.match(unvalidated.stdout, /error {3}XML_TOO_LARGE : XML input is 40\.\d MiB.*\n {2}--max-packet-bytes raises the limit/);
  const validated = runCli(dir, ['validate', 'big.xml', '--max-packet-bytes', '50MB']);
  t.equal(validated.status, 0, 'and 0 with the flag', { stdout: validated.stdout });
});

t.test('the flag is checked before any packet is read', async (t) => {
  const dir = t.testdir();
  const usage = (args: string[], env = childEnv()) => {
    const r = runCli(dir, ['sign', 'absent.xml', ...signArgs, '-o', 'out.xml', ...args], { env });
    return { status: r.status, stderr: r.stderr };
  };
  t.match(usage(['--max-packet-bytes', 'lots']), { status: 2, stderr: /^lienthong sign: --max-packet-bytes is a size in bytes, e\.g\. 209715200, 200M or 200MiB .*, not "lots" \(USAGE\)\n$/ });
  t.match(usage(['--max-packet-bytes', '2G']), { status: 2, stderr: /--max-packet-bytes 2G is 2147483648 bytes; it must be between 4096 \(4K\) and 1073741824 \(1G\) \(USAGE\)/ });
  t.match(usage(['--max-packet-bytes', '200M'], childEnv({ NODE_OPTIONS: '--max-old-space-size=256' })), {
    status: 2,
    stderr: /--max-packet-bytes 200M needs about 1600 MiB of heap \(8 × the limit\) and this Node\.js may use \d+ MiB; run it with NODE_OPTIONS=--max-old-space-size=1600, or give a lower limit \(USAGE\)/,
  });
  t.match(usage(['--max-packet-bytes', '200M']), { status: 2, stderr: /cannot read absent\.xml: ENOENT/ }, 'a sound limit goes on to the file');
});
