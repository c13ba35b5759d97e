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

// --- the fast reader's subset, and its edges ----------------------------------------------

const SUBSET_NAMES = ['a', 'B', '_c', 'd.e', 'f-g', 'h1', 'xmlx', 'Signature', 'edXML'];
const ODD_NAMES = ['Ư', '1a', 'a:b:c', 'é', '-a', 'a:', ':a', 'xmlns', 'xml'];
const SUBSET_PREFIXES = ['p', 'q', 'ns.1', 'z-z', 'ds'];
const ODD_PREFIXES = ['xml', 'xmlns', 'undeclared'];
const SUBSET_URIS = ['urn:a', 'urn:b', 'http://www.w3.org/2000/09/xmldsig#', 'urn:x?a=1&amp;b=2'];
const ODD_URIS = ['', 'http://www.w3.org/XML/1998/namespace', 'http://www.w3.org/2000/xmlns/'];
const PIECES = ['v', ' ', '\t', '\n', '\r\n', '\r', '\r\r\n', '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#9;', '&#10;', '&#13;', '&#xD;', '&#x20AC;', '&#128512;', '&#65;', '>', 'ư', '😀', ']]', '\u0085', '\u2028'];
const ODD_PIECES = [']]>', '&#0;', '&#xFFFE;', '&nbsp;', '&', '<', '&#X41;', '&#xD800;', '&amp', '\u0001'];
const SPACES = [' ', ' ', ' ', '\n', '\t', '\r\n', '  '];
const DECLARATIONS = [
  '<?xml version="1.0"?>',
  '<?xml version="1.0" encoding="UTF-8"?>',
  "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
  '<?xml  version = "1.0"\n encoding="UTF8" ?>',
  '<?xml version="1.0" standalone="no"?>',
];
const ODD_DECLARATIONS = ['<?xml version="1.1"?>', '<?xml version="1.0" standalone="yes" encoding="UTF-8"?>', '<?xml?>', '<?xml-stylesheet href="a"?>', ' <?xml version="1.0"?>'];

/**
 * Seeded random documents mostly inside the fast reader's subset (test/unit/fast-xml-differential):
 * ASCII names, prefixes declared, redeclared and undeclared (xmlns=""), attributes in and out
 * of namespaces, references and CR/LF variants in text and values, whitespace in tags and
 * around the root; and, at `oddity` per choice, what is outside it or not XML at all: other
 * names, xml/xmlns prefixes, undeclared prefixes, duplicate attributes, "]]>", bad references,
 * comments, instructions, CDATA, unquoted or unseparated attributes, other declarations.
 */
export function randomSubsetDocument(random: () => number, oddity = 0.02): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number): boolean => random() < p;
  const odd = (): boolean => chance(oddity);
  const space = (): string => pick(SPACES);
  const maybeSpace = (): string => (chance(0.2) ? space() : '');
  const pieces = (max: number, quote?: string): string => {
    let out = '';
    for (let i = Math.floor(random() * (max + 1)); i > 0; i--) {
      const piece = odd() ? pick(ODD_PIECES) : pick(PIECES);
      out += piece === quote ? (quote === '"' ? '&quot;' : '&apos;') : piece;
    }
    return out;
  };
  const uri = (): string => (odd() ? pick(ODD_URIS) : pick(SUBSET_URIS));
  const misc = (): string => pick(['<!--c-->', '<?pi d?>', '<![CDATA[x<y]]>', '<!-- ư -->']);

  const element = (depth: number, inScope: ReadonlyMap<string, string>): string => {
    const scope = new Map(inScope);
    const attributes: string[] = [];
    const declared = new Set<string>();
    const declare = (prefix: string, value: string): void => {
      // Twice on one element is not XML: only as an oddity.
      if (declared.has(prefix) && !odd()) return;
      declared.add(prefix);
      attributes.push(prefix === '' ? `xmlns=${quoted(value)}` : `xmlns:${prefix}=${quoted(value)}`);
      scope.set(prefix, value);
    };
    const quoted = (value: string): string => {
      if (odd()) return value.replace(/["'<]/g, '') || 'u';
      const quote = chance(0.3) ? "'" : '"';
      return `${quote}${value.split(quote).join(quote === '"' ? '&quot;' : '&apos;')}${quote}`;
    };
    for (let i = Math.floor(random() * 3); i > 0; i--) {
      if (chance(0.35)) declare('', chance(0.3) ? '' : uri());
      else declare(odd() ? pick(ODD_PREFIXES) : pick(SUBSET_PREFIXES), uri());
    }
    let prefix = chance(0.5) ? pick(SUBSET_PREFIXES) : '';
    if (odd()) prefix = pick(ODD_PREFIXES);
    else if (prefix && !scope.get(prefix)) declare(prefix, pick(SUBSET_URIS));
    const used = new Set<string>();
    for (let i = Math.floor(random() * 4); i > 0; i--) {
      const local = odd() ? pick(ODD_NAMES) : pick(SUBSET_NAMES);
      let name = local;
      // The same namespace and local name under two prefixes is not namespace-well-formed either.
      let key = `|${local}`;
      const kind = random();
      if (kind < 0.3) {
        let p = pick(SUBSET_PREFIXES);
        if (odd()) p = pick(ODD_PREFIXES);
        else if (!scope.get(p)) declare(p, pick(SUBSET_URIS));
        name = `${p}:${local}`;
        key = `${scope.get(p) ?? p}|${local}`;
      } else if (kind < 0.4) {
        name = pick(['xml:lang', 'xml:space', 'xml:id']);
        key = name;
      }
      if ((used.has(key) || used.has(name)) && !odd()) continue;
      used.add(key);
      used.add(name);
      attributes.push(`${name}${maybeSpace()}=${maybeSpace()}${quoted(pieces(3, undefined))}`);
    }
    const localName = odd() ? pick(ODD_NAMES) : pick(SUBSET_NAMES);
    const name = prefix ? `${prefix}:${localName}` : localName;
    const tagSpace = (): string => (odd() ? '' : space());
    const start = `<${name}${attributes.map((a) => `${tagSpace()}${a}`).join('')}${maybeSpace()}`;
    let content = '';
    if (depth < 5) {
      for (let i = Math.floor(random() * 4); i > 0; i--) {
        const what = random();
        if (what < 0.5) content += element(depth + 1, scope);
        else if (what < 0.97 || !odd()) content += pieces(5);
        else content += misc();
      }
    } else {
      content = pieces(3);
    }
    if (content === '' && chance(0.4)) return `${start}/>`;
    const endName = odd() ? pick(SUBSET_NAMES) : name;
    return `${start}>${content}</${endName}${maybeSpace()}>`;
  };
  const declaration = chance(0.5) ? (odd() ? pick(ODD_DECLARATIONS) : pick(DECLARATIONS)) : '';
  const before = chance(0.5) ? pick(['\n', '\r\n', '  ', '\n\t', '\r']) : '';
  const after = chance(0.5) ? pick(['\n', '\r\n', ' \n ', '\r']) : '';
  const tail = odd() ? pick([misc(), 'x', '<a/>', '&amp;']) : '';
  const head = odd() ? misc() : '';
  return `${declaration}${head}${before}${element(0, new Map())}${after}${tail}`;
}

/**
 * `xml` changed at seeded random places the way broken or hostile input is: cut short, an end
 * tag renamed, "<", "&" or "]]>" put in, an attribute twice, a prefix nobody declared, other
 * line ends, a reference, a comment or CDATA, a declaration dropped or added.
 */
export function mutateXml(xml: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const at = Math.floor(random() * (xml.length + 1));
  const insert = (text: string, where = at): string => xml.slice(0, where) + text + xml.slice(where);
  const inText = (): number => {
    const gt = xml.indexOf('>', at);
    return gt === -1 ? at : gt + 1;
  };
  const inTag = (): number => {
    const lt = xml.indexOf('<', at);
    if (lt === -1) return at;
    const end = xml.slice(lt).search(/[\s/>]/);
    return end === -1 ? at : lt + end;
  };
  switch (Math.floor(random() * 16)) {
    case 0:
      return xml.slice(0, at);
    case 1:
      return xml.replace(/<\/([A-Za-z_:.-]+)>/g, (m, name: string, offset: number) => (offset >= at && offset < at + 400 ? `</${name}x>` : m));
    case 2:
      return insert('<');
    case 3:
      return insert('&', inText());
    case 4:
      return insert(']]>', inText());
    case 5: {
      const name = pick(['a', 'xmlns:edXML', 'xmlns', 'ds:a']);
      return insert(` ${name}="1" ${name}="2"`, inTag());
    }
    case 6:
      return insert(' zz:a="1"', inTag());
    case 7:
      return xml.replace(/<(\/?)edXML:([A-Za-z]+)/, '<$1zz:$2');
    case 8:
      return xml.replace(/\n/g, pick(['\r\n', '\r', '\n\r']));
    case 9:
      return insert(pick(['&#13;', '&#x20AC;', '&lt;', '&#x1F600;', '&quot;']), inText());
    case 10:
      return insert(pick(['<!--c-->', '<![CDATA[a]]>', '<?p i?>', '<!DOCTYPE a>']), inText());
    case 11:
      return xml.replace(/^<\?xml[^>]*>/, '');
    case 12:
      return `${pick(DECLARATIONS)}${pick(['', '\n', '\r\n'])}${xml.replace(/^<\?xml[^>]*>\s*/, '')}`;
    case 13:
      return insert(pick([' ', '\t', '\n', '\r\n']), inTag());
    case 14:
      return insert(' xmlns=""', inTag());
    default:
      return xml.replace(/"/g, (m, offset: number) => (offset >= at && offset < at + 200 ? "'" : m));
  }
}
