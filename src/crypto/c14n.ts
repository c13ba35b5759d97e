/**
 * Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, with and without comments,
 * written straight from a parsed tree (xmldom's or fast-xml's, see xml-tree.ts): the octets a
 * signer digests and a verifier recomputes. Two node-sets are ever canonicalised by the edXML
 * profile, and only these are supported:
 *
 * - a whole document less some element subtrees (the enveloped signature, TraceHeaders a
 *   relaying hub appended): every ancestor of an output element is output, so a namespace
 *   declaration is compared with its parent's alone;
 * - the subtree of one element (SignedInfo): its apex has no output ancestor, so inclusive
 *   c14n renders there every namespace in scope and the xml:* attributes it inherits.
 *
 * Exclusive c14n's InclusiveNamespaces PrefixList is not supported: the profile refuses it.
 * The tree is only read, never changed, so a document can be canonicalised while others read it.
 */
import {
  CDATA_SECTION_NODE,
  COMMENT_NODE,
  ELEMENT_NODE,
  PROCESSING_INSTRUCTION_NODE,
  TEXT_NODE,
  type XmlAttr,
  type XmlCharacterData,
  type XmlDocument,
  type XmlElement,
  type XmlNode,
} from '../envelope/xml-tree.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface C14nMethod {
  /** Exclusive c14n renders only visibly utilized namespaces, inclusive every one in scope. */
  exclusive: boolean;
  withComments: boolean;
}

/** Where canonical text goes, piece by piece, in document order. */
export interface C14nSink {
  write(text: string): void;
}

/** Prefix → namespace URI, the default namespace under "". Shared until an element changes it. */
type Bindings = ReadonlyMap<string, string>;

const NO_BINDINGS: Bindings = new Map();

/** What the apex of a subtree writes for its ancestors under inclusive c14n. */
interface Apex {
  inScope: Bindings;
  inherited: OutputAttribute[];
}

interface OutputAttribute {
  name: string;
  prefix: string;
  namespace: string;
  localName: string;
  value: string;
}

/**
 * The octets of `doc` without the subtrees rooted at `omitted`: processing instructions (and,
 * with comments, comments) before and after the root element are content, each set apart
 * from the root by a line feed; the XML declaration and whitespace outside the root are not.
 */
export function canonicalizeDocument(doc: XmlDocument, method: C14nMethod, omitted: ReadonlySet<XmlNode>, sink: C14nSink): void {
  const writer = new Writer(method, omitted, sink);
  let afterRoot = false;
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) {
      if (!omitted.has(n)) writer.element(n as XmlElement, NO_BINDINGS, undefined);
      afterRoot = true;
    } else if (n.nodeType === PROCESSING_INSTRUCTION_NODE || (n.nodeType === COMMENT_NODE && method.withComments)) {
      // xmldom keeps the XML declaration as an instruction named "xml"; it is not one.
      if (n.nodeType === PROCESSING_INSTRUCTION_NODE && n.nodeName === 'xml') continue;
      if (afterRoot) sink.write('\n');
      writer.leaf(n);
      if (!afterRoot) sink.write('\n');
    }
  }
}

/**
 * The octets of the subtree of `apex`, read where it stands: inclusive c14n writes on the apex
 * every namespace in scope there and the xml:* attributes it inherits from its ancestors
 * (c14n 1.0 §2.4); exclusive c14n needs neither (exc-c14n §3).
 */
export function canonicalizeSubtree(apex: XmlElement, method: C14nMethod, sink: C14nSink): void {
  const writer = new Writer(method, new Set(), sink);
  if (method.exclusive) {
    writer.element(apex, NO_BINDINGS, undefined);
    return;
  }
  const inScope = new Map<string, string>();
  const inherited: OutputAttribute[] = [];
  const inheritedNames = new Set<string>();
  for (let n = apex.parentNode; n && n.nodeType === ELEMENT_NODE; n = n.parentNode) {
    const element = n as XmlElement;
    const attributes = element.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i] as XmlAttr;
      if (a.namespaceURI === XMLNS_NS) {
        const prefix = a.prefix ? a.localName : '';
        if (!inScope.has(prefix)) inScope.set(prefix, a.value);
      } else if (a.namespaceURI === XML_NS && !inheritedNames.has(a.localName) && !apex.hasAttributeNS(XML_NS, a.localName)) {
        inheritedNames.add(a.localName);
        inherited.push({ name: a.name, prefix: 'xml', namespace: XML_NS, localName: a.localName, value: a.value });
      }
    }
    // A namespace an element is in is in scope below it, declared or not (a DOM built by code).
    bind(inScope, element.prefix ?? '', element.namespaceURI ?? '');
  }
  writer.element(apex, NO_BINDINGS, { inScope, inherited });
}

function bind(bindings: Map<string, string>, prefix: string, namespace: string): void {
  if (prefix !== 'xml' && !bindings.has(prefix)) bindings.set(prefix, namespace);
}

/** The whole canonical form as one string. */
export function canonicalString(write: (sink: C14nSink) => void): string {
  const chunks: string[] = [];
  write({ write: (text) => chunks.push(text) });
  return chunks.join('');
}

class Writer {
  constructor(
    private readonly method: C14nMethod,
    private readonly omitted: ReadonlySet<XmlNode>,
    private readonly sink: C14nSink,
  ) {}

  /**
   * `rendered`: for inclusive c14n, the namespaces in scope at the parent, every one of which
   * the parent output; for exclusive c14n, the ones its output ancestors rendered, nearest first.
   */
  element(element: XmlElement, rendered: Bindings, apex: Apex | undefined): void {
    const exclusive = this.method.exclusive;
    const attributes = element.attributes;
    let plain: OutputAttribute[] | undefined = apex && apex.inherited.length > 0 ? apex.inherited.slice() : undefined;
    // Inclusive: the element's namespaces in scope that may differ from its parent's. Exclusive:
    // those it visibly utilizes, its own prefix's and its attributes'. Most elements have none.
    let changed: Map<string, string> | undefined = apex && !exclusive ? new Map(apex.inScope) : undefined;
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i] as XmlAttr;
      const namespace = a.namespaceURI ?? '';
      if (namespace === XMLNS_NS) {
        if (!exclusive) (changed ??= new Map()).set(a.prefix ? a.localName : '', a.value);
      } else {
        (plain ??= []).push({ name: a.name, prefix: a.prefix ?? '', namespace, localName: a.localName, value: a.value });
      }
    }
    // A namespace an element or attribute is in is in scope there, declared or not: a DOM
    // built by code (the signer's SignedInfo) carries no declarations.
    changed = this.uses(changed, rendered, element.prefix ?? '', element.namespaceURI ?? '');
    if (plain) for (const a of plain) if (a.namespace !== '') changed = this.uses(changed, rendered, a.prefix, a.namespace);

    let start = `<${element.nodeName}`;
    let below = rendered;
    if (changed) {
      const declarations: Array<[string, string]> = [];
      for (const [prefix, namespace] of changed) {
        // The xml prefix is bound by definition and never written, even where a document declares it.
        if (prefix === 'xml' || renderedAs(rendered, prefix) === namespace) continue;
        declarations.push([prefix, namespace]);
      }
      if (declarations.length > 0) {
        const next = new Map(rendered);
        if (declarations.length > 1) declarations.sort((x, y) => compareCodePoints(x[0], y[0]));
        for (const [prefix, namespace] of declarations) {
          next.set(prefix, namespace);
          // A namespace URI is written unescaped, as libxml2 (so xmlsec1) writes it; c14n 1.0 would
          // escape it as an attribute value. Only a URI holding & < " or a tab, CR, LF tells them apart.
          start += `${prefix === '' ? ' xmlns' : ` xmlns:${prefix}`}="${namespace}"`;
        }
        below = next;
      }
    }
    if (plain) {
      if (plain.length > 1) plain.sort(compareAttributes);
      for (const a of plain) start += ` ${a.name}="${escapeAttribute(a.value)}"`;
    }
    const sink = this.sink;
    sink.write(`${start}>`);
    for (let n = element.firstChild; n; n = n.nextSibling) {
      const type = n.nodeType;
      if (type === TEXT_NODE || type === CDATA_SECTION_NODE) sink.write(escapeText((n as XmlCharacterData).data));
      else if (type === ELEMENT_NODE) {
        if (!this.omitted.has(n)) this.element(n as XmlElement, below, undefined);
      } else if (type === PROCESSING_INSTRUCTION_NODE || (type === COMMENT_NODE && this.method.withComments)) this.leaf(n);
    }
    sink.write(`</${element.nodeName}>`);
  }

  /** `changed`, with the binding of `prefix` the element uses when it may need writing. */
  private uses(changed: Map<string, string> | undefined, rendered: Bindings, prefix: string, namespace: string): Map<string, string> | undefined {
    if (prefix === 'xml') return changed;
    if (this.method.exclusive) {
      // The first use of a prefix decides, as declarations do; an empty default namespace
      // (xmlns="") is written only where it undeclares one an output ancestor wrote.
      if (changed?.has(prefix) || renderedAs(rendered, prefix) === namespace) return changed;
    } else if ((changed?.get(prefix) ?? renderedAs(rendered, prefix)) === namespace) {
      return changed;
    }
    (changed ??= new Map()).set(prefix, namespace);
    return changed;
  }

  /** A processing instruction or comment, written as it is: c14n escapes nothing in them. */
  leaf(node: XmlNode): void {
    if (node.nodeType === COMMENT_NODE) {
      this.sink.write(`<!--${(node as XmlCharacterData).data}-->`);
      return;
    }
    const data = (node as XmlCharacterData).data;
    this.sink.write(data ? `<?${node.nodeName} ${data}?>` : `<?${node.nodeName}?>`);
  }
}

/** The namespace `prefix` is bound to above an element: none for the default is the empty one. */
function renderedAs(rendered: Bindings, prefix: string): string | undefined {
  return rendered.get(prefix) ?? (prefix === '' ? '' : undefined);
}

/** Namespace URI first, then local name (c14n 1.0 §2.2), compared as UTF-8 octets are. */
function compareAttributes(x: OutputAttribute, y: OutputAttribute): number {
  return compareCodePoints(x.namespace, y.namespace) || compareCodePoints(x.localName, y.localName);
}

/**
 * Code point order, which is UTF-8 octet order, the order libxml2 sorts by. JavaScript's `<`
 * compares UTF-16 units and puts an astral character (a surrogate, D800–DFFF) before U+E000–FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? surrogatesLast(x) - surrogatesLast(y) : x - y;
  }
  return a.length - b.length;
}

function surrogatesLast(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

const TEXT_SPECIALS = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/g;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' };
const escapeOne = (c: string): string => ESCAPES[c] as string;

/** Text and CDATA content (c14n 1.0 §2.3): most text, a base64 attachment above all, has nothing to escape. */
export function escapeText(text: string): string {
  return hasTextSpecial(text) ? text.replace(TEXT_SPECIALS, escapeOne) : text;
}

/** Four native searches: half the time of one character-class regex over a 20 MB attachment. */
function hasTextSpecial(text: string): boolean {
  return text.includes('&') || text.includes('<') || text.includes('>') || text.includes('\r');
}

export function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value) ? value.replace(ATTRIBUTE_SPECIALS, escapeOne) : value;
}
