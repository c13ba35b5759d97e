/**
 * Signing without writing the document again: the input is read by the fast reader
 * (envelope/fast-xml.ts), digested, and the Signature's text is spliced into the text read after
 * TraceHeaderList (or MessageHeader), which is written out as the input's own bytes. xmldom's
 * parse and serialization were most of the cost of signing a packet.
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
 * The signed packet's bytes, or undefined when the DOM path must sign `input`. Refuses what the
 * DOM path refuses, with the same codes and messages.
 */
export async function signInPlace(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<Buffer | undefined> {
  const signed = await spliced(input, identity, options);
  if (signed === undefined) return undefined;
  const { pieces, ascii, signatureAt, size, signature } = signed;
  // Memory of its own, as serializeDocumentBytes writes it: it can move to another thread.
  const out = Buffer.allocUnsafeSlow(size + signature.length);
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    if (i === signatureAt) at += out.write(signature, at, 'latin1');
    at += out.write(pieces[i] as string, at, ascii[i] ? 'latin1' : 'utf8');
  }
  if (signatureAt === pieces.length) out.write(signature, at, 'latin1');
  return out;
}

/**
 * The signed packet as text (signPacket), or undefined for the DOM path: a concatenation of the
 * text read, attachments included as the strings they already are. Decoding the signed bytes
 * again cost more than the signing (one Vietnamese letter makes the whole of it a two-byte
 * string, which Node decodes at 15 ms a MB).
 */
export async function signTextInPlace(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<string | undefined> {
  const signed = await spliced(input, identity, options);
  if (signed === undefined) return undefined;
  const { pieces, signatureAt, signature } = signed;
  // Concatenated, not joined: join() copies the pieces into one new string at once, `+` does not.
  let text = '';
  for (let i = 0; i < pieces.length; i++) {
    if (i === signatureAt) text += signature;
    text += pieces[i] as string;
  }
  return signatureAt === pieces.length ? text + signature : text;
}

/** The signed packet as pieces of text: the input's, in order, and the Signature to go before pieces[signatureAt]. */
interface Spliced extends Pieces {
  /** The input's size in bytes. */
  size: number;
  /** ASCII. */
  signature: string;
}

/**
 * The Signature and the input's text around it. The input's bytes are given back (releaseInput)
 * once they are read, as the DOM path gives them back after parsing: the output is written from
 * the text read, so a large packet is never held as input, attachment text and output at once.
 */
async function spliced(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<Spliced | undefined> {
  const bytes = exactBytes(input);
  if (bytes === undefined) return undefined;
  const size = bytes.length;
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  const place = digestAndPlace(bytes, options, algorithm.hash);
  if (place === undefined) return undefined;
  if (options.releaseInput && typeof input !== 'string') releaseBytes(input);
  const template = signatureTemplate(identity);
  const value = await makeSignatureValue(identity, Buffer.from(template.signedInfo.join(place.digestValue), 'utf8'));
  const signature = template.signature[0] + place.digestValue + template.signature[1] + Buffer.from(value).toString('base64') + template.signature[2];
  return { ...place.pieces, size, signature };
}

/**
 * The text around the two values that change from packet to packet: canonical SignedInfo
 * around its DigestValue; the Signature as written around its DigestValue and SignatureValue.
 */
interface SignatureTemplate {
  signedInfo: [string, string];
  signature: [string, string, string];
}

/** Per identity: building the Signature's elements and text for every packet was a twentieth of signing a small one. */
const templates = new WeakMap<SigningIdentity, SignatureTemplate>();

function signatureTemplate(identity: SigningIdentity): SignatureTemplate {
  const known = templates.get(identity);
  if (known) return known;
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  // Base64 never holds these, so the text splits at them and nowhere else.
  const digestMark = '\u0000digest\u0000';
  const valueMark = '\u0000value\u0000';
  const signedInfo: Xml = dsig('SignedInfo', [
    dsig('CanonicalizationMethod', [], { Algorithm: SIGNING_C14N.uri }),
    dsig('SignatureMethod', [], { Algorithm: algorithm.uri }),
    dsig(
      'Reference',
      [
        dsig('Transforms', [dsig('Transform', [], { Algorithm: TRANSFORM_ENVELOPED }), dsig('Transform', [], { Algorithm: SIGNING_C14N.uri })]),
        dsig('DigestMethod', [], { Algorithm: algorithm.digestUri }),
        dsig('DigestValue', digestMark),
      ],
      { URI: '' },
    ),
  ]);
  const certificates = [identity.certificate, ...identity.chain].map(certificateBase64);
  const signature = dsig('Signature', [
    signedInfo,
    dsig('SignatureValue', valueMark),
    dsig('KeyInfo', [dsig('X509Data', certificates.map((c) => dsig('X509Certificate', c)))]),
  ]);
  const [beforeDigest = '', afterDigest = ''] = canonicalText(signedInfo, true).split(digestMark);
  const [head = '', tail = ''] = serializedText(signature, true).split(digestMark);
  const [between = '', afterValue = ''] = tail.split(valueMark);
  const template: SignatureTemplate = { signedInfo: [beforeDigest, afterDigest], signature: [head, between, afterValue] };
  templates.set(identity, template);
  return template;
}

interface Pieces {
  pieces: string[];
  /** Whether each piece is a large text set aside (hoist.ts): ASCII, written as Latin-1. */
  ascii: boolean[];
  signatureAt: number;
}

/**
 * The text read (`source`, marks in place of large texts) cut at `end`, where the Signature goes,
 * each mark replaced by its text; undefined unless every mark occurs exactly once, or unless the
 * pieces' UTF-8 is exactly `size` bytes: the output is then the input's bytes around the Signature.
 */
function piecesOf(source: string, end: number, marks: readonly string[], texts: readonly string[], size: number): Pieces | undefined {
  const pieces: string[] = [];
  const ascii: boolean[] = [];
  let signatureAt = -1;
  let from = 0;
  let bytes = 0;
  const plain = (piece: string): void => {
    pieces.push(piece);
    ascii.push(false);
    bytes += Buffer.byteLength(piece, 'utf8');
  };
  for (let i = 0; i <= marks.length; i++) {
    const mark = marks[i];
    const at = mark === undefined ? source.length : source.indexOf(mark, from);
    if (mark !== undefined && (at === -1 || source.indexOf(mark) !== at || source.indexOf(mark, at + 1) !== -1)) return undefined;
    if (signatureAt < 0 && end <= at) {
      plain(source.slice(from, end));
      signatureAt = pieces.length;
      from = end;
    }
    plain(source.slice(from, at));
    if (mark !== undefined) {
      const text = texts[i] as string;
      pieces.push(text);
      ascii.push(true);
      bytes += text.length;
      from = at + mark.length;
    }
  }
  return bytes === size ? { pieces, ascii, signatureAt } : undefined;
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

/** The checks and the digest of the DOM path, and the input's text cut where the Signature goes. */
function digestAndPlace(bytes: Buffer, options: SignOptions, hash: 'SHA-256'): { digestValue: string; pieces: Pieces } | undefined {
  const read = readFastXmlSource(bytes, options.limits ?? DEFAULT_XML_LIMITS);
  if (read === undefined) return undefined;
  const skeleton = locateSkeleton(read.doc);
  refuseExistingSignature(read.doc);
  // xmldom declares a prefix an element uses only where it is not already in scope.
  if ([skeleton.root, skeleton.envelope, skeleton.header].some((e) => e.hasAttribute('xmlns:ds'))) return undefined;
  const after: FastElement = skeleton.traceHeaderList ?? skeleton.messageHeader;
  // What the reader's offsets promise; were they ever wrong, the DOM path signs instead.
  if (after.sourceEnd < 0 || read.text.charCodeAt(after.sourceEnd - 1) !== GT) return undefined;
  const pieces = piecesOf(read.text, after.sourceEnd, read.marks, read.texts, bytes.length);
  if (pieces === undefined) return undefined;
  // Digested before the signature exists: enveloped-signature leaves it out all the same.
  return { digestValue: referenceDigest(read.doc, SIGNING_C14N, hash, []), pieces };
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
