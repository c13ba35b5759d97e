// XMLDSig signing and verification of edXML packets, certificates, trust and the worker pool.
export { useCryptoEngine, cryptoEngine } from './engine.js';
export type { CryptoEngineName } from './engine.js';
export { DSIG_NS, SIGNATURE_ALGORITHMS, DIGEST_ALGORITHMS } from './algorithms.js';
export {
  loadSigningIdentity,
  readCertificates,
  organIdOf,
  describeName,
  isSelfSigned,
  UID_OID,
} from './certificates.js';
export type { SigningIdentity } from './certificates.js';
export { createTrustStore, readTrustFiles, validateChain } from './trust.js';
export type { TrustStore, TrustMaterial, TrustFiles, ChainResult } from './trust.js';
export { signPacket } from './sign.js';
export { verifyPacket } from './verify.js';
export type { Verification, VerificationReport, VerifyOptions, CheckResult } from './verify.js';
export { CryptoJobRunner } from './jobs.js';
export type { IdentityMaterial, CryptoJob } from './jobs.js';
export { CryptoPool } from './pool.js';
export type { CryptoPoolOptions } from './pool.js';
