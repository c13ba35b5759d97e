/**
 * The KeyInfo shapes standard XMLDSig peers send, signed by xmlsec1: the signer certificate
 * alone (its issuing CA known from the trust configuration), or with X509SubjectName and
 * X509IssuerSerial beside it. The certificate is what is verified; the names are lookup hints
 * (xmlsec1 does not check them against the certificate either). Without any certificate there
 * is nothing to verify against: CERT_MISSING.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createTrustStore } from '../../src/crypto/trust.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import type { ErrorCode } from '../../src/errors.js';
import {
  CERTS,
  FINANCE,
  OFFICE,
  openssl,
  organ,
  signWithXmlsec1,
  signatureTemplate,
  trustMaterial,
  trustStore,
  unsignedDocument,
  xmlsec1,
  xmlsec1Verify,
} from '../helpers/pki.js';

const codes = (v: Verification): ErrorCode[] => v.report.errors.map((e) => e.code);
const ALL_OK = { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' };

/** The X509Data hints of an agency certificate, as openssl names them (RFC 2253, decimal serial). */
function hints(organId: string): { subjectName: string; issuerSerial: string } {
  const line = (field: string): string => {
    const out = openssl(CERTS, 'x509', '-in', organ(organId).certPath, '-noout', `-${field}`, '-nameopt', 'RFC2253,-esc_msb').trim();
    return out.slice(out.indexOf('=') + 1);
  };
  return {
    subjectName: `<ds:X509SubjectName>${line('subject')}</ds:X509SubjectName>`,
    issuerSerial:
      `<ds:X509IssuerSerial><ds:X509IssuerName>${line('issuer')}</ds:X509IssuerName>` +
      `<ds:X509SerialNumber>${BigInt(`0x${line('serial')}`).toString()}</ds:X509SerialNumber></ds:X509IssuerSerial>`,
  };
}

/** A template whose X509Data holds `x509Data` (xmlsec1 fills an empty X509Certificate in it). */
function withX509Data(x509Data: string): string {
  return signatureTemplate().replace('<ds:X509Certificate/>', x509Data);
}

t.test('only the signer certificate in KeyInfo: the issuing CA comes from the trust configuration', async (t) => {
  const dir = t.testdir();
  const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE));
  t.equal(signed.match(/<ds:X509Certificate>/g)?.length, 1, 'KeyInfo carries one certificate');

  const v = await verifyPacket(signed, trustStore());
  t.same(v.report.errors, [], 'valid with the issuing CA configured as intermediate');
  t.same(v.report.checks, ALL_OK);
  t.equal(v.report.signer?.organId, OFFICE);

  const rootOnly = await verifyPacket(signed, createTrustStore({ ...trustMaterial(), intermediates: [] }));
  t.same(codes(rootOnly), ['CERT_UNTRUSTED'], 'without it configured, no path reaches the root');

  const file = join(dir, 'leaf-only.xml');
  writeFileSync(file, signed);
  t.equal(xmlsec1Verify(file).status, 0, 'xmlsec1 agrees with the issuing CA given');
  t.not(xmlsec1('--verify', '--trusted-pem', join(CERTS, 'root-ca.pem'), '--enabled-key-data', 'x509', file).status, 0, 'and without it');
});

t.test('X509SubjectName and X509IssuerSerial beside the certificate', async (t) => {
  const dir = t.testdir();
  const own = hints(OFFICE);
  const cases = [
    { what: 'X509SubjectName', data: `${own.subjectName}<ds:X509Certificate/>` },
    { what: 'X509IssuerSerial', data: `${own.issuerSerial}<ds:X509Certificate/>` },
    { what: 'both, before the certificate', data: `${own.subjectName}${own.issuerSerial}<ds:X509Certificate/>` },
    { what: 'both, after the certificate', data: `<ds:X509Certificate/>${own.issuerSerial}${own.subjectName}` },
    { what: 'both, empty (as an xmlsec1 template leaves them)', data: '<ds:X509SubjectName/><ds:X509IssuerSerial/><ds:X509Certificate/>' },
  ];
  for (const [i, c] of cases.entries()) {
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), withX509Data(c.data), [], `hints${i}`);
    t.match(signed, /<ds:X509Certificate>MII/, `${c.what}: the certificate is there`);
    const file = join(dir, `hints${i}.xml`);
    writeFileSync(file, signed);
    t.equal(xmlsec1Verify(file).status, 0, `${c.what}: xmlsec1 verifies it`);
    const v = await verifyPacket(signed, trustStore());
    t.same(v.report.errors, [], `${c.what}: lienthong verifies it`);
    t.equal(v.report.signer?.organId, OFFICE, `${c.what}: the signer is the certificate's holder`);
  }

  // Hints naming another agency do not make its certificate the signer, for xmlsec1 or here.
  const other = hints(FINANCE);
  const misleading = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), withX509Data(`${other.subjectName}${other.issuerSerial}<ds:X509Certificate/>`), [], 'misleading');
  t.match(misleading, /UID=000\.00\.05\.H12/, 'the hints name Sở Tài chính');
  const file = join(dir, 'misleading.xml');
  writeFileSync(file, misleading);
  t.equal(xmlsec1Verify(file).status, 0, 'xmlsec1 verifies with the certificate and ignores the hints');
  const v = await verifyPacket(misleading, trustStore());
  t.same(v.report.errors, [], 'so does lienthong');
  t.equal(v.report.signer?.organId, OFFICE, 'reporting the certificate\'s holder, not the hinted one');
});

t.test('no certificate in KeyInfo stays CERT_MISSING', async (t) => {
  const dir = t.testdir();
  const cases = [
    { what: 'X509SubjectName only', template: withX509Data(hints(OFFICE).subjectName) },
    { what: 'X509IssuerSerial only', template: withX509Data(hints(OFFICE).issuerSerial) },
    { what: 'a KeyName only', template: signatureTemplate().replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '<ds:KeyInfo><ds:KeyName>000.00.01.H12</ds:KeyName></ds:KeyInfo>') },
    { what: 'no KeyInfo at all', template: signatureTemplate().replace(/<ds:KeyInfo>[\s\S]*<\/ds:KeyInfo>/, '') },
  ];
  for (const [i, c] of cases.entries()) {
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), c.template, [], `nocert${i}`);
    t.notMatch(signed, /<ds:X509Certificate>/, `${c.what}: no certificate in the signed packet`);
    const v = await verifyPacket(signed, trustStore());
    t.same(codes(v), ['CERT_MISSING'], `${c.what}: CERT_MISSING`);
    t.match(v.report.errors[0]?.message, /carries no signer certificate/);
  }
});
