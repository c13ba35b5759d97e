/**
 * The canonical form of a whole document, as lienthong digests it for a URI="" Reference,
 * against libxml2's (`xmllint --c14n` / `--exc-c14n`, the canonicaliser inside xmlsec1), on
 * namespace shapes chosen by hand and on seeded random documents: default namespaces declared,
 * redeclared and undeclared (xmlns=""), prefixes rebound, namespaced attributes, processing
 * instructions before, inside and after the root, text and attribute values that need escaping.
 * xmllint keeps comments, a URI="" Reference never does, so the documents carry none.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { C14N_ALGORITHMS, C14N_EXCLUSIVE, C14N_INCLUSIVE } from '../../src/crypto/algorithms.js';
import { canonicalDocument } from '../../src/crypto/profile.js';
import { parseXml, serializeXml } from '../../src/envelope/xml.js';

const MODES = [
  { flag: '--c14n', spec: C14N_ALGORITHMS.find((c) => c.uri === C14N_INCLUSIVE) },
  { flag: '--exc-c14n', spec: C14N_ALGORITHMS.find((c) => c.uri === C14N_EXCLUSIVE) },
];

/**
 * Canonicalise `documents` in both modes, each preceded by a marker instruction so that one
 * xmllint run per mode covers them all; returns the first difference, if any.
 */
function compare(dir: string, documents: readonly string[]): string | undefined {
  const marked = documents.map((xml, i) => `<?doc-${i}?>${xml}`);
  const files = marked.map((xml, i) => {
    const file = join(dir, `doc${i}.xml`);
    writeFileSync(file, xml);
    return file;
  });
  for (const { flag, spec } of MODES) {
    if (!spec) throw new Error('c14n not allow-listed');
    const output = execFileSync('xmllint', [flag, ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    const theirs = output.split(/(?=<\?doc-\d+\?>\n)/);
    if (theirs.length !== documents.length) return `${flag}: xmllint gave ${theirs.length} documents for ${documents.length}`;
    for (const [i, xml] of marked.entries()) {
      const doc = parseXml(xml);
      const before = serializeXml(doc);
      const ours = canonicalDocument(doc, spec, []);
      if (ours !== theirs[i]) return `${flag}\n  input:   ${xml}\n  xmllint: ${theirs[i]}\n  ours:    ${ours}`;
      if (serializeXml(doc) !== before) return `${flag}: document ${i} was not left as it was`;
    }
  }
  return undefined;
}

const SHAPES: Array<[string, string]> = [
  ['a needed xmlns="" under a default namespace', '<r xmlns="urn:d"><a xmlns=""><b/></a></r>'],
  ['a redundant xmlns="" where no default is in scope', '<r><a xmlns=""><b xmlns="">t</b></a></r>'],
  ['xmlns="" on a prefixed element, used below it', '<r xmlns="urn:d"><p:a xmlns:p="urn:p" xmlns=""><b/><p:c><d/></p:c></p:a></r>'],
  ['xmlns="" on a prefixed element, unused below', '<r xmlns="urn:d"><p:a xmlns:p="urn:p" xmlns=""><p:b/></p:a></r>'],
  ['a default namespace back after xmlns=""', '<r xmlns="urn:d"><a xmlns=""><b xmlns="urn:d"><c/></b></a></r>'],
  ['edXML\'s shape: default on the root, the prefix on the envelope', '<edXML xmlns="urn:q"><edXML:e xmlns:edXML="urn:q"><edXML:h>t</edXML:h></edXML:e><A><B>x</B></A></edXML>'],
  ['a prefix rebound and attributes in namespaces', '<p:r xmlns:p="urn:1" xmlns:q="urn:2" q:z="1" a="2"><p:a xmlns:p="urn:3" p:y="&amp;&lt;&gt;&quot;&#9;&#10;&#13;"/></p:r>'],
  ['processing instructions around and inside the root', '<?a one?><?b?><r xmlns="urn:d"><?c two ?>t<x/></r><?d three?>'],
  ['text that needs escaping, CR included', '<r>a &amp; b &lt; c &gt; d&#13;e "q" \'q\'<![CDATA[<cdata> & ]]></r>'],
  ['xml:lang and xml:space', '<r xml:lang="vi"><a xml:space="preserve"> x </a></r>'],
];

t.test('hand-picked namespace shapes canonicalise as libxml2 does', async (t) => {
  const dir = t.testdir();
  for (const [what, xml] of SHAPES) t.equal(compare(dir, [xml]), undefined, what);
});

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** A random element tree over few prefixes and namespaces, so that collisions are frequent. */
function randomDocument(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const element = (depth: number): string => {
    const prefix = pick(['', '', 'p', 'q']);
    const declarations = new Map<string, string>();
    for (let i = Math.floor(random() * 3); i > 0; i--) {
      const p = pick(['', 'p', 'q']);
      declarations.set(p, p ? pick(['urn:a', 'urn:b']) : pick(['urn:a', 'urn:b', '']));
    }
    if (prefix && !declarations.has(prefix)) declarations.set(prefix, pick(['urn:a', 'urn:b']));
    const attributes: string[] = [];
    if (random() < 0.3) {
      const p = pick(['p', 'q']);
      if (!declarations.has(p)) declarations.set(p, pick(['urn:a', 'urn:b']));
      attributes.push(`${p}:at="v&amp;${depth}"`);
    }
    if (random() < 0.3) attributes.push('plain="x&#9;y"');
    const name = `${prefix ? `${prefix}:` : ''}${pick(['E', 'F'])}`;
    const xmlns = [...declarations].map(([p, uri]) => ` xmlns${p ? `:${p}` : ''}="${uri}"`).join('');
    const children =
      depth < 4
        ? Array.from({ length: Math.floor(random() * 3) }, () => (random() < 0.15 ? '<?pi in?>' : element(depth + 1))).join('')
        : pick(['t', 'a&lt;b', '']);
    return `<${name}${xmlns}${attributes.map((a) => ` ${a}`).join('')}>${children}</${name}>`;
  };
  const root = pick(['<R xmlns="urn:root">', '<R>', '<x:R xmlns:x="urn:x" xmlns="urn:d">']);
  const close = root.startsWith('<x:') ? '</x:R>' : '</R>';
  const before = random() < 0.3 ? '<?before data?>' : '';
  const after = random() < 0.3 ? '<?after?>' : '';
  return `${before}${root}${element(0)}${close}${after}`;
}

t.test('500 random documents canonicalise as libxml2 does, inclusive and exclusive', async (t) => {
  const random = seeded(20_261_125);
  const documents = Array.from({ length: 500 }, () => randomDocument(random));
  t.ok(documents.filter((d) => d.includes('xmlns=""')).length > 100, 'many of them undeclare the default namespace somewhere');
  t.equal(compare(t.testdir(), documents), undefined, 'every document compares equal in both modes');
});
