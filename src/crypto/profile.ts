/**
 * The edXML signature profile, checked structurally before any cryptography: exactly one
 * XMLDSig Signature, a child of edXMLHeader; one Reference with URI=""; allow-listed
 * algorithms and transforms; no ds:Object; signer certificate(s) in KeyInfo/X509Data.
 * These are the signature-wrapping defences: what is verified is then the whole document.
 */
import { LtError } from '../errors.js';
import { EDXML_NS } from '../envelope/types.js';
import type { EdxmlSkeleton } from '../envelope/parse.js';
import {
  DIGEST_ALGORITHMS,
  DSIG_NS,
  REFERENCE_TRANSFORM_CHAINS,
  SIGNATURE_ALGORITHMS,
  SIGNED_INFO_C14N,
  type DigestAlgorithmSpec,
  type SignatureAlgorithmSpec,
} from './algorithms.js';

const ELEMENT_NODE = 1;

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
  canonicalization: string;
  signatureAlgorithm: SignatureAlgorithmSpec;
  digestAlgorithm: DigestAlgorithmSpec;
  transforms: string[];
  digestValue: string;
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
  one(signature, 'SignatureValue', 'ds:Signature');
  const canonicalization = one(signedInfo, 'CanonicalizationMethod', 'ds:SignedInfo').getAttribute('Algorithm') ?? '';
  if (!SIGNED_INFO_C14N.includes(canonicalization)) {
    throw new LtError('SIG_ALGORITHM', `SignedInfo canonicalization "${canonicalization}" is not allowed; use exclusive c14n (${SIGNED_INFO_C14N[0]})`);
  }
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
  const transforms = transformsEl ? dsigChildren(transformsEl, 'Transform').map((t) => t.getAttribute('Algorithm') ?? '') : [];
  if (!REFERENCE_TRANSFORM_CHAINS.some((chain) => chain.length === transforms.length && chain.every((t, i) => transforms[i] === t))) {
    throw new LtError('SIG_ALGORITHM', `the Reference transforms [${transforms.join(', ')}] are not allowed; use enveloped-signature then exclusive c14n`);
  }
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
  return { signature, canonicalization, signatureAlgorithm, digestAlgorithm, transforms, digestValue, certificates };
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
