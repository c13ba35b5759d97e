/**
 * The allow-lists of the edXML signature profile. Anything not named here is refused with
 * SIG_ALGORITHM before any cryptography runs. SHA-1 exists only under the explicit legacy
 * policy, for peers still signing the way the government SDK samples do.
 */
export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export const TRANSFORM_ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export const C14N_INCLUSIVE = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const C14N_EXCLUSIVE = 'http://www.w3.org/2001/10/xml-exc-c14n#';

export interface C14nAlgorithmSpec {
  uri: string;
  /** Exclusive c14n renders only visibly used namespaces, inclusive every one in scope. */
  exclusive: boolean;
  withComments: boolean;
}

/**
 * The canonicalisations accepted for SignedInfo and as the Reference's transform after
 * enveloped-signature: what standard XMLDSig peers sign with. Exclusive c14n's
 * InclusiveNamespaces parameter is not among them (profile.ts refuses it).
 */
export const C14N_ALGORITHMS: readonly C14nAlgorithmSpec[] = [
  { uri: C14N_INCLUSIVE, exclusive: false, withComments: false },
  { uri: `${C14N_INCLUSIVE}#WithComments`, exclusive: false, withComments: true },
  { uri: C14N_EXCLUSIVE, exclusive: true, withComments: false },
  { uri: `${C14N_EXCLUSIVE}WithComments`, exclusive: true, withComments: true },
];

/**
 * A Reference whose transforms end in a node-set is turned into octets with Canonical XML
 * 1.0 without comments (XMLDSig core §4.3.3.2): enveloped-signature alone means this.
 */
export const DEFAULT_REFERENCE_C14N = C14N_ALGORITHMS[0] as C14nAlgorithmSpec;

/** What lienthong canonicalises its own signatures with, SignedInfo and Reference alike. */
export const SIGNING_C14N = C14N_ALGORITHMS[2] as C14nAlgorithmSpec;

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

/** The same hashes by the names node:crypto (OpenSSL) knows them. */
export const NODE_HASHES: Record<HashName, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/**
 * The key an algorithm verifies with, as node:crypto describes a KeyObject. node:crypto's
 * verify() follows the key, not the algorithm: without this, an ECDSA value would verify
 * under rsa-sha256 (and an RSA one under ecdsa-sha256) and be reported under the wrong name.
 */
export type NodeKeySpec = { type: 'rsa' } | { type: 'ec'; namedCurve: 'prime256v1' };

export interface SignatureAlgorithmSpec {
  uri: string;
  /** WebCrypto algorithm for importing the public key and verifying. */
  webcrypto: RsaHashedImportParams | EcKeyImportParams;
  key: NodeKeySpec;
  hash: HashName;
  legacy: boolean;
}

const rsa = (hash: HashName): RsaHashedImportParams => ({ name: 'RSASSA-PKCS1-v1_5', hash });
const RSA_KEY: NodeKeySpec = { type: 'rsa' };

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithmSpec[] = [
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', webcrypto: rsa('SHA-256'), key: RSA_KEY, hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', webcrypto: rsa('SHA-384'), key: RSA_KEY, hash: 'SHA-384', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', webcrypto: rsa('SHA-512'), key: RSA_KEY, hash: 'SHA-512', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', webcrypto: { name: 'ECDSA', namedCurve: 'P-256' }, key: { type: 'ec', namedCurve: 'prime256v1' }, hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', webcrypto: rsa('SHA-1'), key: RSA_KEY, hash: 'SHA-1', legacy: true },
];

const SHA256_DIGEST = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface DigestAlgorithmSpec {
  uri: string;
  hash: HashName;
  legacy: boolean;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithmSpec[] = [
  { uri: SHA256_DIGEST, hash: 'SHA-256', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmldsig-more#sha384', hash: 'SHA-384', legacy: false },
  { uri: 'http://www.w3.org/2001/04/xmlenc#sha512', hash: 'SHA-512', legacy: false },
  { uri: 'http://www.w3.org/2000/09/xmldsig#sha1', hash: 'SHA-1', legacy: true },
];

/** The only transform chains a Reference may carry. */
export const REFERENCE_TRANSFORM_CHAINS: readonly (readonly string[])[] = [
  [TRANSFORM_ENVELOPED],
  ...C14N_ALGORITHMS.map((c) => [TRANSFORM_ENVELOPED, c.uri]),
];

export type KeyKind = 'rsa' | 'ec';

/** What lienthong signs with, per key kind. */
export const SIGNING_ALGORITHM: Record<KeyKind, { uri: string; sign: RsaHashedImportParams | EcdsaParams; hash: 'SHA-256'; digestUri: string }> = {
  rsa: { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, hash: 'SHA-256', digestUri: SHA256_DIGEST },
  ec: { uri: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', sign: { name: 'ECDSA', hash: 'SHA-256' }, hash: 'SHA-256', digestUri: SHA256_DIGEST },
};
