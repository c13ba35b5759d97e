/**
 * The signature rules of the edXML exchange, checked with the in-thread API against the
 * committed development PKI (certs-dev/), real keys, openssl-made certificates and CRLs, and
 * signatures made by the real xmlsec1 where lienthong itself would never produce them.
 *
 * A verifier must tell apart: a document changed after signing (SIG_DIGEST_MISMATCH), a
 * signature that is not the certificate holder's (SIG_VALUE_INVALID), a certificate that does
 * not come from the government CA (CERT_UNTRUSTED), one revoked or expired, one of another
 * agency (CERT_ORGAN_MISMATCH), and a signature outside the profile (wrapping, foreign
 * algorithms). Whatever arrives, verification answers with a report; it never throws.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { importPrivateKey, loadSigningIdentity, readCertificates, type SigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import { createTrustStore, type TrustStore } from '../../src/crypto/trust.js';
import { verifyPacket, type Verification, type VerifyOptions } from '../../src/crypto/verify.js';
import { buildPacket, parsePacket, type DocumentPacket } from '../../src/envelope/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { withCpuMs } from '../helpers/cpu.js';
import {
  CITY,
  ECDSA_SHA256,
  EXPIRED,
  FINANCE,
  HUB,
  ICT,
  OFFICE,
  REVOKED,
  RSA_SHA1,
  RSA_SHA256,
  SHA1,
  XPATH_TRANSFORM,
  ENVELOPED,
  EXC_C14N,
  certsFile,
  documentFrom,
  identityMaterial,
  identityOf,
  issueCertificate,
  makeCa,
  openssl,
  opensslTime,
  organ,
  signWithXmlsec1,
  statusFrom,
  trustMaterial,
  trustStore,
  unsignedDocument,
  xmlsec1Verify,
  CERTS,
} from '../helpers/pki.js';

const SAMPLES = fileURLToPath(new URL('../fixtures/samples/', import.meta.url));
const BAD = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));

const withCrls = trustStore();
const withoutCrls = trustStore({ crls: false });

/** verifyPacket, failing the test (instead of crashing it) if it ever rejects. */
async function verify(t: Test, xml: string | Uint8Array, store: TrustStore = withCrls, options: VerifyOptions = {}): Promise<Verification> {
  try {
    return await verifyPacket(xml, store, options);
  } catch (error) {
    t.fail(`verifyPacket threw instead of reporting: ${String(error)}`);
    throw error;
  }
}

const codes = (v: Verification): ErrorCode[] => v.report.errors.map((e) => e.code);

async function signedBy(organId: string, packet: DocumentPacket | string = documentFrom(organId)): Promise<string> {
  return signPacket(typeof packet === 'string' ? packet : buildPacket(packet), await identityOf(organId));
}

/** The one ds:Signature element of a lienthong-signed text (written without whitespace inside). */
function signatureElement(xml: string): string {
  const m = /<ds:Signature [\s\S]*<\/ds:Signature>/.exec(xml);
  if (!m) throw new Error('no ds:Signature in the text');
  return m[0];
}

// --- a correctly signed document ----------------------------------------------------------

t.test('an RSA agency signs a composed document with an attachment: every check passes', async (t) => {
  const composed = documentFrom(OFFICE);
  const signed = await signPacket(buildPacket(composed), await identityOf(OFFICE));

  const v = await verify(t, signed);
  t.equal(v.report.valid, true, 'the packet is valid');
  t.same(v.report.errors, [], 'with no errors');
  t.same(
    v.report.checks,
    { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' },
    'every check is ok, revocation included when the CRLs of the path are given',
  );
  t.equal(v.report.organId, OFFICE);
  t.equal(v.report.kind, 'document');
  t.equal(v.report.signer?.organId, OFFICE, 'the signer certificate is the Văn phòng UBND tỉnh\'s');
  t.match(v.report.signer?.subject, /UID=000\.00\.01\.H12/);
  t.equal(v.report.algorithms?.signature, RSA_SHA256);
  t.equal(v.report.algorithms?.canonicalization, EXC_C14N);
  t.equal(v.report.unsignedTraceHeaders, 0);
  t.ok(v.report.signingTime, 'the signing time is read from the sender\'s TraceHeader');

  t.same(v.packet, composed, 'the packet read from the verified tree is the composed packet');
  t.same(v.packet, parsePacket(signed), 'and the same as parsing the signed text');
  t.same(v.packet?.kind === 'document' && v.packet.attachments?.[0]?.content, composed.attachments?.[0]?.content, 'the attachment bytes are the signed bytes');

  const noCrl = await verify(t, signed, withoutCrls);
  t.equal(noCrl.report.valid, true, 'without CRLs (and no policy chosen: best-effort) the packet is still valid');
  t.equal(noCrl.report.checks.revocation, 'unknown', 'but revocation is reported as unknown, not ok');

  const onlyIssuingCrl = await verify(t, signed, createTrustStore({ ...trustMaterial(), crls: [certsFile('issuing-ca.crl.pem')] }));
  t.same(codes(onlyIssuingCrl), ['REVOCATION_UNKNOWN'], 'CRLs given (policy require) but not the root\'s: the issuing CA itself cannot be checked, refused');
  t.equal(onlyIssuingCrl.report.checks.revocation, 'unknown', 'with the issuing CA\'s CRL only, the issuing CA itself is unchecked: unknown');
});

t.test('an ECDSA P-256 agency (Sở Thông tin và Truyền thông) signs: valid, ecdsa-sha256', async (t) => {
  const composed = documentFrom(ICT);
  const signed = await signedBy(ICT, composed);
  const v = await verify(t, signed);
  t.equal(v.report.valid, true);
  t.same(v.report.errors, []);
  t.equal(v.report.algorithms?.signature, ECDSA_SHA256, 'signature algorithm is ecdsa-sha256');
  t.equal(v.report.signer?.organId, ICT);
  t.same(v.packet, composed);
});

t.test('a status packet (03, accepted into the incoming book) is signed and verified', async (t) => {
  const status = statusFrom(CITY);
  const signed = await signedBy(CITY, buildPacket(status));
  const v = await verify(t, signed);
  t.equal(v.report.valid, true);
  t.same(v.report.errors, []);
  t.equal(v.report.kind, 'status');
  t.equal(v.report.organId, CITY);
  t.same(v.packet, status, 'the status read back is the one composed');
  t.ok(v.report.signingTime, 'the signing time is the status Timestamp');
  t.match(signed, /<\/edXML:MessageHeader><ds:Signature /, 'without a TraceHeaderList the signature follows MessageHeader');
});

// --- changed after signing: changed, not forged --------------------------------------------

t.test('a packet changed after signing is refused as changed, not as forged', async (t) => {
  const signed = await signedBy(OFFICE);

  const expectChanged = async (t: Test, tampered: string): Promise<void> => {
    t.not(tampered, signed, 'the text was changed');
    const v = await verify(t, tampered);
    t.equal(v.report.valid, false);
    t.same(codes(v), ['SIG_DIGEST_MISMATCH'], 'refused only as changed after signing');
    t.equal(v.report.checks.digest, 'failed');
    t.equal(v.report.checks.signatureValue, 'ok', 'the signature value itself is still the agency\'s');
    t.equal(v.report.checks.chain, 'ok');
    t.equal(v.report.checks.organ, 'ok');
  };

  t.test('a text node of the header (the subject)', async (t) => {
    await expectChanged(t, signed.replace('V/v triển khai liên thông', 'V/v hủy bỏ liên thông'));
  });

  t.test('one byte of an attachment\'s base64', async (t) => {
    const m = /(<edXML:ContentTransferEncoded [^>]*>)([A-Za-z0-9+/=]+)</.exec(signed);
    if (!m || m.index === undefined) throw new Error('no attachment');
    const start = m.index + (m[1] as string).length + 8;
    const original = signed[start] as string;
    const replacement = original === 'A' ? 'B' : 'A';
    const tampered = signed.slice(0, start) + replacement + signed.slice(start + 1);
    t.not(parsePacket(tampered), undefined, 'the changed attachment is still valid base64');
    await expectChanged(t, tampered);
  });

  t.test('a recipient removed', async (t) => {
    const recipient = /\n\s*<edXML:To>\s*<edXML:OrganId>000\.21\.31\.H12<\/edXML:OrganId>[\s\S]*?<\/edXML:To>/.exec(signed);
    if (!recipient) throw new Error('no second recipient');
    const tampered = signed.replace(recipient[0], '');
    const packet = parsePacket(tampered);
    t.equal(packet.kind === 'document' && packet.to.length, 1, 'one recipient is left');
    await expectChanged(t, tampered);
  });
});

// --- the wrong key: forged, not changed ----------------------------------------------------

t.test('signed with one agency\'s key under another agency\'s certificate: the signature value is invalid, the digest ok', async (t) => {
  const financeCert = readCertificates(identityMaterial(FINANCE).certPem)[0];
  if (!financeCert) throw new Error('no certificate');
  // Built by hand: loadSigningIdentity would refuse a key that does not match the certificate.
  const forged: SigningIdentity = {
    key: await importPrivateKey(identityMaterial(OFFICE).keyPem, 'rsa'),
    kind: 'rsa',
    certificate: financeCert,
    chain: [],
  };
  const signed = await signPacket(unsignedDocument(FINANCE), forged);
  const v = await verify(t, signed);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['SIG_VALUE_INVALID']);
  t.equal(v.report.checks.digest, 'ok', 'nothing was changed after signing');
  t.equal(v.report.checks.signatureValue, 'failed');
  t.equal(v.report.checks.chain, 'ok', 'the certificate itself is genuine');
  t.equal(v.report.checks.organ, 'ok');

  await t.rejects(loadSigningIdentity(identityMaterial(OFFICE).keyPem, identityMaterial(FINANCE).certPem), { code: 'KEY_INVALID' }, 'loadSigningIdentity refuses the mismatch');
});

// --- certificates ----------------------------------------------------------------------------

t.test('a certificate that does not come from the trusted CA is untrusted, even with the right UID', async (t) => {
  const dir = t.testdir();
  const keyPath = join(dir, 'office.key.pem');
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath);

  const cases = [
    { what: 'a self-made CA', subject: '/C=VN/O=Tu lam/CN=Self-made CA' },
    { what: 'a self-made CA bearing the name of the real issuing CA', subject: '/C=VN/O=lienthong development/CN=lienthong DEV Issuing CA - NOT FOR PRODUCTION' },
  ];
  for (const [i, c] of cases.entries()) {
    t.test(c.what, async (t) => {
      const ca = makeCa(dir, `ca${i}`, c.subject);
      const certPath = issueCertificate(dir, ca, keyPath, OFFICE, 'Văn phòng UBND tỉnh Cà Mau', `office${i}`);
      const identity = await loadSigningIdentity(readFileSync(keyPath, 'utf8'), readFileSync(certPath, 'utf8'));
      const signed = await signPacket(unsignedDocument(OFFICE), identity);
      const v = await verify(t, signed);
      t.equal(v.report.valid, false);
      t.same(codes(v), ['CERT_UNTRUSTED']);
      t.equal(v.report.checks.chain, 'failed');
      t.equal(v.report.checks.digest, 'ok');
      t.equal(v.report.checks.signatureValue, 'ok', 'the signature is sound; only the certificate is not trusted');
      t.equal(v.report.checks.organ, 'ok', 'the UID matches From/OrganId, which proves nothing on its own');
      t.not(v.report.checks.revocation, 'ok', 'revocation of a certificate with no trusted issuer is not "ok"');
      t.match(v.report.errors[0]?.message, /does not chain to a configured trust anchor/);
    });
  }
});

t.test('a revoked certificate is refused when the CRL is known, and unknown without it', async (t) => {
  const signed = await signedBy(REVOKED);
  const v = await verify(t, signed);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['CERT_REVOKED']);
  t.equal(v.report.checks.revocation, 'failed');
  t.match(v.report.errors[0]?.message, new RegExp(`serial ${organ(REVOKED).serialNumber}`, 'i'));

  const noCrl = await verify(t, signed, withoutCrls);
  t.equal(noCrl.report.valid, true, 'without the CRL nothing says it is revoked');
  t.equal(noCrl.report.checks.revocation, 'unknown', 'and the report says revocation was not checked');
});

t.test('an expired certificate is refused; validity is judged at signing time', async (t) => {
  const signed = await signedBy(EXPIRED);
  const v = await verify(t, signed);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['CERT_EXPIRED']);
  t.equal(v.report.checks.validity, 'failed');
  t.match(v.report.errors[0]?.message, /had expired/);

  // An archived document signed while the certificate was valid stays verifiable.
  const expiredCert = organ(EXPIRED);
  const back = new Date((new Date(expiredCert.notBefore).getTime() + new Date(expiredCert.notAfter).getTime()) / 2);
  const archived = await signedBy(EXPIRED, documentFrom(EXPIRED, {}, back));
  const a = await verify(t, archived);
  t.equal(a.report.valid, true, `a document signed on ${back.toISOString()} (inside the validity period) is valid`);
  const live = await verify(t, archived, withCrls, { maxSignatureAgeMs: 48 * 3_600_000 });
  t.same(codes(live), ['CERT_EXPIRED'], 'but live traffic with a maximum signature age refuses the back-dated claim');
});

t.test('a packet whose From/OrganId is not the certificate\'s UID is refused', async (t) => {
  const signed = await signPacket(unsignedDocument(FINANCE), await identityOf(OFFICE));
  const v = await verify(t, signed);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['CERT_ORGAN_MISMATCH']);
  t.equal(v.report.checks.organ, 'failed');
  t.match(v.report.errors[0]?.message, /from 000\.00\.05\.H12 but is signed with the certificate of 000\.00\.01\.H12/);
});

t.test('a CRL past its nextUpdate is not usable', async (t) => {
  const dir = t.testdir({ 'index.txt': '', crlnumber: '1000\n', 'ca.cnf': '[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n' });
  const now = Date.now();
  const stale = join(dir, 'stale.crl.pem');
  openssl(
    dir,
    'ca', '-config', 'ca.cnf', '-gencrl',
    '-cert', join(CERTS, 'issuing-ca.pem'), '-keyfile', join(CERTS, 'issuing-ca.key.pem'),
    '-crl_lastupdate', opensslTime(new Date(now - 3 * 86_400_000)),
    '-crl_nextupdate', opensslTime(new Date(now - 86_400_000)),
    '-out', stale,
  );
  const store = createTrustStore({ ...trustMaterial(), crls: [readFileSync(stale, 'utf8'), certsFile('root-ca.crl.pem')] });
  const v = await verify(t, await signedBy(OFFICE), store);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['CRL_INVALID']);
  t.match(v.report.errors[0]?.message, /expired on .*install a current CRL/);
  t.equal(v.report.checks.revocation, 'unknown');
});

// --- algorithms ------------------------------------------------------------------------------

t.test('SHA-1 (as the SDK samples sign) is refused by default and accepted only under the legacy policy', async (t) => {
  const dir = t.testdir();
  const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { signatureMethod: RSA_SHA1, digestMethod: SHA1 });
  const v = await verify(t, signed);
  t.equal(v.report.valid, false);
  t.same(codes(v), ['SIG_ALGORITHM']);
  t.match(v.report.errors[0]?.message, /SHA-1.*legacy/);

  const legacy = await verify(t, signed, withCrls, { legacySha1: true });
  t.equal(legacy.report.valid, true, 'valid with legacySha1');
  t.equal(legacy.report.algorithms?.signature, RSA_SHA1);
  t.equal(legacy.report.algorithms?.digest, SHA1);
});

// --- signature wrapping and other shapes outside the profile --------------------------------

t.test('signature wrapping and shapes outside the profile are refused, each with its own code, never by throwing', async (t) => {
  const dir = t.testdir();
  const unsigned = unsignedDocument(OFFICE);
  const signed = await signedBy(OFFICE, unsigned);
  const sig = signatureElement(signed);
  const header = /\n\s*<edXML:MessageHeader>[\s\S]*?<\/edXML:MessageHeader>/.exec(signed)?.[0] ?? '';
  t.ok(header, 'the MessageHeader was found');

  const cases: Array<{ what: string; xml: () => string; code: ErrorCode; also?: (t: Test, v: Verification) => void }> = [
    {
      what: 'a second ds:Signature',
      xml: () => signed.replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${sig}`),
      code: 'SIG_MULTIPLE',
    },
    {
      what: 'the signature moved into edXMLBody',
      xml: () => signed.replace(sig, '').replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${sig}`),
      code: 'SIG_MISPLACED',
    },
    {
      what: 'a Reference to URI="#x" (only the MessageHeader signed, made by xmlsec1)',
      xml: () =>
        signWithXmlsec1(
          dir,
          unsigned.replace('<edXML:MessageHeader>', '<edXML:MessageHeader Id="x">'),
          organ(OFFICE),
          { referenceUri: '#x' },
          ['--id-attr:Id', 'http://www.mic.gov.vn/TBT/QCVN_102_2016:MessageHeader'],
          'by-id',
        ),
      code: 'SIG_REFERENCE',
    },
    {
      what: 'a ds:Object added to the signature',
      xml: () => signed.replace('</ds:Signature>', `<ds:Object Id="o">${header}</ds:Object></ds:Signature>`),
      code: 'SIG_MALFORMED',
    },
    {
      what: 'a SignatureValue that is not base64 (one character replaced)',
      xml: () => signed.replace(/(<ds:SignatureValue>[A-Za-z0-9+/]{10})[A-Za-z0-9+/]/, '$1*'),
      code: 'SIG_MALFORMED',
      also: (t, v) => t.match(v.report.errors[0]?.message, /SignatureValue is not base64/),
    },
    {
      what: 'an unsigned copy of MessageHeader next to the signed one',
      xml: () => signed.replace(header, header.replace('V/v triển khai', 'V/v tạm dừng') + header),
      code: 'XML_NOT_EDXML',
    },
    {
      what: 'the signed MessageHeader hidden in a foreign wrapper, a forged one where readers look',
      xml: () => signed.replace(header, `${header.replace('V/v triển khai', 'V/v tạm dừng')}<w:Wrapper xmlns:w="urn:attacker">${header}</w:Wrapper>`),
      code: 'SIG_DIGEST_MISMATCH',
      also: (t, v) => t.equal(v.packet?.kind === 'document' && v.packet.subject.startsWith('V/v tạm dừng'), true, 'readers would see the forged header: it must not be accepted'),
    },
    {
      what: 'an unsigned copy of MessageHeader in a foreign wrapper',
      xml: () => signed.replace(header, `${header}<w:Wrapper xmlns:w="urn:attacker">${header.replace('V/v triển khai', 'V/v tạm dừng')}</w:Wrapper>`),
      code: 'SIG_DIGEST_MISMATCH',
    },
    {
      what: 'an XPath transform (made by xmlsec1)',
      xml: () => signWithXmlsec1(dir, unsigned, organ(OFFICE), { transforms: [XPATH_TRANSFORM, EXC_C14N] }, [], 'xpath'),
      code: 'SIG_ALGORITHM',
    },
    {
      what: 'SignedInfo canonicalised with Canonical XML 1.1, not on the allow-list (made by xmlsec1)',
      xml: () => signWithXmlsec1(dir, unsigned, organ(OFFICE), { canonicalization: 'http://www.w3.org/2006/12/xml-c14n11' }, [], 'c14n11'),
      code: 'SIG_ALGORITHM',
    },
    {
      what: 'a Reference without the enveloped-signature transform (made by xmlsec1)',
      xml: () => signWithXmlsec1(dir, unsigned, organ(OFFICE), { transforms: [EXC_C14N] }, [], 'not-enveloped'),
      code: 'SIG_ALGORITHM',
    },
  ];
  for (const c of cases) {
    t.test(c.what, async (t) => {
      const xml = c.xml();
      const v = await verify(t, xml);
      t.equal(v.report.valid, false, 'invalid');
      t.same(codes(v), [c.code], `refused with ${c.code}`);
      t.match(v.report.errors[0]?.message, /\S/, 'with a message');
      c.also?.(t, v);
    });
  }

  t.test('xmlsec1 itself accepts the URI="#x" signature after the attachment was swapped: that is why the profile requires URI=""', async (t) => {
    const byId = readFileSync(join(dir, 'by-id.signed.xml'), 'utf8');
    const swapped = byId.replace(/(<edXML:ContentTransferEncoded [^>]*>)[^<]*/, `$1${Buffer.from('a different letter').toString('base64')}`);
    writeFileSync(join(dir, 'swapped.xml'), swapped);
    const r = xmlsec1Verify(join(dir, 'swapped.xml'), '--id-attr:Id', 'http://www.mic.gov.vn/TBT/QCVN_102_2016:MessageHeader');
    t.equal(r.status, 0, 'xmlsec1 says OK');
    const v = await verify(t, swapped);
    t.same(codes(v), ['SIG_REFERENCE'], 'lienthong refuses');
  });
});

// --- unsigned packets -------------------------------------------------------------------------

t.test('an unsigned packet is refused with SIG_MISSING', async (t) => {
  const v = await verify(t, unsignedDocument(OFFICE));
  t.equal(v.report.valid, false);
  t.same(codes(v), ['SIG_MISSING']);
  t.match(v.report.errors[0]?.message, /carries no XML signature/);
  t.equal(v.report.checks.structure, 'failed');
  t.ok(v.packet, 'the packet is still read, for the rejection notice (02)');
});

t.test('signing refuses a packet with a Signature already, and only with one', async (t) => {
  const identity = await identityOf(OFFICE);
  const withElement = (element: string): string => unsignedDocument(OFFICE).replace('</edXML:MessageHeader>', `${element}</edXML:MessageHeader>`);
  await t.rejects(signPacket(await signedBy(OFFICE), identity), { code: 'SIG_MULTIPLE' }, 'signed already');
  await t.rejects(signPacket(withElement('<Signature>SDK</Signature>'), identity), { code: 'SIG_MALFORMED' }, 'a <Signature> in the edXML namespace, as the SDK samples carry it');
  const prefixed = await signPacket(withElement('<x:Signature xmlns:x="urn:other">x</x:Signature>'), identity);
  t.equal((await verify(t, prefixed)).report.valid, true, 'an element of another namespace that happens to be named x:Signature is content, signed and verified');
});

t.test('the public SDK samples are unsigned as far as XMLDSig goes: SIG_MISSING, never a crash', async (t) => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.edxml'));
  t.equal(files.length, 8, 'the 8 public samples');
  for (const file of files) {
    const bytes = readFileSync(join(SAMPLES, file));
    const v = await verify(t, bytes);
    t.equal(v.report.valid, false, `${file} is invalid`);
    t.same(codes(v), ['SIG_MISSING'], `${file}: SIG_MISSING`);
    if (bytes.toString('utf8').includes('<Signature>')) {
      t.match(v.report.errors[0]?.message, /not in the XMLDSig namespace http:\/\/www\.w3\.org\/2000\/09\/xmldsig#/, `${file}: its <Signature> is in the edXML namespace, and the message says so`);
    } else {
      t.match(v.report.errors[0]?.message, /carries no XML signature/, `${file}: has no <Signature> at all, and the message says so`);
    }
  }
});

t.test('every hostile input of test/fixtures/bad is reported, not thrown, with its stable code', async (t) => {
  const expected = JSON.parse(readFileSync(join(BAD, 'expected.json'), 'utf8')) as { files: Array<{ file: string; parse: string; verify?: string }> };
  for (const exp of expected.files) {
    const bytes = readFileSync(join(BAD, exp.file));
    const { result: v, cpuMs } = await withCpuMs(() => verify(t, bytes));
    const code = exp.parse === 'ok' ? exp.verify : exp.parse;
    t.same(codes(v), [code], `${exp.file}: ${code}`);
    t.ok(cpuMs < 1000, `${exp.file}: answered in ${cpuMs.toFixed(1)} ms of CPU`);
  }
});

// --- relaying hubs ---------------------------------------------------------------------------

t.test('a hub may append its TraceHeader after signing; nothing else may be added', async (t) => {
  const signed = await signedBy(OFFICE);
  const ownTrace = /<edXML:TraceHeader>\s*<edXML:OrganId>000\.00\.01\.H12<\/edXML:OrganId>[\s\S]*?<\/edXML:TraceHeader>/.exec(signed)?.[0];
  if (!ownTrace) throw new Error('no sender TraceHeader');
  const hop = `<edXML:TraceHeader><edXML:OrganId>${HUB}</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>`;

  const relayed = signed.replace(ownTrace, ownTrace + hop);
  const v = await verify(t, relayed);
  t.equal(v.report.valid, true, 'valid after the hub appended its TraceHeader');
  t.equal(v.report.unsignedTraceHeaders, 1, 'the appended TraceHeader is reported as not covered by the signature');
  t.same(
    v.packet?.kind === 'document' && v.packet.traceHeaders.map((h) => h.organId),
    [OFFICE, HUB],
    'the packet shows both hops',
  );

  const twoHops = await verify(t, signed.replace(ownTrace, ownTrace + hop + hop.replace(HUB, '000.00.00.G22')));
  t.equal(twoHops.report.valid, true, 'two relaying hubs');
  t.equal(twoHops.report.unsignedTraceHeaders, 2);

  const extraTo = `<edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId><edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName></edXML:To>`;
  const added = await verify(t, signed.replace('<edXML:DocumentId>', `${extraTo}<edXML:DocumentId>`));
  t.same(codes(added), ['SIG_DIGEST_MISMATCH'], 'an appended recipient is a change');
  t.equal(added.report.unsignedTraceHeaders, 0);

  const before = await verify(t, signed.replace(ownTrace, hop + ownTrace));
  t.same(codes(before), ['SIG_DIGEST_MISMATCH'], 'a TraceHeader inserted before the sender\'s is a change');

  const hopAndTo = await verify(t, signed.replace(ownTrace, ownTrace + hop).replace('<edXML:DocumentId>', `${extraTo}<edXML:DocumentId>`));
  t.same(codes(hopAndTo), ['SIG_DIGEST_MISMATCH'], 'an appended TraceHeader does not excuse another change');
});

// --- text survives ---------------------------------------------------------------------------

t.test('a carriage return in the subject survives sign, serialisation and verification', async (t) => {
  const subject = 'V/v kế hoạch năm 2027\r\nvà dự toán kinh phí';
  const composed = documentFrom(OFFICE, { subject });
  const signed = await signedBy(OFFICE, composed);
  t.notMatch(signed, /\r/, 'no raw carriage return is written (a parser would read it as a line feed)');
  t.match(signed, /2027&#13;\nvà/, 'the carriage return is written as a character reference');
  const v = await verify(t, signed);
  t.equal(v.report.valid, true);
  t.equal(v.packet?.kind === 'document' && v.packet.subject, subject, 'the subject is read back with its CR LF');

  const dir = t.testdir({ 'signed.xml': signed });
  t.equal(xmlsec1Verify(join(dir, 'signed.xml')).status, 0, 'xmlsec1 agrees');
});
