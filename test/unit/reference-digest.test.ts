/**
 * The reference digest hashes canonical text as it is written, a large text as UTF-8 in
 * slices that never cut a surrogate pair. Whatever the text, the digest must be that of the
 * canonical document's UTF-8 octets.
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { SIGNING_C14N } from '../../src/crypto/algorithms.js';
import { canonicalDocument, referenceDigest } from '../../src/crypto/profile.js';
import { buildPacket, parseXml } from '../../src/envelope/index.js';
import { documentFrom, OFFICE } from '../helpers/pki.js';

const MB = 1024 * 1024;
const CONTENTS: Record<string, string> = {
  'ASCII over several slices': 'a'.repeat(3 * MB + 17),
  'ASCII with characters to escape': `${'b'.repeat(MB)}&<>\r${'c'.repeat(MB)}`,
  'Vietnamese after a megabyte of ASCII': `${'d'.repeat(MB)}Cơ quan nhà nước`,
  'an astral character at a slice boundary': `${'e'.repeat(MB - 1)}\u{1F600}${'f'.repeat(MB)}`,
  'short text': 'Đề nghị',
};

for (const [name, content] of Object.entries(CONTENTS)) {
  t.test(name, async (t) => {
    const attachments = [{ name: 'a.pdf', content: randomBytes(2 * MB + 1) }];
    for (const input of [buildPacket(documentFrom(OFFICE, { content, attachments }))]) {
      for (const doc of [parseXml(input), parseXml(Buffer.from(input))]) {
        const want = createHash('sha256').update(canonicalDocument(doc, SIGNING_C14N, []), 'utf8').digest('base64');
        t.equal(referenceDigest(doc, SIGNING_C14N, 'SHA-256', []), want);
      }
    }
  });
}
