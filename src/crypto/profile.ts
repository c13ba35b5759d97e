/**
 * The edXML signature profile, checked structurally before any cryptography: exactly one
 * XMLDSig Signature, a child of edXMLHeader; one Reference with URI=""; allow-listed
 * algorithms and transforms; no ds:Object; signer certificate(s) in KeyInfo/X509Data.
 * These are the signature-wrapping defences: what is verified is then the whole document.
 *
 * And the octets the profile signs, for signer and verifier alike: the URI="" Reference and
 * SignedInfo, canonicalised.
 */
import { createHash, type Hash } from 'node:crypto';
import { LtError } from '../errors.js';
import { EDXML_NS } from '../envelope/types.js';
import type { EdxmlSkeleton } from '../envelope/parse.js';
import { isHighSurrogate } from '../envelope/xml.js';
import { ELEMENT_NODE, type XmlDocument, type XmlElement, type XmlNode } from '../envelope/xml-tree.js';
import {
  C14N_ALGORITHMS,
  DEFAULT_REFERENCE_C14N,
  DIGEST_ALGORITHMS,
  DSIG_NS,
  NODE_HASHES,
  REFERENCE_TRANSFORM_CHAINS,
  SIGNATURE_ALGORITHMS,
  type C14nAlgorithmSpec,
  type DigestAlgorithmSpec,
  type SignatureAlgorithmSpec,
} from './algorithms.js';
import { canonicalizeDocument, canonicalizeSubtree, canonicalString, type C14nSink } from './c14n.js';


function dsigChildren(parent: XmlElement, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE && (n as XmlElement).namespaceURI === DSIG_NS && (n as XmlElement).localName === localName) out.push(n as XmlElement);
  }
  return out;
}

function one(parent: XmlElement, localName: string, where: string): XmlElement {
  const found = dsigChildren(parent, localName);
  if (found.length !== 1) {
    throw new LtError('SIG_MALFORMED', `${where} must contain exactly one ds:${localName} (found ${found.length})`);
  }
  return found[0] as XmlElement;
}

/**
 * Every element named Signature, whatever its namespace, in document order: one walk of the
 * tree that keeps only these (xmldom's getElementsByTagName lists build a list of their own).
 */
export function elementsNamedSignature(doc: XmlDocument): XmlElement[] {
  const out: XmlElement[] = [];
  const visit = (parent: XmlNode): void => {
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      if (n.nodeType !== ELEMENT_NODE) continue;
      if ((n as XmlElement).localName === 'Signature') out.push(n as XmlElement);
      visit(n);
    }
  };
  visit(doc);
  return out;
}

/**
 * What signing refuses before it adds a signature: one already there (lienthong never adds a
 * second), and a <Signature> outside the XMLDSig namespace (the SDK samples carry one).
 */
export function refuseExistingSignature(doc: XmlDocument): void {
  const signatures = elementsNamedSignature(doc);
  if (signatures.some((e) => e.namespaceURI === DSIG_NS)) {
    throw new LtError('SIG_MULTIPLE', 'the packet is already signed; lienthong never adds a second signature');
  }
  if (signatures.some((e) => e.nodeName === 'Signature')) {
    throw new LtError('SIG_MALFORMED', 'the packet carries a <Signature> element outside the XMLDSig namespace (as the SDK samples do); remove it before signing');
  }
}

export interface SignatureParts {
  signature: XmlElement;
  signedInfo: XmlElement;
  /** SignedInfo's CanonicalizationMethod. */
  signedInfoC14n: C14nAlgorithmSpec;
  /** What turns the Reference's node-set into octets: its last transform, or the default. */
  referenceC14n: C14nAlgorithmSpec;
  signatureAlgorithm: SignatureAlgorithmSpec;
  digestAlgorithm: DigestAlgorithmSpec;
  transforms: string[];
  digestValue: string;
  signatureValue: Uint8Array<ArrayBuffer>;
  /** Base64 DER of every X509Certificate in KeyInfo as written (whitespace kept), in document order. */
  certificates: string[];
}

/** Find the one signature the profile allows, or refuse with the reason. */
export function locateSignature(doc: XmlDocument, skeleton: EdxmlSkeleton): XmlElement {
  const named = elementsNamedSignature(doc);
  const signatures = named.filter((e) => e.namespaceURI === DSIG_NS);
  if (signatures.length === 0) {
    const foreign = named[0];
    throw new LtError(
      'SIG_MISSING',
      foreign
        ? `the packet has a <Signature> element in namespace "${foreign.namespaceURI ?? ''}", not in the XMLDSig namespace ${DSIG_NS}; it is not a valid XML signature`
        : 'the packet carries no XML signature (ds:Signature); it must be signed by the sending agency',
    );
  }
  if (signatures.length > 1) {
    throw new LtError('SIG_MULTIPLE', `the packet carries ${signatures.length} XML signatures; the edXML profile allows exactly one`);
  }
  const signature = signatures[0] as XmlElement;
  if (signature.parentNode !== skeleton.header) {
    const parent = signature.parentNode as XmlElement | null;
    throw new LtError('SIG_MISPLACED', `the signature is inside <${parent?.nodeName ?? '?'}>; the edXML profile puts it in edXML:edXMLHeader, after TraceHeaderList`);
  }
  return signature;
}

/** Read and allow-list the parts of the signature. */
export function readSignatureParts(signature: XmlElement, legacySha1: boolean): SignatureParts {
  const signedInfo = one(signature, 'SignedInfo', 'ds:Signature');
  if (dsigChildren(signature, 'Object').length > 0) {
    throw new LtError('SIG_MALFORMED', 'the signature carries ds:Object elements; the edXML profile signs the whole document and needs none');
  }
  const signatureValue = base64Value(one(signature, 'SignatureValue', 'ds:Signature'));
  const c14nMethod = one(signedInfo, 'CanonicalizationMethod', 'ds:SignedInfo');
  const canonicalization = c14nMethod.getAttribute('Algorithm') ?? '';
  const signedInfoC14n = C14N_ALGORITHMS.find((c) => c.uri === canonicalization);
  if (!signedInfoC14n) {
    throw new LtError('SIG_ALGORITHM', `SignedInfo canonicalization "${canonicalization}" is not allowed; use ${C14N_NAMES}`);
  }
  refuseParameters(c14nMethod, 'SignedInfo CanonicalizationMethod');
  const methodUri = one(signedInfo, 'SignatureMethod', 'ds:SignedInfo').getAttribute('Algorithm') ?? '';
  const signatureAlgorithm = SIGNATURE_ALGORITHMS.find((a) => a.uri === methodUri);
  if (!signatureAlgorithm) throw new LtError('SIG_ALGORITHM', `signature algorithm "${methodUri}" is not on the allow-list (RSA-SHA256/384/512, ECDSA-SHA256)`);
  if (signatureAlgorithm.legacy && !legacySha1) {
    throw new LtError('SIG_ALGORITHM', `signature algorithm ${methodUri} uses SHA-1, accepted only under the legacy policy (--legacy-sha1)`);
  }
  const references = dsigChildren(signedInfo, 'Reference');
  if (references.length !== 1) {
    throw new LtError('SIG_REFERENCE', `the signature has ${references.length} References; the edXML profile requires exactly one, with URI=""`);
  }
  const reference = references[0] as XmlElement;
  if (!reference.hasAttribute('URI') || reference.getAttribute('URI') !== '') {
    throw new LtError('SIG_REFERENCE', `the Reference has URI="${reference.getAttribute('URI') ?? '(none)'}"; only URI="" (the whole document) is accepted`);
  }
  const transformsEl = dsigChildren(reference, 'Transforms')[0];
  const transformEls = transformsEl ? dsigChildren(transformsEl, 'Transform') : [];
  const transforms = transformEls.map((t) => t.getAttribute('Algorithm') ?? '');
  if (!REFERENCE_TRANSFORM_CHAINS.some((chain) => chain.length === transforms.length && chain.every((t, i) => transforms[i] === t))) {
    throw new LtError(
      'SIG_ALGORITHM',
      `the Reference transforms [${transforms.join(', ')}] are not allowed; use enveloped-signature, alone or followed by ${C14N_NAMES}`,
    );
  }
  for (const t of transformEls) refuseParameters(t, `the Reference transform ${t.getAttribute('Algorithm') ?? ''}`);
  const referenceC14n = C14N_ALGORITHMS.find((c) => c.uri === transforms[1]) ?? DEFAULT_REFERENCE_C14N;
  const digestUri = one(reference, 'DigestMethod', 'ds:Reference').getAttribute('Algorithm') ?? '';
  const digestAlgorithm = DIGEST_ALGORITHMS.find((d) => d.uri === digestUri);
  if (!digestAlgorithm) throw new LtError('SIG_ALGORITHM', `digest algorithm "${digestUri}" is not on the allow-list (SHA-256/384/512)`);
  if (digestAlgorithm.legacy && !legacySha1) {
    throw new LtError('SIG_ALGORITHM', `digest algorithm ${digestUri} is SHA-1, accepted only under the legacy policy (--legacy-sha1)`);
  }
  const digestValue = (one(reference, 'DigestValue', 'ds:Reference').textContent ?? '').replace(/\s+/g, '');
  const certificates: string[] = [];
  for (const keyInfo of dsigChildren(signature, 'KeyInfo')) {
    for (const data of dsigChildren(keyInfo, 'X509Data')) {
      // As written, line breaks and all: certificateFromBase64 looks it up and decodes it so.
      for (const cert of dsigChildren(data, 'X509Certificate')) certificates.push(cert.textContent ?? '');
    }
  }
  if (certificates.length === 0) {
    throw new LtError('CERT_MISSING', 'the signature carries no signer certificate (KeyInfo/X509Data/X509Certificate)');
  }
  return { signature, signedInfo, signedInfoC14n, referenceC14n, signatureAlgorithm, digestAlgorithm, transforms, digestValue, signatureValue, certificates };
}

const C14N_NAMES = `inclusive or exclusive c14n, with or without comments (${C14N_ALGORITHMS.map((c) => c.uri).join(', ')})`;

/**
 * Algorithm parameters (exclusive c14n's InclusiveNamespaces PrefixList, for one) change the
 * canonical octets; none is evaluated here, so a signature carrying one is refused by name
 * rather than failing later as a misleading digest mismatch.
 */
function refuseParameters(method: XmlElement, where: string): void {
  for (let n = method.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) {
      throw new LtError('SIG_ALGORITHM', `${where} carries a <${n.nodeName}> parameter; the edXML profile accepts its algorithms without parameters`);
    }
  }
}

function base64Value(element: XmlElement): Uint8Array<ArrayBuffer> {
  const text = (element.textContent ?? '').replace(/\s+/g, '');
  // Buffer.from skips what is not base64 instead of failing: a value it silently shortened
  // would be reported as a forged signature rather than a malformed one.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) || text.length === 0) {
    throw new LtError('SIG_MALFORMED', 'the SignatureValue is not base64');
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** TraceHeaders appended after the sender's own, which relaying hubs add without re-signing. */
export function appendedTraceHeaders<E extends XmlElement>(skeleton: EdxmlSkeleton<E>, senderOrganId: string | undefined): E[] {
  if (!skeleton.traceHeaderList || senderOrganId === undefined) return [];
  const headers: E[] = [];
  for (let n = skeleton.traceHeaderList.firstChild; n; n = n.nextSibling) {
    const el = n as E;
    if (n.nodeType === ELEMENT_NODE && el.namespaceURI === EDXML_NS && el.localName === 'TraceHeader') headers.push(el);
  }
  let lastOwn = -1;
  headers.forEach((h, i) => {
    let organ: XmlElement | undefined;
    for (let c = h.firstChild; c && !organ; c = c.nextSibling) {
      if (c.nodeType === ELEMENT_NODE && (c as XmlElement).localName === 'OrganId') organ = c as XmlElement;
    }
    if (organ?.textContent === senderOrganId) lastOwn = i;
  });
  return lastOwn === -1 ? [] : headers.slice(lastOwn + 1);
}

// --- what is signed -----------------------------------------------------------------------

/**
 * The node-set of the URI="" Reference: the document without its comments (XMLDSig core
 * §4.3.3.3: a same-document URI drops them, so even a #WithComments transform finds none),
 * without `omitted` (the signature itself, for enveloped-signature, and TraceHeaders appended
 * after signing). The document node, not the root element, is canonicalised: processing
 * instructions before and after the root are signed content.
 */
function writeReference(doc: XmlDocument, method: C14nAlgorithmSpec, omitted: readonly XmlElement[], sink: C14nSink): void {
  canonicalizeDocument(doc, { exclusive: method.exclusive, withComments: false }, new Set(omitted), sink);
}

/** The octets of the URI="" Reference, as text: what the tests compare with other implementations. */
export function canonicalDocument(doc: XmlDocument, method: C14nAlgorithmSpec, omitted: readonly XmlElement[]): string {
  return canonicalString((sink) => writeReference(doc, method, omitted, sink));
}

/** Base64 digest of the URI="" Reference, as DigestValue carries it. */
export function referenceDigest(doc: XmlDocument, method: C14nAlgorithmSpec, hash: DigestAlgorithmSpec['hash'], omitted: readonly XmlElement[]): string {
  const sink = new HashSink(hash);
  writeReference(doc, method, omitted, sink);
  return sink.digest().toString('base64');
}

/**
 * The octets the signature value signs: SignedInfo canonicalised per its CanonicalizationMethod,
 * comments kept by the #WithComments variants (SignedInfo is not reached through a URI), with
 * the namespaces and xml:* attributes it inherits where it stands under inclusive c14n.
 */
export function canonicalSignedInfo(signedInfo: XmlElement, method: C14nAlgorithmSpec): string {
  return canonicalString((sink) => canonicalizeSubtree(signedInfo, method, sink));
}

/**
 * Text gathered before it is hashed: one native call per piece would cost more than the
 * hashing. Flushed only between pieces, each of which holds whole characters: a surrogate
 * pair is never encoded in two halves.
 */
const HASH_CHUNK = 64 * 1024;
const TEXT_SLICE = 1024 * 1024;

/**
 * Canonical text hashed as it is written, in UTF-8: a many-megabyte document is never held
 * as one canonical string, nor as its UTF-8 copy.
 */
class HashSink implements C14nSink {
  private readonly hash: Hash;
  private pending = '';

  constructor(algorithm: DigestAlgorithmSpec['hash']) {
    this.hash = createHash(NODE_HASHES[algorithm]);
  }

  write(text: string): void {
    if (text.length >= HASH_CHUNK) {
      this.flush();
      this.update(text);
      return;
    }
    this.pending += text;
    if (this.pending.length >= HASH_CHUNK) this.flush();
  }

  digest(): Buffer {
    this.flush();
    return this.hash.digest();
  }

  private flush(): void {
    if (this.pending === '') return;
    this.update(this.pending);
    this.pending = '';
  }

  /**
   * In slices: each is encoded to a buffer of its own before it is hashed, and a 20 MB text
   * would be 20 MB more at the peak. A slice never ends between the halves of a surrogate pair.
   * Encoding ASCII as UTF-8 costs no more than copying it as Latin-1; telling ASCII first, by
   * counting UTF-8 bytes, cost a quarter of hashing a 2 MB attachment's base64.
   */
  private update(text: string): void {
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + TEXT_SLICE);
      if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end += 1;
      this.hash.update(at === 0 && end === text.length ? text : text.slice(at, end), 'utf8');
      at = end;
    }
  }
}
