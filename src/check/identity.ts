/**
 * The rows about who this node is and whom it trusts: its key and certificate belong together,
 * the certificate is its organ id's, valid now and for a while, chains to a configured anchor
 * and is not revoked; every configured CRL is fresh. Evaluation is pure (parsed certificates and
 * CRLs, a clock); `identityChecks` reads the files.
 */
import { basename } from 'node:path';
import * as x509 from '../crypto/x509.js';
import { loadIdentityMaterial, type IdentityFiles, type TrustFileConfig } from '../config.js';
import { describeName, loadSigningIdentity, organIdOf, pemBlocks, type SigningIdentity } from '../crypto/certificates.js';
import { createTrustStore, readNodeTrust, validateChain, type ChainProblem, type TrustMaterial } from '../crypto/trust.js';
import { readInput } from '../files.js';
import { guarded, ok, problem, type CheckRow } from './rows.js';

/** A certificate that ends sooner than this is a problem now: renewing takes the CA days. */
export const CERT_RENEWAL_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface IdentityCheckInput {
  organId: string;
  identity: IdentityFiles;
  trust: TrustFileConfig;
  /** "edge" or "hub": which configuration the fixes name. */
  node: 'edge' | 'hub';
  now: Date;
}

export async function identityChecks(input: IdentityCheckInput): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const file = `${input.node}.json`;
  let identity: SigningIdentity | undefined;
  rows.push(
    ...(await guarded('signing key', `set "identity.key" and "identity.cert" in ${file} to the agency's private key (unencrypted PEM) and the certificate the CA issued for that very key`, async () => {
      identity = await loadSigningIdentity(...materialArgs(await loadIdentityMaterial(input.identity)));
      return ok('signing key', `${basename(input.identity.key)} is the private key of ${basename(input.identity.cert)} (${identity.kind === 'rsa' ? 'RSA' : 'ECDSA P-256'})`);
    })),
  );
  if (identity) rows.push(organRow(identity.certificate, input.organId, file), validityRow(identity.certificate, input.now));

  let material: TrustMaterial | undefined;
  rows.push(
    ...(await guarded('trust anchors', `list the government CA's root certificate (PEM) in "trust.anchors" of ${file}`, async () => {
      material = await readNodeTrust(input.trust, file);
      const anchors = createTrustStore({ ...material, crls: [] }).anchors;
      return ok('trust anchors', `${anchors.length} anchor${anchors.length > 1 ? 's' : ''}: ${anchors.map((a) => `"${describeName(a.subjectName)}"`).join(', ')}`);
    })),
  );
  if (identity && material) {
    const leaf = identity;
    const trust = material;
    rows.push(
      ...(await guarded('certificate chain', `check "trust.crls" of ${file}: each must be a current CRL (PEM) of a CA of the chain`, async () => {
        const result = await validateChain(leaf.certificate, leaf.chain, createTrustStore(trust), input.now, input.now);
        return chainRow(result.problems, result.path, file);
      })),
    );
  }
  for (const path of input.trust.crls ?? []) {
    rows.push(...(await guarded(`CRL ${basename(path)}`, `put the CA's current CRL (PEM) at ${path}`, async () => crlRow(path, readCrls((await readInput(path)).toString('utf8')), input.now))));
  }
  return rows;
}

function materialArgs(m: { keyPem: string; certPem: string; chainPem?: string }): [string, string, string | undefined] {
  return [m.keyPem, m.certPem, m.chainPem];
}

export function organRow(cert: x509.X509Certificate, organId: string, file: string): CheckRow {
  const uid = organIdOf(cert);
  if (uid === organId) return ok('certificate organ id', `UID ${uid} is the configured organId`);
  return problem(
    'certificate organ id',
    `the certificate "${describeName(cert.subjectName)}" is issued to ${uid ?? '(no UID)'}, not to ${organId}: every verifier would refuse what this node signs`,
    `set "identity.cert" and "identity.key" in ${file} to the certificate issued to ${organId} (its subject UID), or correct "organId"`,
  );
}

export function validityRow(cert: x509.X509Certificate, now: Date): CheckRow {
  const name = 'certificate validity';
  const until = cert.notAfter.toISOString().slice(0, 10);
  if (now < cert.notBefore) {
    return problem(name, `not valid before ${cert.notBefore.toISOString()}`, "wait until then, or check this machine's clock (timedatectl) if that date has passed");
  }
  if (now > cert.notAfter) {
    return problem(name, `expired on ${cert.notAfter.toISOString()}`, 'ask the CA for a new certificate and set "identity.cert" and "identity.key" to it');
  }
  const days = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (days < CERT_RENEWAL_DAYS) {
    return problem(name, `expires on ${until}, in ${days} day${days === 1 ? '' : 's'}`, 'ask the CA for a new certificate now, and set "identity.cert" and "identity.key" to it before the old one ends');
  }
  return ok(name, `valid until ${until} (${days} days)`);
}

/** The fix of the first chain problem: what to change depends on why the path failed. */
export function chainRow(problems: readonly ChainProblem[], path: readonly x509.X509Certificate[], file: string): CheckRow {
  const name = 'certificate chain';
  // Dates are the validity row's; the chain row says what the dates do not.
  const own = problems.filter((p) => p.code !== 'CERT_EXPIRED');
  if (own.length === 0) return ok(name, `chains to "${describeName((path[path.length - 1] as x509.X509Certificate).subjectName)}"${path.length > 1 ? ` through ${path.length - 2} CA${path.length === 3 ? '' : 's'}` : ''}`);
  const first = own[0] as ChainProblem;
  const fixes: Partial<Record<ChainProblem['code'], string>> = {
    CERT_UNTRUSTED: `add the issuing CA's certificate to "identity.chain" (or "trust.intermediates") and the CA's root to "trust.anchors" of ${file}; if the anchor is right, the certificate comes from another CA`,
    CERT_REVOKED: 'the CA revoked this certificate: ask it for a new one and set "identity.cert" and "identity.key" to it',
    REVOCATION_UNKNOWN: `add the current CRL of each CA of the chain to "trust.crls" of ${file} (or, knowingly, set "trust.revocation" to "best-effort")`,
    CRL_INVALID: `replace the CRL in "trust.crls" of ${file} with the one the CA publishes`,
    CERT_USAGE: 'ask the CA for a document-signing certificate (digitalSignature / nonRepudiation)',
  };
  return problem(name, own.map((p) => p.message).join('; '), fixes[first.code] ?? `check "identity" and "trust" of ${file}`);
}

function readCrls(pem: string): x509.X509Crl[] {
  const blocks = pemBlocks(pem, 'X509 CRL');
  if (blocks.length === 0) throw new Error('the file holds no "BEGIN X509 CRL" block');
  return blocks.map((der) => new x509.X509Crl(der, { berOptions: { maxNodes: Math.max(10_000, der.length), maxContentLength: Math.max(16 * 1024 * 1024, der.length) } }));
}

/** A CRL past its nextUpdate says nothing about certificates revoked since: a verifier under "require" refuses them all. */
export function crlRow(path: string, crls: readonly x509.X509Crl[], now: Date): CheckRow {
  const name = `CRL ${basename(path)}`;
  const fix = `download the current CRL of the CA (from its distribution point) to ${path}`;
  const stale: string[] = [];
  const fresh: string[] = [];
  for (const crl of crls) {
    const issuer = describeName(crl.issuerName);
    if (!crl.nextUpdate) stale.push(`the CRL of "${issuer}" has no nextUpdate, so its freshness cannot be told`);
    else if (crl.nextUpdate < now) stale.push(`the CRL of "${issuer}" is stale: its nextUpdate ${crl.nextUpdate.toISOString()} has passed`);
    else fresh.push(`"${issuer}" until ${crl.nextUpdate.toISOString()}`);
  }
  if (stale.length > 0) return problem(name, stale.join('; '), fix);
  return ok(name, `fresh: ${fresh.join(', ')}`);
}
