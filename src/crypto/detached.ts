/**
 * A detached signature over bytes lienthong writes about itself (audit bundles, evidence
 * manifests): SHA-256 with the node's key, its certificate and chain beside it, so that an
 * archivist checks it offline with nothing but the file and the trusted root.
 */
import { createPrivateKey, createPublicKey, sign as signBytes, verify as verifyBytes, X509Certificate as NodeX509 } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import { describeName, organIdOf, readCertificates } from './certificates.js';
import type { IdentityMaterial } from './jobs.js';
import { createTrustStore, validateChain, type TrustMaterial } from './trust.js';

export interface DetachedSignature {
  algorithm: 'sha256';
  /** Base64. */
  value: string;
  /** PEM: the signer's certificate first, then its chain. */
  certificates: string[];
}

/** The certificates a detached signature carries: the signer's, then its chain (PEM). */
export function signerCertificates(identity: IdentityMaterial): string[] {
  return [identity.certPem, ...(identity.chainPem ? [identity.chainPem] : [])].map((p) => p.trim());
}

export function signDetached(bytes: Uint8Array, identity: IdentityMaterial): DetachedSignature {
  return {
    algorithm: 'sha256',
    value: signBytes('sha256', bytes, createPrivateKey(identity.keyPem)).toString('base64'),
    certificates: signerCertificates(identity),
  };
}

export interface DetachedCheck {
  /** Subject of the signing certificate, when there was one. */
  signer: string | null;
  /** The organ id in the signing certificate's UID. */
  signerOrganId: string | null;
  errors: Array<{ code: ErrorCode; message: string }>;
}

/**
 * Checks the signature value, the chain to the trusted roots at `signedAt`, and that the
 * certificate belongs to `expectedOrganId`; each failure is named, none throws.
 */
export async function verifyDetached(
  bytes: Uint8Array,
  signature: Partial<DetachedSignature> | undefined,
  trust: TrustMaterial,
  expectedOrganId: string,
  signedAt: Date,
  now = new Date(),
): Promise<DetachedCheck> {
  const result: DetachedCheck = { signer: null, signerOrganId: null, errors: [] };
  const certificates = (signature?.certificates ?? []).flatMap((pem) => readCertificates(pem, 'signer certificate'));
  const signer = certificates[0];
  if (!signer || typeof signature?.value !== 'string') {
    result.errors.push({ code: 'SIG_MISSING', message: 'the file carries no signature or no signer certificate' });
    return result;
  }
  result.signer = describeName(signer.subjectName);
  result.signerOrganId = organIdOf(signer) ?? null;
  const publicKey = createPublicKey(new NodeX509(Buffer.from(signer.rawData)).publicKey.export({ type: 'spki', format: 'pem' }));
  if (signature.algorithm !== 'sha256' || !verifyBytes('sha256', bytes, publicKey, Buffer.from(signature.value, 'base64'))) {
    result.errors.push({ code: 'SIG_VALUE_INVALID', message: 'the signature does not match the signed content: it was changed after it was written' });
  }
  const chain = await validateChain(signer, certificates.slice(1), createTrustStore(trust), signedAt, now);
  for (const problem of chain.problems) result.errors.push(problem);
  if (result.signerOrganId !== expectedOrganId) {
    result.errors.push({ code: 'CERT_ORGAN_MISMATCH', message: `the file says it comes from ${expectedOrganId} but is signed by ${result.signerOrganId ?? '(a certificate without UID)'}` });
  }
  return result;
}
