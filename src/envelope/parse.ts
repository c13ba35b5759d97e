/**
 * edXML text or parsed tree → packet model. Lenient about values (validate judges them), strict
 * about structure: a document that is not an edXML packet is refused here with XML_NOT_EDXML.
 *
 * `packetFromDocument` reads from a parsed tree so that the verifier and the reader share one:
 * the data lienthong acts on is the data whose signature it checked.
 */
import { LtError } from '../errors.js';
import { DEFAULT_XML_LIMITS, readXml, type ParseOptions, type XmlLimits } from './xml.js';
import {
  ATTACHMENT_FIELDS,
  DOCUMENT_HEADER_FIELDS,
  MANIFEST_FIELDS,
  STATUS_HEADER_FIELDS,
  STATUS_TRACE_LIST_FIELDS,
  TRACE_LIST_FIELDS,
  type FieldSpec,
} from './schema.js';
import {
  EDXML_NS,
  type Attachment,
  type DocumentPacket,
  type ManifestReference,
  type Packet,
  type StatusPacket,
  type TraceHeader,
} from './types.js';
import { HOISTED_TEXT_MIN } from './hoist.js';
import { ELEMENT_NODE, type XmlDocument, type XmlElement } from './xml-tree.js';


/** Element children of `parent` in the edXML namespace, optionally only those named `localName`. */
export function edxmlChildren(parent: XmlElement, localName?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType !== ELEMENT_NODE) continue;
    const el = node as XmlElement;
    if (el.namespaceURI === EDXML_NS && (localName === undefined || el.localName === localName)) out.push(el);
  }
  return out;
}

export function edxmlChild(parent: XmlElement, localName: string): XmlElement | undefined {
  return edxmlChildren(parent, localName)[0];
}

function textOf(el: XmlElement): string {
  return el.textContent ?? '';
}

/**
 * The edXML element children of `parent` by local name, each list in document order: one walk
 * of the children for all the fields of an element, rather than one per field (a MessageHeader
 * has some twenty of each).
 */
function edxmlChildrenByName(parent: XmlElement): Map<string, XmlElement[]> {
  const byName = new Map<string, XmlElement[]>();
  for (const el of edxmlChildren(parent)) {
    const named = byName.get(el.localName);
    if (named) named.push(el);
    else byName.set(el.localName, [el]);
  }
  return byName;
}

function readFields(parent: XmlElement, specs: readonly FieldSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const children = edxmlChildrenByName(parent);
  for (const spec of specs) {
    if (spec.kind === 'attribute') {
      if (parent.hasAttribute(spec.xml)) out[spec.key] = parent.getAttribute(spec.xml);
      continue;
    }
    const found = children.get(spec.xml);
    if (found === undefined) continue;
    if (found.length > 1 && spec.kind !== 'texts' && spec.kind !== 'structs') {
      // Two readers could pick different ones: refuse rather than choose.
      throw new LtError('XML_NOT_EDXML', `<${parent.localName}> contains ${found.length} <${spec.xml}> elements; edXML allows one`, { path: spec.key });
    }
    const first = found[0] as XmlElement;
    switch (spec.kind) {
      case 'text':
        out[spec.key] = textOf(first);
        break;
      case 'texts':
        out[spec.key] = found.map(textOf);
        break;
      case 'struct':
        out[spec.key] = readFields(first, spec.fields);
        break;
      case 'structs':
        out[spec.key] = found.map((el) => readFields(el, spec.fields));
        break;
      case 'textList':
        out[spec.key] = edxmlChildren(first, spec.item).map(textOf);
        break;
      case 'structList':
        out[spec.key] = edxmlChildren(first, spec.item).map((el) => readFields(el, spec.fields));
        break;
    }
  }
  return out;
}

/**
 * The parts of an edXML document every reader needs; refuses anything that is not one. Its
 * elements are those of the tree it was found in: a DOM's, which signing changes, or any tree's.
 */
export interface EdxmlSkeleton<E extends XmlElement = XmlElement> {
  root: E;
  envelope: E;
  header: E;
  messageHeader: E;
  traceHeaderList?: E;
  body?: E;
}

export function locateSkeleton<E extends XmlElement>(doc: XmlDocument & { readonly documentElement: E | null }): EdxmlSkeleton<E> {
  const root = doc.documentElement;
  if (!root || root.localName !== 'edXML' || root.namespaceURI !== EDXML_NS) {
    const found = root ? `<${root.nodeName}> in namespace "${root.namespaceURI ?? ''}"` : 'no root element';
    throw new LtError('XML_NOT_EDXML', `not an edXML packet: expected root <edXML> in namespace ${EDXML_NS}, found ${found}`);
  }
  // A tree's elements are all of one kind: the children found below `root` are E as it is.
  const envelope = need(root, 'edXMLEnvelope', 'edXML') as E;
  const header = need(envelope, 'edXMLHeader', 'edXMLEnvelope') as E;
  const messageHeader = need(header, 'MessageHeader', 'edXMLHeader') as E;
  return {
    root,
    envelope,
    header,
    messageHeader,
    traceHeaderList: atMostOne(header, 'TraceHeaderList', 'edXMLHeader') as E | undefined,
    body: atMostOne(envelope, 'edXMLBody', 'edXMLEnvelope') as E | undefined,
  };
}

/** An optional single element: two of them could be read differently by two readers, so refuse. */
function atMostOne(parent: XmlElement, localName: string, parentName: string): XmlElement | undefined {
  const matches = edxmlChildren(parent, localName);
  if (matches.length > 1) {
    throw new LtError('XML_NOT_EDXML', `not an edXML packet: <${parentName}> has ${matches.length} <edXML:${localName}> elements; edXML allows one`);
  }
  return matches[0];
}

function need(parent: XmlElement, localName: string, parentName: string): XmlElement {
  const matches = edxmlChildren(parent, localName);
  if (matches.length !== 1) {
    throw new LtError(
      'XML_NOT_EDXML',
      matches.length === 0
        ? `not an edXML packet: <${parentName}> has no <edXML:${localName}> element`
        : `not an edXML packet: <${parentName}> has ${matches.length} <edXML:${localName}> elements, expected one`,
    );
  }
  return matches[0] as XmlElement;
}

/**
 * Read a packet from an already parsed (and possibly verified) tree. Structure is enforced here
 * (one of each single element, the bytes of each attachment); presence of the fields is not:
 * until `validatePacket` passes, the result is an `UncheckedPacket` whatever its static type,
 * and code that reads a refused packet takes it as one.
 */
export interface ReadOptions {
  /**
   * false: each attachment's base64 is checked exactly as decoding it checks it, but its bytes
   * are not kept: `content` is empty. For a reader that forwards the packet's own bytes and never
   * reads an attachment (the hub): three quarters of a packet less at its peak. Default true.
   */
  attachmentBytes?: boolean;
}

export function packetFromDocument(doc: XmlDocument, options: ReadOptions = {}): Packet {
  const skeleton = locateSkeleton(doc);
  const isStatus = edxmlChild(skeleton.messageHeader, 'StatusCode') !== undefined;
  if (isStatus && edxmlChild(skeleton.messageHeader, 'To') !== undefined) {
    throw new LtError('XML_NOT_EDXML', 'the MessageHeader mixes a document (To) and a status (StatusCode); it is neither packet kind');
  }
  const list = skeleton.traceHeaderList;
  if (isStatus) {
    const status = { kind: 'status', ...readFields(skeleton.messageHeader, STATUS_HEADER_FIELDS) } as StatusPacket;
    if (list !== undefined) {
      const trace = readFields(list, STATUS_TRACE_LIST_FIELDS);
      Object.assign(status, trace, { traceHeaders: (trace.traceHeaders as TraceHeader[] | undefined) ?? [] });
    }
    return status;
  }
  const trace = list ? readFields(list, TRACE_LIST_FIELDS) : {};
  const packet = {
    kind: 'document',
    ...readFields(skeleton.messageHeader, DOCUMENT_HEADER_FIELDS),
    ...trace,
    traceHeaders: (trace.traceHeaders as TraceHeader[] | undefined) ?? [],
  } as DocumentPacket;
  if (list !== undefined && bussinessBeforeTraceHeaders(list)) packet.bussinessFirst = true;
  const manifest = skeleton.body ? atMostOne(skeleton.body, 'edXMLManifest', 'edXMLBody') : undefined;
  if (manifest) {
    packet.manifest = edxmlChildren(manifest, 'Reference').map((el) => readFields(el, MANIFEST_FIELDS) as unknown as ManifestReference);
  }
  const encoded = atMostOne(skeleton.root, 'AttachmentEncoded', 'edXML');
  if (encoded) {
    const keepBytes = options.attachmentBytes !== false;
    packet.attachments = edxmlChildren(encoded, 'Attachment').map((el) => readAttachment(el, keepBytes));
  }
  return packet;
}

/** See `DocumentPacket.bussinessFirst`. */
function bussinessBeforeTraceHeaders(list: XmlElement): boolean {
  const names = edxmlChildren(list)
    .map((el) => el.localName)
    .filter((name) => name === 'Bussiness' || name === 'TraceHeader');
  return names[0] === 'Bussiness' && names.includes('TraceHeader');
}

function readAttachment(el: XmlElement, keepBytes: boolean): Attachment {
  const meta = readFields(el, ATTACHMENT_FIELDS) as unknown as Omit<Attachment, 'content'>;
  const encoded = atMostOne(el, 'ContentTransferEncoded', 'Attachment');
  if (!encoded) {
    // The model has no absent content: without this refusal the attachment would read as an empty file.
    throw new LtError('PACKET_INVALID', `attachment ${meta.contentId ?? '(no ContentId)'} has no ContentTransferEncoded element: its bytes are missing`, {
      path: 'attachments.content',
    });
  }
  const text = textOf(encoded);
  const content = keepBytes ? decodeAttachment(text) : isAttachmentBase64(text) ? new Uint8Array(0) : undefined;
  if (!content) {
    throw new LtError('PACKET_INVALID', `attachment ${meta.contentId ?? '(no ContentId)'} is not valid base64`, {
      path: 'attachments.content',
    });
  }
  return { ...meta, content };
}

/**
 * The bytes of base64 text, or undefined if it is not base64 (whitespace anywhere is allowed).
 * Text that is exactly what Buffer writes for the bytes it decodes to (what lienthong and most
 * senders write: no line breaks, zero padding bits) needs no other check: it is valid, and
 * decoding it alone gives the same bytes as stripping and checking it first. Anything else
 * takes the slow path, which accepts and refuses exactly what it always has.
 */
function decodeAttachment(text: string): Uint8Array | undefined {
  const decoded = Buffer.from(text, 'base64');
  if (isCanonicalBase64(text, decoded.byteLength)) return ownBytes(decoded);
  const base64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

/**
 * Whether decodeAttachment accepts `text`, without holding the bytes it decodes to: canonical
 * text is decoded a slice at a time into one scratch buffer (4-character groups, so a slice
 * decodes alone; a "=" inside stops the decoder short, which the length check sees); anything
 * else is read by decodeAttachment itself.
 */
function isAttachmentBase64(text: string): boolean {
  const slice = (DECODED_PER_SLICE / 3) * 4;
  let decodedLength = 0;
  if (text.length % 4 === 0) {
    const scratch = Buffer.allocUnsafe(Math.min(DECODED_PER_SLICE, (text.length / 4) * 3));
    for (let at = 0; at < text.length; at += slice) decodedLength += scratch.write(text.slice(at, at + slice), 'base64');
    if (isCanonicalBase64(text, decodedLength)) return true;
  }
  return decodeAttachment(text) !== undefined;
}

/** Bytes of base64 decoded per slice when none are kept: a whole 15 MB attachment would be 15 MB more at the peak. */
const DECODED_PER_SLICE = 3 * 256 * 1024;

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Whether `text` is exactly Buffer's base64 of the `decodedLength` bytes Buffer decoded from it,
 * without encoding them again (that took more time than the signature check of a 2 MB packet).
 * Buffer's decoder skips what is not in its alphabet (whitespace included) and stops at the
 * first "=", so a text of the right length decodes to fewer bytes than it would with any such
 * character in it: one lost character costs at least one byte. What the length cannot show is
 * looked for: the URL-safe "-" and "_" it also decodes, characters above U+00FF (it reads
 * U+0155 as "U"), and padding bits that a re-encoding would write as zeros.
 */
function isCanonicalBase64(text: string, decodedLength: number): boolean {
  const length = text.length;
  if (length % 4 !== 0) return false;
  const padding = length === 0 || text.charCodeAt(length - 1) !== 0x3d ? 0 : text.charCodeAt(length - 2) === 0x3d ? 2 : 1;
  if (decodedLength !== (length / 4) * 3 - padding) return false;
  if (text.includes('-') || text.includes('_') || hasCharacterAboveLatin1(text)) return false;
  if (padding === 0) return true;
  const last = BASE64_ALPHABET.indexOf(text.charAt(length - padding - 1));
  return (last & (padding === 1 ? 0b11 : 0b1111)) === 0;
}

/**
 * A character the decoder would read by its low byte. V8 answers the regex at once for text held
 * one byte a character (a hoisted attachment, hoist.ts) and scans two-byte text at some 2.4 ns a
 * character, where counting UTF-8 bytes takes 0.4 ns but scans every text: the count for small
 * texts (a slice of a Vietnamese packet's two-byte text), the regex for large ones.
 */
function hasCharacterAboveLatin1(text: string): boolean {
  return text.length < HOISTED_TEXT_MIN ? Buffer.byteLength(text, 'utf8') !== text.length && ABOVE_LATIN1.test(text) : ABOVE_LATIN1.test(text);
}

const ABOVE_LATIN1 = /[^\u0000-\u00ff]/;

/**
 * A plain Uint8Array of the decoded bytes. A small Buffer is a view of Node's shared pool, so it
 * is copied (its `.buffer` would show other data); a large one owns its memory and is re-viewed,
 * not copied a second time.
 */
function ownBytes(decoded: Buffer): Uint8Array {
  if (decoded.byteOffset === 0 && decoded.buffer.byteLength === decoded.byteLength) {
    return new Uint8Array(decoded.buffer, 0, decoded.byteLength);
  }
  return new Uint8Array(decoded);
}

/** Parse untrusted bytes into a packet (safe XML parsing, then `packetFromDocument`). */
export function parsePacket(input: Uint8Array | string, limits: XmlLimits = DEFAULT_XML_LIMITS, options: ParseOptions = {}): Packet {
  return packetFromDocument(readXml(input, limits, options));
}
