import t from 'tap';
import { normalizeForC14n, originalNormalizeString } from '../../src/crypto/c14n-fast-path.js';

// xmldsigjs' canonicalizer is replaced by a regex version for speed; it must escape exactly
// as the library does, for every node type, or signatures would stop matching.
const NODE_TYPES = [2, 3, 4, 7, 8, 13, 14];
const ALPHABET = ['a', 'Ư', '&', '<', '>', '"', "'", '\t', '\n', '\r', ' ', ']', '=', '\u00a0', '😀'];

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

t.test('the fast path escapes exactly like xmldsigjs, for every node type', async (t) => {
  const random = seeded(42);
  const original = (input: string, type: number): string =>
    originalNormalizeString.call({ IsTextNode: (x: number) => [3, 4, 13, 14].includes(x) }, input, type);
  for (let i = 0; i < 2000; i++) {
    const length = Math.floor(random() * 40);
    let input = '';
    for (let j = 0; j < length; j++) input += ALPHABET[Math.floor(random() * ALPHABET.length)];
    for (const type of NODE_TYPES) {
      const fast = normalizeForC14n(input, type);
      if (fast !== original(input, type)) {
        t.fail(`differs for type ${type} and ${JSON.stringify(input)}`);
        return;
      }
    }
  }
  t.equal(normalizeForC14n('', 3), '');
  t.equal(normalizeForC14n(null, 3), '');
  t.pass('2000 random strings × 7 node types agree');
});
