/**
 * Trust anchors, intermediates and CRLs, and the path validation a verifier runs: from the
 * signer certificate to a configured anchor, every link's signature checked, every certificate
 * valid at signing time, issuers really CAs, the signer an end entity issued for signing,
 * revocation looked up in CRLs that verify, under a policy that says what "unknown" means.
 */
import * as x509 from './x509.js';
import { LtError, type ErrorCode } from '../errors.js';
import { readInput } from '../files.js';
import { cryptoEngine } from './engine.js';
import { describeName, organIdOf, pemBlocks, readCertificates } from './certificates.js';
import { DEV_PKI_ORGANIZATION } from './dev-pki.js';

/**
 * What a verifier does when a certificate's revocation status cannot be established (no CRL of
 * its issuer, a CRL not signed by the issuer's key, without nextUpdate or past it):
 * `require` refuses the signature, `best-effort` accepts it and reports revocation "unknown".
 */
export type RevocationPolicy = 'require' | 'best-effort';
export const REVOCATION_POLICIES: readonly RevocationPolicy[] = ['require', 'best-effort'];

/**
 * The policy of a caller that chose none: `require` when it gave CRLs (it asked for revocation
 * to be checked, so a path it cannot check is refused), `best-effort` when it gave none (an
 * offline check of an archive, a hand check: revocation is reported "unknown"). Hubs and edges
 * always choose (readNodeTrust), `require` unless their configuration says otherwise.
 */
export function defaultRevocationPolicy(crls: readonly unknown[] | undefined): RevocationPolicy {
  return crls && crls.length > 0 ? 'require' : 'best-effort';
}

export interface TrustStore {
  anchors: x509.X509Certificate[];
  intermediates: x509.X509Certificate[];
  crls: x509.X509Crl[];
  revocation: RevocationPolicy;
  /** How long past its nextUpdate a CRL still counts as current, ms (trust.crlRefresh.graceHours). */
  crlGraceMs: number;
}

/** PEM texts of a trust configuration; plain data, so it can be handed to worker threads. */
export interface TrustMaterial {
  anchors: string[];
  intermediates?: string[];
  crls?: string[];
  /** Default: defaultRevocationPolicy(crls). */
  revocation?: RevocationPolicy;
  /** How long past its nextUpdate a CRL still counts as current, ms. Default 0. */
  crlGraceMs?: number;
}

export interface TrustFiles {
  anchors: string[];
  intermediates?: string[];
  crls?: string[];
  /** Hubs and edges: default `require`; other callers: defaultRevocationPolicy(crls). */
  revocation?: RevocationPolicy;
  /**
   * Allow the development PKI (`lienthong certs init`, certs-dev/) as trust anchor. Its private
   * keys are public, so a hub or edge refuses to start with it unless this says it is a
   * development or test deployment.
   */
  dev?: boolean;
}

export async function readTrustFiles(files: TrustFiles): Promise<TrustMaterial> {
  const read = async (path: string): Promise<string> => (await readInput(path)).toString('utf8');
  return {
    anchors: await Promise.all(files.anchors.map(read)),
    intermediates: await Promise.all((files.intermediates ?? []).map(read)),
    crls: await Promise.all((files.crls ?? []).map(read)),
    ...(files.revocation ? { revocation: files.revocation } : {}),
  };
}

/**
 * A certificate of a development PKI made by `lienthong certs init`: its subject or issuer is
 * the development organisation. The issuer counts too, so that a development agency or hub
 * certificate configured as an anchor is recognised as well as the root and issuing CA.
 */
export function isDevelopmentCertificate(cert: x509.X509Certificate): boolean {
  const ORGANIZATION = '2.5.4.10';
  return [cert.subjectName, cert.issuerName].some((name) => name.getField(ORGANIZATION).includes(DEV_PKI_ORGANIZATION));
}

/**
 * The trust of a hub or edge: its files read, and development anchors refused unless the
 * configuration says `"dev": true` (their private keys are committed, anyone can sign with them).
 */
export async function readNodeTrust(files: TrustFiles, source = 'the configuration'): Promise<TrustMaterial> {
  const material = { ...(await readTrustFiles(files)), revocation: files.revocation ?? 'require' };
  if (files.dev === true) return material;
  for (const [i, pem] of material.anchors.entries()) {
    const dev = readCertificates(pem, 'trust anchor').find(isDevelopmentCertificate);
    if (dev) {
      throw new LtError(
        'CONFIG_INVALID',
        `${source}: the trust anchor ${files.anchors[i] ?? ''} is the development certificate "${describeName(dev.subjectName)}" of certs-dev/ (lienthong certs init), whose private keys are public; ` +
          'trust the government CA\'s root certificate instead, or, for a development or test deployment only, set "trust": {"dev": true}',
        { path: 'trust.anchors' },
      );
    }
  }
  return material;
}

export function createTrustStore(material: TrustMaterial): TrustStore {
  cryptoEngine();
  const anchors = material.anchors.flatMap((pem) => readCertificates(pem, 'trust anchor'));
  if (anchors.length === 0) throw new LtError('USAGE', 'no trust anchor certificate given; name the root CA certificate (PEM)');
  const revocation = material.revocation ?? defaultRevocationPolicy(material.crls);
  if (!REVOCATION_POLICIES.includes(revocation)) {
    throw new LtError('USAGE', `unknown revocation policy ${JSON.stringify(revocation)}; choose "require" or "best-effort"`);
  }
  const crls = (material.crls ?? []).flatMap((pem) => readCrls(pem));
  return {
    anchors,
    intermediates: (material.intermediates ?? []).flatMap((pem) => readCertificates(pem, 'intermediate certificate')),
    crls,
    revocation,
    crlGraceMs: material.crlGraceMs ?? 0,
  };
}

/** The CRLs of a PEM text (one or more "X509 CRL" blocks); CRL_INVALID when one cannot be read. */
export function readCrls(pem: string): x509.X509Crl[] {
  const blocks = pemBlocks(pem, 'X509 CRL');
  if (blocks.length === 0) throw new LtError('CRL_INVALID', 'a CRL file holds no "BEGIN X509 CRL" block');
  return blocks.map((der) => readCrlDer(der));
}

/** One DER-encoded CRL, checked readable to the last entry. */
export function readCrlDer(der: Uint8Array<ArrayBuffer>): x509.X509Crl {
  try {
    // A CA's CRL names every certificate it revoked, a few ASN.1 nodes each: asn1js's default
    // budget of 10 000 nodes refuses a CRL of more than about 2 000 entries. A CRL is a file
    // the operator configured, so its budget is its own size (a node takes two bytes at least).
    const crl = new x509.X509Crl(der, { berOptions: { maxNodes: Math.max(10_000, der.length), maxContentLength: Math.max(16 * 1024 * 1024, der.length) } });
    listedSerials(crl);
    return crl;
  } catch (error) {
    throw new LtError('CRL_INVALID', `a CRL cannot be read: ${(error as Error).message}`);
  }
}

/** Whether `crl` is signed by the key of `issuer` (remembered per pair, as chain links are). */
export function crlSignedBy(crl: x509.X509Crl, issuer: x509.X509Certificate): Promise<boolean> {
  return signedBy(crl, issuer);
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
        message: `no trusted issuer found for "${describeName(current.subjectName)}" (issued by "${describeName(current.issuerName)}"); the certificate does not chain to a configured trust anchor`,
      });
      break;
    }
    const isAnchor = store.anchors.some((a) => sameCertificate(a, issuer as x509.X509Certificate));
    if (!isAnchor && !isCa(issuer)) {
      problems.push({ code: 'CERT_USAGE', message: `"${describeName(issuer.subjectName)}" is not a certification authority but issued "${describeName(current.subjectName)}"` });
      break;
    }
    path.push(issuer);
    current = issuer;
    trusted = isAnchor;
  }
  if (!trusted && problems.length === 0) {
    problems.push({ code: 'CERT_UNTRUSTED', message: `the certificate path is longer than ${MAX_PATH} without reaching a trust anchor` });
  }

  problems.push(...signerUsageProblems(leaf));

  let validAtSigningTime = true;
  for (const cert of path) {
    if (signingTime < cert.notBefore || signingTime > cert.notAfter) {
      validAtSigningTime = false;
      const when = signingTime < cert.notBefore ? `was not yet valid (valid from ${cert.notBefore.toISOString()})` : `had expired on ${cert.notAfter.toISOString()}`;
      problems.push({
        code: 'CERT_EXPIRED',
        message: `at signing time ${signingTime.toISOString()} the certificate "${describeName(cert.subjectName)}" ${when}`,
      });
    }
  }

  const { status, unknown } = await checkRevocation(path, store, now, problems);
  // The top of a path that reaches no anchor has no known issuer, hence no CRL: 'good' would
  // claim a check that was never made.
  const revocation = !trusted && status === 'good' ? 'unknown' : status;
  // An untrusted path is refused already; "cannot check revocation" would only add noise.
  if (trusted && status === 'unknown' && store.revocation === 'require') problems.push(...unknown);
  return { path, trusted, validAtSigningTime, revocation, problems };
}

/** Extended key usages that allow signing documents (any one of them is enough). */
export const DOCUMENT_SIGNING_EKUS: Readonly<Record<string, string>> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.36': 'documentSigning (RFC 9336)',
  // S/MIME signing: what the personal and organisation certificates of most CAs carry.
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.4.1.311.10.3.12': 'Microsoft document signing',
  '1.2.840.113583.1.1.5': 'Adobe Authentic Documents Trust',
};

const OTHER_EKUS: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/**
 * The signer certificate must be an end entity issued for signing: not a CA (a CA key signs
 * certificates, and a CA:TRUE "agency" certificate could mint others), keyUsage digitalSignature
 * or nonRepudiation, and an extendedKeyUsage, when there is one, that allows signing documents.
 * A certificate without keyUsage (or without extendedKeyUsage) is not restricted by it (RFC 5280
 * 4.2.1.3 and 4.2.1.12), as openssl and xmlsec1 read it: refusing would refuse conforming peers.
 */
export function signerUsageProblems(signer: x509.X509Certificate): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const who = `the signer certificate "${describeName(signer.subjectName)}"`;
  if (signer.getExtension(x509.BasicConstraintsExtension)?.ca) {
    problems.push({ code: 'CERT_USAGE', message: `${who} is a certification authority (basicConstraints CA:TRUE); documents are signed with an end-entity certificate issued to the agency` });
  }
  const usage = signer.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation)) === 0) {
    problems.push({ code: 'CERT_USAGE', message: `${who} is not issued for digital signatures (keyUsage lacks digitalSignature and nonRepudiation)` });
  }
  const extended = signer.getExtension(x509.ExtendedKeyUsageExtension);
  if (extended && !extended.usages.some((oid) => String(oid) in DOCUMENT_SIGNING_EKUS)) {
    const named = extended.usages.map((oid) => OTHER_EKUS[String(oid)] ?? String(oid)).join(', ');
    problems.push({
      code: 'CERT_USAGE',
      message: `${who} is issued only for ${named || 'no purpose'} (extendedKeyUsage); signing documents needs one of ${Object.values(DOCUMENT_SIGNING_EKUS).join(', ')}`,
    });
  }
  return problems;
}

const serialsOfCrl = new WeakMap<x509.X509Crl, Set<string>>();

/**
 * The serial numbers a CRL lists, read from its DER. @peculiar/x509 (2.2) reads no revoked
 * certificates at all from a CRL without nextUpdate, and a listed revocation must never be
 * lost. Kept per CRL: a large CRL is walked once, then every lookup is a set membership.
 */
function listedSerials(crl: x509.X509Crl): Set<string> {
  let serials = serialsOfCrl.get(crl);
  if (!serials) {
    serials = new Set(readRevokedSerials(new Uint8Array(crl.rawData)).map(normalizeSerial));
    serialsOfCrl.set(crl, serials);
  }
  return serials;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** The DER elements inside bytes[from, to). */
function derChildren(bytes: Uint8Array, from: number, to: number): Tlv[] {
  const children: Tlv[] = [];
  let at = from;
  while (at < to) {
    const tag = bytes[at] as number;
    let length = bytes[at + 1] as number;
    let start = at + 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      if (octets === 0 || octets > 4) throw new LtError('CRL_INVALID', 'a CRL is not DER encoded');
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + (bytes[start + i] as number);
      start += octets;
    }
    if (start + length > to) throw new LtError('CRL_INVALID', 'a CRL is truncated');
    children.push({ tag, start, end: start + length });
    at = start + length;
  }
  return children;
}

/**
 * RFC 5280 5.1: CertificateList = SEQUENCE { tbsCertList SEQUENCE { version?, signature,
 * issuer, thisUpdate Time, nextUpdate Time?, revokedCertificates SEQUENCE OF SEQUENCE
 * { userCertificate INTEGER, ... }?, [0] extensions? }, ... }.
 */
function readRevokedSerials(der: Uint8Array): string[] {
  const UTC_TIME = 0x17;
  const GENERALIZED_TIME = 0x18;
  const SEQUENCE = 0x30;
  const INTEGER = 0x02;
  const [list] = derChildren(der, 0, der.length);
  const [tbs] = list ? derChildren(der, list.start, list.end) : [];
  if (!tbs) throw new LtError('CRL_INVALID', 'a CRL has no tbsCertList');
  const fields = derChildren(der, tbs.start, tbs.end);
  let i = fields.findIndex((f) => f.tag === UTC_TIME || f.tag === GENERALIZED_TIME);
  if (i === -1) throw new LtError('CRL_INVALID', 'a CRL has no thisUpdate');
  i++;
  if (fields[i] && (fields[i]?.tag === UTC_TIME || fields[i]?.tag === GENERALIZED_TIME)) i++;
  const revoked = fields[i];
  if (!revoked || revoked.tag !== SEQUENCE) return [];
  return derChildren(der, revoked.start, revoked.end).map((entry) => {
    const [serial] = derChildren(der, entry.start, entry.end);
    if (!serial || serial.tag !== INTEGER) throw new LtError('CRL_INVALID', 'a CRL entry has no serial number');
    return Buffer.from(der.subarray(serial.start, serial.end)).toString('hex');
  });
}

/**
 * The issuer name of a CRL as text. @peculiar/x509 keeps a certificate's but renders a CRL's
 * again on every read: every CRL for every certificate of every packet's path, a few percent
 * of a verification.
 */
const crlIssuers = new WeakMap<x509.X509Crl, string>();

function crlIssuer(crl: x509.X509Crl): string {
  let issuer = crlIssuers.get(crl);
  if (issuer === undefined) {
    issuer = crl.issuer;
    crlIssuers.set(crl, issuer);
  }
  return issuer;
}

interface RevocationCheck {
  status: ChainResult['revocation'];
  /** Why the status of a certificate could not be established, one problem each. */
  unknown: ChainProblem[];
}

/**
 * Look every non-anchor certificate of the path up in the CRLs signed by its issuer's key. A
 * listing in any of them counts (revocation is final); "not revoked" is only believed from a
 * CRL that says until when it is current (nextUpdate) and is not past it.
 */
async function checkRevocation(
  path: readonly x509.X509Certificate[],
  store: TrustStore,
  now: Date,
  problems: ChainProblem[],
): Promise<RevocationCheck> {
  const unknown: ChainProblem[] = [];
  let revoked = false;
  const afterward = store.revocation === 'require' ? 'install its current CRL' : 'revocation is reported as unknown';
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i] as x509.X509Certificate;
    const issuer = path[i + 1] as x509.X509Certificate;
    const named = store.crls.filter((crl) => crlIssuer(crl) === cert.issuer);
    const authentic: x509.X509Crl[] = [];
    for (const crl of named) if (await signedBy(crl, issuer)) authentic.push(crl);

    const serial = normalizeSerial(cert.serialNumber);
    const listing = authentic.find((crl) => listedSerials(crl).has(serial));
    if (listing) {
      revoked = true;
      const date = listing.entries.find((e) => normalizeSerial(e.serialNumber) === serial)?.revocationDate;
      problems.push({
        code: 'CERT_REVOKED',
        message: `the certificate "${describeName(cert.subjectName)}" (serial ${cert.serialNumber}) was revoked${date ? ` on ${date.toISOString()}` : ''}`,
      });
      continue;
    }
    if (authentic.some((crl) => crl.nextUpdate !== undefined && crl.nextUpdate.getTime() + store.crlGraceMs >= now.getTime())) continue;

    const ca = `"${describeName(cert.issuerName)}"`;
    const latest = authentic.reduce<x509.X509Crl | undefined>((a, b) => (!a || b.thisUpdate > a.thisUpdate ? b : a), undefined);
    if (latest?.nextUpdate) {
      const grace = store.crlGraceMs > 0 ? ` (and its grace period of ${store.crlGraceMs / 3_600_000} h has passed)` : '';
      unknown.push({ code: 'CRL_INVALID', message: `the CRL of ${ca} expired on ${latest.nextUpdate.toISOString()}${grace}; install a current CRL` });
    } else if (latest) {
      unknown.push({ code: 'CRL_INVALID', message: `the CRL of ${ca} has no nextUpdate, so it cannot be known to be current; ${afterward}` });
    } else if (named.length > 0) {
      unknown.push({
        code: 'CRL_INVALID',
        message: `a CRL names ${ca} as its issuer but is not signed by that CA's key, so it says nothing about "${describeName(cert.subjectName)}"; ${afterward}`,
      });
    } else {
      unknown.push({
        code: 'REVOCATION_UNKNOWN',
        message: `no CRL of ${ca} is configured, so whether "${describeName(cert.subjectName)}" is revoked cannot be established; add the CA's current CRL (trust "crls", or --crl) or choose the best-effort revocation policy`,
      });
    }
  }
  return { status: revoked ? 'revoked' : unknown.length > 0 ? 'unknown' : 'good', unknown };
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
    throw new LtError('CONFIG_INVALID', `the signing certificate ${describeName(identity.certificate.subjectName)} cannot be used: ${problems.join('; ')}`);
  }
}
