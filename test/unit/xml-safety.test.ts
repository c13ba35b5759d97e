/**
 * src/envelope/xml.ts: the one parser configuration and the one writer. What it lets through,
 * what it refuses, and that its limits are the caller's to set.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  decodeXml,
  DEFAULT_XML_LIMITS,
  EDXML_NS,
  formatBytes,
  parsePacket,
  parseXml,
  preScanXml,
  type XmlLimits,
} from '../../src/envelope/index.js';
import { escapeAttribute, escapeText } from '../../src/envelope/xml.js';
import { LtError, type ErrorCode } from '../../src/errors.js';

function codeOf(fn: () => unknown): ErrorCode | 'ok' | 'not an LtError' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof LtError ? error.code : 'not an LtError';
  }
}

const STATUS = `<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="${EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="${EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From>
        <edXML:ResponseFor><edXML:OrganId>000.00.01.H12</edXML:OrganId><edXML:DocumentId>000.00.01.H12,2025/03/10,15/UBND-VP</edXML:DocumentId></edXML:ResponseFor>
        <edXML:StatusCode>01</edXML:StatusCode>
        <edXML:Description>DESCRIPTION</edXML:Description>
        <edXML:Timestamp>2025/03/10 09:30:00</edXML:Timestamp>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
  </edXML:edXMLEnvelope>
</edXML>
`;
const statusWith = (description: string): string => STATUS.replace('DESCRIPTION', description);
const descriptionOf = (input: string | Uint8Array): string | undefined => {
  const packet = parsePacket(input);
  return packet.kind === 'status' ? packet.description : undefined;
};

/** JSON with every non-ASCII character escaped: U+2028 in a test name would break the TAP stream. */
const show = (s: string): string => JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// --- Writing --------------------------------------------------------------------------------

t.test('escapeText escapes what text content cannot carry', async (t) => {
  t.equal(escapeText('a & b < c > d'), 'a &amp; b &lt; c &gt; d');
  t.equal(escapeText('&amp;'), '&amp;amp;', 'a literal entity reference is escaped again');
  t.equal(escapeText(']]>'), ']]&gt;', '"]]>" cannot appear in text');
  t.equal(escapeText('"quotes" and \'apostrophes\''), '"quotes" and \'apostrophes\'', 'quotes need no escaping in text');
  t.equal(escapeText('line\r\nbreak'), 'line&#13;\nbreak', 'CR is kept as a reference so that parsing does not turn it into LF');
  t.equal(escapeText('tab\tand\nnewline'), 'tab\tand\nnewline');
  t.equal(escapeText('Văn bản 📄'), 'Văn bản 📄', 'non-ASCII text is written as it is');
  t.equal(escapeText('a\u0000b\u0001c\u000bd\u001fe\ufffef\uffffg'), 'abcdefg', 'characters XML cannot carry are dropped');
});

t.test('escapeAttribute also escapes quotes and whitespace that attribute normalisation would change', async (t) => {
  t.equal(escapeAttribute('say "hi" & <go>'), 'say &quot;hi&quot; &amp; &lt;go&gt;');
  t.equal(escapeAttribute('a\tb\nc\rd'), 'a&#9;b&#10;c&#13;d');
  t.equal(escapeAttribute("it's"), "it's", 'apostrophes are safe in double-quoted attributes');
});

t.test('escaped text and attributes read back exactly', async (t) => {
  const samples = ['a & b', '&amp;', ']]>', '<x/>', '"\'', ' \t\n\r\n\r ', 'Đà Nẵng', '📄𝔸', '\u0085\u2028\u2029', '&#65;', '-->'];
  for (const s of samples) {
    const doc = parseXml(`<r a="${escapeAttribute(s)}">${escapeText(s)}</r>`);
    t.equal(doc.documentElement?.textContent, s, `text ${show(s)}`);
    t.equal(doc.documentElement?.getAttribute('a'), s, `attribute ${show(s)}`);
  }
});

// --- Reading --------------------------------------------------------------------------------

t.test('a UTF-8 byte-order mark is accepted', async (t) => {
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(statusWith('Đã đến'))]);
  t.equal(descriptionOf(withBom), 'Đã đến', 'as bytes');
  t.equal(descriptionOf(`\ufeff${statusWith('Đã đến')}`), 'Đã đến', 'as a string');
});

t.test('the XML declaration may name UTF-8 in any spelling, or be absent', async (t) => {
  for (const declaration of ['<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0' encoding='utf-8'?>", '<?xml version="1.0" encoding="utf8"?>', '<?xml version="1.0"?>']) {
    t.equal(codeOf(() => parsePacket(STATUS.replace('<?xml version="1.0" encoding="UTF-8"?>', declaration))), 'ok', declaration);
  }
  t.equal(codeOf(() => parsePacket(STATUS.replace('<?xml version="1.0" encoding="UTF-8"?>\n', ''))), 'ok', 'no declaration');
  t.equal(codeOf(() => parsePacket(STATUS.replace('encoding="UTF-8"', 'encoding="windows-1258"'))), 'XML_ENCODING', 'Vietnamese Windows code page');
  t.equal(
    codeOf(() => parsePacket(STATUS.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml-stylesheet type="text/xsl" encoding="latin1" href="x.xsl"?>'))),
    'ok',
    'a processing instruction whose name starts with "xml" is not the declaration',
  );
});

t.test('bytes and text are judged alike on the declared encoding, whatever follows the first "?"', async (t) => {
  const declared = (declaration: string): string => STATUS.replace('<?xml version="1.0" encoding="UTF-8"?>', declaration);
  const cases: Array<[string, ErrorCode | 'ok']> = [
    ['<?xml version="1.0" encoding="UTF-8"?>', 'ok'],
    ['<?xml version="1.0" encoding="ISO?8859-1"?>', 'XML_ENCODING'],
    ["<?xml version='1.0' encoding='utf-8?'?>", 'XML_ENCODING'],
    ['<?xml version="1.0" encoding="windows-1258" ghi-chú="Cà Mau?"?>', 'XML_ENCODING'],
    ['<?xml version="1.0"?><?other encoding="latin1"?>', 'ok'],
    [`<?xml version="1.0"${' '.repeat(70_000)}encoding="latin1"?>`, 'ok'],
  ];
  for (const [declaration, expected] of cases) {
    const what = declaration.length > 80 ? `${declaration.slice(0, 20)}… (${declaration.length} characters)` : declaration;
    t.equal(codeOf(() => decodeXml(declared(declaration))), expected, `${what}: as a string`);
    t.equal(codeOf(() => decodeXml(Buffer.from(declared(declaration)))), expected, `${what}: as bytes`);
  }
});

t.test('CDATA sections and comments may contain "&" and "<"', async (t) => {
  t.equal(descriptionOf(statusWith('<![CDATA[A & B <b>đậm</b> &nbsp;]]>')), 'A & B <b>đậm</b> &nbsp;', 'CDATA content is text, not markup');
  t.equal(descriptionOf(statusWith('before<!-- a & b <x> &nbsp; -->after')), 'beforeafter', 'comments are skipped');
  t.equal(descriptionOf(statusWith('<!-- <!DOCTYPE x [<!ENTITY e "boom">]> -->ok')), 'ok', 'a DOCTYPE inside a comment is only a comment');
  t.equal(descriptionOf(statusWith('<![CDATA[<!DOCTYPE x>]]>')), '<!DOCTYPE x>', 'a DOCTYPE inside CDATA is only text');
});

t.test('the five predefined entities and character references are read', async (t) => {
  t.equal(descriptionOf(statusWith('&lt;&gt;&amp;&quot;&apos; &#272;&#xE0; &#x1F4C4;')), '<>&"\' Đà 📄');
});

t.test('other entities, DOCTYPEs and forbidden characters are refused', async (t) => {
  t.equal(codeOf(() => parsePacket(statusWith('&nbsp;'))), 'XML_ENTITY');
  t.equal(codeOf(() => parsePacket(statusWith('&copy'))), 'XML_ENTITY', 'no semicolon');
  t.equal(codeOf(() => parsePacket(statusWith('a & b'))), 'XML_ENTITY', 'a bare ampersand');
  t.equal(codeOf(() => parsePacket(`<!DOCTYPE edXML>${STATUS.slice(STATUS.indexOf('<edXML '))}`)), 'XML_DOCTYPE');
  t.equal(codeOf(() => parsePacket(statusWith('&#0;'))), 'XML_MALFORMED', 'a reference to NUL');
  t.equal(codeOf(() => parsePacket(statusWith('&#xD800;'))), 'XML_MALFORMED', 'a reference to a surrogate');
  t.equal(codeOf(() => parsePacket(statusWith('&#x110000;'))), 'XML_MALFORMED', 'a reference beyond Unicode');
  t.equal(codeOf(() => parsePacket(statusWith('bell\u0007'))), 'XML_MALFORMED', 'a raw control character');
  t.equal(codeOf(() => parsePacket(statusWith('nul\u0000'))), 'XML_ENCODING', 'a raw NUL (UTF-16 read as UTF-8)');
});

t.test('every character XML does not allow is refused in bytes as in text, at the same offset, wherever it stands', async (t) => {
  const illegal = [...Array.from({ length: 0x1f }, (_, i) => i + 1).filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d), 0xfffe, 0xffff];
  const messageOf = (input: string | Buffer): string => {
    try {
      parsePacket(input);
    } catch (error) {
      if (error instanceof LtError) return `${error.code}: ${error.message}`;
      throw error;
    }
    return 'accepted';
  };
  let checked = 0;
  for (const code of illegal) {
    const c = String.fromCharCode(code);
    // Before, inside and after Vietnamese text, at every alignment of a four-byte word.
    for (const description of [c, `Đà ${c}`, `a${c}b`, `ab${c}`, `abc${c}Nẵng`, `${'x'.repeat(70)}${c}`]) {
      const text = statusWith(description);
      const fromText = messageOf(text);
      if (!fromText.startsWith('XML_MALFORMED')) t.fail(`U+${code.toString(16)} in ${JSON.stringify(description)} read from text: ${fromText}`);
      if (messageOf(Buffer.from(text)) !== fromText) t.fail(`U+${code.toString(16)} in ${JSON.stringify(description)}: bytes and text disagree`);
      checked += 1;
    }
  }
  t.equal(checked, illegal.length * 6, 'each refused alike from text and from bytes');
  // Their neighbours in UTF-8 (EF BF BD, EF BE BE, EF BF AF) and the allowed controls are text.
  for (const allowed of ['\ufffd', '\uffbe', '\uffef', 'a\tb\nc']) t.equal(messageOf(Buffer.from(statusWith(allowed))), 'accepted', JSON.stringify(allowed));
});

t.test('line ends follow XML 1.0: CR LF and CR become LF, U+0085 and U+2028 stay', async (t) => {
  t.equal(descriptionOf(statusWith('a\r\nb\rc')), 'a\nb\nc');
  t.equal(descriptionOf(statusWith('a\u0085b\u2028c\u2029d')), 'a\u0085b\u2028c\u2029d');
});

t.test('decodeXml refuses what is not UTF-8', async (t) => {
  t.equal(codeOf(() => decodeXml(Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]))), 'XML_ENCODING', 'invalid bytes');
  t.equal(codeOf(() => decodeXml(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<a/>', 'utf16le')]))), 'XML_ENCODING', 'UTF-16LE with BOM');
  t.equal(codeOf(() => decodeXml(Buffer.from('<a/>', 'utf16le'))), 'XML_ENCODING', 'UTF-16LE without BOM');
  t.equal(decodeXml(Buffer.from('<a>Đà Nẵng</a>')), '<a>Đà Nẵng</a>');
});

// --- Limits ---------------------------------------------------------------------------------

t.test('the default limits', async (t) => {
  t.same(DEFAULT_XML_LIMITS, {
    maxBytes: 32 * 1024 * 1024,
    maxDepth: 64,
    maxNodes: 100_000,
    maxCommentNodes: 256,
    maxCommentBytes: 8 * 1024,
    maxCdataBytes: 256 * 1024,
    maxWhitespaceBytes: 2 * 1024 * 1024,
  });
});

t.test('limits are configurable', async (t) => {
  const limits = (change: Partial<XmlLimits>): XmlLimits => ({ ...DEFAULT_XML_LIMITS, ...change });
  const size = Buffer.byteLength(STATUS);

  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxBytes: size }))), 'ok', 'exactly maxBytes is accepted');
  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxBytes: size - 1 }))), 'XML_TOO_LARGE', 'one byte more is refused');
  t.equal(codeOf(() => parsePacket(Buffer.from(STATUS), limits({ maxBytes: size - 1 }))), 'XML_TOO_LARGE', 'bytes as well as strings');
  t.equal(codeOf(() => decodeXml('Đ'.repeat(10), limits({ maxBytes: 19 }))), 'XML_TOO_LARGE', 'a string is measured in UTF-8 bytes, not characters');
  const messageOf = (input: string, maxBytes: number): string => {
    try {
      decodeXml(input, limits({ maxBytes }));
      return 'accepted';
    } catch (error) {
      return (error as Error).message;
    }
  };
  t.match(messageOf('x'.repeat(2 * 1024 * 1024), 1024 * 1024), /^XML input is 2\.0 MiB, over the limit of 1\.0 MiB; /, 'sizes rounded when they differ');
  t.match(messageOf('x'.repeat(1024 * 1024 + 10), 1024 * 1024), /^XML input is 1048586 bytes, over the limit of 1048576 bytes; /, 'exact when rounded they would read the same');

  // The status packet nests 6 deep: edXML, edXMLEnvelope, edXMLHeader, MessageHeader, From, OrganId.
  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxDepth: 6 }))), 'ok', 'depth 6 within maxDepth 6');
  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxDepth: 5 }))), 'XML_TOO_DEEP', 'but not within 5');
  t.equal(codeOf(() => preScanXml('<a><b/><b/><b/></a>', limits({ maxDepth: 1 }))), 'ok', 'self-closing elements add no depth');

  // 12 elements (edXML, edXMLEnvelope, edXMLHeader, MessageHeader, From, OrganId, ResponseFor,
  // OrganId, DocumentId, StatusCode, Description, Timestamp), 2 namespace declarations, 6 text
  // nodes with content, 14 of line ends and indentation, and the XML declaration.
  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxNodes: 35 }))), 'ok', '35 nodes within maxNodes 35');
  t.equal(codeOf(() => parsePacket(STATUS, limits({ maxNodes: 34 }))), 'XML_TOO_MANY_NODES', 'but not within 34');
  t.equal(codeOf(() => preScanXml('<a b="=" c=\'==\'/>', limits({ maxNodes: 3 }))), 'ok', 'an "=" inside a value is no attribute');
  t.equal(codeOf(() => preScanXml('<a b="=" c=\'==\' d=""/>', limits({ maxNodes: 3 }))), 'XML_TOO_MANY_NODES', 'attributes count as nodes');

  const deep = `<edXML xmlns="${EDXML_NS}">${'<x>'.repeat(200)}${'</x>'.repeat(200)}</edXML>`;
  t.equal(codeOf(() => parsePacket(deep)), 'XML_TOO_DEEP', 'refused by default');
  t.equal(codeOf(() => parsePacket(deep, limits({ maxDepth: 500 }))), 'XML_NOT_EDXML', 'parsed when the limit allows (and then found not to be edXML)');
});

t.test('error messages name the size and the limit', async (t) => {
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(2048), '2.0 KiB');
  t.equal(formatBytes(50 * 1024 * 1024), '50.0 MiB');
  try {
    decodeXml('x'.repeat(2048), { ...DEFAULT_XML_LIMITS, maxBytes: 1024 });
    t.fail('should have thrown');
  } catch (error) {
    t.match(error, { code: 'XML_TOO_LARGE', message: /2\.0 KiB.*1\.0 KiB/ });
  }
});

// --- The parsing budget ---------------------------------------------------------------------

/** Every node a DOM holds: what the pre-scan must count before the parser builds it. */
function domNodes(node: Node): number {
  let count = 0;
  for (let child = node.firstChild; child; child = child.nextSibling) {
    count += 1 + ((child as Element).attributes?.length ?? 0) + domNodes(child);
  }
  return count;
}

t.test('the pre-scan counts every node xmldom builds', async (t) => {
  // At most one more: text after the root, which xmldom drops.
  const samples = ['samples/edoc_new.edxml', 'samples/status.edxml', 'sdk-built/sdk-edoc-full.edxml', 'sdk-built/sdk-status-full.edxml'];
  for (const name of samples) {
    const text = readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
    const nodes = domNodes(parseXml(text));
    t.equal(codeOf(() => preScanXml(text, { ...DEFAULT_XML_LIMITS, maxNodes: nodes + 1 })), 'ok', `${name}: ${nodes} nodes fit maxNodes ${nodes + 1}`);
    t.equal(codeOf(() => preScanXml(text, { ...DEFAULT_XML_LIMITS, maxNodes: nodes - 1 })), 'XML_TOO_MANY_NODES', `${name}: but not ${nodes - 1}`);
  }
  const mixed = '<?xml version="1.0"?><r a="1"><!--c--><?p x?><![CDATA[d]]>text<e/> </r>';
  t.equal(domNodes(parseXml(mixed)), 9, 'comments, PIs, CDATA and text are DOM nodes, and so is the declaration');
  t.equal(codeOf(() => preScanXml(mixed, { ...DEFAULT_XML_LIMITS, maxNodes: 9 })), 'ok');
  t.equal(codeOf(() => preScanXml(mixed, { ...DEFAULT_XML_LIMITS, maxNodes: 8 })), 'XML_TOO_MANY_NODES', 'each of them is counted');
});

t.test('comments and processing instructions have a small budget of their own', async (t) => {
  const limits = (change: Partial<XmlLimits>): XmlLimits => ({ ...DEFAULT_XML_LIMITS, ...change });
  const withComments = (n: number, body = ''): string => STATUS.replace('<edXML ', `${`<!--${body}-->`.repeat(n)}\n<edXML `);
  t.equal(codeOf(() => parsePacket(withComments(256))), 'ok', '256 comments are accepted');
  t.equal(codeOf(() => parsePacket(withComments(257))), 'XML_TOO_MANY_COMMENTS', '257 are not');
  t.equal(codeOf(() => parsePacket(STATUS.replace('<edXML ', `${'<?p?>'.repeat(257)}\n<edXML `))), 'XML_TOO_MANY_COMMENTS', 'processing instructions count with them');
  t.equal(codeOf(() => parsePacket(statusWith(`${'<!---->'.repeat(200)}x${'<?p?>'.repeat(57)}`))), 'XML_TOO_MANY_COMMENTS', 'inside the root too, mixed');
  t.equal(codeOf(() => preScanXml(`<?xml version="1.0"?>${'<?p?>'.repeat(3)}<r/>`, limits({ maxCommentNodes: 3 }))), 'ok', 'the XML declaration is no processing instruction');

  // "<!--" and "-->" are 7 bytes: a comment of 8185 characters fills the 8 KiB.
  t.equal(codeOf(() => parsePacket(withComments(1, 'x'.repeat(8185)))), 'ok', '8 KiB of comment is accepted');
  t.equal(codeOf(() => parsePacket(withComments(1, 'x'.repeat(8186)))), 'XML_COMMENTS_TOO_LARGE', 'one byte more is not');
  t.equal(codeOf(() => parsePacket(withComments(2, 'x'.repeat(4093)))), 'XML_COMMENTS_TOO_LARGE', 'the bytes of all comments add up');
  t.equal(codeOf(() => parsePacket(withComments(1, 'đ'.repeat(4093)))), 'XML_COMMENTS_TOO_LARGE', 'counted in UTF-8 bytes, not characters');
  t.equal(codeOf(() => preScanXml('<r><?p 12345?></r>', limits({ maxCommentBytes: 10 }))), 'XML_COMMENTS_TOO_LARGE', 'processing instructions are counted in bytes too');
  t.equal(codeOf(() => parsePacket(withComments(300), limits({ maxCommentNodes: 300 }))), 'ok', 'the budget is the caller\'s to set');
});

t.test('CDATA sections and whitespace between elements are budgeted by their size', async (t) => {
  const limits = (change: Partial<XmlLimits>): XmlLimits => ({ ...DEFAULT_XML_LIMITS, ...change });
  t.equal(descriptionOf(statusWith(`<![CDATA[${'x'.repeat(256 * 1024 - 100)}]]>`))?.length, 256 * 1024 - 100, 'CDATA within the budget is read as text');
  t.equal(codeOf(() => preScanXml(`<r><![CDATA[${'x'.repeat(256 * 1024)}]]></r>`)), 'ok', '256 KiB of CDATA is accepted');
  t.equal(codeOf(() => preScanXml(`<r><![CDATA[${'x'.repeat(128 * 1024)}]]><![CDATA[${'x'.repeat(128 * 1024 + 1)}]]></r>`)), 'XML_CDATA_TOO_LARGE', 'one byte more, over two sections, is not');
  t.equal(codeOf(() => preScanXml('<r><![CDATA[đđ]]></r>', limits({ maxCdataBytes: 3 }))), 'XML_CDATA_TOO_LARGE', 'counted in UTF-8 bytes');

  t.equal(codeOf(() => preScanXml(`<r>${' '.repeat(2 * 1024 * 1024)}</r>`)), 'ok', '2 MiB of whitespace is accepted');
  t.equal(codeOf(() => preScanXml(`<r>${'\n'.repeat(1024 * 1024)}<a/>${'\t'.repeat(1024 * 1024 + 1)}</r>`)), 'XML_WHITESPACE_TOO_LARGE', 'one byte more, after start and end tags, is not');
  t.equal(codeOf(() => preScanXml(`<r>${'x'.repeat(4 * 1024 * 1024)}</r>`)), 'ok', 'text with content (base64) is not whitespace, whatever its size');
  t.equal(codeOf(() => preScanXml(`<r>\n${'QUJD\n'.repeat(1024 * 1024)}</r>`)), 'ok', 'nor is line-wrapped base64');
  t.equal(codeOf(() => preScanXml(`<r></r>${' '.repeat(11)}`, limits({ maxWhitespaceBytes: 10 }))), 'XML_WHITESPACE_TOO_LARGE', 'after the root too');
});
