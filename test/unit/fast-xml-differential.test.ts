/**
 * The fast reader (src/envelope/fast-xml.ts) against xmldom, the parser it stands in for when
 * a document is only read. On every input: when readXml returns a fast tree, xmldom accepts the
 * same text (parseXml); both trees are the same in every property of xml-tree.ts, node by node;
 * every canonical form (inclusive and exclusive, with and without comments, of the whole
 * document, less its signature, and of each element's subtree) is the same from either; an
 * edXML packet reads the same from either; and when readXml refuses an input, parseXml refuses
 * it with the same code and message. Then verification itself: a report read through the fast
 * tree is the one read through xmldom's, and xmldsigjs verifies what the fast path verifies.
 *
 * The inputs: every XML file of test/fixtures, the signature-wrapping shapes, packets signed
 * here with certs-dev/, and thousands of seeded random documents in and around the subset and
 * mutations of real packets (test/helpers/random-xml.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { C14N_ALGORITHMS, DSIG_NS } from '../../src/crypto/algorithms.js';
import { canonicalizeDocument, canonicalizeSubtree, canonicalString, type C14nMethod } from '../../src/crypto/c14n.js';
import { elementsNamedSignature } from '../../src/crypto/profile.js';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { isFastDocument } from '../../src/envelope/fast-xml.js';
import { packetFromDocument } from '../../src/envelope/parse.js';
import { buildPacket } from '../../src/envelope/build.js';
import { parseXml, readXml } from '../../src/envelope/xml.js';
import { ELEMENT_NODE, type XmlAttr, type XmlCharacterData, type XmlDocument, type XmlElement, type XmlNode } from '../../src/envelope/xml-tree.js';
import { LtError } from '../../src/errors.js';
import { ICT, OFFICE, identityOf, statusFrom, trustStore, unsignedDocument } from '../helpers/pki.js';
import { mutateXml, randomDocument, randomSubsetDocument, seeded } from '../helpers/random-xml.js';
import { xmldsigjsVerifies } from '../helpers/xmldsigjs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const METHODS: readonly C14nMethod[] = C14N_ALGORITHMS.map(({ exclusive, withComments }) => ({ exclusive, withComments }));

/** Every property of xml-tree.ts, node by node in document order, parents checked. */
function describe(doc: XmlDocument): string {
  const lines: string[] = [];
  const visit = (node: XmlNode, parent: XmlNode | null, depth: number): void => {
    const line: unknown[] = [depth, node.nodeType, node.nodeName, node.parentNode === parent];
    if (node.nodeType === ELEMENT_NODE) {
      const el = node as XmlElement;
      line.push(el.tagName, el.localName, el.prefix, el.namespaceURI, el.textContent, el.attributes.length);
      line.push(el.getAttribute('nope'), el.hasAttribute('nope'), el.hasAttributeNS(null, 'nope'), el.hasAttributeNS('urn:a', 'a'));
      for (let i = 0; i < el.attributes.length; i++) {
        const a = el.attributes[i] as XmlAttr;
        line.push([a.name, a.prefix, a.localName, a.namespaceURI, a.value, el.getAttribute(a.name), el.hasAttribute(a.name), el.hasAttributeNS(a.namespaceURI, a.localName)]);
      }
    } else if (node.nodeType !== 9) {
      line.push((node as XmlCharacterData).data);
    }
    lines.push(JSON.stringify(line));
    for (let c = node.firstChild; c; c = c.nextSibling) visit(c, node, depth + 1);
  };
  visit(doc, null, 0);
  lines.push(JSON.stringify(['documentElement', doc.documentElement?.nodeName, doc.documentElement?.parentNode === doc]));
  return lines.join('\n');
}


function elementsOf(doc: XmlDocument): XmlElement[] {
  const out: XmlElement[] = [];
  const visit = (node: XmlNode): void => {
    for (let c = node.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== ELEMENT_NODE) continue;
      out.push(c as XmlElement);
      visit(c);
    }
  };
  visit(doc);
  return out;
}

/** Every canonical form the differential compares, in a fixed order. */
function canonicalForms(doc: XmlDocument): string[] {
  const forms: string[] = [];
  const signatures = elementsNamedSignature(doc).filter((e) => e.namespaceURI === DSIG_NS);
  for (const method of METHODS) {
    forms.push(canonicalString((sink) => canonicalizeDocument(doc, method, new Set(), sink)));
    if (signatures.length > 0) forms.push(canonicalString((sink) => canonicalizeDocument(doc, method, new Set(signatures), sink)));
    for (const el of elementsOf(doc)) forms.push(canonicalString((sink) => canonicalizeSubtree(el, method, sink)));
  }
  return forms;
}

/** A packet as comparable text: attachment bytes as base64. */
function packetOf(doc: XmlDocument): string {
  try {
    return JSON.stringify(packetFromDocument(doc), (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value));
  } catch (error) {
    return error instanceof LtError ? `${error.code}: ${error.message}` : `thrown: ${String(error)}`;
  }
}

function outcome(run: () => XmlDocument): { doc?: XmlDocument; refusal?: string } {
  try {
    return { doc: run() };
  } catch (error) {
    if (!(error instanceof LtError)) throw error;
    return { refusal: `${error.code}: ${error.message}` };
  }
}

interface Tally {
  cases: number;
  fast: number;
  fallback: number;
  refused: number;
  canonicalForms: number;
  failures: Array<{ what: string; why: string; input: string }>;
}

const newTally = (): Tally => ({ cases: 0, fast: 0, fallback: 0, refused: 0, canonicalForms: 0, failures: [] });

/** One input through both readers; what differs goes to `tally.failures`. */
function compare(tally: Tally, what: string, input: string | Buffer): void {
  tally.cases += 1;
  const fail = (why: string): void => {
    tally.failures.push({ what, why, input: typeof input === 'string' ? input.slice(0, 2000) : input.toString('utf8', 0, 2000) });
  };
  const fast = outcome(() => readXml(input));
  const dom = outcome(() => parseXml(input));
  if (fast.refusal !== undefined || dom.refusal !== undefined) {
    tally.refused += 1;
    if (fast.refusal !== dom.refusal) fail(`refusals differ: readXml ${fast.refusal ?? 'accepts'}, parseXml ${dom.refusal ?? 'accepts'}`);
    return;
  }
  const ours = fast.doc as XmlDocument;
  const theirs = dom.doc as XmlDocument;
  if (!isFastDocument(ours)) {
    tally.fallback += 1;
    return;
  }
  tally.fast += 1;
  const a = describe(ours);
  const b = describe(theirs);
  if (a !== b) {
    const lines = [a.split('\n'), b.split('\n')];
    const i = (lines[0] as string[]).findIndex((line, k) => line !== lines[1]?.[k]);
    fail(`trees differ at node ${i}: fast ${lines[0]?.[i]}, xmldom ${lines[1]?.[i]}`);
    return;
  }
  const formsA = canonicalForms(ours);
  const formsB = canonicalForms(theirs);
  tally.canonicalForms += formsA.length;
  const k = formsA.findIndex((form, i) => form !== formsB[i]);
  if (k !== -1 || formsA.length !== formsB.length) fail(`canonical form ${k} differs: fast ${JSON.stringify(formsA[k])}, xmldom ${JSON.stringify(formsB[k])}`);
  if (theirs.documentElement?.localName === 'edXML') {
    const pa = packetOf(ours);
    const pb = packetOf(theirs);
    if (pa !== pb) fail(`packets differ: fast ${pa.slice(0, 300)}, xmldom ${pb.slice(0, 300)}`);
  }
}

/** Printable ASCII only: a CR, U+0085 or U+2028 in a message would break the TAP stream, and the failure with it. */
const show = (s: string): string => s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function report(t: Test, tally: Tally, minimumFast: number): void {
  for (const f of tally.failures.slice(0, 5)) t.fail(show(`${f.what}: ${f.why}`), { input: show(f.input) });
  t.equal(
    tally.failures.length,
    0,
    `${tally.cases} inputs: ${tally.fast} read by the fast reader (${tally.canonicalForms} canonical forms compared), ${tally.fallback} left to xmldom, ${tally.refused} refused by both`,
  );
  t.ok(tally.fast >= minimumFast, `at least ${minimumFast} inputs take the fast path (${tally.fast})`);
}

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return xmlFiles(path);
    return /\.(xml|edxml)$/.test(name) ? [path] : [];
  });
}

const NOW = new Date();
let signedPackets: Promise<Array<[string, string]>> | undefined;

/** Packets signed here: RSA and P-256, a document and a status. */
function signed(): Promise<Array<[string, string]>> {
  signedPackets ??= (async () => {
    const office = await identityOf(OFFICE);
    const ict = await identityOf(ICT);
    return [
      ['a document signed with RSA', await signPacket(unsignedDocument(OFFICE), office)],
      ['a document signed with P-256', await signPacket(unsignedDocument(ICT), ict)],
      ['a status signed with RSA', await signPacket(buildPacket(statusFrom(OFFICE, NOW)), office)],
      ['a document with Vietnamese text and references', await signPacket(unsignedDocument(OFFICE, { subject: 'V/v "báo cáo" & <tổng hợp> \'quý\' 😀', content: 'Dòng 1\r\nDòng 2\tcột' }), office)],
    ];
  })();
  return signedPackets;
}

const SPREAD_ATTRIBUTES = Array.from({ length: 33 }, (_, i) => ` a${i}="${i}"`).join('');

/** What the reader takes, and what it leaves to xmldom although xmldom may take it. */
const EDGES: Array<[string, 'fast' | 'xmldom' | 'refused']> = [
  ['<a/>', 'fast'],
  ['<?xml version="1.0"?><a/>', 'fast'],
  ["<?xml version='1.0' encoding='utf-8' standalone='no'?>\r\n<a/>\n", 'fast'],
  ['<?xml\n version = "1.0"\n?>\n<a/>', 'fast'],
  [' \n<a></a \n>\r\n', 'fast'],
  ['<a b = "1"\n\tc=\'&quot;&apos;"\'/>', 'fast'],
  ['<a b="x\ty\r\nz&#9;&#10;&#13;">x\r\ny\rz&#13;&#x1F600;&lt;&gt;&amp;]]</a>', 'fast'],
  ['<p:a xmlns:p="urn:p" xmlns="urn:d" p:b="1" b="2" xml:lang="vi"><c xmlns=""><p:d/></c></p:a>', 'fast'],
  ['<a xmlns:p="u" xmlns:q="v" p:b="1" q:b="2"/>', 'fast'],
  ['<a xmlns:a="u"><a:xmlns/><xml/></a>', 'fast'],
  ['<a b="&#60;&#x3C;&#38;&#x9;&#32;&#0000065;">&#60;&#38;&#x3e;&#x10FFFF;</a>', 'fast'],
  ['<a xmlns="urn:d"><b xmlns="urn:e"><c xmlns=""/></b><d/></a>', 'fast'],
  ['<a>\u0085\u2028\ud800</a>', 'fast'],
  ['<a>]]></a>', 'xmldom'],
  ['<a xmlns:p=""/>', 'xmldom'],
  ['<a xmlns:p="u" xmlns:q="u" p:b="1" q:b="2"/>', 'xmldom'],
  ['<a b="1"c="2"/>', 'xmldom'],
  ['<a b=1/>', 'xmldom'],
  ['<a/ >', 'xmldom'],
  ['<!--c--><a/>', 'xmldom'],
  ['<a><!--c--></a>', 'xmldom'],
  ['<a><![CDATA[x]]></a>', 'xmldom'],
  ['<?pi?><a/>', 'xmldom'],
  ['<a><?pi x?></a>', 'xmldom'],
  ['<a/><!--c-->', 'xmldom'],
  ['<xml:a/>', 'xmldom'],
  ['<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>', 'xmldom'],
  ['<a xmlns="http://www.w3.org/2000/xmlns/"/>', 'refused'],
  ['<a xmlns:p="u" p:xmlns="1"/>', 'xmldom'],
  ['<Ư/>', 'xmldom'],
  ['<a>é<b\u00e9/></a>', 'xmldom'],
  ['<?xml version="1.1"?><a/>', 'xmldom'],
  [`<a${SPREAD_ATTRIBUTES}/>`, 'xmldom'],
  ['<a undeclared:b="1"/>', 'refused'],
  ['<u:a/>', 'refused'],
  ['<xmlns/>', 'refused'],
  ['<a b="1" b="2"/>', 'refused'],
  ['<a></b>', 'refused'],
  ['<a/><b/>', 'refused'],
  ['<a/>x', 'refused'],
  ['<a x="<"/>', 'refused'],
  ['<a>', 'refused'],
  [' <?xml version="1.0"?><a/>', 'refused'],
];

t.test('hand-written edges: what is read, what is left to xmldom, what both refuse', async (t) => {
  const tally = newTally();
  for (const [xml, expected] of EDGES) {
    compare(tally, show(xml), xml);
    let got: string;
    try {
      got = isFastDocument(readXml(xml)) ? 'fast' : 'xmldom';
    } catch {
      got = 'refused';
    }
    t.equal(got, expected, show(xml));
  }
  report(t, tally, 9);
});

t.test('every XML file of test/fixtures, as bytes and as text', async (t) => {
  const tally = newTally();
  for (const path of xmlFiles(FIXTURES)) {
    const bytes = readFileSync(path);
    compare(tally, path.slice(FIXTURES.length), bytes);
    compare(tally, `${path.slice(FIXTURES.length)} as text`, bytes.toString('utf8'));
  }
  report(t, tally, 30);
});

t.test('signed packets and the signature-wrapping shapes', async (t) => {
  const tally = newTally();
  for (const [what, xml] of await signed()) {
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(xml)?.[0] ?? '';
    const shapes: Array<[string, string]> = [
      ['as signed', xml],
      ['a second ds:Signature in the body', xml.replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${signature}`)],
      ['the signature moved into the body', xml.replace(signature, '').replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${signature}`)],
      ['SignedInfo redeclaring its namespaces', xml.replace('<ds:SignedInfo>', `<ds:SignedInfo xmlns:ds="${DSIG_NS}" xmlns="urn:x">`)],
      ['xml:lang on the envelope', xml.replace(/<edXML:edXMLEnvelope([^>]*)>/, '<edXML:edXMLEnvelope$1 xml:lang="vi" xml:space="preserve">')],
      ['CR LF line ends', xml.replace(/\n/g, '\r\n')],
      ['an unprefixed wrapper undeclaring the default namespace', xml.replace('<edXML:Subject>', '<Wrapper xmlns=""><x xmlns="urn:attacker"/></Wrapper><edXML:Subject>')],
    ];
    for (const [shape, text] of shapes) {
      compare(tally, `${what}, ${shape}`, text);
      compare(tally, `${what}, ${shape}, as bytes`, Buffer.from(text));
    }
  }
  report(t, tally, 50);
});

t.test('4000 seeded random documents in and around the subset', async (t) => {
  const random = seeded(20_261_203);
  const tally = newTally();
  for (let i = 0; i < 4000; i++) compare(tally, `random document ${i}`, randomSubsetDocument(random, i < 2000 ? 0.01 : 0.05));
  report(t, tally, 1500);
});

t.test('1000 of the canonicalisation tests\' random documents (non-ASCII names, comments, CDATA: mostly left to xmldom)', async (t) => {
  const random = seeded(20_261_202);
  const tally = newTally();
  for (let i = 0; i < 1000; i++) compare(tally, `c14n random document ${i}`, randomDocument(random));
  report(t, tally, 0);
});

t.test('3000 seeded mutations of real packets: cut short, tags swapped, "<", "&", "]]>", attributes twice, prefixes undeclared', async (t) => {
  const random = seeded(15);
  const tally = newTally();
  const sources = [...(await signed()).map(([, xml]) => xml), ...xmlFiles(join(FIXTURES, 'samples')).map((p) => readFileSync(p, 'utf8'))];
  for (let i = 0; i < 3000; i++) {
    let xml = sources[i % sources.length] as string;
    for (let k = 1 + Math.floor(random() * 2); k > 0; k--) xml = mutateXml(xml, random);
    compare(tally, `mutation ${i}`, i % 2 === 0 ? xml : Buffer.from(xml));
  }
  report(t, tally, 600);
});

t.test('large texts set aside by admission are put back by the fast reader too', async (t) => {
  const tally = newTally();
  const big = 'QUJD'.repeat(20 * 1024);
  const inputs = [
    `<r><a>${big}</a><b>${big}x</b></r>`,
    `<r><a>${big}</a><b>ư</b></r>`,
    `<r>\r\n<a>${big}</a></r>`,
    `<r><a>${big}]]>${big}</a></r>`,
    `<r><a>${big}</a></r><x/>`,
  ];
  for (const [i, xml] of inputs.entries()) {
    compare(tally, `large text ${i}`, xml);
    compare(tally, `large text ${i} as bytes`, Buffer.from(xml));
  }
  report(t, tally, 4);
  const doc = readXml(Buffer.from(inputs[1] as string));
  t.ok(isFastDocument(doc));
  t.equal(doc.documentElement?.textContent, `${big}ư`);
});

t.test('verification reads the same through either tree, and xmldsigjs agrees with the fast path', async (t) => {
  const store = trustStore();
  const random = seeded(1503);
  let compared = 0;
  let fast = 0;
  for (const [what, xml] of await signed()) {
    const v = await verifyPacket(xml, store, { now: NOW });
    t.equal(v.report.valid, true, `${what}: valid`, { errors: v.report.errors });
    t.ok(v.document && isFastDocument(v.document), `${what}: read by the fast reader`);
    t.equal(await xmldsigjsVerifies(xml), true, `${what}: xmldsigjs verifies it too`);
    const changed = xml.replace(/(<edXML:OrganId>)([^<])/, '$1X$2');
    t.not(changed, xml);
    t.equal((await verifyPacket(changed, store, { now: NOW })).report.checks.digest, 'failed', `${what}: a changed organ id fails the digest`);
    t.equal(await xmldsigjsVerifies(changed).catch(() => false), false, `${what}: in xmldsigjs too (it throws on a digest mismatch)`);
    const variants = [xml, changed, xml.replace(/\n/g, '\r\n'), Buffer.from(xml)];
    for (let i = 0; i < 60; i++) variants.push(mutateXml(xml, random));
    for (const input of variants) {
      const a = await verifyPacket(input, store, { now: NOW });
      const b = await verifyPacket(input, store, { now: NOW, fastXml: false });
      compared += 1;
      if (a.document && isFastDocument(a.document)) fast += 1;
      t.same(a.report, b.report, `${what}: the same report`);
      t.same(a.packet, b.packet, `${what}: the same packet`);
    }
  }
  t.ok(fast > compared / 3, `${compared} verifications compared, ${fast} through the fast reader`);
});

t.test('readXml with fast: false is xmldom', async (t) => {
  const xml = (await signed())[0]?.[1] as string;
  t.equal(isFastDocument(readXml(xml)), true);
  t.equal(isFastDocument(readXml(xml, undefined, { fast: false })), false);
});
