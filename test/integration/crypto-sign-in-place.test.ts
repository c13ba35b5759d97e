/**
 * Signing in place (src/crypto/sign-in-place.ts) against the DOM path it stands in for. Whenever
 * xmldom writes the unsigned input back as it was (every packet lienthong builds), the two
 * outputs are the same bytes: RSA PKCS#1 v1.5 signatures are deterministic, so the same
 * SignatureValue also proves the same canonical SignedInfo was signed; ECDSA's are not, so they
 * are compared with the SignatureValue left out. In every case the spliced packet is the input's
 * bytes with the Signature added, and lienthong (both readers) and xmlsec1 verify it. Inputs
 * outside what the splice reproduces take the DOM path, and still verify.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { organIdOf, type SigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket, signPacketBytes, signingPaths, type SignOptions } from '../../src/crypto/sign.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { buildPacket } from '../../src/envelope/index.js';
import { parseXml, serializeDocumentBytes, xmlLimitsFor } from '../../src/envelope/xml.js';
import { packetOfSize } from '../../bench/targets/packets.js';
import { ICT, OFFICE, documentFrom, identityOf, statusFrom, trustStore, unsignedDocument, xmlsec1Verify } from '../helpers/pki.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixtures = (dir: string): Array<[string, Buffer]> =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.xml') || f.endsWith('.edxml'))
    .sort()
    .map((f) => [`${dir}/${f}`, readFileSync(join(FIXTURES, dir, f))]);

/** Packets lienthong builds: what must take the splice. */
const BUILT: Array<[string, Buffer]> = [
  ['a document from OFFICE', Buffer.from(unsignedDocument(OFFICE))],
  ['a document from ICT', Buffer.from(unsignedDocument(ICT))],
  ['a status', Buffer.from(buildPacket(statusFrom(OFFICE)))],
  ['a document with a 70 KiB subject (hoisted before the insertion point)', Buffer.from(unsignedDocument(OFFICE, { subject: 'V/v '.padEnd(70 * 1024, 'x') }))],
  ['a document with two attachments of 100 KB', Buffer.from(buildPacket(documentFrom(OFFICE, { attachments: [{ name: 'a.pdf', content: new Uint8Array(100e3).fill(7) }, { name: 'b.pdf', content: new Uint8Array(100e3).fill(9) }] })))],
  ...[5e3, 100e3, 2e6].map((size): [string, Buffer] => [`packetOfSize ${size / 1e3} KB`, packetOfSize(OFFICE, size)]),
];

const lienthongPacket = unsignedDocument(OFFICE);
/** Inputs the splice leaves to the DOM path; each still an edXML packet to sign. */
const OUTSIDE: Array<[string, Buffer | string]> = [
  ['a comment', lienthongPacket.replace('<edXML:edXMLBody>', '<!-- a note --><edXML:edXMLBody>')],
  ['CDATA', lienthongPacket.replace(/(<edXML:Content>)[^<]*/, '$1<![CDATA[Đề nghị <các> đơn vị]]>')],
  ['CRLF line ends', lienthongPacket.replace(/\n/g, '\r\n')],
  ['a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lienthongPacket)])],
  ['a processing instruction before the root', lienthongPacket.replace('?>\n', '?>\n<?render mode="print"?>\n')],
  ['"ds" bound on the root', lienthongPacket.replace('<edXML ', '<edXML xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ')],
  ['a string with a lone surrogate', lienthongPacket.replace('Đề nghị', 'Đề \uD800nghị')],
];

const DS_SIGNATURE = /<ds:Signature [\s\S]*?<\/ds:Signature>/;
const withoutSignatureValue = (xml: string): string => xml.replace(/<ds:SignatureValue>[^<]*</, '<ds:SignatureValue><');

async function outcome<T>(run: () => Promise<T>): Promise<{ ok: T } | { error: string }> {
  try {
    return { ok: await run() };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { error: `${e.code ?? ''}: ${e.message ?? String(error)}` };
  }
}

let file = 0;
/** What every signed output must satisfy: both readers of lienthong and xmlsec1 verify it. */
async function verifies(t: Test, signed: Buffer, fullyValid: boolean, what: string): Promise<void> {
  for (const fastXml of [true, false]) {
    const v = await verifyPacket(signed, trustStore(), { fastXml });
    if (fullyValid) t.equal(v.report.valid, true, `${what}: verifyPacket (fastXml ${fastXml}) finds it valid`, { errors: v.report.errors });
    // A packet lienthong refuses as a packet (a field twice) has its signature left unchecked: xmlsec1 judges it.
    else if (v.report.checks.structure === 'ok') t.same([v.report.checks.digest, v.report.checks.signatureValue], ['ok', 'ok'], `${what}: verifyPacket (fastXml ${fastXml}): digest and signature value ok`);
  }
  const path = join(t.testdirName, `signed-${file++}.xml`);
  writeFileSync(path, signed);
  const r = xmlsec1Verify(path);
  t.equal(r.status, 0, `${what}: xmlsec1 --verify accepts it`, { stderr: r.stderr.slice(-2000) });
}

/** The DOM path's output and the splice's for `input`, and which path the default took. */
async function both(input: Buffer | string, identity: SigningIdentity, options: SignOptions = {}) {
  const dom = await outcome(() => signPacketBytes(input, identity, { ...options, inPlace: false }));
  const before = signingPaths.inPlace;
  const spliced = await outcome(() => signPacketBytes(input, identity, options));
  return { dom, spliced, inPlace: signingPaths.inPlace - before === 1 };
}

const organOf = (xml: Buffer | string): string | undefined => /<edXML:From>\s*<edXML:OrganId>([^<]+)</.exec(xml.toString())?.[1];

async function differential(t: Test, name: string, input: Buffer, identity: SigningIdentity, kind: 'rsa' | 'ec', mustSplice: boolean, packetsOnly = true): Promise<void> {
  const { dom, spliced, inPlace } = await both(input, identity);
  if ('error' in dom || 'error' in spliced) {
    t.same(spliced, dom, `${name}: refused alike (${'error' in dom ? dom.error.slice(0, 60) : 'signed'})`);
    return;
  }
  if (mustSplice) t.ok(inPlace, `${name}: signed in place`);
  const out = spliced.ok.toString('utf8');
  const signature = DS_SIGNATURE.exec(out);
  t.ok(signature, `${name}: one ds:Signature`);
  if (!signature) return;
  if (inPlace && kind === 'rsa') t.equal(await signPacket(input, identity), out, `${name}: signPacket's text (made of the text read) is the UTF-8 of those bytes`);
  if (inPlace) {
    const at = Buffer.byteLength(out.slice(0, signature.index));
    const end = at + Buffer.byteLength(signature[0]);
    t.ok(Buffer.concat([spliced.ok.subarray(0, at), spliced.ok.subarray(end)]).equals(input), `${name}: the input's bytes, exactly, outside the Signature`);
  }
  // The condition under which both paths must agree: xmldom writes the unsigned input back as it was.
  const rewritten = serializeDocumentBytes(parseXml(input));
  if (inPlace && rewritten.equals(input)) {
    if (kind === 'rsa') t.ok(spliced.ok.equals(dom.ok), `${name}: byte for byte the DOM path's output`);
    else t.equal(withoutSignatureValue(out), withoutSignatureValue(dom.ok.toString('utf8')), `${name}: the DOM path's output but for the ECDSA value`);
  } else if (mustSplice) t.fail(`${name}: a lienthong-built packet xmldom does not write back as it was`);
  // Signed by the organisation in From, a sound packet is valid in every check; otherwise its signature is.
  await verifies(t, spliced.ok, packetsOnly && organOf(input) === organIdOf(identity.certificate), name);
}

t.test('packets lienthong builds are signed in place, as the DOM path signs them', async (t) => {
  t.testdir({});
  for (const [organId, kind] of [[OFFICE, 'rsa'], [ICT, 'ec']] as const) {
    const identity = await identityOf(organId);
    for (const [name, input] of BUILT) {
      await differential(t, `${kind} ${name}`, input, identity, kind, true);
    }
  }
});

t.test('fixtures: signed alike or refused alike; what is signed verifies', async (t) => {
  t.testdir({});
  const identity = await identityOf(OFFICE);
  for (const [name, input] of [...fixtures('samples'), ...fixtures('sdk-built'), ...fixtures('bad')]) {
    // Some are signable but no sound packet (a field twice, bad base64): only their signature is judged.
    await differential(t, name, input, identity, 'rsa', false, false);
  }
});

t.test('SDK-built packets: their CRLF line ends take the DOM path, the same with LF the splice; both verify', async (t) => {
  t.testdir({});
  const samples = fixtures('sdk-built');
  t.equal(samples.length, 4, 'four SDK-built packets');
  for (const [name, crlf] of samples) {
    const identity = await identityOf(organOf(crlf) as string);
    for (const [ends, input] of [['CRLF', crlf], ['LF', Buffer.from(crlf.toString('utf8').replace(/\r\n/g, '\n'))]] as const) {
      const { spliced, inPlace } = await both(input, identity);
      t.equal(inPlace, ends === 'LF', `${name} with ${ends}: ${ends === 'LF' ? 'in place' : 'the DOM path'}`);
      if ('error' in spliced) t.fail(`${name} with ${ends}: ${spliced.error}`);
      else await verifies(t, spliced.ok, true, `${name} with ${ends}`);
    }
    await differential(t, `${name} with LF`, Buffer.from(crlf.toString('utf8').replace(/\r\n/g, '\n')), identity, 'rsa', true);
  }
});

t.test('inputs outside the splice take the DOM path, and verify', async (t) => {
  t.testdir({});
  const identity = await identityOf(OFFICE);
  for (const [name, input] of OUTSIDE) {
    const before = { ...signingPaths };
    const signed = await signPacketBytes(input, identity);
    t.same([signingPaths.inPlace - before.inPlace, signingPaths.dom - before.dom], [0, 1], `${name}: the DOM path`);
    await verifies(t, signed, true, name);
  }
});

t.test('a string is signed as its UTF-8 bytes; releaseInput gives the bytes back after the splice', async (t) => {
  const identity = await identityOf(OFFICE);
  const bytes = packetOfSize(OFFICE, 300e3);
  const fromBytes = await signPacket(bytes, identity);
  const before = signingPaths.inPlace;
  t.equal(await signPacket(bytes.toString('utf8'), identity), fromBytes, 'the same text from a string');
  t.equal(signingPaths.inPlace - before, 1, 'in place');
  t.equal(await signPacket(bytes, identity, { inPlace: false }), fromBytes, 'the DOM path\'s text');
  const owned = new Uint8Array(bytes);
  const released = await signPacketBytes(owned, identity, { releaseInput: true });
  t.equal(owned.byteLength, 0, 'the input bytes are released');
  t.equal(released.toString('utf8'), fromBytes, 'after the output was made of them');
});

t.test('a packet above the default limit, the limit raised, is signed in place and given back', async (t) => {
  const identity = await identityOf(OFFICE);
  const input = packetOfSize(OFFICE, 33 * 1024 * 1024 + 1000);
  const size = input.length;
  const before = { ...signingPaths };
  const signed = await signPacketBytes(input, identity, { limits: xmlLimitsFor(40 * 1024 * 1024), releaseInput: true });
  t.same([signingPaths.inPlace - before.inPlace, signingPaths.dom - before.dom], [1, 0], 'in place');
  t.equal(input.length, 0, 'the input bytes are given back');
  t.ok(signed.length > size, 'the output is the input and the Signature');
  const v = await verifyPacket(signed, trustStore(), { limits: xmlLimitsFor(40 * 1024 * 1024) });
  t.equal(v.report.valid, true, 'it verifies', { errors: v.report.errors });
});

t.test('refusals are the DOM path\'s', async (t) => {
  const identity = await identityOf(OFFICE);
  const signed = await signPacketBytes(Buffer.from(lienthongPacket), identity);
  const cases: Array<[string, Buffer | string]> = [
    ['already signed', signed],
    ['an SDK-style <Signature>', lienthongPacket.replace('</edXML:edXMLHeader>', '<Signature xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/></edXML:edXMLHeader>')],
    ['not edXML', '<?xml version="1.0"?>\n<a/>'],
    ['no MessageHeader', lienthongPacket.replace(/<edXML:MessageHeader>[\s\S]*<\/edXML:MessageHeader>/, '')],
    ['too large', lienthongPacket],
  ];
  for (const [name, input] of cases) {
    const options = name === 'too large' ? { limits: { ...(await import('../../src/envelope/xml.js')).DEFAULT_XML_LIMITS, maxBytes: 1000 } } : {};
    const { dom, spliced } = await both(input, identity, options);
    t.ok('error' in dom, `${name}: the DOM path refuses it`);
    t.same(spliced, dom, `${name}: with the same code and message`);
  }
});
