/**
 * libxml2 as the judge of a canonical form (`xmllint --c14n` / `--exc-c14n`, the canonicaliser
 * inside xmlsec1). xmllint canonicalises whole documents, comments kept; what lienthong
 * canonicalises is first made into such a document: omitted elements and (without comments)
 * comments removed from a copy, a subtree copied out as a root element carrying what it
 * inherits where it stood.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeXml } from '../../src/envelope/xml.js';

const ELEMENT_NODE = 1;
const COMMENT_NODE = 8;
const PROCESSING_INSTRUCTION_NODE = 7;
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function dropComments(node: Node): void {
  for (let n = node.firstChild; n; ) {
    const next = n.nextSibling;
    if (n.nodeType === COMMENT_NODE) node.removeChild(n);
    else if (n.nodeType === ELEMENT_NODE) dropComments(n);
    n = next;
  }
}

/** `doc` less `omitted`, as a document xmllint canonicalises to what a URI="" Reference digests. */
export function judgeDocument(doc: Document, omitted: readonly Element[], withComments: boolean): string {
  const elements = Array.from(doc.getElementsByTagName('*'));
  const copy = doc.cloneNode(true) as Document;
  const copied = Array.from(copy.getElementsByTagName('*'));
  for (const el of omitted) {
    const twin = copied[elements.indexOf(el)] as Element;
    twin.parentNode?.removeChild(twin);
  }
  if (!withComments) dropComments(copy);
  let text = '';
  for (let n = copy.firstChild; n; n = n.nextSibling) {
    // The XML declaration could not follow the marker instruction compare() puts first.
    if (n.nodeType === PROCESSING_INSTRUCTION_NODE && n.nodeName === 'xml') continue;
    text += serializeXml(n);
  }
  return text;
}

/**
 * The subtree of `apex` as a document of its own: the namespaces in scope where it stood
 * declared on it and, for inclusive c14n, the xml:* attributes it inherits set on it.
 */
export function judgeSubtree(apex: Element, exclusive: boolean, withComments: boolean): string {
  const copy = apex.cloneNode(true) as Element;
  const declared = new Set<string>();
  for (let i = 0; i < apex.attributes.length; i++) {
    const a = apex.attributes[i] as Attr;
    if (a.namespaceURI === XMLNS_NS) declared.add(a.prefix ? a.localName : '');
  }
  for (let n = apex.parentNode; n && n.nodeType === ELEMENT_NODE; n = n.parentNode) {
    const el = n as Element;
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes[i] as Attr;
      if (a.namespaceURI === XMLNS_NS) {
        const prefix = a.prefix ? a.localName : '';
        if (declared.has(prefix)) continue;
        declared.add(prefix);
        copy.setAttributeNS(XMLNS_NS, a.name, a.value);
      } else if (!exclusive && a.namespaceURI === XML_NS && !copy.hasAttributeNS(XML_NS, a.localName)) {
        copy.setAttributeNS(XML_NS, a.name, a.value);
      }
    }
  }
  if (!withComments) dropComments(copy);
  return serializeXml(copy);
}

/**
 * xmllint's canonical form of each document, in one xmllint run per mode: each document is
 * preceded by a marker instruction, which c14n writes followed by a line feed.
 */
export function xmllintCanonical(dir: string, documents: ReadonlyArray<{ xml: string; exclusive: boolean }>): string[] {
  const results = new Array<string>(documents.length);
  for (const exclusive of [false, true]) {
    const indices = documents.flatMap((d, i) => (d.exclusive === exclusive ? [i] : []));
    if (indices.length === 0) continue;
    const files = indices.map((i) => {
      const file = join(dir, `judge-${i}.xml`);
      writeFileSync(file, `<?doc-${i}?>${(documents[i] as { xml: string }).xml}`);
      return file;
    });
    const output = execFileSync('xmllint', [exclusive ? '--exc-c14n' : '--c14n', ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
    const parts = output.split(/(?=<\?doc-\d+\?>\n)/);
    if (parts.length !== indices.length) throw new Error(`xmllint gave ${parts.length} documents for ${indices.length}`);
    for (const part of parts) {
      const marker = /^<\?doc-(\d+)\?>\n/.exec(part);
      if (!marker) throw new Error(`xmllint output without its marker: ${part.slice(0, 80)}`);
      results[Number(marker[1])] = part.slice(marker[0].length);
    }
  }
  return results;
}
