/**
 * Interoperability with the reference XMLDSig implementation, both ways: what lienthong signs,
 * xmlsec1 (libxmlsec1 + OpenSSL) verifies; what xmlsec1 signs from an edXML template (the way
 * other document systems sign), lienthong verifies. Keys and certificates made by openssl in
 * the flavours operators actually have (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE
 * KEY") work in both.
 *
 * And the canonicalisation trap: SignedInfo canonicalised with inclusive c14n drags the edXML
 * namespace declarations of the envelope into the signed bytes; a library that gets that
 * subtle part wrong produces signatures other peers refuse. lienthong signs with exclusive
 * c14n, and verifies inclusive signatures rendering those declarations as xmlsec1 does
 * (every variant: crypto-c14n-variants.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SignedXml } from 'xmldsigjs';
import { C14N_ALGORITHMS } from '../../src/crypto/algorithms.js';
import { certificateBase64, loadSigningIdentity } from '../../src/crypto/certificates.js';
import { canonicalSignedInfo } from '../../src/crypto/profile.js';
import { signPacket } from '../../src/crypto/sign.js';
import { createTrustStore, type TrustStore } from '../../src/crypto/trust.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { buildPacket, locateSkeleton, parseXml, serializeXml } from '../../src/envelope/index.js';
import {
  CERTS,
  CITY,
  DSIG,
  ECDSA_SHA256,
  EXC_C14N,
  ENVELOPED,
  ICT,
  INCL_C14N,
  OFFICE,
  RSA_SHA256,
  SHA256,
  certsFile,
  documentFrom,
  identityOf,
  issueCertificate,
  makeCa,
  openssl,
  organ,
  signWithXmlsec1,
  signatureTemplate,
  statusFrom,
  trustStore,
  unsignedDocument,
  xmlsec1,
  xmlsec1Octets,
  xmlsec1Verify,
} from '../helpers/pki.js';
import { useXmldsigjs } from '../helpers/xmldsigjs.js';

const store = trustStore();

const ALL_OK = { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' };

function expectValid(t: Test, v: Verification, what: string): void {
  t.equal(v.report.valid, true, `${what}: valid in lienthong`);
  t.same(v.report.errors, [], `${what}: no errors`);
}

function write(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function xmlsec1Ok(t: Test, r: { status: number | null; stdout: string; stderr: string }, what: string): void {
  t.equal(r.status, 0, `${what}: xmlsec1 --verify exits 0`, { stderr: r.stderr });
  t.match(`${r.stdout}${r.stderr}`, /^OK$/m, `${what}: xmlsec1 says OK`);
}

// --- lienthong signs, xmlsec1 verifies --------------------------------------------------------

t.test('what lienthong signs, xmlsec1 verifies', async (t) => {
  const dir = t.testdir();

  t.test('RSA agency, document with an attachment', async (t) => {
    const signed = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
    xmlsec1Ok(t, xmlsec1Verify(write(dir, 'rsa.xml', signed)), 'RSA');
  });

  t.test('ECDSA P-256 agency, document with an attachment', async (t) => {
    const signed = await signPacket(unsignedDocument(ICT), await identityOf(ICT));
    t.match(signed, new RegExp(`SignatureMethod Algorithm="${ECDSA_SHA256}"`));
    xmlsec1Ok(t, xmlsec1Verify(write(dir, 'ecdsa.xml', signed)), 'ECDSA');
  });

  t.test('with the issuing CA sent along in KeyInfo, xmlsec1 needs only the root', async (t) => {
    const o = organ(OFFICE);
    const identity = await loadSigningIdentity(readFileSync(o.keyPath, 'utf8'), readFileSync(o.certPath, 'utf8'), certsFile('chain.pem'));
    t.equal(identity.chain.length, 1, 'chain.pem gives the issuing CA; the root is not sent');
    const signed = await signPacket(unsignedDocument(OFFICE), identity);
    t.equal(signed.match(/<ds:X509Certificate>/g)?.length, 2, 'KeyInfo carries the signer and the issuing CA');
    xmlsec1Ok(t, xmlsec1('--verify', '--trusted-pem', join(CERTS, 'root-ca.pem'), '--enabled-key-data', 'x509', write(dir, 'chain.xml', signed)), 'chain in KeyInfo');
    const v = await verifyPacket(signed, createTrustStore({ anchors: [certsFile('root-ca.pem')] }));
    expectValid(t, v, 'chain in KeyInfo, only the root configured');

    const bare = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
    const r = xmlsec1('--verify', '--trusted-pem', join(CERTS, 'root-ca.pem'), '--enabled-key-data', 'x509', write(dir, 'bare.xml', bare));
    t.not(r.status, 0, 'without the chain (and without --untrusted-pem) xmlsec1 cannot build the path: it is not a rubber stamp');
  });

  t.test('a packet relayed by a hub (TraceHeader appended) is valid for lienthong only: plain XMLDSig verifiers see a change', async (t) => {
    const signed = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
    const relayed = signed.replace(
      /(<edXML:TraceHeader>\s*<edXML:OrganId>000\.00\.01\.H12<\/edXML:OrganId>[\s\S]*?<\/edXML:TraceHeader>)/,
      '$1<edXML:TraceHeader><edXML:OrganId>000.00.90.H12</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>',
    );
    t.not(relayed, signed);
    const v = await verifyPacket(relayed, store);
    t.equal(v.report.valid, true, 'lienthong accepts it, reporting one unsigned hop');
    t.equal(v.report.unsignedTraceHeaders, 1);
    t.not(xmlsec1Verify(write(dir, 'relayed.xml', relayed)).status, 0, 'xmlsec1 refuses it: a peer hub on a stock XMLDSig library must strip the hops first');
  });

  t.test('xmlsec1 refuses what lienthong refuses: a changed attachment', async (t) => {
    const signed = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
    const tampered = signed.replace(/(<edXML:ContentTransferEncoded [^>]*>)[^<]*/, `$1${Buffer.from('another letter').toString('base64')}`);
    const r = xmlsec1Verify(write(dir, 'tampered.xml', tampered));
    t.not(r.status, 0, 'xmlsec1 fails');
    const v = await verifyPacket(tampered, store);
    t.same(v.report.errors.map((e) => e.code), ['SIG_DIGEST_MISMATCH'], 'lienthong: changed after signing');
  });
});

// --- xmlsec1 signs, lienthong verifies --------------------------------------------------------

t.test('what xmlsec1 signs from an edXML template, lienthong verifies', async (t) => {
  const dir = t.testdir();

  t.test('a ds:-prefixed template, RSA-SHA256', async (t) => {
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { prefix: 'ds' }, [], 'prefixed');
    t.match(signed, /<\/edXML:TraceHeaderList><ds:Signature xmlns:ds=/, 'the signature sits after TraceHeaderList');
    const v = await verifyPacket(signed, store);
    expectValid(t, v, 'prefixed');
    t.same(v.report.checks, ALL_OK);
    t.equal(v.report.algorithms?.signature, RSA_SHA256);
  });

  t.test('a default-namespace (unprefixed) template', async (t) => {
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { prefix: '' }, [], 'unprefixed');
    t.match(signed, /<Signature xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#">/, 'the signature redeclares the default namespace');
    const v = await verifyPacket(signed, store);
    expectValid(t, v, 'unprefixed');
    t.same(v.report.checks, ALL_OK);
  });

  t.test('ECDSA P-256 (Sở Thông tin và Truyền thông)', async (t) => {
    const signed = signWithXmlsec1(dir, unsignedDocument(ICT), organ(ICT), { signatureMethod: ECDSA_SHA256 }, [], 'ecdsa');
    const v = await verifyPacket(signed, store);
    expectValid(t, v, 'ECDSA');
    t.equal(v.report.algorithms?.signature, ECDSA_SHA256);
  });

  t.test('with the issuing CA in KeyInfo (--privkey-pem key,cert,issuing-ca)', async (t) => {
    const o = organ(OFFICE);
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), { keyPath: o.keyPath, certPath: `${o.certPath},${join(CERTS, 'issuing-ca.pem')}` }, {}, [], 'xs-chain');
    t.equal(signed.match(/<ds:X509Certificate>/g)?.length, 2);
    const v = await verifyPacket(signed, createTrustStore({ anchors: [certsFile('root-ca.pem')] }));
    expectValid(t, v, 'xmlsec1 chain');
    t.equal(v.report.signer?.organId, OFFICE, 'the signer is picked out of KeyInfo, not the CA');
  });

  t.test('a status packet', async (t) => {
    const status = buildPacket(statusFrom(OFFICE));
    // No TraceHeaderList in a status packet: the signature follows MessageHeader.
    const template = join(dir, 'status.template.xml');
    writeFileSync(template, status.replace('</edXML:MessageHeader>', `</edXML:MessageHeader>${signatureTemplate()}`));
    const o = organ(OFFICE);
    const r = xmlsec1('--sign', '--privkey-pem', `${o.keyPath},${o.certPath}`, '--output', join(dir, 'status.signed.xml'), template);
    t.equal(r.status, 0, 'xmlsec1 signs', { stderr: r.stderr });
    const v = await verifyPacket(readFileSync(join(dir, 'status.signed.xml')), store);
    expectValid(t, v, 'status');
    t.equal(v.report.kind, 'status');
  });
});

// --- openssl-made keys and certificates -------------------------------------------------------

t.test('keys and certificates made with openssl sign and verify in lienthong and in xmlsec1', async (t) => {
  const dir = t.testdir();
  const ca = makeCa(dir, 'ca', '/C=VN/O=Ban Co yeu (thu nghiem)/CN=Test Root CA');
  const ownTrust: TrustStore = createTrustStore({ anchors: [readFileSync(ca.caCertPath, 'utf8')] });

  const pkcs8 = join(dir, 'pkcs8.key.pem');
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pkcs8);
  const pkcs1 = join(dir, 'pkcs1.key.pem');
  openssl(dir, 'rsa', '-in', pkcs8, '-traditional', '-out', pkcs1);
  const sec1 = join(dir, 'sec1.key.pem');
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', sec1);

  const keys = [
    { what: 'RSA, PKCS#8 "BEGIN PRIVATE KEY"', file: pkcs8, header: '-----BEGIN PRIVATE KEY-----', alg: RSA_SHA256 },
    { what: 'RSA, PKCS#1 "BEGIN RSA PRIVATE KEY"', file: pkcs1, header: '-----BEGIN RSA PRIVATE KEY-----', alg: RSA_SHA256 },
    { what: 'EC P-256, SEC1 "BEGIN EC PRIVATE KEY"', file: sec1, header: '-----BEGIN EC PRIVATE KEY-----', alg: ECDSA_SHA256 },
  ];
  for (const [i, k] of keys.entries()) {
    t.test(k.what, async (t) => {
      const keyPem = readFileSync(k.file, 'utf8');
      t.ok(keyPem.startsWith(k.header), `the key file is ${k.header}`);
      const certPath = issueCertificate(dir, ca, k.file, OFFICE, 'Văn phòng UBND tỉnh Cà Mau', `agency${i}`);
      t.match(openssl(dir, 'x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253'), /UID=000\.00\.01\.H12/, 'openssl shows the UID');

      const identity = await loadSigningIdentity(keyPem, readFileSync(certPath, 'utf8'));
      const signed = await signPacket(unsignedDocument(OFFICE), identity);
      const v = await verifyPacket(signed, ownTrust);
      expectValid(t, v, 'lienthong → lienthong');
      t.equal(v.report.signer?.organId, OFFICE, 'the UID is read from the openssl-made subject');
      t.equal(v.report.algorithms?.signature, k.alg);
      xmlsec1Ok(t, xmlsec1('--verify', '--trusted-pem', ca.caCertPath, '--enabled-key-data', 'x509', write(dir, `lt${i}.xml`, signed)), 'lienthong → xmlsec1');

      const byXmlsec1 = signWithXmlsec1(dir, unsignedDocument(OFFICE), { keyPath: k.file, certPath }, { signatureMethod: k.alg }, [], `xs${i}`);
      expectValid(t, await verifyPacket(byXmlsec1, ownTrust), 'xmlsec1 → lienthong');
      t.same((await verifyPacket(byXmlsec1, store)).report.errors.map((e) => e.code), ['CERT_UNTRUSTED'], 'and untrusted where the test CA is not an anchor');
    });
  }
});

// --- the c14n trap ----------------------------------------------------------------------------

t.test('the inclusive-c14n trap', async (t) => {
  const dir = t.testdir();
  const unsigned = unsignedDocument(OFFICE);

  t.test('an inclusive-c14n SignedInfo drags the envelope\'s namespaces into the signed bytes, and lienthong renders them too', async (t) => {
    const signed = signWithXmlsec1(dir, unsigned, organ(OFFICE), { canonicalization: INCL_C14N }, [], 'inclusive');
    const r = xmlsec1Octets(write(dir, 'inclusive.xml', signed));
    xmlsec1Ok(t, r, 'it is a correct XMLDSig signature');
    const signedInfo = /^<ds:SignedInfo[^>]*>/.exec(r.preSigned ?? '')?.[0];
    t.ok(signedInfo, 'xmlsec1 shows the canonical SignedInfo it verified');
    t.match(signedInfo, /xmlns="http:\/\/www\.mic\.gov\.vn\/TBT\/QCVN_102_2016"/, 'with the edXML default namespace inherited from <edXML>');
    t.match(signedInfo, /xmlns:edXML="http:\/\/www\.mic\.gov\.vn\/TBT\/QCVN_102_2016"/, 'and the edXML: prefix inherited from edXMLEnvelope');

    const doc = parseXml(signed);
    const inclusive = C14N_ALGORITHMS.find((c) => c.uri === INCL_C14N);
    if (!inclusive) throw new Error('inclusive c14n is not allow-listed');
    const ours = canonicalSignedInfo(doc.getElementsByTagNameNS(DSIG, 'SignedInfo')[0] as Element, inclusive);
    t.equal(ours, r.preSigned, 'lienthong canonicalises SignedInfo to the very octets xmlsec1 verified');
    const v = await verifyPacket(signed, store);
    expectValid(t, v, 'inclusive SignedInfo');
    t.equal(v.report.algorithms?.canonicalization, INCL_C14N);
  });

  t.test('lienthong signs with exclusive c14n: SignedInfo carries only its own namespace', async (t) => {
    const signed = await signPacket(unsigned, await identityOf(OFFICE));
    t.match(signed, `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"/>`, 'CanonicalizationMethod is exclusive c14n');
    t.match(signed, `<ds:Transforms><ds:Transform Algorithm="${ENVELOPED}"/><ds:Transform Algorithm="${EXC_C14N}"/></ds:Transforms>`, 'the Reference: enveloped-signature, then exclusive c14n');
    t.match(signed, `<ds:DigestMethod Algorithm="${SHA256}"/>`);
    const r = xmlsec1Octets(write(dir, 'exclusive.xml', signed));
    xmlsec1Ok(t, r, 'exclusive');
    const signedInfo = /^<ds:SignedInfo[^>]*>/.exec(r.preSigned ?? '')?.[0];
    t.equal(signedInfo, '<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">', 'no namespace of the envelope in the signed bytes');
  });

  t.test('why it matters: signing with the library default (inclusive) gives signatures xmlsec1 refuses', async (t) => {
    // What sign.ts guards against by setting the CanonicalizationMethod explicitly: xmldsigjs's
    // default SignedInfo c14n is inclusive, and its inclusive c14n of a SignedInfo nested in
    // edXMLHeader leaves out the inherited namespace declarations shown above. If this ever
    // passes in xmlsec1, xmldsigjs fixed it; lienthong still signs with exclusive c14n.
    useXmldsigjs();
    const identity = await identityOf(OFFICE);
    const doc = parseXml(unsigned);
    const skeleton = locateSkeleton(doc);
    const signer = new SignedXml();
    await signer.Sign({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm, identity.key, doc, {
      references: [{ uri: '', hash: 'SHA-256', transforms: ['enveloped', 'exc-c14n'] }],
      x509: [certificateBase64(identity.certificate)],
    });
    const element = signer.GetXml();
    if (!element) throw new Error('xmldsigjs made no signature');
    skeleton.header.insertBefore(doc.importNode(element, true), skeleton.traceHeaderList?.nextSibling ?? null);
    const text = serializeXml(doc.documentElement as Element);
    t.match(text, `<ds:CanonicalizationMethod Algorithm="${INCL_C14N}"/>`, 'the library default is inclusive c14n');
    const r = xmlsec1Verify(write(dir, 'library-default.xml', text));
    t.match(r.stdout + r.stderr, /SignedInfo References \(ok\/all\): 1\/1/, 'the reference digest agrees (the document part is exclusive c14n)');
    t.not(r.status, 0, 'but xmlsec1 refuses the signature value: the two disagree on the canonical SignedInfo');
  });
});

t.test('a packet composed with every optional field survives the round trip through xmlsec1 both ways', async (t) => {
  const dir = t.testdir();
  const packet = documentFrom(OFFICE, {
    priority: '3',
    dueDate: '2099/12/31',
    steeringType: '1',
    toPlaces: ['Như trên', 'Lưu: VT, TH'],
    otherInfo: { sphereOfPromulgation: 'Liên thông văn bản tỉnh', typerNotation: 'NVA', promulgationAmount: '2', pageAmount: '3', appendixes: ['Phụ lục I & II <kèm theo>'] },
    responseFor: [{ organId: CITY, code: '88/UBND', documentId: `${CITY},2026/11/20,88/UBND`, promulgationDate: '2026/11/20' }],
    attachments: [
      { name: 'a.pdf', content: new Uint8Array(Array.from({ length: 3000 }, (_, i) => i % 256)) },
      { name: 'b.docx', content: new Uint8Array([0x50, 0x4b, 3, 4]) },
    ],
  });
  const unsignedText = buildPacket(packet);
  const ours = await signPacket(unsignedText, await identityOf(OFFICE));
  xmlsec1Ok(t, xmlsec1Verify(write(dir, 'ours.xml', ours)), 'lienthong → xmlsec1');
  const theirs = signWithXmlsec1(dir, unsignedText, organ(OFFICE));
  const v = await verifyPacket(theirs, store);
  expectValid(t, v, 'xmlsec1 → lienthong');
  t.same(v.packet, packet, 'the packet is read back field for field');
});
