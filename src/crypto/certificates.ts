/**
 * Reading keys and certificates the way operators have them: PEM files made by openssl or by
 * `lienthong certs init` (PKCS#8, PKCS#1 RSA, SEC1 EC keys; one or many certificates a file).
 */
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from './x509.js';
import { LtError } from '../errors.js';
import { cryptoEngine } from './engine.js';
import type { KeyKind } from './algorithms.js';
import { SIGNING_ALGORITHM, type SignatureAlgorithmSpec } from './algorithms.js';

/** OID of the `UID` (userId) attribute: the agency's organ id in its certificate subject. */
export const UID_OID = '0.9.2342.19200300.100.1.1';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function pemBlocks(text: string, label: string): Uint8Array<ArrayBuffer>[] {
  const blocks: Uint8Array<ArrayBuffer>[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] === label) blocks.push(new Uint8Array(Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64')));
  }
  return blocks;
}

/** Every certificate in a PEM text (a bundle or a single one), or in DER bytes. */
export function readCertificates(input: string | Uint8Array, source = 'certificate'): x509.X509Certificate[] {
  try {
    if (typeof input !== 'string') {
      const text = Buffer.from(input).toString('latin1');
      if (!text.includes('-----BEGIN')) return [new x509.X509Certificate(new Uint8Array(input))];
      input = text;
    }
    const blocks = pemBlocks(input, 'CERTIFICATE');
    if (blocks.length === 0) throw new Error('no "BEGIN CERTIFICATE" block found');
    return blocks.map((der) => new x509.X509Certificate(der));
  } catch (error) {
    throw new LtError('CERT_MALFORMED', `cannot read ${source}: ${(error as Error).message}`);
  }
}

/**
 * Packets from one agency carry the same few certificates again and again; parsing DER in
 * JavaScript costs more than verifying an RSA signature, so parsed certificates are kept
 * (immutable objects, a bounded number per thread). Keyed by the base64 text as KeyInfo
 * carries it: a sender writes its certificate the same way every time, and stripping the
 * whitespace of a kilobyte or two first cost more than the lookup. Node's base64 decoder
 * skips whitespace itself.
 */
const parsedCertificates = new Map<string, x509.X509Certificate>();
const PARSED_CERTIFICATES_MAX = 1024;

export function certificateFromBase64(b64: string): x509.X509Certificate {
  const cached = parsedCertificates.get(b64);
  if (cached) return cached;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(Buffer.from(b64, 'base64')));
  } catch (error) {
    throw new LtError('CERT_MALFORMED', `the signer certificate in KeyInfo cannot be read: ${(error as Error).message}`);
  }
  if (parsedCertificates.size >= PARSED_CERTIFICATES_MAX) parsedCertificates.clear();
  parsedCertificates.set(b64, cert);
  return cert;
}

/**
 * The public key of a certificate as a node:crypto KeyObject, made once per parsed
 * certificate: reading the SPKI again for every packet from the same agency costs several
 * times an RSA verification. Undefined, and remembered so, when OpenSSL cannot read the key:
 * no signature verifies with it.
 */
const publicKeys = new WeakMap<x509.X509Certificate, KeyObject | undefined>();

export function publicKeyOf(cert: x509.X509Certificate): KeyObject | undefined {
  if (publicKeys.has(cert)) return publicKeys.get(cert);
  let key: KeyObject | undefined;
  try {
    key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    key = undefined;
  }
  publicKeys.set(cert, key);
  return key;
}

/**
 * The private key of an identity as a node:crypto KeyObject, made once per identity key. The
 * identity's key was imported into the engine in use when it was loaded (engine.ts); only a
 * key of Node's webcrypto has a KeyObject behind it.
 */
const privateKeys = new WeakMap<CryptoKey, KeyObject>();

export function privateKeyOf(identity: SigningIdentity): KeyObject {
  let key = privateKeys.get(identity.key);
  if (!key) {
    try {
      key = KeyObject.from(identity.key);
    } catch (error) {
      throw new LtError('KEY_INVALID', `the signing key was not loaded with Node's crypto engine; load the identity again after choosing the engine: ${(error as Error).message}`);
    }
    privateKeys.set(identity.key, key);
  }
  return key;
}

/**
 * The public key of a certificate imported for one signature algorithm into a WebCrypto engine
 * other than Node's, kept with the parsed certificate (and per engine, whose keys are its own)
 * for the same reason as publicKeyOf. A rejected import (an EC key under rsa-sha256) is kept
 * as well: it stays rejected.
 */
const verificationKeys = new WeakMap<Crypto, WeakMap<x509.X509Certificate, Map<string, Promise<CryptoKey>>>>();

export function verificationKey(cert: x509.X509Certificate, algorithm: SignatureAlgorithmSpec): Promise<CryptoKey> {
  const crypto = cryptoEngine();
  let perCertificate = verificationKeys.get(crypto);
  if (!perCertificate) verificationKeys.set(crypto, (perCertificate = new WeakMap()));
  let perAlgorithm = perCertificate.get(cert);
  if (!perAlgorithm) perCertificate.set(cert, (perAlgorithm = new Map()));
  let key = perAlgorithm.get(algorithm.uri);
  if (!key) {
    key = crypto.subtle.importKey('spki', cert.publicKey.rawData, algorithm.webcrypto, false, ['verify']);
    perAlgorithm.set(algorithm.uri, key);
  }
  return key;
}

export function certificateBase64(cert: x509.X509Certificate): string {
  return Buffer.from(cert.rawData).toString('base64');
}

/**
 * The organ id a certificate is issued to (its subject UID), if any. Remembered per parsed
 * certificate: every packet's verification asks for it, and @peculiar/x509 reads the name
 * again each time.
 */
const organIds = new WeakMap<x509.X509Certificate, string | undefined>();

export function organIdOf(cert: x509.X509Certificate): string | undefined {
  if (organIds.has(cert)) return organIds.get(cert);
  const organId = cert.subjectName.getField(UID_OID)[0];
  organIds.set(cert, organId);
  return organId;
}

export function keyKindOf(cert: x509.X509Certificate): KeyKind | undefined {
  const name = cert.publicKey.algorithm.name;
  if (name === 'RSASSA-PKCS1-v1_5' || name === 'RSA-PSS' || name === 'RSA-OAEP') return 'rsa';
  if (name === 'ECDSA' || name === 'ECDH') return 'ec';
  return undefined;
}

/** Attributes @peculiar/x509 knows only by OID, by the short names openssl and RFC 4519 give them. */
const ATTRIBUTE_NAMES: Record<string, string> = {
  [UID_OID]: 'UID',
  '2.5.4.5': 'serialNumber',
  '2.5.4.9': 'street',
  '2.5.4.12': 'title',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** RFC 4514 §2.4 escaping of an attribute value. */
function escapeValue(value: string): string {
  return value.replace(/[,+"\\<>;]/g, '\\$&').replace(/^[ #]/, '\\$&').replace(/ $/, '\\ ');
}

/**
 * The one way a certificate subject or issuer is shown, in messages, reports and files:
 * readable UTF-8 values, UID (the organ id) and the other attributes by name, never as an OID.
 * In the certificate's order (C first, as openssl prints it by default), or with `mostSpecificFirst`
 * in RFC 4514 order (UID first, as `openssl -nameopt RFC2253`).
 */
export function describeName(name: x509.Name, options: { mostSpecificFirst?: boolean } = {}): string {
  const rdns = describedRdns(name);
  return (options.mostSpecificFirst ? [...rdns].reverse() : rdns).join(', ');
}

/**
 * The RDNs of a name as shown, in the certificate's order. Remembered per name (a parsed
 * certificate keeps its names): every packet's verification report shows its signer's.
 */
const rdnsOfNames = new WeakMap<x509.Name, readonly string[]>();

function describedRdns(name: x509.Name): readonly string[] {
  let rdns = rdnsOfNames.get(name);
  if (!rdns) {
    rdns = name.toJSON().map((rdn) =>
      Object.entries(rdn)
        .flatMap(([type, values]) => values.map((value) => `${ATTRIBUTE_NAMES[type] ?? type}=${escapeValue(value)}`))
        .join('+'),
    );
    rdnsOfNames.set(name, rdns);
  }
  return rdns;
}

export interface SigningIdentity {
  key: CryptoKey;
  kind: KeyKind;
  certificate: x509.X509Certificate;
  /** Intermediate certificates sent along in KeyInfo so verifiers can build the chain. */
  chain: x509.X509Certificate[];
}

/** The private key as a WebCrypto key, whatever PEM flavour openssl wrote. */
export async function importPrivateKey(pem: string, kind: KeyKind, source = 'private key'): Promise<CryptoKey> {
  let pkcs8: Buffer;
  try {
    pkcs8 = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  } catch (error) {
    throw new LtError('KEY_INVALID', `cannot read ${source}: ${(error as Error).message} (an unencrypted PEM key is expected)`);
  }
  const params = kind === 'rsa' ? SIGNING_ALGORITHM.rsa.sign : { name: 'ECDSA', namedCurve: 'P-256' };
  try {
    return await cryptoEngine().subtle.importKey('pkcs8', new Uint8Array(pkcs8), params, false, ['sign']);
  } catch (error) {
    throw new LtError('KEY_INVALID', `${source} is not usable for ${kind === 'rsa' ? 'RSA' : 'ECDSA P-256'} signing: ${(error as Error).message}`);
  }
}

/** Load a signing identity from PEM texts and check that key and certificate belong together. */
export async function loadSigningIdentity(keyPem: string, certPem: string, chainPem?: string): Promise<SigningIdentity> {
  const [certificate, ...extra] = readCertificates(certPem, 'signer certificate');
  if (!certificate) throw new LtError('CERT_MISSING', 'the certificate file holds no certificate');
  const kind = keyKindOf(certificate);
  if (!kind) throw new LtError('KEY_INVALID', `unsupported certificate key type ${certificate.publicKey.algorithm.name}; use RSA or ECDSA P-256`);
  if (kind === 'ec' && (certificate.publicKey.algorithm as EcKeyAlgorithm).namedCurve !== 'P-256') {
    throw new LtError('KEY_INVALID', 'only the P-256 curve is supported for ECDSA');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (error) {
    throw new LtError('KEY_INVALID', `cannot read the private key: ${(error as Error).message} (an unencrypted PEM key is expected)`);
  }
  const keyPublic = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const certPublic = new NodeX509(Buffer.from(certificate.rawData)).publicKey.export({ type: 'spki', format: 'der' });
  if (!keyPublic.equals(certPublic)) {
    throw new LtError('KEY_INVALID', 'the private key does not belong to the certificate (their public keys differ)');
  }
  const key = await importPrivateKey(keyPem, kind);
  const chain = [...extra, ...(chainPem ? readCertificates(chainPem, 'certificate chain') : [])].filter((c) => !isSelfSigned(c));
  return { key, kind, certificate, chain };
}

/** A self-signed certificate is a root: verifiers must have it already, sending it proves nothing. */
export function isSelfSigned(cert: x509.X509Certificate): boolean {
  return cert.subject === cert.issuer;
}
