/**
 * Signing without writing the document again: the input's bytes are read by the fast reader
 * (envelope/fast-xml.ts), digested, and the Signature's text is spliced into them after
 * TraceHeaderList (or MessageHeader). For a 20 MB packet, xmldom's parse and serialization were
 * most of the cost of signing it.
 *
 * The result is the DOM path's (sign.ts) byte for byte whenever xmldom would write the unsigned
 * input back as it is, which is the case of every packet lienthong builds: the Signature is the
 * text xmldom writes for it, at the place the DOM path inserts it, and nothing else is touched.
 * Any other input keeps its own bytes around the Signature, which is what was digested. What the
 * splice cannot reproduce exactly is left to the DOM path: input outside the fast reader's
 * subset, a byte-order mark, a carriage return (the reader's offsets would count normalised
 * line ends), a string that has no exact UTF-8, a "ds" prefix bound above the Signature.
 */
import { locateSkeleton } from '../envelope/parse.js';
import type { FastElement } from '../envelope/fast-xml.js';
import { DEFAULT_XML_LIMITS, readFastXmlSource, releaseBytes } from '../envelope/xml.js';
import { DSIG_NS, SIGNING_ALGORITHM, SIGNING_C14N, TRANSFORM_ENVELOPED } from './algorithms.js';
import { certificateBase64, type SigningIdentity } from './certificates.js';
import { referenceDigest, refuseExistingSignature } from './profile.js';
import type { SignOptions } from './sign.js';
import { makeSignatureValue } from './signature-value.js';

const CR = 0x0d;
const GT = 0x3e;

/**
 * Larger inputs are signed through the DOM. The splice needs the input until its output is
 * written, beside the tree's attachment text, which only a full collection frees: a 100 MB
 * packet peaked at 360 MB of RSS where the DOM path, which gives the input back after parsing,
 * peaks at 270 MB. Up to the default packet limit (32 MiB) the peak is the DOM path's or below.
 */
const IN_PLACE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The signed packet's bytes, or undefined when the DOM path must sign `input`. Refuses what the
 * DOM path refuses, with the same codes and messages.
 */
export async function signInPlace(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<Buffer | undefined> {
  const signed = await spliced(input, identity, options, false);
  if (signed === undefined) return undefined;
  const { bytes, place, signature } = signed;
  const inserted = Buffer.from(signature, 'utf8');
  // Memory of its own, as serializeDocumentBytes writes it: it can move to another thread.
  const out = Buffer.allocUnsafeSlow(bytes.length + inserted.length);
  bytes.copy(out, 0, 0, place.at);
  inserted.copy(out, place.at);
  bytes.copy(out, place.at + inserted.length, place.at);
  // The input was needed until now, unlike the DOM path's, which gives it back after parsing.
  if (options.releaseInput && typeof input !== 'string') releaseBytes(input);
  return out;
}

/**
 * The signed packet as text (signPacket), or undefined for the DOM path. Made of the text the
 * fast reader read, its attachments' text included as the strings they already are: decoding
 * the output's bytes again cost more than the signing (one Vietnamese letter makes the whole a
 * two-byte string, which Node decodes at 15 ms a MB).
 */
export async function signTextInPlace(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<string | undefined> {
  const signed = await spliced(input, identity, options, true);
  const kept = signed?.place.text;
  if (signed === undefined || kept === undefined) return undefined;
  const source = kept.source.slice(0, kept.end) + signed.signature + kept.source.slice(kept.end);
  // Each mark in place of its text, found exactly once, as serializeDocument puts large texts back.
  let text = '';
  let from = 0;
  for (let i = 0; i < kept.marks.length; i++) {
    const mark = kept.marks[i] as string;
    const at = source.indexOf(mark, from);
    if (at === -1 || source.indexOf(mark) !== at || source.indexOf(mark, at + 1) !== -1) return undefined;
    text += source.slice(from, at) + (kept.texts[i] as string);
    from = at + mark.length;
  }
  if (options.releaseInput && typeof input !== 'string') releaseBytes(input);
  return text + source.slice(from);
}

/** The input's bytes, where the Signature goes in them, and its text. */
async function spliced(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions, keepText: boolean): Promise<{ bytes: Buffer; place: Place; signature: string } | undefined> {
  const bytes = exactBytes(input);
  if (bytes === undefined || bytes.length > IN_PLACE_MAX_BYTES) return undefined;
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  // In a function of its own: unless its text is kept, the tree is garbage once it returns.
  const place = digestAndPlace(bytes, options, algorithm.hash, keepText);
  if (place === undefined) return undefined;
  const signedInfo: Xml = dsig('SignedInfo', [
    dsig('CanonicalizationMethod', [], { Algorithm: SIGNING_C14N.uri }),
    dsig('SignatureMethod', [], { Algorithm: algorithm.uri }),
    dsig(
      'Reference',
      [
        dsig('Transforms', [dsig('Transform', [], { Algorithm: TRANSFORM_ENVELOPED }), dsig('Transform', [], { Algorithm: SIGNING_C14N.uri })]),
        dsig('DigestMethod', [], { Algorithm: algorithm.digestUri }),
        dsig('DigestValue', place.digestValue),
      ],
      { URI: '' },
    ),
  ]);
  const value = await makeSignatureValue(identity, Buffer.from(canonicalText(signedInfo, true), 'utf8'));
  const certificates = [identity.certificate, ...identity.chain].map(certificateBase64);
  const signature = dsig('Signature', [
    signedInfo,
    dsig('SignatureValue', Buffer.from(value).toString('base64')),
    dsig('KeyInfo', [dsig('X509Data', certificates.map((c) => dsig('X509Certificate', c)))]),
  ]);
  return { bytes, place, signature: serializedText(signature, true) };
}

interface Place {
  digestValue: string;
  /** Byte offset in the input. */
  at: number;
  /** The text read (marks in place of large texts) and the offset in it, when asked for. */
  text?: { source: string; end: number; marks: readonly string[]; texts: readonly string[] };
}

/**
 * The input's UTF-8 as the fast reader will read it, offset for offset: undefined for a string
 * with a lone surrogate (its UTF-8 would carry U+FFFD, the DOM path keeps it), a BOM (admission
 * skips it), a CR (the reader reads LF in its place).
 */
function exactBytes(input: Uint8Array | string): Buffer | undefined {
  let bytes: Buffer;
  if (typeof input === 'string') {
    if (!isWellFormed(input)) return undefined;
    bytes = Buffer.from(input, 'utf8');
  } else bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  if (bytes.includes(CR)) return undefined;
  return bytes;
}

function isWellFormed(text: string): boolean {
  // ES2024 (Node 20 has it), not yet in the compiler's lib.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** The checks and the digest of the DOM path, and the byte offset the Signature goes at. */
function digestAndPlace(bytes: Buffer, options: SignOptions, hash: 'SHA-256', keepText: boolean): Place | undefined {
  const read = readFastXmlSource(bytes, options.limits ?? DEFAULT_XML_LIMITS);
  if (read === undefined) return undefined;
  const skeleton = locateSkeleton(read.doc);
  refuseExistingSignature(read.doc);
  // xmldom declares a prefix an element uses only where it is not already in scope.
  if ([skeleton.root, skeleton.envelope, skeleton.header].some((e) => e.hasAttribute('xmlns:ds'))) return undefined;
  const after: FastElement = skeleton.traceHeaderList ?? skeleton.messageHeader;
  if (after.sourceEnd < 0) return undefined;
  // Only the text up to the insertion point is encoded to count its bytes: the header, never the
  // attachments after it. A mark in it (a header field of 64 KiB or more) counts its segment's bytes.
  const head = read.text.slice(0, after.sourceEnd);
  let at = Buffer.byteLength(head, 'utf8');
  for (let i = 0, from = 0; i < read.marks.length; i++) {
    const mark = read.marks[i] as string;
    const found = head.indexOf(mark, from);
    if (found === -1) break;
    at += (read.texts[i] as string).length - mark.length;
    from = found + mark.length;
  }
  // What the reader's offsets promise; were they ever wrong, the DOM path signs instead.
  if (bytes[at - 1] !== GT) return undefined;
  // Digested before the signature exists: enveloped-signature leaves it out all the same.
  const digestValue = referenceDigest(read.doc, SIGNING_C14N, hash, []);
  return keepText ? { digestValue, at, text: { source: read.text, end: after.sourceEnd, marks: read.marks, texts: read.texts } } : { digestValue, at };
}

/**
 * An XMLDSig element as written here: its children, or its text (base64 and URIs, which neither
 * xmldom nor c14n escape), and at most the attribute the profile gives it.
 */
interface Xml {
  name: string;
  attributes: Record<string, string>;
  content: Xml[] | string;
}

function dsig(name: string, content: Xml[] | string, attributes: Record<string, string> = {}): Xml {
  return { name: `ds:${name}`, attributes, content };
}

function startTag(element: Xml, top: boolean): string {
  let tag = `<${element.name}`;
  if (top) tag += ` xmlns:ds="${DSIG_NS}"`;
  for (const [key, value] of Object.entries(element.attributes)) tag += ` ${key}="${value}"`;
  return tag;
}

/**
 * Exclusive c14n of SignedInfo as its own apex: the "ds" declaration on it alone, each element
 * with at most one attribute (so none to sort), empty elements as start and end tag.
 */
function canonicalText(element: Xml, top = false): string {
  const inner = typeof element.content === 'string' ? element.content : element.content.map((c) => canonicalText(c)).join('');
  return `${startTag(element, top)}>${inner}</${element.name}>`;
}

/** What xmldom's serializer writes for the Signature the DOM path builds: empty elements self-closed. */
function serializedText(element: Xml, top = false): string {
  const inner = typeof element.content === 'string' ? element.content : element.content.map((c) => serializedText(c)).join('');
  return inner === '' ? `${startTag(element, top)}/>` : `${startTag(element, top)}>${inner}</${element.name}>`;
}
