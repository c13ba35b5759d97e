/**
 * The edXML signature profile, checked structurally before any cryptography: exactly one
 * XMLDSig Signature, a child of edXMLHeader; one Reference with URI=""; allow-listed
 * algorithms and transforms; no ds:Object; signer certificate(s) in KeyInfo/X509Data.
 * These are the signature-wrapping defences: what is verified is then the whole document.
 *
 * And the octets the profile signs, for signer and verifier alike: the URI="" Reference and
 * SignedInfo, canonicalised.
 */
import { XmlCanonicalizer } from 'xmldsigjs';
import { LtError } from '../errors.js';
import { EDXML_NS } from '../envelope/types.js';
import type { EdxmlSkeleton } from '../envelope/parse.js';
import {
  C14N_ALGORITHMS,
  DEFAULT_REFERENCE_C14N,
  DIGEST_ALGORITHMS,
  DSIG_NS,
  REFERENCE_TRANSFORM_CHAINS,
  SIGNATURE_ALGORITHMS,
  type C14nAlgorithmSpec,
  type DigestAlgorithmSpec,
  type SignatureAlgorithmSpec,
} from './algorithms.js';
import { cryptoEngine } from './engine.js';

const ELEMENT_NODE = 1;
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function dsigChildren(parent: Element, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE && (n as Element).namespaceURI === DSIG_NS && (n as Element).localName === localName) out.push(n as Element);
  }
  return out;
}

function one(parent: Element, localName: string, where: string): Element {
  const found = dsigChildren(parent, localName);
  if (found.length !== 1) {
    throw new LtError('SIG_MALFORMED', `${where} must contain exactly one ds:${localName} (found ${found.length})`);
  }
  return found[0] as Element;
}

function allElements(doc: Document): Element[] {
  const out: Element[] = [];
  const all = doc.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) out.push(all[i] as Element);
  return out;
}

export interface SignatureParts {
  signature: Element;
  signedInfo: Element;
  /** SignedInfo's CanonicalizationMethod. */
  signedInfoC14n: C14nAlgorithmSpec;
  /** What turns the Reference's node-set into octets: its last transform, or the default. */
  referenceC14n: C14nAlgorithmSpec;
  signatureAlgorithm: SignatureAlgorithmSpec;
  digestAlgorithm: DigestAlgorithmSpec;
  transforms: string[];
  digestValue: string;
  signatureValue: Uint8Array<ArrayBuffer>;
  /** Base64 DER of every X509Certificate in KeyInfo, in document order. */
  certificates: string[];
}

/** Find the one signature the profile allows, or refuse with the reason. */
export function locateSignature(doc: Document, skeleton: EdxmlSkeleton): Element {
  const elements = allElements(doc);
  const signatures = elements.filter((e) => e.localName === 'Signature' && e.namespaceURI === DSIG_NS);
  if (signatures.length === 0) {
    const foreign = elements.find((e) => e.localName === 'Signature');
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
  const signature = signatures[0] as Element;
  if (signature.parentNode !== skeleton.header) {
    const parent = signature.parentNode as Element | null;
    throw new LtError('SIG_MISPLACED', `the signature is inside <${parent?.nodeName ?? '?'}>; the edXML profile puts it in edXML:edXMLHeader, after TraceHeaderList`);
  }
  return signature;
}

/** Read and allow-list the parts of the signature. */
export function readSignatureParts(signature: Element, legacySha1: boolean): SignatureParts {
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
  const reference = references[0] as Element;
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
      for (const cert of dsigChildren(data, 'X509Certificate')) certificates.push((cert.textContent ?? '').replace(/\s+/g, ''));
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
function refuseParameters(method: Element, where: string): void {
  for (let n = method.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE) {
      throw new LtError('SIG_ALGORITHM', `${where} carries a <${n.nodeName}> parameter; the edXML profile accepts its algorithms without parameters`);
    }
  }
}

function base64Value(element: Element): Uint8Array<ArrayBuffer> {
  const text = (element.textContent ?? '').replace(/\s+/g, '');
  // Buffer.from skips what is not base64 instead of failing: a value it silently shortened
  // would be reported as a forged signature rather than a malformed one.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) || text.length === 0) {
    throw new LtError('SIG_MALFORMED', 'the SignatureValue is not base64');
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** TraceHeaders appended after the sender's own, which relaying hubs add without re-signing. */
export function appendedTraceHeaders(skeleton: EdxmlSkeleton, senderOrganId: string | undefined): Element[] {
  if (!skeleton.traceHeaderList || senderOrganId === undefined) return [];
  const headers: Element[] = [];
  for (let n = skeleton.traceHeaderList.firstChild; n; n = n.nextSibling) {
    const el = n as Element;
    if (n.nodeType === ELEMENT_NODE && el.namespaceURI === EDXML_NS && el.localName === 'TraceHeader') headers.push(el);
  }
  let lastOwn = -1;
  headers.forEach((h, i) => {
    const organ = Array.from({ length: h.childNodes.length }, (_, k) => h.childNodes[k] as Element).find(
      (c) => c.nodeType === ELEMENT_NODE && c.localName === 'OrganId',
    );
    if (organ?.textContent === senderOrganId) lastOwn = i;
  });
  return lastOwn === -1 ? [] : headers.slice(lastOwn + 1);
}

// --- what is signed -----------------------------------------------------------------------

/**
 * The octets of the URI="" Reference: the document without its comments (XMLDSig core
 * §4.3.3.3: a same-document URI drops them, so even a #WithComments transform finds none),
 * without `omitted` (the signature itself, for enveloped-signature), canonicalised per
 * `method`. The document node, not the root element, is canonicalised: processing
 * instructions before and after the root are signed content.
 */
export function canonicalDocument(doc: Document, method: C14nAlgorithmSpec, omitted: readonly Element[]): string {
  const places = omitted.map((el) => ({ el, parent: el.parentNode as Node, next: el.nextSibling }));
  // Detached for the time of the (synchronous) c14n rather than copied: no deep clone of a
  // many-megabyte DOM for each digest.
  for (const p of places) p.parent.removeChild(p.el);
  try {
    return withEmptyDefaultDeclarations(doc, method.exclusive, () => new XmlCanonicalizer(false, method.exclusive).Canonicalize(doc));
  } finally {
    for (const p of [...places].reverse()) p.parent.insertBefore(p.el, p.next);
  }
}

/** Base64 digest of the URI="" Reference, as DigestValue carries it. */
export async function referenceDigest(doc: Document, method: C14nAlgorithmSpec, hash: DigestAlgorithmSpec['hash'], omitted: readonly Element[]): Promise<string> {
  const octets = Buffer.from(canonicalDocument(doc, method, omitted), 'utf8');
  return Buffer.from(await cryptoEngine().subtle.digest(hash, octets)).toString('base64');
}

/**
 * The octets the signature value signs: SignedInfo canonicalised per its CanonicalizationMethod,
 * comments kept by the #WithComments variants (SignedInfo is not reached through a URI).
 * xmldsigjs's canonicaliser looks at the element's own attributes only; for inclusive c14n,
 * which renders at the apex every namespace in scope and the xml:* attributes inherited from
 * ancestors (c14n 1.0 §2.4), they are copied onto a detached copy first. (xmldsigjs's own
 * SignedInfo step, SignedXml.TransformSignedInfo, copies the namespaces but not the xml:*
 * attributes: an xml:lang on <edXML> breaks every inclusive signature there.)
 */
export function canonicalSignedInfo(signedInfo: Element, method: C14nAlgorithmSpec): string {
  const apex = method.exclusive ? signedInfo : withInheritedContext(signedInfo);
  return withEmptyDefaultDeclarations(apex, method.exclusive, () => new XmlCanonicalizer(method.withComments, method.exclusive).Canonicalize(apex));
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
        // xmlns="" leaves no default namespace in scope: c14n renders nothing for it at the apex.
        if (a.value !== '') copy.setAttributeNS(XMLNS_NS, a.name, a.value);
      } else if (a.namespaceURI === XML_NS && !copy.hasAttributeNS(XML_NS, a.localName)) {
        copy.setAttributeNS(XML_NS, a.name, a.value);
      }
    }
  }
  return copy;
}

/**
 * xmldsigjs's canonicaliser writes xmlns="" exactly where the attribute stands. c14n writes it
 * where the default namespace in effect in the output becomes none: inclusive c14n where the
 * parent's default namespace is not none, exclusive c14n on an unprefixed element in no
 * namespace whose nearest unprefixed output ancestor is in one. For the time of `run` the
 * attribute is made to stand there and nowhere else (a redundant xmlns="", or one on a
 * prefixed element, is otherwise rendered and the digest differs from every other
 * implementation's); the elements touched get their attributes back in their order.
 */
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
    // The apex has no output ancestor: nothing to undeclare there.
    if (root) visit(root, '', '');
    return run();
  } finally {
    for (const { element, attributes } of touched) {
      for (const a of attributesOf(element)) element.removeAttributeNode(a);
      for (const a of attributes) element.setAttributeNodeNS(a);
    }
  }
}
