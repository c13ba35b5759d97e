/**
 * What precedes and follows the root element. For a URI="" Reference the signed node-set is the
 * whole document: processing instructions before and after the root are signed content,
 * comments are not (XMLDSig core §4.3.3.3). lienthong must sign a packet with its prolog and
 * epilog kept, and verify xmlsec1's signatures over them; xmlsec1 is the judge both ways.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { parsePacket } from '../../src/envelope/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { HUB, OFFICE, identityOf, organ, signWithXmlsec1, trustStore, unsignedDocument, xmlsec1Octets, xmlsec1Verify } from '../helpers/pki.js';

const store = trustStore();
const codes = (v: Verification): ErrorCode[] => v.report.errors.map((e) => e.code);

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const STYLESHEET = '<?xml-stylesheet href="cong-van.xsl" type="text/xsl"?>';
const BEFORE_COMMENT = '<!-- xuất từ hệ thống QLVBĐH -->';
const ARCHIVE_PI = '<?luu-tru ho-so="HS-2026-125"?>';
const AFTER_COMMENT = '<!-- hết -->';

/** The unsigned packet's root with `before` and `after` around it. */
function around(before: string, after: string): string {
  const body = unsignedDocument(OFFICE).replace(/^<\?xml[^>]*\?>\s*/, '').trimEnd();
  return `${DECLARATION}\n${before}${body}${after}\n`;
}

function xmlsec1Says(dir: string, name: string, text: string): boolean {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = xmlsec1Verify(file);
  return r.status === 0 && /^OK$/m.test(r.stdout + r.stderr);
}

t.test('lienthong signs a packet with processing instructions and comments around the root', async (t) => {
  const dir = t.testdir();
  const unsigned = around(`${STYLESHEET}\n${BEFORE_COMMENT}\n`, `\n${ARCHIVE_PI}\n${AFTER_COMMENT}`);
  const signed = await signPacket(unsigned, await identityOf(OFFICE));

  t.ok(signed.startsWith(`${DECLARATION}\n${STYLESHEET}\n${BEFORE_COMMENT}\n<edXML `), 'the prolog is kept, in order, after the XML declaration');
  t.ok(signed.endsWith(`</edXML>\n${ARCHIVE_PI}\n${AFTER_COMMENT}\n`), 'and so is what follows the root');
  t.same(parsePacket(signed), parsePacket(unsigned), 'the packet itself is unchanged');

  const file = join(dir, 'signed.xml');
  writeFileSync(file, signed);
  const octets = xmlsec1Octets(file);
  t.equal(octets.status, 0, 'xmlsec1 verifies it', { stderr: octets.stderr });
  t.ok(octets.preDigest?.startsWith(`${STYLESHEET}\n<edXML `), 'xmlsec1 digested the processing instruction before the root');
  t.ok(octets.preDigest?.endsWith(`</edXML>\n${ARCHIVE_PI}`), 'and the one after it');
  t.notOk(octets.preDigest?.includes('<!--'), 'but no comment');
  t.same((await verifyPacket(signed, store)).report.errors, [], 'lienthong verifies it');

  const changes: Array<{ what: string; text: string; signed: boolean }> = [
    { what: 'the processing instruction before the root removed', text: signed.replace(`${STYLESHEET}\n`, ''), signed: true },
    { what: 'the processing instruction before the root changed', text: signed.replace('cong-van.xsl', 'gia-mao.xsl'), signed: true },
    { what: 'the processing instruction after the root removed', text: signed.replace(`${ARCHIVE_PI}\n`, ''), signed: true },
    { what: 'a processing instruction added before the root', text: signed.replace(STYLESHEET, `${STYLESHEET}\n<?them vao?>`), signed: true },
    { what: 'the comment before the root changed', text: signed.replace(BEFORE_COMMENT, '<!-- đã sửa -->'), signed: false },
    { what: 'the comment after the root removed', text: signed.replace(AFTER_COMMENT, ''), signed: false },
  ];
  for (const [i, change] of changes.entries()) {
    t.not(change.text, signed, `${change.what}: the text changed`);
    t.equal(xmlsec1Says(dir, `change${i}.xml`, change.text), !change.signed, `${change.what}: xmlsec1 ${change.signed ? 'refuses' : 'still says OK'}`);
    t.same(codes(await verifyPacket(change.text, store)), change.signed ? ['SIG_DIGEST_MISMATCH'] : [], `${change.what}: lienthong ${change.signed ? 'says changed after signing' : 'agrees'}`);
  }

  const ownTrace = /<edXML:TraceHeader>\s*<edXML:OrganId>000\.00\.01\.H12<\/edXML:OrganId>[\s\S]*?<\/edXML:TraceHeader>/.exec(signed)?.[0] ?? '';
  t.ok(ownTrace, 'the sender\'s TraceHeader was found');
  const hop = `<edXML:TraceHeader><edXML:OrganId>${HUB}</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>`;
  const relayed = await verifyPacket(signed.replace(ownTrace, ownTrace + hop), store);
  t.same(codes(relayed), [], 'a hub\'s appended TraceHeader is still tolerated');
  t.equal(relayed.report.unsignedTraceHeaders, 1);
  const relayedWithoutPi = await verifyPacket(signed.replace(ownTrace, ownTrace + hop).replace(`${STYLESHEET}\n`, ''), store);
  t.same(codes(relayedWithoutPi), ['SIG_DIGEST_MISMATCH'], 'but not as cover for a removed processing instruction');
});

t.test('the XML declaration is lienthong\'s own, whatever the input declared', async (t) => {
  const body = unsignedDocument(OFFICE).replace(/^<\?xml[^>]*\?>\s*/, '');
  for (const input of [`<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n${STYLESHEET}${body}`, `${STYLESHEET}${body}`]) {
    const signed = await signPacket(input, await identityOf(OFFICE));
    t.ok(signed.startsWith(`${DECLARATION}\n${STYLESHEET}\n<edXML `), 'one UTF-8 declaration, then the processing instruction');
    t.equal(signed.match(/<\?xml /g)?.length, 1, 'never two declarations');
    t.same((await verifyPacket(signed, store)).report.errors, []);
  }
});

t.test('what xmlsec1 signs with a processing instruction before the root, lienthong verifies', async (t) => {
  const dir = t.testdir();
  const signed = signWithXmlsec1(dir, around(`${STYLESHEET}\n${BEFORE_COMMENT}\n`, `\n${ARCHIVE_PI}`), organ(OFFICE));
  t.ok(signed.includes(STYLESHEET) && signed.includes(ARCHIVE_PI), 'xmlsec1 kept both processing instructions');
  const v = await verifyPacket(signed, store);
  t.same(v.report.errors, [], 'valid in lienthong');

  for (const [what, text] of [
    ['removed', signed.replace(STYLESHEET, '')],
    ['changed', signed.replace('text/xsl', 'text/css')],
    ['the one after the root removed', signed.replace(ARCHIVE_PI, '')],
  ] as const) {
    t.not(text, signed);
    t.notOk(xmlsec1Says(dir, `xs-${what.replace(/\W+/g, '-')}.xml`, text), `processing instruction ${what}: xmlsec1 refuses`);
    t.same(codes(await verifyPacket(text, store)), ['SIG_DIGEST_MISMATCH'], `processing instruction ${what}: SIG_DIGEST_MISMATCH`);
  }
  const recommented = signed.replace(BEFORE_COMMENT, '');
  t.ok(xmlsec1Says(dir, 'xs-comment.xml', recommented), 'the comment removed: xmlsec1 still says OK');
  t.same(codes(await verifyPacket(recommented, store)), [], 'and so does lienthong');
});
