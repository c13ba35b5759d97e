/**
 * The allow-lists of the edXML signature profile. Anything not named here is refused with
 * SIG_ALGORITHM before any cryptography runs. SHA-1 exists only under the explicit legacy
 * policy, for peers still signing the way the government SDK samples do.
 */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export const C14N_EXCLUSIVE = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const TRANSFORM_ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export interface SignatureAlgorithmSpec {
  uri: string;
  /** WebCrypto algorithm for importing the public key and verifying. */
  webcrypto: RsaHashedImportParams | EcKeyImportParams;
  hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  legacy: boolean;
}

const rsa = (hash: SignatureAlgorithmSpec['hash']): RsaHashedImportParams => ({ name: 'RSASSA-PKCS1-v1_5', hash });

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithmSpec[] = [
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', webcrypto: rsa('SHA-256'), hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', webcrypto: rsa('SHA-384'), hash: 'SHA-384', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', webcrypto: rsa('SHA-512'), hash: 'SHA-512', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', webcrypto: { name: 'ECDSA', namedCurve: 'P-256' }, hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', webcrypto: rsa('SHA-1'), hash: 'SHA-1', legacy: true },
];

export interface DigestAlgorithmSpec {
  uri: string;
  hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  legacy: boolean;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithmSpec[] = [
  { uri: 'http://www.w3.org/2001/04/xmlenc#sha256', hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#sha384', hash: 'SHA-384', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmlenc#sha512', hash: 'SHA-512', legacy: false },
  { uri: 'http://www.w3.org/2000/09/xmldsig#sha1', hash: 'SHA-1', legacy: true },
];

/** SignedInfo canonicalisation: exclusive only (inclusive c14n breaks on prefixed namespaces). */
export const SIGNED_INFO_C14N: readonly string[] = [C14N_EXCLUSIVE];

/** The only transform chains a Reference may carry. */
export const REFERENCE_TRANSFORM_CHAINS: readonly (readonly string[])[] = [
  [TRANSFORM_ENVELOPED, C14N_EXCLUSIVE],
  [TRANSFORM_ENVELOPED],
];

export type KeyKind = 'rsa' | 'ec';

/** What lienthong signs with, per key kind. */
export const SIGNING_ALGORITHM: Record<KeyKind, { uri: string; sign: RsaHashedImportParams | EcdsaParams; hash: 'SHA-256' }> = {
  rsa: { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, hash: 'SHA-256' },
  ec: { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', sign: { name: 'ECDSA', hash: 'SHA-256' }, hash: 'SHA-256' },
};
