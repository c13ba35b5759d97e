/**
 * An XML document as a tree of what it says, for comparing what lienthong writes with what it
 * read: every element as {namespace}localName with its non-namespace attributes, its text
 * (whitespace-only text ignored, it is indentation) and its children, in document order.
 * `Signature` elements are left out: lienthong builds unsigned packets.
 */
import { parseXml } from '../../src/envelope/index.js';

export interface ElementShape {
  name: string;
  attributes: Record<string, string>;
  text: string[];
  children: ElementShape[];
}

/**
 * `orderFreeParents`: local names of elements whose children are compared sorted, for the
 * order-free types of schemas/edxml.xsd (xs:all) when the writer's order may differ.
 */
export function elementTree(xml: string | Uint8Array, orderFreeParents: ReadonlySet<string> = new Set()): ElementShape {
  const root = parseXml(xml).documentElement;
  if (!root) throw new Error('no root element');
  return shape(root, orderFreeParents);
}

function shape(el: Element, orderFreeParents: ReadonlySet<string>): ElementShape {
  const attributes: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i);
    if (a && a.name !== 'xmlns' && !a.name.startsWith('xmlns:')) attributes[`{${a.namespaceURI ?? ''}}${a.localName}`] = a.value;
  }
  const text: string[] = [];
  const children: ElementShape[] = [];
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) {
      const child = node as Element;
      if (child.localName === 'Signature') continue;
      children.push(shape(child, orderFreeParents));
    } else if (node.nodeType === 3 || node.nodeType === 4) {
      const value = node.nodeValue ?? '';
      if (value.trim() !== '') text.push(value);
    }
  }
  if (el.localName !== null && orderFreeParents.has(el.localName)) {
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return { name: `{${el.namespaceURI ?? ''}}${el.localName}`, attributes, text, children };
}
