/**
 * The SignatureValue of a packet: made over canonical SignedInfo by the signer, checked by the
 * verifier. With Node's engine (the default) through node:crypto KeyObjects, synchronously:
 * the same OpenSSL as Node's webcrypto without a threadpool job and its promise per packet,
 * which a 5 KB packet's verification spent a quarter of its time waiting for. Another engine
 * (@peculiar/webcrypto, chosen for comparison) is used through its subtle API, as engine.ts
 * promises.
 */
import { sign, verify, type KeyObject, type SignKeyObjectInput, type VerifyKeyObjectInput } from 'node:crypto';
import type * as x509 from './x509.js';
import { NODE_HASHES, SIGNING_ALGORITHM, type NodeKeySpec, type SignatureAlgorithmSpec } from './algorithms.js';
import { privateKeyOf, publicKeyOf, verificationKey, type SigningIdentity } from './certificates.js';
import { cryptoEngine, cryptoEngineName } from './engine.js';

/** XMLDSig's ECDSA value is r||s (RFC 4050, RFC 6931), node:crypto's default is DER. */
function keyInput(key: KeyObject, type: NodeKeySpec['type']): SignKeyObjectInput & VerifyKeyObjectInput {
  return type === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : { key };
}

function fits(key: KeyObject, spec: NodeKeySpec): boolean {
  if (key.asymmetricKeyType !== spec.type) return false;
  return spec.type !== 'ec' || key.asymmetricKeyDetails?.namedCurve === spec.namedCurve;
}

/** The signature value of `octets` with the identity's key, by the algorithm of its kind. */
export function makeSignatureValue(identity: SigningIdentity, octets: Uint8Array<ArrayBuffer>): Uint8Array | Promise<Uint8Array> {
  const algorithm = SIGNING_ALGORITHM[identity.kind];
  if (cryptoEngineName() === 'node') return sign(NODE_HASHES[algorithm.hash], octets, keyInput(privateKeyOf(identity), identity.kind));
  return cryptoEngine()
    .subtle.sign(algorithm.sign, identity.key, octets)
    .then((value) => new Uint8Array(value));
}

/**
 * Whether `value` is the signature of `octets` by the certificate's key under `algorithm`.
 * False, never an exception, for a key of another type than the algorithm names (an EC
 * certificate under rsa-sha256) or a value OpenSSL cannot read.
 */
export function signatureValueValid(cert: x509.X509Certificate, algorithm: SignatureAlgorithmSpec, value: Uint8Array<ArrayBuffer>, octets: Uint8Array<ArrayBuffer>): boolean | Promise<boolean> {
  if (cryptoEngineName() !== 'node') return webCryptoValid(cert, algorithm, value, octets);
  const key = publicKeyOf(cert);
  if (!key || !fits(key, algorithm.key)) return false;
  try {
    return verify(NODE_HASHES[algorithm.hash], octets, keyInput(key, algorithm.key.type), value);
  } catch {
    return false;
  }
}

async function webCryptoValid(cert: x509.X509Certificate, algorithm: SignatureAlgorithmSpec, value: Uint8Array<ArrayBuffer>, octets: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    const key = await verificationKey(cert, algorithm);
    // ECDSA takes its hash at verification; XMLDSig's r||s value is WebCrypto's format already.
    return await cryptoEngine().subtle.verify({ ...algorithm.webcrypto, hash: algorithm.hash }, key, value, octets);
  } catch {
    // The import refuses a key of another type than the algorithm names.
    return false;
  }
}
