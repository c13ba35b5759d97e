/**
 * serializeDocument writes large plain text nodes (attachments' base64) as marks and splices
 * the text back into what the serializer wrote: the signed bytes must be exactly the
 * serializer's, so the result is compared with plain serialization on random documents, and
 * what signPacket writes that way is checked by xmlsec1, the independent verifier.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { buildPacket, parseXml, serializeXml } from '../../src/envelope/index.js';
import { serializeDocument, serializeDocumentBytes } from '../../src/envelope/xml.js';
import { ICT, OFFICE, documentFrom, identityOf, trustStore, xmlsec1Verify } from '../helpers/pki.js';

/** The serialization before the splice: every node through xmldom's serializer. */
function serializedWhole(doc: Document): string {
  let text = '<?xml version="1.0" encoding="UTF-8"?>';
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3) continue;
    if (n.nodeType === 7 && n.nodeName === 'xml') continue;
    text += `\n${serializeXml(n)}`;
  }
  return `${text}\n`;
}

/** Deterministic bytes, so that a failing case can be run again. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 0x1_0000_0000;
  };
}

const SPECIALS = ['&', '<', '>', '\r', '\r\n', ']]>', '"', 'Việt', '\u{1F600}'];

function randomPacket(next: () => number): string {
  const sizeOf = (): number => [0, 100, 48 * 1024, 64 * 1024 - 1, 64 * 1024, 200 * 1024][Math.floor(next() * 6)] as number;
  const attachments = Array.from({ length: 1 + Math.floor(next() * 3) }, (_, i) => {
    const content = new Uint8Array(sizeOf());
    for (let k = 0; k < content.length; k++) content[k] = Math.floor(next() * 256);
    return { name: `a${i}.pdf`, content };
  });
  // A long text field, plain or with one character the serializer or its CR pass changes.
  const filler = 'x'.repeat(70 * 1024);
  const content = next() < 0.5 ? filler : `${filler}${SPECIALS[Math.floor(next() * SPECIALS.length)] as string}${filler}`;
  let xml = buildPacket(documentFrom(OFFICE, { attachments, content }));
  if (next() < 0.3) xml = xml.replace(/\?>\s*/, '?>\n<?render mode="print"?>\n<!-- before -->\n');
  if (next() < 0.3) xml = `${xml}<!-- after -->\n<?end?>\n`;
  return xml;
}

t.test('the spliced serialization is the serializer\'s, and the document is left as it was', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const doc = parseXml(randomPacket(random(seed)));
    const before = serializedWhole(doc);
    const spliced = serializeDocument(doc);
    t.ok(spliced === before, `seed ${seed}: same text (${spliced.length} and ${before.length} characters)`);
    t.ok(serializeDocumentBytes(doc).equals(Buffer.from(before, 'utf8')), `seed ${seed}: written as bytes, the UTF-8 of that text`);
    t.ok(serializedWhole(doc) === before, `seed ${seed}: the document is unchanged`);
  }
});

t.test('text nodes built by code, adjacent ones among them, are spliced each in its place', async (t) => {
  const doc = parseXml(buildPacket(documentFrom(OFFICE, { content: 'y'.repeat(100 * 1024) })));
  const before = serializedWhole(doc);
  t.ok(serializeDocument(doc) === before);
  const root = doc.documentElement as Element;
  root.appendChild(doc.createTextNode('z'.repeat(80 * 1024)));
  root.appendChild(doc.createTextNode('z'.repeat(80 * 1024)));
  t.ok(serializeDocument(doc) === serializedWhole(doc), 'two adjacent plain text nodes');
  t.ok(serializeDocumentBytes(doc).equals(Buffer.from(serializedWhole(doc), 'utf8')), 'and as bytes');
  // A pair split between two text nodes: piece by piece, each half would become U+FFFD.
  root.appendChild(doc.createTextNode(`${'z'.repeat(80 * 1024)}\uD83D`));
  root.appendChild(doc.createTextNode(`\uDE00${'z'.repeat(80 * 1024)}`));
  t.ok(serializeDocumentBytes(doc).equals(Buffer.from(serializedWhole(doc), 'utf8')), 'a surrogate pair across two text nodes is one character');
});

t.test('a packet with large attachments signed through the splice verifies in xmlsec1 and in lienthong', async (t) => {
  const dir = t.testdir();
  const store = trustStore();
  for (const organId of [OFFICE, ICT]) {
    const next = random(organId.length * 7919);
    const attachments = [300 * 1024, 70 * 1024].map((size, i) => {
      const content = new Uint8Array(size);
      for (let k = 0; k < size; k++) content[k] = Math.floor(next() * 256);
      return { name: `scan-${i}.pdf`, content };
    });
    const signed = await signPacket(buildPacket(documentFrom(organId, { attachments })), await identityOf(organId));
    t.ok(signed === serializedWhole(parseXml(signed)), `${organId}: the signed text is what the serializer writes of it`);
    const file = join(dir, `${organId}.xml`);
    writeFileSync(file, signed);
    const r = xmlsec1Verify(file);
    t.equal(r.status, 0, `${organId}: xmlsec1 --verify exits 0`, { stderr: r.stderr });
    t.match(`${r.stdout}${r.stderr}`, /^OK$/m, `${organId}: xmlsec1 says OK`);
    const v = await verifyPacket(signed, store);
    t.same(v.report.errors, [], `${organId}: valid in lienthong`);
  }
});
