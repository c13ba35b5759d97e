/**
 * The signature values lienthong makes and checks with node:crypto KeyObjects
 * (src/crypto/signature-value.ts): what it signs with RSA and P-256 verifies in the reference
 * XMLDSig implementation (xmldsigjs) and in xmlsec1; what Node's engine signs, the WebCrypto
 * path of @peculiar/webcrypto verifies and the other way round; and a key of another type than
 * SignatureMethod names is an invalid signature value under both, never an exception nor a
 * signature reported under the wrong algorithm.
 */
import { sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SIGNING_C14N } from '../../src/crypto/algorithms.js';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { useCryptoEngine, type CryptoEngineName } from '../../src/crypto/engine.js';
import { canonicalSignedInfo } from '../../src/crypto/profile.js';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { parseXml, serializeDocument } from '../../src/envelope/xml.js';
import { DSIG, ECDSA_SHA256, ICT, OFFICE, RSA_SHA256, identityMaterial, identityOf, trustStore, unsignedDocument, xmlsec1Verify } from '../helpers/pki.js';
import { signatureOf, xmldsigjsVerifies } from '../helpers/xmldsigjs.js';

const store = trustStore();
const SIGNERS = [
  { name: 'RSA-2048', organId: OFFICE, method: RSA_SHA256 },
  { name: 'P-256', organId: ICT, method: ECDSA_SHA256 },
];

/** One character of the base64 SignatureValue changed: the value no longer verifies. */
function otherValue(xml: string): string {
  return xml.replace(/(<ds:SignatureValue>)(.)/, (_m, open: string, c: string) => `${open}${c === 'A' ? 'B' : 'A'}`);
}

async function withEngine<T>(t: Test, engine: CryptoEngineName, run: () => Promise<T>): Promise<T> {
  useCryptoEngine(engine);
  t.teardown(() => void useCryptoEngine('node'));
  try {
    return await run();
  } finally {
    useCryptoEngine('node');
  }
}

for (const signer of SIGNERS) {
  t.test(`${signer.name}: what lienthong signs verifies in xmldsigjs and xmlsec1`, async (t) => {
    const signed = await signPacket(unsignedDocument(signer.organId), await identityOf(signer.organId));
    t.match(signed, `<ds:SignatureMethod Algorithm="${signer.method}"/>`);
    t.equal(await xmldsigjsVerifies(signed), true, 'xmldsigjs verifies it');
    t.equal(await xmldsigjsVerifies(otherValue(signed)), false, 'and refuses another value: it checks the value');
    const file = join(t.testdir(), 'signed.xml');
    writeFileSync(file, signed);
    const r = xmlsec1Verify(file);
    t.equal(r.status, 0, 'xmlsec1 --verify exits 0', { stderr: r.stderr });
    t.match(`${r.stdout}${r.stderr}`, /^OK$/m);
  });

  t.test(`${signer.name}: Node's engine and @peculiar/webcrypto read each other's signatures`, async (t) => {
    const byNode = await signPacket(unsignedDocument(signer.organId), await identityOf(signer.organId));
    const m = identityMaterial(signer.organId);
    const byPeculiar = await withEngine(t, 'peculiar', async () => signPacket(unsignedDocument(signer.organId), await loadSigningIdentity(m.keyPem, m.certPem)));
    t.equal((await verifyPacket(byPeculiar, store)).report.valid, true, 'signed with @peculiar/webcrypto, valid with Node\'s');
    const checked = await withEngine(t, 'peculiar', async () => [await verifyPacket(byNode, store), await verifyPacket(otherValue(byNode), store)]);
    t.equal(checked[0]?.report.valid, true, 'signed with Node\'s, valid with @peculiar/webcrypto');
    t.equal(checked[1]?.report.checks.signatureValue, 'failed', 'and another value is not');
    t.equal((await verifyPacket(otherValue(byNode), store)).report.checks.signatureValue, 'failed', 'nor with Node\'s');
  });
}

/**
 * The packet signed by `organId` with its SignatureMethod set to `method` and a value made with
 * the same key by node:crypto's defaults (PKCS#1 v1.5 for RSA, DER for ECDSA) or `options`.
 */
function resigned(xml: string, organId: string, method: string, options: { dsaEncoding?: 'der' | 'ieee-p1363' } = {}): string {
  const doc = parseXml(xml);
  const signature = signatureOf(doc);
  const signedInfo = signature.getElementsByTagNameNS(DSIG, 'SignedInfo')[0];
  const signatureMethod = signature.getElementsByTagNameNS(DSIG, 'SignatureMethod')[0];
  const value = signature.getElementsByTagNameNS(DSIG, 'SignatureValue')[0];
  if (!signedInfo || !signatureMethod || !value) throw new Error('not a lienthong signature');
  signatureMethod.setAttribute('Algorithm', method);
  const octets = Buffer.from(canonicalSignedInfo(signedInfo, SIGNING_C14N), 'utf8');
  value.textContent = sign('sha256', octets, { key: identityMaterial(organId).keyPem, ...options }).toString('base64');
  return serializeDocument(doc);
}

function expectWrongKey(t: Test, v: Verification, engine: CryptoEngineName): void {
  t.equal(v.report.valid, false, `${engine}: invalid`);
  t.equal(v.report.checks.digest, 'ok', `${engine}: nothing was changed`);
  t.equal(v.report.checks.signatureValue, 'failed', `${engine}: the signature value fails`);
  t.same(
    v.report.errors.map((e) => e.code),
    ['SIG_VALUE_INVALID'],
    `${engine}: reported, not thrown`,
  );
}

t.test('a key of another type than SignatureMethod names: the value is invalid, with either engine', async (t) => {
  const rsa = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
  const ec = await signPacket(unsignedDocument(ICT), await identityOf(ICT));
  // The forgeries below are made the way these are: if these did not verify, the refusals would prove nothing.
  t.equal((await verifyPacket(resigned(rsa, OFFICE, RSA_SHA256), store)).report.valid, true, 'control: RSA re-signed under rsa-sha256 is valid');
  t.equal((await verifyPacket(resigned(ec, ICT, ECDSA_SHA256, { dsaEncoding: 'ieee-p1363' }), store)).report.valid, true, 'control: P-256 re-signed under ecdsa-sha256 is valid');

  const ecUnderRsa = resigned(ec, ICT, RSA_SHA256);
  const rsaUnderEcdsa = resigned(rsa, OFFICE, ECDSA_SHA256);
  for (const engine of ['node', 'peculiar'] as const) {
    const [a, b] = await withEngine(t, engine, async () => [await verifyPacket(ecUnderRsa, store), await verifyPacket(rsaUnderEcdsa, store)]);
    if (!a || !b) throw new Error('no verification');
    t.equal(a.report.algorithms?.signature, RSA_SHA256);
    expectWrongKey(t, a, engine);
    t.equal(b.report.algorithms?.signature, ECDSA_SHA256);
    expectWrongKey(t, b, engine);
  }
});
