/**
 * Attachments are decoded by a fast path (text that is Buffer's base64 of the bytes it decodes
 * to, told by the decoded length and a few searches) and the old strip-check-decode path for
 * the rest. Both must accept, refuse and decode exactly as the old path alone did; and so must
 * the check of a reader that keeps no attachment bytes (the hub: `attachmentBytes: false`).
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { LtError } from '../../src/errors.js';
import { buildPacket, packetFromDocument, parsePacket, parseXml } from '../../src/envelope/index.js';
import { documentFrom, OFFICE } from '../helpers/pki.js';

/** The decoding before the fast path, as the reference. */
function reference(text: string): Uint8Array | 'refused' {
  const base64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return 'refused';
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

const MARK = 'QUJDRA==';

function withAttachmentText(text: string): Buffer {
  return Buffer.from(buildPacket(documentFrom(OFFICE, { attachments: [{ name: 'a.pdf', content: Buffer.from(MARK, 'base64') }] })).replace(MARK, text));
}

/** Read without keeping the bytes: the size of what was kept, or the refusal's message. */
function checked(text: string): number | { refused: string } {
  try {
    const packet = packetFromDocument(parseXml(withAttachmentText(text)), { attachmentBytes: false });
    if (packet.kind !== 'document') throw new Error('not a document');
    return (packet.attachments?.[0]?.content as Uint8Array).byteLength;
  } catch (error) {
    if (error instanceof LtError && error.code === 'PACKET_INVALID') return { refused: error.message };
    throw error;
  }
}

function decoded(text: string): Uint8Array | 'refused' {
  try {
    const packet = parsePacket(withAttachmentText(text));
    if (packet.kind !== 'document') throw new Error('not a document');
    return packet.attachments?.[0]?.content as Uint8Array;
  } catch (error) {
    if (error instanceof LtError && error.code === 'PACKET_INVALID') return 'refused';
    throw error;
  }
}

const big = randomBytes(2 * 1024 * 1024 + 1).toString('base64');
const CASES: Record<string, string> = {
  empty: '',
  canonical: 'QUJD',
  'canonical, padded': 'QUI=',
  'canonical, several slices long': big,
  'canonical, a slice and one byte': randomBytes(3 * 256 * 1024 + 1).toString('base64'),
  'padding bits set': 'QR==',
  'padding bits set at the end of a long one': `${big.slice(0, -4)}QR==`,
  'line breaks every 76 characters': (big.match(/.{1,76}/g) ?? []).join('\r\n'),
  'a space in a long one': `${big.slice(0, 1000)} ${big.slice(1000)}`,
  'url-safe characters': 'ab-_',
  'url-safe character in a long one': `${big.slice(0, 4000)}-${big.slice(4001)}`,
  'padding inside': 'QQ==QQ==',
  'missing padding': 'QUI',
  'a character outside base64': 'QU*D',
  'a non-ASCII character': 'QUJDệ===',
  // Buffer's decoder reads a character above U+00FF by its low byte: U+0155 as "U".
  'a character whose low byte is base64': 'Q\u0155JD',
  'such a character in a long one': `${big.slice(0, 4000)}\u0155${big.slice(4001)}`,
  'a Latin-1 character': 'Q\u00d5JD',
  'three padding characters': 'QUJDQ===',
  'padding bits set, one padding character': 'QUJ=',
  'too much padding': 'Q===',
  // The first slice compared (1 MiB of text) ends in "=", another follows.
  'padding at the end of a slice, not of the text': `${randomBytes(3 * 256 * 1024 - 1).toString('base64')}QUJD`,
};

/** Small texts made of the characters that matter to a decoder, each checked as CASES are. */
function mutations(count: number): string[] {
  const pieces = ['A', 'Q', 'g', 'w', '+', '/', '=', '-', '_', ' ', '\n', '*', '\u0155', 'é'];
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = randomBytes(1 + (i % 7)).toString('base64');
    for (let k = 0; k <= i % 3; k++) {
      const at = randomBytes(1)[0] as number % (text.length + 1);
      const piece = pieces[(randomBytes(1)[0] as number) % pieces.length] as string;
      text = i % 2 === 0 ? text.slice(0, at) + piece + text.slice(at + 1) : text.slice(0, at) + piece + text.slice(at);
    }
    texts.push(text);
  }
  return texts;
}

t.test('random small texts are accepted, refused and decoded as the old path did', async (t) => {
  let disagreements = 0;
  const texts = mutations(3000);
  for (const text of texts) {
    const want = reference(text);
    const got = decoded(text);
    const check = checked(text);
    const same = want === 'refused' ? got === 'refused' && typeof check === 'object' : got !== 'refused' && Buffer.from(got).equals(Buffer.from(want)) && check === 0;
    if (!same && disagreements++ < 5) t.fail(`${JSON.stringify(text)}: expected ${want === 'refused' ? 'a refusal' : 'its bytes'}`);
  }
  t.equal(disagreements, 0, `${texts.length} texts, no disagreement`);
});

for (const [name, text] of Object.entries(CASES)) {
  t.test(name, async (t) => {
    const want = reference(text);
    const got = decoded(text);
    if (want === 'refused') t.ok(got === 'refused', 'refused');
    else {
      t.not(got, 'refused');
      t.ok(got !== 'refused' && Buffer.from(got).equals(Buffer.from(want)), 'same bytes');
      t.equal(Object.getPrototypeOf(got), Uint8Array.prototype, 'a plain Uint8Array');
      t.ok(got !== 'refused' && got.byteLength === got.buffer.byteLength, 'owning its memory');
    }
    const check = checked(text);
    if (want === 'refused') t.match(check, { refused: /attachment .* is not valid base64/ }, 'checked without its bytes: refused as well');
    else t.equal(check, 0, 'checked without its bytes: accepted, nothing kept');
  });
}
