/**
 * A hub's or edge's signing identity and trust: read and checked together at start
 * (openNodeFiles), read again on SIGHUP (reloadNodeFiles).
 *
 * What a running hub or edge does on SIGHUP (systemd ExecReload): read its trust files and its
 * signing identity again and take the new ones, so that a renewed certificate, a new CA or a
 * CRL installed by hand needs no restart. Each part is checked before it replaces the one in
 * force; a part that fails keeps the old one and says why, the other part still goes ahead.
 */
import { loadIdentityMaterial, type IdentityFiles, type TrustFileConfig } from './config.js';
import { describeName, loadSigningIdentity, type SigningIdentity } from './crypto/certificates.js';
import { DEFAULT_CRL_REFRESH } from './crypto/crl-freshness.js';
import type { IdentityMaterial } from './crypto/jobs.js';
import { RevocationRefresher } from './crypto/revocation-refresher.js';
import { assertOwnCertificate, type TrustMaterial } from './crypto/trust.js';
import { asLtError } from './errors.js';
import type { HealthBoard } from './health.js';
import type { Logger } from './log.js';

export interface NodeFiles {
  identity: IdentityMaterial;
  signer: SigningIdentity;
  /** The trust in force, kept fresh once started. */
  revocation: RevocationRefresher;
}

export interface OpenNodeFilesOptions {
  identityFiles: IdentityFiles;
  trustFiles: TrustFileConfig;
  organId: string;
  /** The signing identity in force when the refresher asks (a reload replaces it). */
  currentSigner: () => SigningIdentity | undefined;
  /** Gives the crypto workers each new trust material. */
  apply: (material: TrustMaterial) => void;
  health: HealthBoard;
  log: Logger;
  clock?: () => Date;
}

/**
 * The node's key and certificate, and its trust: refused at start, not at the first signature,
 * when key and certificate do not belong together or the certificate is not this organ id's,
 * trusted, valid and unrevoked.
 */
export async function openNodeFiles(options: OpenNodeFilesOptions): Promise<NodeFiles> {
  const identity = await loadIdentityMaterial(options.identityFiles);
  const signer = await loadSigningIdentity(identity.keyPem, identity.certPem, identity.chainPem);
  const revocation = await RevocationRefresher.open({
    files: options.trustFiles,
    settings: options.trustFiles.crlRefresh ?? DEFAULT_CRL_REFRESH,
    identityCertificates: () => {
      const current = options.currentSigner() ?? signer;
      return [current.certificate, ...current.chain];
    },
    apply: options.apply,
    health: options.health,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await assertOwnCertificate(signer, revocation.material(), options.organId, (options.clock ?? (() => new Date()))());
  return { identity, signer, revocation };
}

export interface ReloadResult {
  trust: 'reloaded' | 'refused';
  identity: 'replaced' | 'unchanged' | 'refused';
  /** Why a part was refused, one line each. */
  problems: string[];
}

export interface ReloadDeps {
  revocation: RevocationRefresher;
  identityFiles: IdentityFiles;
  current: IdentityMaterial;
  organId: string;
  now: Date;
  log: Logger;
  /** Takes the new identity (checked already) in place of the current one. */
  replace: (material: IdentityMaterial, identity: SigningIdentity) => void;
}

export async function reloadNodeFiles(deps: ReloadDeps): Promise<ReloadResult> {
  const problems: string[] = [];
  let trust: ReloadResult['trust'] = 'reloaded';
  // Trust first: a new certificate from a new CA is checked against the new anchors.
  try {
    await deps.revocation.reload();
    deps.log.info('reload: trust files read again (anchors, intermediates, CRLs)');
  } catch (error) {
    trust = 'refused';
    const message = `the trust files were not taken, the ones in force stay: ${asLtError(error).message}`;
    problems.push(message);
    deps.log.error({ errorCode: asLtError(error).code }, `reload: ${message}`);
  }
  let identity: ReloadResult['identity'] = 'unchanged';
  try {
    const material = await loadIdentityMaterial(deps.identityFiles);
    const unchanged = material.keyPem === deps.current.keyPem && material.certPem === deps.current.certPem && material.chainPem === deps.current.chainPem;
    if (!unchanged) {
      // The same checks as at start: key and certificate together, the certificate trusted,
      // valid now, not revoked, and issued to this node's organ id (a swapped file of another
      // agency is refused, not used to sign in its name).
      const loaded = await loadSigningIdentity(material.keyPem, material.certPem, material.chainPem);
      await assertOwnCertificate(loaded, deps.revocation.material(), deps.organId, deps.now);
      deps.replace(material, loaded);
      identity = 'replaced';
      // An alarm about the previous certificate (revoked, expired) is over now.
      await deps.revocation.checkOwnCertificate();
      deps.log.info(
        { subject: describeName(loaded.certificate.subjectName), serial: loaded.certificate.serialNumber, notAfter: loaded.certificate.notAfter.toISOString() },
        'reload: the new signing key and certificate are in use; packets signed with the previous one still verify while it is valid and not revoked',
      );
    }
  } catch (error) {
    identity = 'refused';
    const message = `the new signing key and certificate were refused, the ones in force stay: ${asLtError(error).message}`;
    problems.push(message);
    deps.log.error({ errorCode: asLtError(error).code }, `reload: ${message}`);
  }
  return { trust, identity, problems };
}
