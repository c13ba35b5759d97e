/**
 * Seeded random XML documents for the canonicalisation tests: few prefixes and namespace URIs,
 * so that redeclarations, rebound prefixes and undeclared default namespaces (xmlns="") are
 * frequent; xml:lang and xml:space; attributes in namespaces; text, attribute values, CDATA,
 * comments and processing instructions holding what c14n must escape or keep as it is,
 * non-ASCII and astral characters; instructions and comments before and after the root.
 * Every document is well-formed and namespace-well-formed, so libxml2 can judge it too.
 */

export function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

// "urn:a" is a prefix of "urn:ab": sorting attributes by URI+name concatenated is then wrong.
// libxml2 refuses to canonicalise a namespace URI outside ASCII (an IRI), so none is used.
const PLAIN_URIS = ['urn:a', 'urn:ab', 'urn:b', 'http://example.vn/t%E1%BB%89nh', 'urn:a:b'];
const ASCII_PREFIXES = ['p', 'q', 'ns.1', 'z-z'];
const NAMES = ['E', 'F', 'Ư', 'édition', 'x.y', 'ｆ'];
const ATTRIBUTE_NAMES = ['a', 'b', 'Z', 'ư', '_1', '𝒜'];
const TEXT = ['t', ' ', '&amp;', '&lt;', '&gt;', '&#13;', '"', "'", '&#9;', '\n', 'ư', 'Tiếng Việt', '😀', ']]&gt;', '\u00a0', '\ufffd'];
const VALUES = ['v', ' ', '&amp;', '&lt;', '&gt;', '&quot;', "'", '&#9;', '&#10;', '&#13;', 'ư', '😀', '\uffef'];

/**
 * A non-ASCII prefix is allowed in about one document in eight, and so is a namespace URI
 * holding "&": xmldsigjs mishandles the first, and would otherwise hide every other difference.
 */
export function randomDocument(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number): boolean => random() < p;
  const PREFIXES = chance(0.12) ? [...ASCII_PREFIXES, 'ư'] : ASCII_PREFIXES;
  const URIS = chance(0.12) ? [...PLAIN_URIS, 'urn:x?a=1&amp;b=2'] : PLAIN_URIS;
  const many = (items: readonly string[], max: number): string => Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(items)).join('');
  const misc = (): string => (chance(0.5) ? `<?${pick(['pi', 'x-y', 'ư'])}${pick(['', ' data', ' a &amp; <b> "c"', ' ư 😀'])}?>` : `<!--${pick(['', ' c ', 'a&b<c>"', ' ư 😀 ', '-a'])}-->`);

  const element = (depth: number, inScope: ReadonlyMap<string, string>): string => {
    const scope = new Map(inScope);
    const declarations = new Map<string, string>();
    for (let i = Math.floor(random() * 3); i > 0; i--) {
      if (chance(0.4)) declarations.set('', pick([...URIS, '', '']));
      else declarations.set(pick(PREFIXES), pick(URIS));
    }
    const prefix = pick(['', '', '', ...PREFIXES]);
    if (prefix && !scope.has(prefix) && !declarations.has(prefix)) declarations.set(prefix, pick(URIS));
    for (const [p, uri] of declarations) scope.set(p, uri);
    const attributes: string[] = [];
    const used = new Set<string>();
    for (let i = Math.floor(random() * 4); i > 0; i--) {
      const local = pick(ATTRIBUTE_NAMES);
      const kind = random();
      if (kind < 0.4) {
        if (used.has(`|${local}`)) continue;
        used.add(`|${local}`);
        attributes.push(`${local}="${many(VALUES, 4)}"`);
      } else if (kind < 0.8) {
        const p = pick(PREFIXES);
        if (!scope.has(p)) {
          const uri = pick(URIS);
          declarations.set(p, uri);
          scope.set(p, uri);
        }
        const key = `${scope.get(p)}|${local}`;
        if (used.has(key)) continue;
        used.add(key);
        attributes.push(`${p}:${local}="${many(VALUES, 3)}"`);
      } else {
        const name = pick(['xml:lang', 'xml:space']);
        if (used.has(name)) continue;
        used.add(name);
        attributes.push(`${name}="${name === 'xml:lang' ? pick(['vi', 'en', '']) : pick(['preserve', 'default'])}"`);
      }
    }
    const name = `${prefix ? `${prefix}:` : ''}${pick(NAMES)}`;
    const xmlns = [...declarations].map(([p, uri]) => ` xmlns${p ? `:${p}` : ''}="${uri}"`).join('');
    let content = '';
    if (depth < 5) {
      for (let i = Math.floor(random() * 4); i > 0; i--) {
        const what = random();
        if (what < 0.45) content += element(depth + 1, scope);
        else if (what < 0.75) content += many(TEXT, 5);
        else if (what < 0.85) content += `<![CDATA[${pick(['', 'a<b&c>"d"', '\r\n', ']]', 'ư😀'])}]]>`;
        else content += misc();
      }
    } else {
      content = many(TEXT, 3);
    }
    return `<${name}${xmlns}${attributes.map((a) => ` ${a}`).join('')}>${content}</${name}>`;
  };
  const declaration = chance(0.3) ? '<?xml version="1.0" encoding="UTF-8"?>' : '';
  const before = Array.from({ length: Math.floor(random() * 3) }, () => misc() + pick(['', '\n'])).join('');
  const after = Array.from({ length: Math.floor(random() * 3) }, () => pick(['', '\n']) + misc()).join('');
  return `${declaration}${before}${element(0, new Map())}${after}`;
}
