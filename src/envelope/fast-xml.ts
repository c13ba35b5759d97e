/**
 * A read-only XML reader for what verification reads: signed packets as lienthong and agency
 * systems write them. xmldom 0.9 compiles a Unicode RegExp for every end tag (xmldom#950): half
 * the time of verifying a 5 KB packet went into parsing it.
 *
 * It reads a conservative subset in one pass and answers undefined for anything else, never
 * guessing: the caller then parses with xmldom, whose tree and refusals stay the reference. The
 * subset: an XML 1.0 declaration at the very start; elements and attributes named by ASCII
 * NCNames with at most one prefix; namespaces declared in the document; the five predefined
 * entities and character references; whitespace around the root. Comments, processing
 * instructions, CDATA and DOCTYPEs are xmldom's. What it builds is what xmldom builds for the
 * same text, in every property of xml-tree.ts (test/unit/fast-xml-differential.test.ts).
 *
 * It reads text that has passed admission (xml.ts): the sizes, depth and node counts it meets
 * are bounded there.
 */
import {
  DOCUMENT_NODE,
  ELEMENT_NODE,
  PROCESSING_INSTRUCTION_NODE,
  TEXT_NODE,
  type XmlAttr,
  type XmlDocument,
  type XmlElement,
} from './xml-tree.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/**
 * More attributes on one element, or more namespace bindings in scope, than a packet carries:
 * left to xmldom, so that duplicate and prefix checks stay a few comparisons each.
 */
const MAX_ATTRIBUTES = 32;
const MAX_BINDINGS = 64;

type FastParent = FastDocument | FastElement;
type FastChild = FastElement | FastText | FastInstruction;

export class FastDocument implements XmlDocument {
  readonly nodeType = DOCUMENT_NODE;
  readonly nodeName = '#document';
  readonly parentNode = null;
  readonly nextSibling = null;
  firstChild: FastChild | null = null;
  lastChild: FastChild | null = null;
  documentElement: FastElement | null = null;
}

export class FastElement implements XmlElement {
  readonly nodeType = ELEMENT_NODE;
  firstChild: FastChild | null = null;
  lastChild: FastChild | null = null;
  nextSibling: FastChild | null = null;
  /**
   * Where the element ends in the text read: past the ">" of its end tag (or of "<a/>"). Signing
   * splices its Signature there into the input rather than writing the document again.
   */
  sourceEnd = -1;

  constructor(
    readonly parentNode: FastParent,
    readonly nodeName: string,
    readonly prefix: string | null,
    readonly localName: string,
    readonly namespaceURI: string | null,
    readonly attributes: readonly FastAttr[],
  ) {}

  get tagName(): string {
    return this.nodeName;
  }

  /** Walked without recursion: the depth is the caller's limit, not the stack's. */
  get textContent(): string {
    const first = this.firstChild;
    if (first === null) return '';
    if (first.nextSibling === null && first.nodeType === TEXT_NODE) return first.data;
    let text = '';
    let n: FastChild | null = first;
    while (n !== null) {
      if (n.nodeType === TEXT_NODE) text += n.data;
      else if (n.nodeType === ELEMENT_NODE && n.firstChild !== null) {
        n = n.firstChild;
        continue;
      }
      while (n.nextSibling === null) {
        const up: FastParent = n.parentNode;
        if (up === this || up.nodeType !== ELEMENT_NODE) return text;
        n = up;
      }
      n = n.nextSibling as FastChild | null;
    }
    return text;
  }

  getAttribute(qualifiedName: string): string | null {
    for (const a of this.attributes) if (a.name === qualifiedName) return a.value;
    return null;
  }

  hasAttribute(qualifiedName: string): boolean {
    return this.getAttribute(qualifiedName) !== null;
  }

  hasAttributeNS(namespace: string | null, localName: string): boolean {
    const ns = namespace || null;
    for (const a of this.attributes) if (a.localName === localName && a.namespaceURI === ns) return true;
    return false;
  }
}

export class FastAttr implements XmlAttr {
  constructor(
    readonly name: string,
    readonly prefix: string | null,
    readonly localName: string,
    readonly namespaceURI: string | null,
    readonly value: string,
  ) {}
}

export class FastText {
  readonly nodeType = TEXT_NODE;
  readonly nodeName = '#text';
  readonly firstChild = null;
  nextSibling: FastChild | null = null;

  constructor(
    readonly parentNode: FastParent,
    readonly data: string,
  ) {}
}

/** The XML declaration, which xmldom keeps as an instruction named "xml". */
export class FastInstruction {
  readonly nodeType = PROCESSING_INSTRUCTION_NODE;
  readonly firstChild = null;
  nextSibling: FastChild | null = null;

  constructor(
    readonly parentNode: FastParent,
    readonly nodeName: string,
    readonly data: string,
  ) {}

  get target(): string {
    return this.nodeName;
  }
}

/** Whether `doc` was read by this reader, not by xmldom: what the tests keep from vanishing. */
export function isFastDocument(doc: XmlDocument): boolean {
  return doc instanceof FastDocument;
}

/** Large text segments admission set aside (hoist.ts): each mark stands for its text. */
export interface MarkedTexts {
  marks: readonly string[];
  texts: readonly string[];
}

/** The tree of `text`, or undefined when it is outside the subset (xmldom decides then). */
export function readFastXml(text: string, marked?: MarkedTexts): XmlDocument | undefined {
  // XML 1.0 line ends (§2.11), before anything else, as xmldom is configured (xml.ts).
  const source = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  return new Reader(source, marked).read();
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const COLON = 0x3a;
const AMP = 0x26;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const TAB = 0x09;
const LF = 0x0a;
const SPACE = 0x20;

/** 1: may start a name part ([A-Za-z_]); 2: may continue one ([A-Za-z0-9._-]). */
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_]/.test(ch)) NAME[c] = 3;
  else if (/[0-9.-]/.test(ch)) NAME[c] = 2;
}
const startsName = (c: number): boolean => c < 128 && ((NAME[c] as number) & 1) !== 0;
const continuesName = (c: number): boolean => c < 128 && ((NAME[c] as number) & 2) !== 0;
const isSpace = (c: number): boolean => c === SPACE || c === LF || c === TAB;

const DECLARATION = /^<\?xml[ \t\n]+(version[ \t\n]*=[ \t\n]*(?:"1\.0"|'1\.0')(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(?:"[Uu][Tt][Ff]-?8"|'[Uu][Tt][Ff]-?8'))?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\n]*)\?>/;

const NO_ATTRIBUTES: readonly FastAttr[] = Object.freeze([]);

class Reader {
  /** Namespace bindings in scope, innermost last: prefix ("" for the default) and URI ("" undeclares). */
  private readonly prefixes: string[] = [];
  private readonly uris: string[] = [];
  /** Per open element, how many bindings were in scope outside it. */
  private readonly scopes: number[] = [];
  /** The start tag being read: raw names, where their colon is, values. */
  private readonly names: string[] = [];
  private readonly colons: number[] = [];
  private readonly values: string[] = [];
  private readonly markIndex: Map<string, number> | undefined;
  private readonly markFound: boolean[] = [];
  private minMark = Infinity;
  private maxMark = 0;

  constructor(
    private readonly s: string,
    private readonly marked: MarkedTexts | undefined,
  ) {
    if (marked && marked.marks.length > 0) {
      this.markIndex = new Map(marked.marks.map((mark, i) => [mark, i]));
      for (const mark of marked.marks) {
        this.minMark = Math.min(this.minMark, mark.length);
        this.maxMark = Math.max(this.maxMark, mark.length);
      }
    }
  }

  read(): FastDocument | undefined {
    const s = this.s;
    const doc = new FastDocument();
    let at = 0;
    if (s.startsWith('<?xml')) {
      const declaration = DECLARATION.exec(s.slice(0, 512));
      if (!declaration) return undefined;
      append(doc, new FastInstruction(doc, 'xml', declaration[1] as string));
      at = declaration[0].length;
    }
    const root = skipSpace(s, at);
    if (root > at) append(doc, new FastText(doc, s.slice(at, root)));
    if (s.charCodeAt(root) !== LT || !startsName(s.charCodeAt(root + 1))) return undefined;
    at = root;
    let parent: FastParent = doc;
    for (;;) {
      // `at` is on a "<".
      const opened = s.charCodeAt(at + 1) !== SLASH;
      if (!opened) {
        if (parent.nodeType !== ELEMENT_NODE) return undefined;
        const name = parent.nodeName;
        if (!s.startsWith(name, at + 2)) return undefined;
        const close = skipSpace(s, at + 2 + name.length);
        if (s.charCodeAt(close) !== GT) return undefined;
        this.closeScope();
        parent.sourceEnd = close + 1;
        parent = parent.parentNode;
        at = close + 1;
      } else {
        if (parent === doc && doc.documentElement !== null) return undefined;
        const element = this.startTag(at, parent);
        if (element === undefined) return undefined;
        append(parent, element);
        if (parent === doc) doc.documentElement = element;
        if (this.selfClosed) {
          this.closeScope();
          element.sourceEnd = this.tagEnd;
        } else parent = element;
        at = this.tagEnd;
      }
      // After a start tag, the next "<" is the one its reading found.
      const lt = opened ? this.nextLt : s.indexOf('<', at);
      const end = lt === -1 ? s.length : lt;
      if (end > at) {
        if (parent === doc) {
          // xmldom keeps no text after the root; anything but whitespace there is an error.
          if (skipSpace(s, at) < end) return undefined;
        } else {
          const data = this.text(at, end);
          if (data === undefined) return undefined;
          append(parent, new FastText(parent, data));
        }
      }
      if (lt === -1) break;
      at = lt;
    }
    if (parent !== doc || doc.documentElement === null) return undefined;
    if (this.markIndex && this.markFound.filter(Boolean).length !== this.markIndex.size) return undefined;
    return doc;
  }

  private closeScope(): void {
    const outside = this.scopes.pop() as number;
    // Most elements declare nothing: setting an array's length costs a runtime call even then.
    if (this.prefixes.length === outside) return;
    this.prefixes.length = outside;
    this.uris.length = outside;
  }

  /**
   * The element whose start tag is at `lt`. Where the tag ends and whether it is empty (`<a/>`)
   * are left in tagEnd and selfClosed: no array per element to return them in.
   */
  private startTag(lt: number, parent: FastParent): FastElement | undefined {
    const s = this.s;
    // No "<" inside a tag: every attribute value must close before the next one.
    const nextLt = s.indexOf('<', lt + 1);
    this.nextLt = nextLt;
    const limit = nextLt === -1 ? s.length : nextLt;
    const nameEnd = this.qname(lt + 1);
    if (nameEnd < 0) return undefined;
    const elementColon = this.colon;
    const qname = s.slice(lt + 1, nameEnd);
    const names = this.names;
    const colons = this.colons;
    const values = this.values;
    // The arrays are reused from tag to tag, only their first `count` entries this tag's.
    let count = 0;
    let at = nameEnd;
    let selfClosed = false;
    for (;;) {
      const next = skipSpace(s, at);
      const c = s.charCodeAt(next);
      if (c === GT) {
        at = next + 1;
        break;
      }
      if (c === SLASH) {
        if (s.charCodeAt(next + 1) !== GT) return undefined;
        at = next + 2;
        selfClosed = true;
        break;
      }
      // Attributes are set apart by whitespace (xmldom would take `a="1"b="2"`, XML does not).
      if (next === at || count === MAX_ATTRIBUTES) return undefined;
      const attributeEnd = this.qname(next);
      if (attributeEnd < 0) return undefined;
      let v = skipSpace(s, attributeEnd);
      if (s.charCodeAt(v) !== EQUALS) return undefined;
      v = skipSpace(s, v + 1);
      const quote = s.charCodeAt(v);
      if (quote !== QUOTE && quote !== APOSTROPHE) return undefined;
      const close = s.indexOf(quote === QUOTE ? '"' : "'", v + 1);
      if (close < 0 || close > limit) return undefined;
      const value = attributeValue(s, v + 1, close);
      if (value === undefined) return undefined;
      names[count] = s.slice(next, attributeEnd);
      colons[count] = this.colon < 0 ? -1 : this.colon - next;
      values[count] = value;
      count += 1;
      at = close + 1;
    }
    if (at > limit) return undefined;

    // Declarations first: they are in scope on the element that makes them, whatever their place.
    this.scopes.push(this.prefixes.length);
    for (let i = 0; i < count; i++) {
      const name = names[i] as string;
      const colon = colons[i] as number;
      let prefix: string;
      if (colon < 0 && name === 'xmlns') prefix = '';
      else if (colon === 5 && name.startsWith('xmlns')) prefix = name.slice(6);
      else continue;
      const uri = values[i] as string;
      // Rebinding xml or xmlns, binding their URIs, and undeclaring a prefix (XML 1.1 only) are left to xmldom.
      if (prefix === 'xml' || prefix === 'xmlns' || uri === XML_NS || uri === XMLNS_NS || (uri === '' && prefix !== '')) return undefined;
      if (this.prefixes.length === MAX_BINDINGS) return undefined;
      this.prefixes.push(prefix);
      this.uris.push(uri);
    }

    let prefix: string | null = null;
    let localName = qname;
    let namespace: string | null;
    if (elementColon < 0) {
      // The DOM refuses an element named xmlns outside the xmlns namespace (xmldom: a NamespaceError).
      if (qname === 'xmlns') return undefined;
      namespace = this.lookup('') || null;
    } else {
      prefix = qname.slice(0, elementColon - lt - 1);
      localName = qname.slice(elementColon - lt);
      if (prefix === 'xml' || prefix === 'xmlns') return undefined;
      const uri = this.lookup(prefix);
      if (!uri) return undefined;
      namespace = uri;
    }

    let attributes = NO_ATTRIBUTES;
    if (count > 0) {
      const list: FastAttr[] = [];
      for (let i = 0; i < count; i++) {
        const name = names[i] as string;
        const colon = colons[i] as number;
        const value = values[i] as string;
        let attribute: FastAttr;
        if (colon < 0) {
          attribute = name === 'xmlns' ? new FastAttr(name, null, name, XMLNS_NS, value) : new FastAttr(name, null, name, null, value);
        } else {
          const p = name.slice(0, colon);
          const local = name.slice(colon + 1);
          if (p === 'xmlns') attribute = new FastAttr(name, p, local, XMLNS_NS, value);
          else if (local === 'xmlns') return undefined;
          else if (p === 'xml') attribute = new FastAttr(name, p, local, XML_NS, value);
          else {
            const uri = this.lookup(p);
            if (!uri) return undefined;
            attribute = new FastAttr(name, p, local, uri, value);
          }
        }
        // The same name twice, or the same namespace and local name under two prefixes.
        for (const other of list) {
          if (other.name === name) return undefined;
          if (attribute.namespaceURI !== null && other.namespaceURI === attribute.namespaceURI && other.localName === attribute.localName) return undefined;
        }
        list.push(attribute);
      }
      attributes = list;
    }
    this.tagEnd = at;
    this.selfClosed = selfClosed;
    return new FastElement(parent, qname, prefix, localName, namespace, attributes);
  }

  /** Where the URI bound to `prefix` is; undefined when none is. */
  private lookup(prefix: string): string | undefined {
    for (let i = this.prefixes.length - 1; i >= 0; i--) if (this.prefixes[i] === prefix) return this.uris[i];
    return undefined;
  }

  /** Set by startTag: the first "<" after the one it read, or -1; where its tag ends; whether it is empty. */
  private nextLt = -1;
  private tagEnd = 0;
  private selfClosed = false;

  /** Set by qname: where the name's colon is, or -1. */
  private colon = -1;

  /** The end of the qualified name at `at`, or -1 when there is none there. */
  private qname(at: number): number {
    const s = this.s;
    this.colon = -1;
    if (!startsName(s.charCodeAt(at))) return -1;
    let i = at + 1;
    while (continuesName(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== COLON) return i;
    this.colon = i;
    if (!startsName(s.charCodeAt(i + 1))) return -1;
    i += 2;
    while (continuesName(s.charCodeAt(i))) i++;
    return s.charCodeAt(i) === COLON ? -1 : i;
  }

  /** The character data of s[from..to] inside an element, its references replaced. */
  private text(from: number, to: number): string | undefined {
    const raw = this.s.slice(from, to);
    if (raw.includes(']]>')) return undefined;
    if (this.markIndex && raw.length >= this.minMark && raw.length <= this.maxMark) {
      const i = this.markIndex.get(raw);
      if (i !== undefined) {
        if (this.markFound[i]) return undefined;
        this.markFound[i] = true;
        const text = (this.marked as MarkedTexts).texts[i] as string;
        return text.includes(']]>') ? undefined : text;
      }
    }
    let amp = raw.indexOf('&');
    if (amp < 0) return raw;
    let out = '';
    let last = 0;
    while (amp >= 0) {
      const semi = raw.indexOf(';', amp + 1);
      const character = semi < 0 ? undefined : reference(raw, amp + 1, semi);
      if (character === undefined) return undefined;
      out += raw.slice(last, amp) + character;
      last = semi + 1;
      amp = raw.indexOf('&', last);
    }
    return out + raw.slice(last);
  }
}

function append(parent: FastParent, child: FastChild): void {
  if (parent.lastChild === null) parent.firstChild = child;
  else parent.lastChild.nextSibling = child;
  parent.lastChild = child;
}

function skipSpace(s: string, at: number): number {
  while (isSpace(s.charCodeAt(at))) at++;
  return at;
}

/**
 * An attribute value s[from..to], normalised (XML 1.0 §3.3.3): references replaced, a literal
 * tab or line feed read as a space (a reference to one stays what it names).
 */
function attributeValue(s: string, from: number, to: number): string | undefined {
  let out = '';
  let last = from;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === LT) return undefined;
    if (c === TAB || c === LF) {
      out += `${s.slice(last, i)} `;
      last = i + 1;
    } else if (c === AMP) {
      const semi = s.indexOf(';', i + 1);
      const character = semi < 0 || semi > to ? undefined : reference(s, i + 1, semi);
      if (character === undefined) return undefined;
      out += s.slice(last, i) + character;
      i = semi;
      last = semi + 1;
    }
  }
  return last === from ? s.slice(from, to) : out + s.slice(last, to);
}

/** The character the reference s[from..to] (between "&" and ";") names, or undefined. */
function reference(s: string, from: number, to: number): string | undefined {
  const length = to - from;
  if (length < 2 || length > 9) return undefined;
  if (s.charCodeAt(from) !== 0x23 /* # */) {
    switch (s.slice(from, to)) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return undefined;
    }
  }
  const hex = s.charCodeAt(from + 1) === 0x78; /* x */
  const digits = s.slice(hex ? from + 2 : from + 1, to);
  if (!(hex ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) return undefined;
  const code = parseInt(digits, hex ? 16 : 10);
  return isXmlChar(code) ? String.fromCodePoint(code) : undefined;
}

/** The XML 1.0 `Char` production. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}
