/**
 * The part of the DOM lienthong's readers use: the canonicaliser, the signature profile, the
 * packet reader. Declared here rather than taken from the DOM so that they read two trees
 * alike: xmldom's (what signing builds and changes) and the read-only one of fast-xml.ts
 * (what verification reads). xmldom's nodes have every member below, so they fit as they are.
 */

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;
export const CDATA_SECTION_NODE = 4;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;
export const DOCUMENT_NODE = 9;

export interface XmlNode {
  readonly nodeType: number;
  /** The qualified name of an element, an instruction's target, "#text", "#document"... */
  readonly nodeName: string;
  readonly parentNode: XmlNode | null;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
}

export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
}

export interface XmlElement extends XmlNode {
  readonly tagName: string;
  readonly localName: string;
  /** null when the name has none, as the DOM has it. */
  readonly prefix: string | null;
  /** null for no namespace. */
  readonly namespaceURI: string | null;
  /** Namespace declarations included, in document order. */
  readonly attributes: XmlAttributes;
  /** The text of every text and CDATA node below, in document order. */
  readonly textContent: string | null;
  getAttribute(qualifiedName: string): string | null;
  hasAttribute(qualifiedName: string): boolean;
  hasAttributeNS(namespace: string | null, localName: string): boolean;
}

export interface XmlAttributes {
  readonly length: number;
  readonly [index: number]: XmlAttr;
}

export interface XmlAttr {
  readonly name: string;
  readonly prefix: string | null;
  readonly localName: string;
  readonly namespaceURI: string | null;
  readonly value: string;
}

/** Text, CDATA, comment or processing instruction (whose target is its nodeName). */
export interface XmlCharacterData extends XmlNode {
  readonly data: string;
}
