/**
 * parseXml sets large ASCII text segments of byte input aside from the DOM parser and puts
 * them back into their text nodes (src/envelope/hoist.ts), and so does it for string input. Both
 * are compared with xmldom parsing the whole text and the character check reading all of it: on
 * every variant below, the same DOM or the same refusal, message and offset included.
 */
import { DOMParser } from '@xmldom/xmldom';
import t from 'tap';
import { LtError } from '../../src/errors.js';
import { restoreTexts, type HoistedText } from '../../src/envelope/hoist.js';
import { parseXml, serializeXml } from '../../src/envelope/xml.js';

const BIG = 'QUJD'.repeat(20 * 1024); // 80 KiB of base64, above the threshold
const SMALL = 'QUJD'.repeat(1024);

type Outcome = { ok: true; xml: string; texts: string[] } | { ok: false; code: string; message: string };

function outcome(input: Buffer | string): Outcome {
  try {
    const doc = parseXml(input);
    const texts: string[] = [];
    const all = doc.getElementsByTagName('*');
    for (let i = 0; i < all.length; i++) {
      for (let n = (all[i] as Element).firstChild; n; n = n.nextSibling) if (n.nodeType === 3) texts.push((n as Text).data);
    }
    return { ok: true, xml: serializeXml(doc), texts };
  } catch (error) {
    if (!(error instanceof LtError)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

// eslint-disable-next-line no-control-regex
const ILLEGAL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** The whole text's outcome, where the pre-scan lets it through: the character check, then xmldom. */
function whole(xml: string): Outcome {
  const illegal = ILLEGAL.exec(xml);
  if (illegal) {
    const code = illegal[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, code: 'XML_MALFORMED', message: `XML input contains the character U+${code} at offset ${illegal.index}, which XML does not allow` };
  }
  const problems: string[] = [];
  const parser = new DOMParser({
    normalizeLineEndings: (source: string) => source.replace(/\r\n?/g, '\n'),
    onError: (level: string, message: string) => {
      if (level !== 'warning') problems.push(message.split('\n')[0] ?? message);
    },
  });
  let parsed: Document;
  try {
    parsed = parser.parseFromString(xml, 'text/xml') as unknown as Document;
  } catch (error) {
    return { ok: false, code: 'XML_MALFORMED', message: `XML input is not well-formed: ${(error as Error).message.split('\n')[0] ?? ''}` };
  }
  if (problems.length > 0 || !parsed.documentElement) {
    return { ok: false, code: 'XML_MALFORMED', message: `XML input is not well-formed: ${problems[0] ?? 'no root element'}` };
  }
  const texts: string[] = [];
  const all = parsed.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) {
    for (let n = (all[i] as Element).firstChild; n; n = n.nextSibling) if (n.nodeType === 3) texts.push((n as Text).data);
  }
  return { ok: true, xml: serializeXml(parsed), texts };
}

const doc = (body: string, after = ''): string => `<?xml version="1.0" encoding="UTF-8"?>\n<r xmlns="urn:x"><n>Cơ quan</n>${body}</r>${after}\n`;

const VARIANTS: Record<string, string> = {
  'one large segment': doc(`<a>${BIG}</a>`),
  'several, with small ones between': doc(`<a>${BIG}</a><b>${SMALL}</b><c>${BIG}x</c><d>${BIG}</d>`),
  'adjacent to a CDATA section and a comment': doc(`<a>${BIG}<![CDATA[x]]>${BIG}<!-- c -->${BIG}</a>`),
  'a large segment with an entity': doc(`<a>${BIG}&amp;${BIG}</a>`),
  'a large segment with a CR': doc(`<a>${BIG}\r\n${BIG}</a>`),
  'a large segment with a Vietnamese letter': doc(`<a>${BIG}ệ${BIG}</a>`),
  'a large segment with "]]>" and ">"': doc(`<a>${BIG}]]>${BIG}></a>`),
  'a large whitespace segment': doc(`<a>${' '.repeat(70 * 1024)}</a>`),
  'an illegal character inside a large segment': doc(`<a>${BIG}\u0001${BIG}</a>`),
  'an illegal character after large segments': doc(`<a>${BIG}</a><b>Việt\u0002</b>`),
  'an illegal character before a large segment': doc(`<b>\u0003</b><a>${BIG}</a>`),
  'large text outside the root': doc(`<a>${SMALL}</a>`, BIG),
  'an unclosed element around large text': `<r><a>${BIG}</r>`,
  'a mismatched end tag after large text': `<r><a>${BIG}</b></r>`,
  'an end tag too many, then large text': `<r></r></x><y>${BIG}</y>`,
  'a large attribute-like segment in a malformed start tag': `<r>< a>${BIG}</a></r>`,
  'large text in a nested element in a namespace': doc(`<p:a xmlns:p="urn:p"><p:b>${BIG}</p:b></p:a>`),
};

// The control-character check reads four bytes at a time: every alignment, at both ends.
for (let shift = 0; shift < 4; shift++) {
  VARIANTS[`a control character ${shift} bytes into a large segment`] = doc(`<a>${'Q'.repeat(shift)}\u001f${BIG}</a>`);
  VARIANTS[`a control character ${shift} bytes before the end of a large segment`] = doc(`<a>${BIG}\u0008${'Q'.repeat(shift)}</a>`);
  VARIANTS[`tab, LF and a control character at shift ${shift}`] = doc(`<a>${'\t\n'.repeat(shift)}${BIG}\t\n\u000b${BIG}</a>`);
}

for (const [name, xml] of Object.entries(VARIANTS)) {
  t.test(name, async (t) => {
    const fromBytes = outcome(Buffer.from(xml, 'utf8'));
    const fromString = outcome(xml);
    t.same(fromBytes, fromString, 'bytes and text read alike');
    if (fromString.ok || fromString.code === 'XML_MALFORMED') t.same(fromString, whole(xml), 'as the whole text reads');
    else t.fail(`refused by the pre-scan (${fromString.code}): not a variant of what is set aside`);
  });
}

t.test('a lone surrogate in a string input stays as it was', async (t) => {
  const xml = doc(`<b>\uD800</b><a>${BIG}</a><c>\uDC00x</c>`);
  t.same(outcome(xml), whole(xml));
});

t.test('a large segment comes back as a one-byte string equal to the text', async (t) => {
  const parsed = parseXml(Buffer.from(doc(`<a>${BIG}</a>`)));
  const a = parsed.getElementsByTagName('a')[0] as Element;
  t.equal(a.textContent, BIG);
  t.equal(a.childNodes.length, 1);
});

t.test('a mark not found exactly once as a whole text node restores nothing', async (t) => {
  const hoisted = (marks: string[]): HoistedText => ({ text: '', marks, texts: marks.map((m) => m.toUpperCase()), originalOffset: (at) => at });
  const parsed = (body: string): Document => parseXml(`<r><a>m0</a>${body}</r>`);
  t.equal(restoreTexts(parsed('<b>m1</b><c>m2</c>'), hoisted(['m0', 'm1', 'm2'])), true, 'each once');
  t.equal(restoreTexts(parsed('<b>m2</b><c>m2</c>'), hoisted(['m0', 'm1', 'm2'])), false, 'one twice, one missing');
  t.equal(restoreTexts(parsed('<b>m1</b>'), hoisted(['m0', 'm1', 'm2'])), false, 'the last missing');
  t.equal(restoreTexts(parsed('<b>x m1</b><c>m2</c>'), hoisted(['m0', 'm1', 'm2'])), false, 'part of a text node');
  const doc = parsed('<b>m1</b><c>m2</c>');
  restoreTexts(doc, hoisted(['m0', 'm1', 'm2']));
  t.equal(serializeXml(doc), '<r><a>M0</a><b>M1</b><c>M2</c></r>');
});

t.test('releaseInput: the bytes are given back once the document is read, the document the same', async (t) => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><r xmlns="urn:x"><a>Việt</a><b>${BIG}</b></r>`;
  const expected = serializeXml(parseXml(Buffer.from(xml)));
  const own = Buffer.allocUnsafeSlow(Buffer.byteLength(xml));
  own.write(xml);
  t.equal(serializeXml(parseXml(own, undefined, { releaseInput: true })), expected, 'the same document');
  t.equal(own.byteLength, 0, 'and its bytes were released: their buffer is detached');

  const kept = Buffer.allocUnsafeSlow(Buffer.byteLength(xml));
  kept.write(xml);
  parseXml(kept);
  t.equal(kept.toString(), xml, 'without the option the bytes stay');

  const whole = Buffer.from(`${xml}    `);
  const view = whole.subarray(0, Buffer.byteLength(xml));
  t.equal(serializeXml(parseXml(view, undefined, { releaseInput: true })), expected);
  t.equal(view.toString(), xml, 'a view of part of a buffer is left alone: the rest is not the parser\'s');

  const malformed = Buffer.allocUnsafeSlow(6);
  malformed.write('<r><a>');
  t.throws(() => parseXml(malformed, undefined, { releaseInput: true }), { code: 'XML_MALFORMED' });
  t.equal(malformed.toString(), '<r><a>', 'refused, the bytes are not released: the caller may still quote them');
});
