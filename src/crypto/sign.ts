/**
 * Enveloped XMLDSig signing of an edXML packet: RSA-SHA256 or ECDSA-P256-SHA256, exclusive
 * c14n for SignedInfo and the reference (inclusive c14n drags the envelope's namespace
 * declarations into SignedInfo), signer certificate and chain in KeyInfo, the Signature
 * placed in edXMLHeader after TraceHeaderList as the edXML profile says.
 *
 * The Signature is written here rather than by xmldsigjs's SignedXml, which digests only the
 * root element: a processing instruction before or after it would go unsigned, and every
 * XMLDSig verifier would then see a digest mismatch. The octets signed are those profile.ts
 * defines, the very ones the verifier checks.
 *
 * Most packets are signed in place (sign-in-place.ts): the same bytes, without parsing the
 * document into a DOM and writing it again. The DOM path here signs the others.
 */
import { locateSkeleton } from '../envelope/parse.js';
import { DEFAULT_XML_LIMITS, parseXml, serializeDocument, serializeDocumentBytes, type ParseOptions, type XmlLimits } from '../envelope/xml.js';
import { DSIG_NS, SIGNING_ALGORITHM, SIGNING_C14N, TRANSFORM_ENVELOPED } from './algorithms.js';
import { certificateBase64, type SigningIdentity } from './certificates.js';
import { canonicalSignedInfo, referenceDigest, refuseExistingSignature } from './profile.js';
import { signInPlace, signTextInPlace } from './sign-in-place.js';
import { makeSignatureValue } from './signature-value.js';

export interface SignOptions extends ParseOptions {
  limits?: XmlLimits;
  /**
   * false: signed through the DOM even when the Signature could be spliced into the input;
   * what the tests compare the splice with. Default true.
   */
  inPlace?: boolean;
}

const PREFIX = 'ds';

type Child = Element | string;

function builder(doc: Document): (name: string, attributes?: Record<string, string>, ...children: Child[]) => Element {
  return (name, attributes = {}, ...children) => {
    const element = doc.createElementNS(DSIG_NS, `${PREFIX}:${name}`);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    for (const child of children) element.appendChild(typeof child === 'string' ? doc.createTextNode(child) : child);
    return element;
  };
}

/**
 * How many packets this process signed each way: by splicing the Signature into the input
 * (sign-in-place.ts), or through the DOM. What keeps the fast path from vanishing unnoticed.
 */
export const signingPaths = { inPlace: 0, dom: 0 };

export async function signPacket(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions = {}): Promise<string> {
  return signEitherWay(input, identity, options, signTextInPlace, serializeDocument);
}

/**
 * The same signed packet as its UTF-8 bytes, what a node stores and publishes: written from the
 * document a piece at a time, never held as one text (see serializeDocumentBytes).
 */
export async function signPacketBytes(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions = {}): Promise<Buffer> {
  return signEitherWay(input, identity, options, signInPlace, serializeDocumentBytes);
}

/** By splicing when it applies (and is not turned off), else through the DOM; counted either way. */
async function signEitherWay<T>(
  input: Uint8Array | string,
  identity: SigningIdentity,
  options: SignOptions,
  inPlace: (input: Uint8Array | string, identity: SigningIdentity, options: SignOptions) => Promise<T | undefined>,
  write: (doc: Document) => T,
): Promise<T> {
  const spliced = options.inPlace === false ? undefined : await inPlace(input, identity, options);
  if (spliced !== undefined) {
    signingPaths.inPlace += 1;
    return spliced;
  }
  signingPaths.dom += 1;
  return write(await signedDocument(input, identity, options));
}

async function signedDocument(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions): Promise<Document> {
  const doc = parseXml(input, options.limits ?? DEFAULT_XML_LIMITS, { releaseInput: options.releaseInput === true });
  const skeleton = locateSkeleton(doc);
  refuseExistingSignature(doc);
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  // Digested before the signature exists: enveloped-signature leaves it out all the same.
  const digestValue = referenceDigest(doc, SIGNING_C14N, algorithm.hash, []);

  const ds = builder(doc);
  const signedInfo = ds(
    'SignedInfo',
    {},
    ds('CanonicalizationMethod', { Algorithm: SIGNING_C14N.uri }),
    ds('SignatureMethod', { Algorithm: algorithm.uri }),
    ds(
      'Reference',
      { URI: '' },
      ds('Transforms', {}, ds('Transform', { Algorithm: TRANSFORM_ENVELOPED }), ds('Transform', { Algorithm: SIGNING_C14N.uri })),
      ds('DigestMethod', { Algorithm: algorithm.digestUri }),
      ds('DigestValue', {}, digestValue),
    ),
  );
  const value = await makeSignatureValue(identity, Buffer.from(canonicalSignedInfo(signedInfo, SIGNING_C14N), 'utf8'));
  const certificates = [identity.certificate, ...identity.chain].map(certificateBase64);
  const signature = ds(
    'Signature',
    {},
    signedInfo,
    ds('SignatureValue', {}, Buffer.from(value).toString('base64')),
    ds('KeyInfo', {}, ds('X509Data', {}, ...certificates.map((c) => ds('X509Certificate', {}, c)))),
  );
  signature.setAttributeNS('http://www.w3.org/2000/xmlns/', `xmlns:${PREFIX}`, DSIG_NS);
  const after = skeleton.traceHeaderList ?? skeleton.messageHeader;
  // No whitespace is added around the signature: text outside it is signed content.
  skeleton.header.insertBefore(signature, after.nextSibling);
  return doc;
}
