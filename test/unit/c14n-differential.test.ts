/**
 * lienthong's canonicaliser (src/crypto/c14n.ts) against the one it replaced, xmldsigjs's
 * XmlCanonicalizer with the pre-processing lienthong did around it (test/helpers/c14n-reference.ts),
 * for the four allow-listed algorithms, on whole documents less omitted elements (the URI=""
 * Reference: the signature, appended TraceHeaders) and on subtrees (SignedInfo), over every
 * XML file of test/fixtures that parses, the signature-wrapping shapes the verifier refuses,
 * and thousands of seeded random documents. Where the fast reader (src/envelope/fast-xml.ts)
 * reads the same text, every form must come out the same from its tree.
 *
 * Where the two differ, libxml2 (xmllint, the canonicaliser inside xmlsec1) judges, and must
 * agree with lienthong. The differences found, all xmldsigjs's:
 *
 * - a namespace prefix with a character outside [A-Za-z0-9_.-] (xmlns:ư): xmldsigjs reads the
 *   declaration as the default namespace's, and writes xmlns="…" besides or instead of it;
 * - attributes whose namespace URI is a prefix of another's (urn:a, urn:ab): xmldsigjs sorts
 *   by URI and local name concatenated, so p:ư (urn:a) comes after q:b (urn:ab); c14n sorts
 *   by URI first.
 *
 * Neither writes a namespace URI holding "&" escaped, nor does libxml2: lienthong writes it as
 * they do, although c14n 1.0 (§2.3) processes a namespace node as an attribute, and the
 * random documents hold such a URI (urn:x?a=1&amp;b=2).
 *
 * Two more need a DOM no parser builds (the last test): xmldsigjs writes a carriage return in
 * a comment or processing instruction as &#xD; (c14n writes them as they are; an XML 1.0
 * parser has turned every CR there into a line feed), and it sorts names holding code points
 * above U+FFFF before U+E000–U+FFFF, in JavaScript's UTF-16 order; c14n sorts by code point
 * (UTF-8 octets).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { C14N_ALGORITHMS, DSIG_NS } from '../../src/crypto/algorithms.js';
import { canonicalizeDocument, canonicalizeSubtree, canonicalString, compareCodePoints, type C14nMethod } from '../../src/crypto/c14n.js';
import { appendedTraceHeaders } from '../../src/crypto/profile.js';
import { signPacket } from '../../src/crypto/sign.js';
import { EDXML_NS } from '../../src/envelope/types.js';
import { locateSkeleton } from '../../src/envelope/parse.js';
import { isFastDocument } from '../../src/envelope/fast-xml.js';
import { parseXml, readXml } from '../../src/envelope/xml.js';
import type { XmlDocument, XmlElement } from '../../src/envelope/xml-tree.js';
import { referenceCanonicalDocument, referenceCanonicalSubtree } from '../helpers/c14n-reference.js';
import { OFFICE, identityOf, unsignedDocument } from '../helpers/pki.js';
import { randomDocument, randomSubsetDocument, seeded } from '../helpers/random-xml.js';
import { judgeDocument, judgeSubtree, xmllintCanonical } from '../helpers/xmllint-c14n.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const METHODS: readonly C14nMethod[] = C14N_ALGORITHMS.map(({ exclusive, withComments }) => ({ exclusive, withComments }));
const JUDGE_EVERY = 300;
const label = (m: C14nMethod): string => `${m.exclusive ? 'exclusive' : 'inclusive'}${m.withComments ? ' with comments' : ''}`;

interface Case {
  what: string;
  doc: Document;
  /** Each a set of elements left out of the document, the empty set included. */
  omissions: Element[][];
  apexes: Element[];
  /** The same text read by the fast reader, when it reads it: each form must come out the same from it. */
  fast?: XmlDocument;
}

interface Difference {
  what: string;
  method: C14nMethod;
  ours: string;
  reference: string;
  judge: string;
}

/**
 * Every canonical form of `c`, ours against the reference; what differs (or, with `every`,
 * all of them), with its input for xmllint.
 */
function differences(c: Case, every = false): { compared: number; differences: Difference[]; fastMismatches: string[] } {
  const out: Difference[] = [];
  const fastMismatches: string[] = [];
  let compared = 0;
  const inFast = fastCounterpart(c);
  const sameFromFast = (what: string, ours: string, fromFast: () => string): void => {
    if (inFast && fromFast() !== ours) fastMismatches.push(what);
  };
  for (const method of METHODS) {
    for (const omitted of c.omissions) {
      const ours = canonicalString((sink) => canonicalizeDocument(c.doc, method, new Set(omitted), sink));
      const reference = referenceCanonicalDocument(c.doc, method, omitted);
      compared += 1;
      if (every || ours !== reference) {
        out.push({ what: `${c.what}, document less ${omitted.length} element(s)`, method, ours, reference, judge: judgeDocument(c.doc, omitted, method.withComments) });
      }
      sameFromFast(`${c.what}, document less ${omitted.length} element(s), ${label(method)}`, ours, () =>
        canonicalString((sink) => canonicalizeDocument(c.fast as XmlDocument, method, new Set(omitted.map((e) => (inFast as (el: Element) => XmlElement)(e))), sink)),
      );
    }
    for (const apex of c.apexes) {
      const ours = canonicalString((sink) => canonicalizeSubtree(apex, method, sink));
      const reference = referenceCanonicalSubtree(apex, method);
      compared += 1;
      if (every || ours !== reference) {
        out.push({ what: `${c.what}, subtree <${apex.nodeName}>`, method, ours, reference, judge: judgeSubtree(apex, method.exclusive, method.withComments) });
      }
      sameFromFast(`${c.what}, subtree <${apex.nodeName}>, ${label(method)}`, ours, () => canonicalString((sink) => canonicalizeSubtree(inFast?.(apex) as XmlElement, method, sink)));
    }
  }
  return { compared, differences: out, fastMismatches };
}

/** The element of the fast tree at the place of an element of the DOM, both in document order. */
function fastCounterpart(c: Case): ((el: Element) => XmlElement) | undefined {
  if (!c.fast) return undefined;
  const ordered = (root: XmlElement | null): XmlElement[] => {
    const out: XmlElement[] = [];
    const visit = (el: XmlElement): void => {
      out.push(el);
      for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) visit(n as XmlElement);
    };
    if (root) visit(root);
    return out;
  };
  const domElements = ordered(c.doc.documentElement);
  const fastElements = ordered(c.fast.documentElement);
  return (el) => fastElements[domElements.indexOf(el)] as XmlElement;
}

/** The fast reader's tree of `xml`, when it reads it rather than leave it to xmldom. */
function fastTree(xml: string | Uint8Array): XmlDocument | undefined {
  try {
    const doc = readXml(xml);
    return isFastDocument(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compare every case; each difference must be one where xmllint writes what lienthong does.
 * The first `judgeEvery` cases are judged by xmllint whether the two agree or not.
 */
function check(t: Test, dir: string, cases: readonly Case[], judgeEvery = 0): void {
  const found: Difference[] = [];
  const fastMismatches: string[] = [];
  let compared = 0;
  for (const [i, c] of cases.entries()) {
    const r = differences(c, i < judgeEvery);
    compared += r.compared;
    found.push(...r.differences);
    fastMismatches.push(...r.fastMismatches);
  }
  const fastCases = cases.filter((c) => c.fast).length;
  for (const what of fastMismatches.slice(0, 5)) t.fail(`${what}: the fast reader's tree canonicalises otherwise`);
  t.equal(fastMismatches.length, 0, `${fastCases} of ${cases.length} cases also read by the fast reader: every canonical form the same from its tree`);
  const judged = xmllintCanonical(
    dir,
    found.map((d) => ({ xml: d.judge, exclusive: d.method.exclusive })),
  );
  const wrong = found.filter((d, i) => judged[i] !== d.ours);
  for (const d of wrong.slice(0, 5)) {
    t.fail(`${d.what}, ${label(d.method)}: lienthong and xmllint differ`, { ours: d.ours, xmllint: judged[found.indexOf(d)], xmldsigjs: d.reference });
  }
  const disagreements = found.filter((d) => d.ours !== d.reference).length;
  t.equal(wrong.length, 0, `${compared} canonical forms, ${found.length} judged by xmllint: ${compared - disagreements} as xmldsigjs writes them, ${disagreements} as xmllint does where xmldsigjs is wrong`);
}

function dsig(doc: Document, localName: string): Element[] {
  return Array.from(doc.getElementsByTagNameNS(DSIG_NS, localName));
}

function tryParse(xml: string | Uint8Array): Document | undefined {
  try {
    return parseXml(xml);
  } catch {
    return undefined;
  }
}

/** The document less its signatures, and less them and the TraceHeaders after the first. */
function profileCase(what: string, doc: Document): Case {
  const signatures = dsig(doc, 'Signature');
  const traces = Array.from(doc.getElementsByTagNameNS(EDXML_NS, 'TraceHeader')).slice(1);
  const omissions = [[], signatures];
  if (traces.length > 0) omissions.push([...signatures, ...traces]);
  const root = doc.documentElement as Element;
  const firstChild = Array.from(root.childNodes).find((n) => n.nodeType === 1) as Element | undefined;
  return { what, doc, omissions, apexes: [...dsig(doc, 'SignedInfo'), ...(firstChild ? [firstChild] : [])] };
}

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return xmlFiles(path);
    return /\.(xml|edxml)$/.test(name) ? [path] : [];
  });
}

t.test('every XML file of test/fixtures that parses', async (t) => {
  const cases: Case[] = [];
  for (const path of xmlFiles(FIXTURES)) {
    const bytes = readFileSync(path);
    const doc = tryParse(bytes);
    if (doc) cases.push({ ...profileCase(path.slice(FIXTURES.length), doc), fast: fastTree(bytes) });
  }
  t.ok(cases.length >= 15, `${cases.length} files parse`);
  check(t, t.testdir(), cases, JUDGE_EVERY);
});

/** What a verifier leaves out besides the signature, when the shape is still an edXML packet. */
function hopsOf(doc: Document): Element[] {
  try {
    return appendedTraceHeaders(locateSkeleton(doc), OFFICE);
  } catch {
    return [];
  }
}

t.test('signed packets and the signature-wrapping shapes the verifier refuses', async (t) => {
  const unsigned = unsignedDocument(OFFICE);
  const signed = await signPacket(unsigned, await identityOf(OFFICE));
  const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)?.[0] ?? '';
  const header = /<edXML:MessageHeader>[\s\S]*?<\/edXML:MessageHeader>/.exec(signed)?.[0] ?? '';
  t.ok(signature && header, 'the signature and the MessageHeader were found');
  const hop = '<edXML:TraceHeader><edXML:OrganId>000.00.90.H12</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>';
  const shapes: Array<[string, string]> = [
    ['signed by lienthong', signed],
    ['a second ds:Signature in the body', signed.replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${signature}`)],
    ['the signature moved into the body', signed.replace(signature, '').replace('<edXML:edXMLBody>', `<edXML:edXMLBody>${signature}`)],
    ['a ds:Object in the signature', signed.replace('</ds:Signature>', `<ds:Object Id="o">${header}</ds:Object></ds:Signature>`)],
    ['an unsigned copy of the MessageHeader', signed.replace(header, header.replace('V/v', 'V/v tạm dừng') + header)],
    ['the signed MessageHeader in a foreign wrapper', signed.replace(header, `${header.replace('V/v', 'V/v tạm dừng')}<w:Wrapper xmlns:w="urn:attacker">${header}</w:Wrapper>`)],
    ['an unprefixed wrapper undeclaring the default namespace', signed.replace(header, `<Wrapper xmlns=""><x xmlns="urn:attacker">${header}</x></Wrapper>`)],
    ['TraceHeaders appended by relaying hubs', signed.replace('</edXML:TraceHeaderList>', `${hop}${hop.replace('90', '91')}</edXML:TraceHeaderList>`)],
    ['comments, instructions and xml:lang added', signed.replace('<edXML:Subject>', '<!-- thêm --><?pi x?><edXML:Subject xml:lang="vi">').replace('<edXML:edXMLEnvelope', '<?before?><!--c--><edXML:edXMLEnvelope') + '<?after?><!--end-->'],
    ['xml:lang on the envelope, inherited by SignedInfo', signed.replace(/<edXML:edXMLEnvelope([^>]*)>/, '<edXML:edXMLEnvelope$1 xml:lang="vi" xml:space="preserve">')],
    ['SignedInfo with a comment and redeclared namespaces', signed.replace('<ds:SignedInfo>', `<ds:SignedInfo xmlns:ds="${DSIG_NS}" xmlns:edXML="${EDXML_NS}"><!--ký-->`)],
  ];
  const cases: Case[] = [];
  for (const [what, xml] of shapes) {
    const doc = parseXml(xml);
    const c: Case = { ...profileCase(what, doc), fast: fastTree(xml) };
    // The TraceHeaders the verifier really leaves out: those after the sender's own.
    const hops = hopsOf(doc);
    if (hops.length > 0) c.omissions.push([...dsig(doc, 'Signature'), ...hops]);
    cases.push(c);
  }
  t.equal(cases.length, shapes.length);
  check(t, t.testdir(), cases, JUDGE_EVERY);
});

t.test('3000 seeded random documents, less random elements, and random subtrees; the first 300 judged by xmllint throughout', async (t) => {
  const random = seeded(20_261_202);
  const cases: Case[] = [];
  for (let i = 0; i < 3000; i++) {
    const doc = parseXml(randomDocument(random));
    const elements = Array.from(doc.getElementsByTagName('*'));
    const pick = (): Element => elements[Math.floor(random() * elements.length)] as Element;
    const inner = elements.slice(1);
    const omissions: Element[][] = [[]];
    if (inner.length > 0) omissions.push([inner[Math.floor(random() * inner.length)] as Element]);
    cases.push({ what: `random document ${i}`, doc, omissions, apexes: [pick(), pick()] });
  }
  check(t, t.testdir(), cases, JUDGE_EVERY);
});

t.test('1000 seeded documents in the fast reader\'s subset, read by it too; the first 100 judged by xmllint throughout', async (t) => {
  const random = seeded(20_261_204);
  const cases: Case[] = [];
  for (let i = 0; i < 1000; i++) {
    const xml = randomSubsetDocument(random, 0);
    const doc = parseXml(xml);
    const elements = Array.from(doc.getElementsByTagName('*'));
    const inner = elements.slice(1);
    const omissions: Element[][] = [[]];
    if (inner.length > 0) omissions.push([inner[Math.floor(random() * inner.length)] as Element]);
    cases.push({ what: `subset document ${i}`, doc, omissions, apexes: elements, fast: fastTree(xml) });
  }
  t.ok(cases.filter((c) => c.fast).length > 900, 'the fast reader reads nearly all of them');
  check(t, t.testdir(), cases, 100);
});

t.test('what no parser builds: CR in comments and instructions, astral names sorted by code point', async (t) => {
  const doc = parseXml('<r xmlns:a="urn:a" a:\ufdf0="1" a:\u{1d49c}="2"><!--x--><?p y?></r>');
  const root = doc.documentElement as Element;
  (root.firstChild as Comment).data = 'a\rb';
  (root.lastChild as ProcessingInstruction).data = 'c\rd';
  const method = { exclusive: false, withComments: true };
  const ours = canonicalString((sink) => canonicalizeSubtree(root, method, sink));
  t.equal(ours, '<r xmlns:a="urn:a" a:\ufdf0="1" a:\u{1d49c}="2"><!--a\rb--><?p c\rd?></r>', 'c14n writes comments and instructions as they are; U+FDF0 sorts before U+1D49C');
  t.equal(referenceCanonicalSubtree(root, method), '<r xmlns:a="urn:a" a:\u{1d49c}="2" a:\ufdf0="1"><!--a&#xD;b--><?p c&#xD;d?></r>', 'xmldsigjs differs in both');
  t.equal(compareCodePoints('\uffff', '\u{10000}') < 0, true);
  t.equal(compareCodePoints('\u{10000}', '\ud7ff') > 0, true);
  t.equal(compareCodePoints('ab', 'a') > 0, true);
});
