/**
 * The canonicalisations standard XMLDSig peers sign with, judged by xmlsec1: inclusive and
 * exclusive c14n, each with and without comments, for SignedInfo and as the Reference
 * transform after enveloped-signature, and enveloped-signature alone (Canonical XML by
 * default). xmlsec1 signs each variant; lienthong must compute the very octets xmlsec1
 * digested and verified, accept the signature, and agree with xmlsec1 on what a later change
 * does to it:
 *
 * - a changed byte of the document is a digest mismatch, in every variant;
 * - comments in the document are never signed by a URI="" Reference, even under a
 *   #WithComments transform (XMLDSig core §4.3.3.3: the same-document URI drops them first);
 * - comments inside SignedInfo are signed exactly when its CanonicalizationMethod is a
 *   #WithComments one (SignedInfo is canonicalised as it stands, not through a URI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { C14N_ALGORITHMS, DSIG_NS } from '../../src/crypto/algorithms.js';
import { canonicalDocument, canonicalSignedInfo } from '../../src/crypto/profile.js';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { parseXml } from '../../src/envelope/xml.js';
import type { ErrorCode } from '../../src/errors.js';
import {
  ENVELOPED,
  EXC_C14N,
  EXC_C14N_WITH_COMMENTS,
  INCL_C14N,
  INCL_C14N_WITH_COMMENTS,
  OFFICE,
  identityOf,
  organ,
  signWithXmlsec1,
  signatureTemplate,
  trustStore,
  unsignedDocument,
  xmlsec1Octets,
  xmlsec1Verify,
  type TemplateOptions,
} from '../helpers/pki.js';

const store = trustStore();
const ALL_OK = { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' };
const codes = (v: Verification): ErrorCode[] => v.report.errors.map((e) => e.code);

function spec(uri: string) {
  const found = C14N_ALGORITHMS.find((c) => c.uri === uri);
  if (!found) throw new Error(`${uri} is not an allow-listed c14n`);
  return found;
}

/** What lienthong canonicalises in `signed`, the way verify.ts does. */
function lienthongOctets(signed: string, signedInfoC14n: string, referenceC14n: string): { preDigest: string; preSigned: string } {
  const doc = parseXml(signed);
  const signature = doc.getElementsByTagNameNS(DSIG_NS, 'Signature')[0];
  const signedInfo = doc.getElementsByTagNameNS(DSIG_NS, 'SignedInfo')[0];
  if (!signature || !signedInfo) throw new Error('no signature');
  return { preDigest: canonicalDocument(doc, spec(referenceC14n), [signature]), preSigned: canonicalSignedInfo(signedInfo, spec(signedInfoC14n)) };
}

function write(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function xmlsec1Says(dir: string, name: string, text: string): boolean {
  const r = xmlsec1Verify(write(dir, name, text));
  return r.status === 0 && /^OK$/m.test(r.stdout + r.stderr);
}

/** The unsigned packet carries a comment in the signed content, so #WithComments has work to do. */
const COMMENT = '<!-- văn thư: bản chính gửi kèm -->';
const unsigned = unsignedDocument(OFFICE).replace('<edXML:Subject>', `${COMMENT}<edXML:Subject>`);
const SIGNED_INFO_COMMENT = '<!--ký số lúc nhận-->';

function template(options: TemplateOptions): string {
  return signatureTemplate(options).replace('<ds:SignedInfo>', `<ds:SignedInfo>${SIGNED_INFO_COMMENT}`);
}

const VARIANTS: Array<{ what: string; signedInfo: string; transforms: string[] }> = [
  { what: 'inclusive c14n', signedInfo: INCL_C14N, transforms: [ENVELOPED, INCL_C14N] },
  { what: 'inclusive c14n with comments', signedInfo: INCL_C14N_WITH_COMMENTS, transforms: [ENVELOPED, INCL_C14N_WITH_COMMENTS] },
  { what: 'exclusive c14n', signedInfo: EXC_C14N, transforms: [ENVELOPED, EXC_C14N] },
  { what: 'exclusive c14n with comments', signedInfo: EXC_C14N_WITH_COMMENTS, transforms: [ENVELOPED, EXC_C14N_WITH_COMMENTS] },
  { what: 'enveloped-signature alone, SignedInfo inclusive', signedInfo: INCL_C14N, transforms: [ENVELOPED] },
  { what: 'enveloped-signature alone, SignedInfo exclusive with comments', signedInfo: EXC_C14N_WITH_COMMENTS, transforms: [ENVELOPED] },
  { what: 'inclusive-with-comments SignedInfo, exclusive Reference', signedInfo: INCL_C14N_WITH_COMMENTS, transforms: [ENVELOPED, EXC_C14N] },
];

for (const [i, variant] of VARIANTS.entries()) {
  t.test(`xmlsec1 signs with ${variant.what}: lienthong agrees`, async (t) => {
    const dir = t.testdir();
    const signed = signWithXmlsec1(dir, unsigned, organ(OFFICE), template({ canonicalization: variant.signedInfo, transforms: variant.transforms }), [], `v${i}`);
    t.ok(signed.includes(COMMENT) && signed.includes(SIGNED_INFO_COMMENT), 'the comments are in the signed packet');

    const theirs = xmlsec1Octets(write(dir, 'signed.xml', signed));
    t.equal(theirs.status, 0, 'xmlsec1 verifies its own signature', { stderr: theirs.stderr });
    const referenceC14n = variant.transforms[1] ?? INCL_C14N;
    const ours = lienthongOctets(signed, variant.signedInfo, referenceC14n);
    t.equal(ours.preDigest, theirs.preDigest, 'lienthong canonicalises the document to the octets xmlsec1 digested');
    t.notOk(ours.preDigest.includes('văn thư: bản chính'), 'which hold no comment: URI="" leaves them out');
    t.equal(ours.preSigned, theirs.preSigned, 'and SignedInfo to the octets xmlsec1 verified');
    t.equal(ours.preSigned.includes(SIGNED_INFO_COMMENT), variant.signedInfo.endsWith('WithComments'), 'which keep its comment exactly under a #WithComments method');

    const v = await verifyPacket(signed, store);
    t.same(v.report.errors, [], 'valid in lienthong');
    t.same(v.report.checks, ALL_OK);
    t.equal(v.report.algorithms?.canonicalization, variant.signedInfo, 'the report names the SignedInfo canonicalisation');

    const tampered = signed.replace('V/v triển khai', 'V/v triển khaj');
    t.not(tampered, signed);
    t.notOk(xmlsec1Says(dir, 'tampered.xml', tampered), 'one byte changed: xmlsec1 refuses');
    t.same(codes(await verifyPacket(tampered, store)), ['SIG_DIGEST_MISMATCH'], 'one byte changed: lienthong says changed after signing');

    const commented = signed
      .replace(COMMENT, '<!-- văn thư: đã sửa ghi chú -->')
      .replace('<edXML:Content>', '<!-- một ghi chú thêm sau khi ký --><edXML:Content>');
    t.ok(xmlsec1Says(dir, 'commented.xml', commented), 'a comment changed and one added in the document: xmlsec1 still says OK');
    t.same(codes(await verifyPacket(commented, store)), [], 'and so does lienthong');

    const resigned = signed.replace(SIGNED_INFO_COMMENT, '<!--ký số lúc khác-->');
    const signsComments = variant.signedInfo.endsWith('WithComments');
    t.equal(xmlsec1Says(dir, 'signedinfo-comment.xml', resigned), !signsComments, `the comment in SignedInfo changed: xmlsec1 ${signsComments ? 'refuses' : 'still says OK'}`);
    t.same(codes(await verifyPacket(resigned, store)), signsComments ? ['SIG_VALUE_INVALID'] : [], `and lienthong ${signsComments ? 'finds the signature value invalid' : 'agrees'}`);
  });
}

t.test('inclusive c14n of SignedInfo renders what is in scope where the signature sits', async (t) => {
  const dir = t.testdir();

  t.test('an unprefixed Signature: the default namespace in scope is XMLDSig\'s, not edXML\'s', async (t) => {
    const signed = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { prefix: '', canonicalization: INCL_C14N, transforms: [ENVELOPED, INCL_C14N] }, [], 'unprefixed');
    const theirs = xmlsec1Octets(write(dir, 'unprefixed.xml', signed));
    t.equal(theirs.status, 0, 'xmlsec1 verifies it');
    t.match(theirs.preSigned, /^<SignedInfo xmlns="http:\/\/www\.w3\.org\/2000\/09\/xmldsig#" xmlns:edXML="http:\/\/www\.mic\.gov\.vn\/TBT\/QCVN_102_2016">/);
    t.equal(lienthongOctets(signed, INCL_C14N, INCL_C14N).preSigned, theirs.preSigned, 'lienthong renders the same SignedInfo');
    t.same((await verifyPacket(signed, store)).report.errors, [], 'valid in lienthong');
  });

  t.test('xml:lang on the root is inherited by SignedInfo (c14n 1.0), not under exclusive c14n', async (t) => {
    const withLang = unsignedDocument(OFFICE).replace('<edXML xmlns=', '<edXML xml:lang="vi" xmlns=');
    for (const c14n of [INCL_C14N, EXC_C14N]) {
      const name = c14n === INCL_C14N ? 'lang-inclusive' : 'lang-exclusive';
      const signed = signWithXmlsec1(dir, withLang, organ(OFFICE), { canonicalization: c14n, transforms: [ENVELOPED, c14n] }, [], name);
      const theirs = xmlsec1Octets(write(dir, `${name}.xml`, signed));
      t.equal(theirs.status, 0, `${name}: xmlsec1 verifies it`);
      t.equal(/^<ds:SignedInfo [^>]*xml:lang="vi"/.test(theirs.preSigned ?? ''), c14n === INCL_C14N, `${name}: xml:lang ${c14n === INCL_C14N ? 'is' : 'is not'} in xmlsec1's SignedInfo`);
      t.equal(lienthongOctets(signed, c14n, c14n).preSigned, theirs.preSigned, `${name}: lienthong renders the same SignedInfo`);
      t.same((await verifyPacket(signed, store)).report.errors, [], `${name}: valid in lienthong`);
    }
  });
});

t.test('xmlns="" where a peer\'s serialiser left one too many: rendered only where c14n says, both ways', async (t) => {
  const dir = t.testdir();
  // Plain's xmlns="" undeclares edXML's default namespace; Inner's repeats it and is not rendered.
  const extension = '<x:PhuLuc xmlns:x="urn:vi:phu-luc"><Plain xmlns=""><Inner xmlns="">t</Inner></Plain></x:PhuLuc>';
  const unsignedExt = unsignedDocument(OFFICE).replace('</edXML:edXMLEnvelope>', `${extension}</edXML:edXMLEnvelope>`);
  for (const c14n of [INCL_C14N, EXC_C14N]) {
    const name = c14n === INCL_C14N ? 'inclusive' : 'exclusive';
    const signed = signWithXmlsec1(dir, unsignedExt, organ(OFFICE), { canonicalization: c14n, transforms: [ENVELOPED, c14n] }, [], `xmlns-${name}`);
    const theirs = xmlsec1Octets(write(dir, `xmlns-${name}.xml`, signed));
    t.equal(theirs.status, 0, `${name}: xmlsec1 verifies its signature`);
    t.match(theirs.preDigest, '<Plain xmlns=""><Inner>t</Inner></Plain>', `${name}: xmlsec1 renders the first xmlns="" only`);
    t.equal(lienthongOctets(signed, c14n, c14n).preDigest, theirs.preDigest, `${name}: lienthong digests the same octets`);
    t.same((await verifyPacket(signed, store)).report.errors, [], `${name}: valid in lienthong`);
  }
  const ours = await signPacket(unsignedExt, await identityOf(OFFICE));
  t.ok(ours.includes('<Plain xmlns=""><Inner xmlns="">t</Inner></Plain>'), 'lienthong signs the packet as written');
  t.ok(xmlsec1Says(dir, 'xmlns-lienthong.xml', ours), 'and xmlsec1 verifies lienthong\'s signature');
});

t.test('canonicalisations outside the allow-list are still refused with SIG_ALGORITHM, by name', async (t) => {
  const dir = t.testdir();
  const C14N_11 = 'http://www.w3.org/2006/12/xml-c14n11';

  const c14n11 = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { canonicalization: C14N_11 }, [], 'c14n11');
  t.ok(xmlsec1Says(dir, 'c14n11.xml', c14n11), 'Canonical XML 1.1 is a signature xmlsec1 accepts');
  const v11 = await verifyPacket(c14n11, store);
  t.same(codes(v11), ['SIG_ALGORITHM']);
  t.match(v11.report.errors[0]?.message, /SignedInfo canonicalization "http:\/\/www\.w3\.org\/2006\/12\/xml-c14n11" is not allowed; use inclusive or exclusive c14n, with or without comments/);

  const ref11 = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), { transforms: [ENVELOPED, C14N_11] }, [], 'ref-c14n11');
  const vr = await verifyPacket(ref11, store);
  t.same(codes(vr), ['SIG_ALGORITHM'], 'as the Reference transform too');
  t.match(vr.report.errors[0]?.message, /Reference transforms .*xml-c14n11.* are not allowed; use enveloped-signature, alone or followed by inclusive or exclusive c14n/);

  // Exclusive c14n's PrefixList renders namespaces it names even where unused: a parameter
  // lienthong does not evaluate, so it is refused by name instead of as a wrong digest.
  const prefixList = signatureTemplate().replace(
    `<ds:Transform Algorithm="${EXC_C14N}"/>`,
    `<ds:Transform Algorithm="${EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="${EXC_C14N}" PrefixList="edXML"/></ds:Transform>`,
  );
  const withPrefixList = signWithXmlsec1(dir, unsignedDocument(OFFICE), organ(OFFICE), prefixList, [], 'prefix-list');
  t.ok(xmlsec1Says(dir, 'prefix-list.xml', withPrefixList), 'xmlsec1 accepts an InclusiveNamespaces PrefixList');
  const vp = await verifyPacket(withPrefixList, store);
  t.same(codes(vp), ['SIG_ALGORITHM']);
  t.match(vp.report.errors[0]?.message, /transform http:\/\/www\.w3\.org\/2001\/10\/xml-exc-c14n# carries a <ec:InclusiveNamespaces> parameter/);
  t.ok(readFileSync(join(dir, 'prefix-list.signed.xml'), 'utf8').includes('PrefixList="edXML"'), 'the parameter is really in the signed packet');
});
