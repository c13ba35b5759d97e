/**
 * lienthong's canonicalisation before src/crypto/c14n.ts: xmldsigjs's XmlCanonicalizer, with
 * the pre-processing that made its output Canonical XML (xmlns="" moved to where c14n writes
 * it, the namespaces and xml:* attributes in scope copied onto an apex, omitted elements
 * detached for the time of the call). Kept as the reference the differential tests compare
 * with; where it is wrong, xmllint is the judge (test/unit/c14n-differential.test.ts).
 */
import { XmlCanonicalizer } from 'xmldsigjs';
import type { C14nMethod } from '../../src/crypto/c14n.js';
import { useXmldsigjs } from './xmldsigjs.js';

const ELEMENT_NODE = 1;
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** A URI="" Reference's octets the old way: omitted elements detached, then put back. */
export function referenceCanonicalDocument(doc: Document, method: C14nMethod, omitted: readonly Element[]): string {
  useXmldsigjs();
  const places = omitted.map((el) => ({ el, parent: el.parentNode as Node, next: el.nextSibling }));
  for (const p of places) p.parent.removeChild(p.el);
  try {
    return withEmptyDefaultDeclarations(doc, method.exclusive, () => new XmlCanonicalizer(method.withComments, method.exclusive).Canonicalize(doc));
  } finally {
    for (const p of [...places].reverse()) p.parent.insertBefore(p.el, p.next);
  }
}

/** SignedInfo's octets the old way. */
export function referenceCanonicalSubtree(apex: Element, method: C14nMethod): string {
  useXmldsigjs();
  const top = method.exclusive ? apex : withInheritedContext(apex);
  return withEmptyDefaultDeclarations(top, method.exclusive, () => new XmlCanonicalizer(method.withComments, method.exclusive).Canonicalize(top));
}

function attributesOf(element: Element): Attr[] {
  return Array.from({ length: element.attributes.length }, (_, i) => element.attributes[i] as Attr);
}

function withInheritedContext(element: Element): Element {
  const copy = element.cloneNode(true) as Element;
  const declared = new Set<string>();
  for (const a of attributesOf(element)) if (a.namespaceURI === XMLNS_NS) declared.add(a.prefix ? a.localName : '');
  for (let n = element.parentNode; n && n.nodeType === ELEMENT_NODE; n = n.parentNode) {
    for (const a of attributesOf(n as Element)) {
      if (a.namespaceURI === XMLNS_NS) {
        const prefix = a.prefix ? a.localName : '';
        if (declared.has(prefix)) continue;
        declared.add(prefix);
        if (a.value !== '') copy.setAttributeNS(XMLNS_NS, a.name, a.value);
      } else if (a.namespaceURI === XML_NS && !copy.hasAttributeNS(XML_NS, a.localName)) {
        copy.setAttributeNS(XML_NS, a.name, a.value);
      }
    }
  }
  return copy;
}

function withEmptyDefaultDeclarations<T>(top: Document | Element, exclusive: boolean, run: () => T): T {
  const touched: Array<{ element: Element; attributes: Attr[] }> = [];
  const visit = (element: Element, parentDefault: string, outputDefault: string): void => {
    const declaration = element.getAttributeNodeNS(XMLNS_NS, 'xmlns');
    const inScope = declaration ? declaration.value : parentDefault;
    const unprefixed = !element.prefix;
    const needed = exclusive ? unprefixed && !element.namespaceURI && outputDefault !== '' : inScope === '' && parentDefault !== '';
    if (needed !== (declaration?.value === '')) {
      touched.push({ element, attributes: attributesOf(element) });
      if (declaration) element.removeAttributeNode(declaration);
      if (needed) element.setAttributeNS(XMLNS_NS, 'xmlns', '');
    }
    const childOutputDefault = unprefixed ? (element.namespaceURI ?? '') : outputDefault;
    for (let n = element.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === ELEMENT_NODE) visit(n as Element, inScope, childOutputDefault);
    }
  };
  const root = top.nodeType === ELEMENT_NODE ? (top as Element) : (top as Document).documentElement;
  try {
    if (root) visit(root, '', '');
    return run();
  } finally {
    for (const { element, attributes } of touched) {
      for (const a of attributesOf(element)) element.removeAttributeNode(a);
      for (const a of attributes) element.setAttributeNodeNS(a);
    }
  }
}
