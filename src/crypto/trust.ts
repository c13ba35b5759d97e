/**
 * Trust anchors, intermediates and CRLs, and the path validation a verifier runs: from the
 * signer certificate to a configured anchor, every link's signature checked, every certificate
 * valid at signing time, issuers really CAs, revocation looked up in CRLs that verify.
 */
import * as x509 from './x509.js';
import { LtError, type ErrorCode } from '../errors.js';
import { readInput } from '../files.js';
import { cryptoEngine } from './engine.js';
import { describeName, organIdOf, pemBlocks, readCertificates } from './certificates.js';

export interface TrustStore {
  anchors: x509.X509Certificate[];
  intermediates: x509.X509Certificate[];
  crls: x509.X509Crl[];
}

/** PEM texts of a trust configuration; plain data, so it can be handed to worker threads. */
export interface TrustMaterial {
  anchors: string[];
  intermediates?: string[];
  crls?: string[];
}

export interface TrustFiles {
  anchors: string[];
  intermediates?: string[];
  crls?: string[];
}

export async function readTrustFiles(files: TrustFiles): Promise<TrustMaterial> {
  const read = async (path: string): Promise<string> => (await readInput(path)).toString('utf8');
  return {
    anchors: await Promise.all(files.anchors.map(read)),
    intermediates: await Promise.all((files.intermediates ?? []).map(read)),
    crls: await Promise.all((files.crls ?? []).map(read)),
  };
}

export function createTrustStore(material: TrustMaterial): TrustStore {
  cryptoEngine();
  const anchors = material.anchors.flatMap((pem) => readCertificates(pem, 'trust anchor'));
  if (anchors.length === 0) throw new LtError('USAGE', 'no trust anchor certificate given; name the root CA certificate (PEM)');
  const crls: x509.X509Crl[] = [];
  for (const pem of material.crls ?? []) {
    const blocks = pemBlocks(pem, 'X509 CRL');
    if (blocks.length === 0) throw new LtError('CRL_INVALID', 'a CRL file holds no "BEGIN X509 CRL" block');
    for (const der of blocks) {
      try {
        crls.push(new x509.X509Crl(der));
      } catch (error) {
        throw new LtError('CRL_INVALID', `a CRL cannot be read: ${(error as Error).message}`);
      }
    }
  }
  return {
    anchors,
    intermediates: (material.intermediates ?? []).flatMap((pem) => readCertificates(pem, 'intermediate certificate')),
    crls,
  };
}

export interface ChainProblem {
  code: ErrorCode;
  message: string;
}

export interface ChainResult {
  /** Signer first, anchor last (when one was reached). */
  path: x509.X509Certificate[];
  trusted: boolean;
  validAtSigningTime: boolean;
  revocation: 'good' | 'revoked' | 'unknown';
  problems: ChainProblem[];
}

const MAX_PATH = 6;

function sameCertificate(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return Buffer.from(a.rawData).equals(Buffer.from(b.rawData));
}

function isCa(cert: x509.X509Certificate): boolean {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) return false;
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  return !ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
}

function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+/, '');
}

/**
 * Whether `issuer`'s key signed `subject`. Certificates, CRLs and anchors are immutable parsed
 * objects (certificates are cached by certificates.ts), so the answer is remembered per pair:
 * each packet would otherwise re-verify the same chain and CRLs, four RSA operations.
 */
const signatureChecks = new WeakMap<x509.X509Certificate | x509.X509Crl, WeakMap<x509.X509Certificate, Promise<boolean>>>();

function signedBy(subject: x509.X509Certificate | x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  let byIssuer = signatureChecks.get(subject);
  if (!byIssuer) {
    byIssuer = new WeakMap();
    signatureChecks.set(subject, byIssuer);
  }
  let check = byIssuer.get(issuer);
  if (!check) {
    check = verifySignedBy(subject, issuer);
    byIssuer.set(issuer, check);
  }
  return check;
}

async function verifySignedBy(subject: x509.X509Certificate | x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    if (subject instanceof x509.X509Crl) return await subject.verify({ publicKey: issuer.publicKey }, cryptoEngine());
    return await subject.verify({ publicKey: issuer.publicKey, signatureOnly: true }, cryptoEngine());
  } catch {
    return false;
  }
}

/**
 * Build and check the path from `leaf` to an anchor of `store`. `extra` are the certificates
 * the packet itself carried (untrusted helpers for path building, nothing more).
 */
export async function validateChain(
  leaf: x509.X509Certificate,
  extra: readonly x509.X509Certificate[],
  store: TrustStore,
  signingTime: Date,
  now: Date,
): Promise<ChainResult> {
  const problems: ChainProblem[] = [];
  const path: x509.X509Certificate[] = [leaf];
  let trusted = store.anchors.some((a) => sameCertificate(a, leaf));
  let current = leaf;
  while (!trusted && path.length < MAX_PATH) {
    const candidates = [...store.anchors, ...store.intermediates, ...extra].filter(
      (c) => c.subject === current.issuer && !path.some((p) => sameCertificate(p, c)),
    );
    let issuer: x509.X509Certificate | undefined;
    for (const candidate of candidates) {
      if (await signedBy(current, candidate)) {
        issuer = candidate;
        break;
      }
    }
    if (!issuer) {
      problems.push({
        code: 'CERT_UNTRUSTED',
        message: `no trusted issuer found for "${describeName(current.subject)}" (issued by "${describeName(current.issuer)}"); the certificate does not chain to a configured trust anchor`,
      });
      break;
    }
    const isAnchor = store.anchors.some((a) => sameCertificate(a, issuer as x509.X509Certificate));
    if (!isAnchor && !isCa(issuer)) {
      problems.push({ code: 'CERT_USAGE', message: `"${describeName(issuer.subject)}" is not a certification authority but issued "${describeName(current.subject)}"` });
      break;
    }
    path.push(issuer);
    current = issuer;
    trusted = isAnchor;
  }
  if (!trusted && problems.length === 0) {
    problems.push({ code: 'CERT_UNTRUSTED', message: `the certificate path is longer than ${MAX_PATH} without reaching a trust anchor` });
  }

  const leafUsage = leaf.getExtension(x509.KeyUsagesExtension);
  if (leafUsage && (leafUsage.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation)) === 0) {
    problems.push({ code: 'CERT_USAGE', message: 'the signer certificate is not issued for digital signatures (keyUsage lacks digitalSignature and nonRepudiation)' });
  }

  let validAtSigningTime = true;
  for (const cert of path) {
    if (signingTime < cert.notBefore || signingTime > cert.notAfter) {
      validAtSigningTime = false;
      const when = signingTime < cert.notBefore ? `was not yet valid (valid from ${cert.notBefore.toISOString()})` : `had expired on ${cert.notAfter.toISOString()}`;
      problems.push({
        code: 'CERT_EXPIRED',
        message: `at signing time ${signingTime.toISOString()} the certificate "${describeName(cert.subject)}" ${when}`,
      });
    }
  }

  const checked = await checkRevocation(path, store, now, problems);
  // The top of a path that reaches no anchor has no known issuer, hence no CRL: 'good' would
  // claim a check that was never made.
  const revocation = !trusted && checked === 'good' ? 'unknown' : checked;
  return { path, trusted, validAtSigningTime, revocation, problems };
}

/** Look every non-anchor certificate of the path up in a CRL signed by its issuer. */
async function checkRevocation(
  path: readonly x509.X509Certificate[],
  store: TrustStore,
  now: Date,
  problems: ChainProblem[],
): Promise<ChainResult['revocation']> {
  let checkedAll = true;
  let revoked = false;
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i] as x509.X509Certificate;
    const issuer = path[i + 1] as x509.X509Certificate;
    let crl: x509.X509Crl | undefined;
    for (const candidate of store.crls) {
      if (candidate.issuer === cert.issuer && (await signedBy(candidate, issuer))) {
        if (!crl || candidate.thisUpdate > crl.thisUpdate) crl = candidate;
      }
    }
    if (!crl) {
      checkedAll = false;
      continue;
    }
    if (crl.nextUpdate && crl.nextUpdate < now) {
      problems.push({
        code: 'CRL_INVALID',
        message: `the CRL of "${describeName(crl.issuer)}" expired on ${crl.nextUpdate.toISOString()}; install a current CRL`,
      });
      checkedAll = false;
      continue;
    }
    const serial = normalizeSerial(cert.serialNumber);
    const entry = crl.entries.find((e) => normalizeSerial(e.serialNumber) === serial);
    if (entry) {
      revoked = true;
      problems.push({
        code: 'CERT_REVOKED',
        message: `the certificate "${describeName(cert.subject)}" (serial ${cert.serialNumber}) was revoked on ${entry.revocationDate.toISOString()}`,
      });
    }
  }
  if (revoked) return 'revoked';
  return checkedAll ? 'good' : 'unknown';
}

/**
 * Refuse to start with a signing certificate every verifier would refuse (untrusted, expired,
 * revoked, or not issued to `organId`): better a clear error at start than bounced documents.
 */
export async function assertOwnCertificate(
  identity: { certificate: x509.X509Certificate; chain: x509.X509Certificate[] },
  trust: TrustMaterial,
  organId: string,
  now: Date,
): Promise<void> {
  const problems: string[] = [];
  const uid = organIdOf(identity.certificate);
  if (uid !== organId) problems.push(`it is issued to ${uid ?? '(no UID)'}, not to ${organId}`);
  const chain = await validateChain(identity.certificate, identity.chain, createTrustStore(trust), now, now);
  for (const p of chain.problems) problems.push(p.message);
  if (problems.length > 0) {
    throw new LtError('CONFIG_INVALID', `the signing certificate ${describeName(identity.certificate.subject)} cannot be used: ${problems.join('; ')}`);
  }
}
