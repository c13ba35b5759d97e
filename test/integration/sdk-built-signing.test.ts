/**
 * The packets written by the national SDK's builder (test/fixtures/sdk-built), signed by
 * lienthong as a Cà Mau agency whose document system runs on that SDK would have them signed:
 * each with the development certificate of its From/OrganId (certs-dev/agencies/). The
 * signature must satisfy the reference XMLDSig implementation (xmlsec1) and lienthong's own
 * verifier, and the signed packet must still be a valid packet, schema included.
 *
 * Each packet is signed twice: in-process (src/crypto/sign.ts) and by `lienthong sign` in a
 * child process (the compiled dist/, built by `npm test`; by hand: `npm run build` first), which
 * is then checked by `lienthong verify` and `lienthong validate` as an operator runs them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { parsePacket, validatePacket } from '../../src/envelope/index.js';
import { CERTS, REPO, identityOf, organ, trustStore, xmlsec1Verify, type ToolRun } from '../helpers/pki.js';
import { runCli } from '../helpers/cli.js';

const SDK_BUILT = fileURLToPath(new URL('../fixtures/sdk-built/', import.meta.url));
const XSD = join(REPO, 'schemas/edxml.xsd');
const FILES = readdirSync(SDK_BUILT).filter((f) => f.endsWith('.edxml')).sort();
const ALL_OK = { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' };
const trustArgs = ['--trust', join(CERTS, 'root-ca.pem'), '--crl', join(CERTS, 'issuing-ca.crl.pem'), '--crl', join(CERTS, 'root-ca.crl.pem')];

if (!existsSync(join(REPO, 'dist/cli/main.js'))) {
  t.fail('dist/ is not built: run "npm run build" (npm test does it) before this test');
  process.exit(1);
}

function lienthong(cwd: string, ...args: string[]): ToolRun {
  return runCli(cwd, args);
}

function xmllint(file: string): ToolRun {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function xmlsec1Accepts(t: Test, file: string, what: string): void {
  const r = xmlsec1Verify(file);
  t.equal(r.status, 0, `${what}: xmlsec1 --verify exits 0`, { stderr: r.stderr });
  t.match(`${r.stdout}${r.stderr}`, /^OK$/m, `${what}: xmlsec1 says OK`);
}

t.test('the four SDK-built packets are there', async (t) => {
  t.same(FILES, ['sdk-edoc-full.edxml', 'sdk-edoc.edxml', 'sdk-status-full.edxml', 'sdk-status.edxml']);
});

for (const name of FILES) {
  const original = readFileSync(join(SDK_BUILT, name), 'utf8');
  const packet = parsePacket(original);
  const organId = packet.from.organId;
  // A document's signature follows TraceHeaderList; a status from the SDK has none, so it follows MessageHeader.
  const signatureAfter = packet.kind === 'document' ? '</edXML:TraceHeaderList>' : '</edXML:MessageHeader>';

  t.test(`${name}: signed in-process with the certificate of ${organId}`, async (t) => {
    const dir = t.testdir();
    const signed = await signPacket(original, await identityOf(organId));
    t.ok(signed.includes(`${signatureAfter}<ds:Signature `), `the signature follows ${signatureAfter}`);
    const file = join(dir, 'signed.xml');
    writeFileSync(file, signed);

    xmlsec1Accepts(t, file, 'in-process');

    const v = await verifyPacket(signed, trustStore());
    t.equal(v.report.valid, true, 'lienthong verifies it', { errors: v.report.errors });
    t.same(v.report.checks, ALL_OK, 'every check ok, revocation included');
    t.equal(v.report.signer?.organId, organId, 'signed by the organisation in From/OrganId');

    t.strictSame(parsePacket(signed), packet, 'signing changed no field');
    t.same(validatePacket(parsePacket(signed)).errors, [], 'the signed packet validates');
    const schema = xmllint(file);
    t.equal(schema.status, 0, 'the signed packet is valid against schemas/edxml.xsd', { stderr: schema.stderr });
  });

  t.test(`${name}: lienthong sign, then xmlsec1, lienthong verify and lienthong validate`, async (t) => {
    const dir = t.testdir({ [name]: original });
    const o = organ(organId);
    const sign = lienthong(dir, 'sign', name, '--key', o.keyPath, '--cert', o.certPath, '--chain', join(CERTS, 'chain.pem'), '-o', 'signed.xml');
    t.equal(sign.status, 0, 'sign exits 0', { stderr: sign.stderr });

    xmlsec1Accepts(t, join(dir, 'signed.xml'), 'lienthong sign');

    const verify = lienthong(dir, 'verify', 'signed.xml', ...trustArgs);
    t.equal(verify.status, 0, 'verify exits 0', { stdout: verify.stdout });
    t.match(verify.stdout, new RegExp(`^signed\\.xml: valid, signed by .*UID=${organId.replace(/\./g, '\\.')} for ${organId.replace(/\./g, '\\.')}$`, 'm'));
    const json = lienthong(dir, 'verify', 'signed.xml', '--json', ...trustArgs);
    t.same((JSON.parse(json.stdout) as { checks: unknown }).checks, ALL_OK, 'verify --json: every check ok');

    const validate = lienthong(dir, 'validate', 'signed.xml');
    t.equal(validate.status, 0, 'validate exits 0', { stdout: validate.stdout });
    t.equal(validate.stdout, `signed.xml: valid ${packet.kind} packet\n`, 'valid, with no warning either');
  });
}
