/**
 * Enveloped XMLDSig signing of an edXML packet: RSA-SHA256 or ECDSA-P256-SHA256, exclusive
 * c14n for SignedInfo and the reference (xmldsigjs defaults SignedInfo to inclusive c14n,
 * which breaks interop on prefixed namespaces), signer certificate and chain in KeyInfo, the
 * Signature placed in edXMLHeader after TraceHeaderList as the edXML profile says.
 */
import { SignedXml } from 'xmldsigjs';
import { LtError } from '../errors.js';
import { locateSkeleton } from '../envelope/parse.js';
import { DEFAULT_XML_LIMITS, parseXml, serializeXml, type XmlLimits } from '../envelope/xml.js';
import { C14N_EXCLUSIVE, DSIG_NS, SIGNING_ALGORITHM } from './algorithms.js';
import { cryptoEngine } from './engine.js';
import { certificateBase64, type SigningIdentity } from './certificates.js';

export interface SignOptions {
  limits?: XmlLimits;
}

function keyInfoElement(doc: Document, prefix: string | null, certificates: string[]): Element {
  const element = (name: string): Element => doc.createElementNS(DSIG_NS, prefix ? `${prefix}:${name}` : name);
  const keyInfo = element('KeyInfo');
  const data = element('X509Data');
  for (const base64 of certificates) {
    const certificate = element('X509Certificate');
    certificate.appendChild(doc.createTextNode(base64));
    data.appendChild(certificate);
  }
  keyInfo.appendChild(data);
  return keyInfo;
}

export async function signPacket(input: Uint8Array | string, identity: SigningIdentity, options: SignOptions = {}): Promise<string> {
  cryptoEngine();
  const doc = parseXml(input, options.limits ?? DEFAULT_XML_LIMITS);
  const skeleton = locateSkeleton(doc);
  if (doc.getElementsByTagNameNS(DSIG_NS, 'Signature').length > 0) {
    throw new LtError('SIG_MULTIPLE', 'the packet is already signed; lienthong never adds a second signature');
  }
  if (doc.getElementsByTagName('Signature').length > 0) {
    throw new LtError('SIG_MALFORMED', 'the packet carries a <Signature> element outside the XMLDSig namespace (as the SDK samples do); remove it before signing');
  }
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  const signed = new SignedXml();
  signed.XmlSignature.SignedInfo.CanonicalizationMethod.Algorithm = C14N_EXCLUSIVE;
  await signed.Sign(algorithm.sign, identity.key, doc, {
    references: [{ uri: '', hash: algorithm.hash, transforms: ['enveloped', 'exc-c14n'] }],
  });
  const signatureXml = signed.GetXml();
  if (!signatureXml) throw new LtError('INTERNAL', 'xmldsigjs produced no Signature element');
  const signature = doc.importNode(signatureXml, true) as Element;
  // KeyInfo is written here rather than by xmldsigjs, which re-parses every certificate's ASN.1
  // on each signature (a fifth of a signing thread's time); it is outside SignedInfo either way.
  signature.appendChild(keyInfoElement(doc, signature.prefix, [identity.certificate, ...identity.chain].map(certificateBase64)));
  const after = skeleton.traceHeaderList ?? skeleton.messageHeader;
  // No whitespace is added around the signature: text outside it is signed content.
  skeleton.header.insertBefore(signature, after.nextSibling);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serializeXml(doc.documentElement as Element)}\n`;
}
