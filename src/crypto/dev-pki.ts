/**
 * A throw-away PKI for development and tests, standing in for the government CA (Ban Cơ yếu
 * Chính phủ): root → issuing CA → hub and agency signing certificates, plus one revoked and one
 * expired agency so the failure paths of signature verification can be exercised end to end.
 *
 * Everything is written as plain PEM so that `openssl` and `xmlsec1` can use the same files as
 * lienthong itself; that is what makes the set useful for cross-checking our verifier.
 */
import { webcrypto } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { readJsonFile, writeOutput } from '../files.js';
import { isOrganId } from '../envelope/values.js';
import { LtError } from '../errors.js';
import * as x509 from './x509.js';
import { describeName, UID_OID } from './certificates.js';

/**
 * Always Node's own WebCrypto (native OpenSSL), passed explicitly rather than through
 * x509.cryptoProvider: that is global and engine.ts chooses it for signing and verification.
 */
const CRYPTO = webcrypto as unknown as Crypto;

export type DevKeyType = 'rsa' | 'ec';
export type DevRole = 'hub' | 'agency' | 'revoked' | 'expired';

export interface DevOrganInput {
  organId: string;
  name: string;
  keyType?: DevKeyType;
}

export interface DevOrgansInput {
  hub?: DevOrganInput;
  agencies?: DevOrganInput[];
  revoked?: DevOrganInput;
  expired?: DevOrganInput;
}

export interface DevPkiOptions {
  /** Output directory; relative paths resolve against `cwd`. */
  out: string;
  /** Parsed organs JSON (see DevOrgansInput); validated here because it comes from users. */
  organs?: unknown;
  /** Path of an organs JSON file; used when `organs` is not given. */
  organsFile?: string;
  force?: boolean;
  now?: Date;
  cwd?: string;
}

export interface DevCaEntry {
  subject: string;
  cert: string;
  key: string;
  crl: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

export interface DevOrganEntry {
  role: DevRole;
  organId: string;
  name: string;
  keyType: DevKeyType;
  subject: string;
  cert: string;
  key: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

/** organs.json. Paths are relative to the directory on disk, absolute once read back. */
export interface DevPkiManifest {
  warning: string;
  generatedBy: string;
  generatedAt: string;
  root: DevCaEntry;
  issuing: DevCaEntry;
  chain: string;
  hub: DevOrganEntry;
  agencies: DevOrganEntry[];
  revoked: DevOrganEntry;
  expired: DevOrganEntry;
}

export const DEV_PKI_WARNING = 'DEVELOPMENT/TEST keys and certificates - NEVER use them in production';
export const DEFAULT_DEV_PKI_DIR = 'certs-dev';
/**
 * The organisation of the development CAs. Hubs and edges recognise development anchors by it
 * (trust.ts) and refuse them outside a configuration that says `"dev": true`.
 */
export const DEV_PKI_ORGANIZATION = 'lienthong development';

/** userId (RFC 4519 `uid`), where Vietnamese agency certificates carry the organ id. */
/** The subject attribute carrying the organ id (see certificates.ts). */
export const OID_UID = UID_OID;

export const DEFAULT_DEV_ORGANS: Required<DevOrgansInput> = {
  hub: { organId: '000.00.90.H12', name: 'Trục liên thông văn bản tỉnh Cà Mau (DEV hub)' },
  agencies: [
    { organId: '000.00.00.H12', name: 'UBND tỉnh Cà Mau' },
    { organId: '000.00.01.H12', name: 'Văn phòng UBND tỉnh Cà Mau' },
    { organId: '000.00.05.H12', name: 'Sở Tài chính tỉnh Cà Mau' },
    { organId: '000.00.14.H12', name: 'Sở Thông tin và Truyền thông tỉnh Cà Mau', keyType: 'ec' },
    { organId: '000.00.31.H12', name: 'UBND thành phố Cà Mau' },
    { organId: '000.21.31.H12', name: 'UBND phường 5, thành phố Cà Mau' },
  ],
  revoked: { organId: '000.00.98.H12', name: 'Đơn vị thử nghiệm (chứng thư đã thu hồi)' },
  expired: { organId: '000.00.97.H12', name: 'Đơn vị thử nghiệm (chứng thư hết hạn)' },
};

// --- Organs input ---------------------------------------------------------------------------

export interface PlannedOrgan extends Required<DevOrganInput> {
  role: DevRole;
}

// organs.json itself is accepted as input (so a set can be regenerated from it); its extra,
// generated fields are tolerated, anything else is refused to catch typos like "agency".
const TOP_KEYS = new Set(['hub', 'agencies', 'revoked', 'expired', 'warning', 'generatedBy', 'generatedAt', 'root', 'issuing', 'chain']);
const ORGAN_KEYS = new Set(['organId', 'name', 'keyType', 'role', 'subject', 'cert', 'key', 'serialNumber', 'notBefore', 'notAfter']);
/** RFC 5280 ub-common-name / ub-organization-name: strict verifiers reject longer values. */
const MAX_NAME_LENGTH = 64;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function organsError(source: string, message: string): LtError {
  return new LtError('USAGE', `organs: ${message}`, { path: source });
}

function parseOrgan(value: unknown, where: string, role: DevRole, source: string): PlannedOrgan {
  if (!isRecord(value)) throw organsError(source, `${where} must be an object {"organId", "name", "keyType"?}`);
  for (const key of Object.keys(value)) {
    if (!ORGAN_KEYS.has(key)) throw organsError(source, `${where} has an unknown field "${key}" (allowed: organId, name, keyType)`);
  }
  const { organId, name, keyType = 'rsa' } = value;
  if (!isOrganId(organId)) throw organsError(source, `${where}.organId ${JSON.stringify(organId)} is not an organ id (form 000.00.00.H12)`);
  if (typeof name !== 'string' || name.trim() === '') throw organsError(source, `${where}.name must be a non-empty string`);
  if ([...name].length > MAX_NAME_LENGTH) throw organsError(source, `${where}.name is longer than ${MAX_NAME_LENGTH} characters, the X.509 limit for CN and O`);
  if (keyType !== 'rsa' && keyType !== 'ec') throw organsError(source, `${where}.keyType must be "rsa" or "ec", not ${JSON.stringify(keyType)}`);
  return { role, organId, name, keyType };
}

/** Validate an organs document (defaults for missing keys) into the list of certificates to make. */
export function planDevOrgans(input: unknown = {}, source = 'organs'): PlannedOrgan[] {
  if (!isRecord(input)) throw organsError(source, 'the organs file must be a JSON object {"hub", "agencies", "revoked", "expired"}');
  for (const key of Object.keys(input)) {
    if (!TOP_KEYS.has(key)) throw organsError(source, `unknown key "${key}" (allowed: hub, agencies, revoked, expired)`);
  }
  const agencies = input.agencies ?? DEFAULT_DEV_ORGANS.agencies;
  if (!Array.isArray(agencies) || agencies.length === 0) throw organsError(source, 'agencies must be a non-empty array');
  const plan = [
    parseOrgan(input.hub ?? DEFAULT_DEV_ORGANS.hub, 'hub', 'hub', source),
    ...agencies.map((a: unknown, i) => parseOrgan(a, `agencies[${i}]`, 'agency', source)),
    parseOrgan(input.revoked ?? DEFAULT_DEV_ORGANS.revoked, 'revoked', 'revoked', source),
    parseOrgan(input.expired ?? DEFAULT_DEV_ORGANS.expired, 'expired', 'expired', source),
  ];
  // Organ ids name the files, and a verifier maps a certificate back to one agency: both need uniqueness.
  const seen = new Set<string>();
  for (const organ of plan) {
    if (seen.has(organ.organId)) throw organsError(source, `organ id ${organ.organId} appears more than once`);
    seen.add(organ.organId);
  }
  return plan;
}

// --- Certificates ---------------------------------------------------------------------------

const RSA_PARAMS: RsaHashedKeyGenParams = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
const EC_PARAMS: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
/** Both CAs have RSA keys, whatever the key type of the certificates they sign. */
const SIGNING_ALGORITHM: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;

interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

function generateKeys(type: DevKeyType): Promise<CryptoKeyPair> {
  return CRYPTO.subtle.generateKey(type === 'ec' ? EC_PARAMS : RSA_PARAMS, true, ['sign', 'verify']);
}

function addYears(date: Date, years: number): Date {
  const result = new Date(date);
  result.setUTCFullYear(result.getUTCFullYear() + years);
  return result;
}

/** 16 random bytes, top bit clear so the INTEGER is positive, first byte non-zero so DER keeps all 16. */
function randomSerial(): string {
  const bytes = CRYPTO.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function caName(cn: string): x509.Name {
  return new x509.Name([{ C: ['VN'] }, { O: [DEV_PKI_ORGANIZATION] }, { CN: [cn] }]);
}

// @peculiar/x509 knows no "UID" short name (its string parser throws on it), so the OID is
// registered as an extra name; the JSON form also spares us escaping commas in agency names.
function organName(organ: PlannedOrgan): x509.Name {
  return new x509.Name([{ C: ['VN'] }, { O: [organ.name] }, { CN: [organ.name] }, { UID: [organ.organId] }], { UID: OID_UID });
}

async function issue(options: { subject: x509.Name; keys: CryptoKeyPair; issuer?: Issued; notBefore: Date; notAfter: Date; ca?: { pathLength?: number } }): Promise<x509.X509Certificate> {
  const { subject, keys, issuer, ca } = options;
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, CRYPTO);
  // Taking the AKI from the issuer's own SKI (not recomputing it) guarantees the two match.
  const issuerKeyId = issuer ? issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId : ski.keyId;
  if (!issuerKeyId) throw new LtError('INTERNAL', 'the issuing certificate has no SubjectKeyIdentifier');
  const usage = ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation;
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: issuer ? issuer.cert.subjectName : subject,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(ca !== undefined, ca?.pathLength, true),
      new x509.KeyUsagesExtension(usage, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(issuerKeyId),
    ],
  }, CRYPTO);
}

async function crl(issuer: Issued, now: Date, revoked: x509.X509Certificate[]): Promise<x509.X509Crl> {
  const keyId = issuer.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId as string;
  return x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    thisUpdate: now,
    // Five years rather than the usual days, so the committed set keeps working in tests.
    nextUpdate: addYears(now, 5),
    entries: revoked.map((cert) => ({ serialNumber: cert.serialNumber, revocationDate: now, reason: x509.X509CrlReason.keyCompromise })),
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(keyId),
      // cRLNumber 1 (DER INTEGER), which RFC 5280 requires of conforming CRLs.
      new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, 0x01, 0x01])),
    ],
  }, CRYPTO);
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = await CRYPTO.subtle.exportKey('pkcs8', keys.privateKey);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}

function certPem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem')}\n`;
}

/** @peculiar/x509 labels CRLs "BEGIN CRL", which openssl refuses; RFC 7468 says "X509 CRL". */
function crlPem(list: x509.X509Crl): string {
  return `${x509.PemConverter.encode(list.rawData, 'X509 CRL')}\n`;
}

function organFiles(organ: PlannedOrgan): { cert: string; key: string } {
  const base = organ.role === 'hub' ? 'hub' : `${organ.role === 'agency' ? 'agencies' : organ.role}/${organ.organId}`;
  return { cert: `${base}.pem`, key: `${base}.key.pem` };
}

interface Generated {
  manifest: DevPkiManifest;
  files: Map<string, string>;
}

async function generate(plan: PlannedOrgan[], now: Date): Promise<Generated> {
  const files = new Map<string, string>();
  // CAs are back-dated so the expired certificate (issued three years ago) lies within its issuers' lifetime.
  const caNotBefore = new Date(addYears(now, -3).getTime() - DAY_MS);
  const caNotAfter = addYears(now, 10);
  const [rootKeys, issuingKeys, ...organKeys] = await Promise.all([generateKeys('rsa'), generateKeys('rsa'), ...plan.map((o) => generateKeys(o.keyType))]);
  const rootCert = await issue({ subject: caName('lienthong DEV Root CA - NOT FOR PRODUCTION'), keys: rootKeys as CryptoKeyPair, notBefore: caNotBefore, notAfter: caNotAfter, ca: {} });
  const root: Issued = { cert: rootCert, keys: rootKeys as CryptoKeyPair };
  const issuingCert = await issue({ subject: caName('lienthong DEV Issuing CA - NOT FOR PRODUCTION'), keys: issuingKeys as CryptoKeyPair, issuer: root, notBefore: caNotBefore, notAfter: caNotAfter, ca: { pathLength: 0 } });
  const issuing: Issued = { cert: issuingCert, keys: issuingKeys as CryptoKeyPair };

  const organs: DevOrganEntry[] = [];
  const revokedCerts: x509.X509Certificate[] = [];
  for (const [i, organ] of plan.entries()) {
    const keys = organKeys[i] as CryptoKeyPair;
    const expired = organ.role === 'expired';
    const notBefore = expired ? addYears(now, -3) : new Date(now.getTime() - DAY_MS);
    const notAfter = expired ? addYears(now, -1) : addYears(notBefore, 5);
    const cert = await issue({ subject: organName(organ), keys, issuer: issuing, notBefore, notAfter });
    if (organ.role === 'revoked') revokedCerts.push(cert);
    const paths = organFiles(organ);
    files.set(paths.cert, certPem(cert));
    files.set(paths.key, await privateKeyPem(keys));
    organs.push({ ...organ, subject: describeName(cert.subjectName, { mostSpecificFirst: true }), ...paths, serialNumber: cert.serialNumber, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString() });
  }

  const caEntry = (ca: Issued, base: string): DevCaEntry => ({
    subject: describeName(ca.cert.subjectName, { mostSpecificFirst: true }),
    cert: `${base}.pem`,
    key: `${base}.key.pem`,
    crl: `${base}.crl.pem`,
    serialNumber: ca.cert.serialNumber,
    notBefore: ca.cert.notBefore.toISOString(),
    notAfter: ca.cert.notAfter.toISOString(),
  });
  files.set('root-ca.pem', certPem(rootCert));
  files.set('root-ca.key.pem', await privateKeyPem(root.keys));
  files.set('root-ca.crl.pem', crlPem(await crl(root, now, [])));
  files.set('issuing-ca.pem', certPem(issuingCert));
  files.set('issuing-ca.key.pem', await privateKeyPem(issuing.keys));
  files.set('issuing-ca.crl.pem', crlPem(await crl(issuing, now, revokedCerts)));
  files.set('chain.pem', certPem(issuingCert) + certPem(rootCert));

  const byRole = (role: DevRole) => organs.filter((o) => o.role === role);
  const manifest: DevPkiManifest = {
    warning: DEV_PKI_WARNING,
    generatedBy: 'lienthong certs init',
    generatedAt: now.toISOString(),
    root: caEntry(root, 'root-ca'),
    issuing: caEntry(issuing, 'issuing-ca'),
    chain: 'chain.pem',
    hub: byRole('hub')[0] as DevOrganEntry,
    agencies: byRole('agency'),
    revoked: byRole('revoked')[0] as DevOrganEntry,
    expired: byRole('expired')[0] as DevOrganEntry,
  };
  files.set('organs.json', `${JSON.stringify(manifest, null, 2)}\n`);
  files.set('README.md', readme(manifest));
  return { manifest, files };
}

function readme(m: DevPkiManifest): string {
  const example = m.agencies[0] as DevOrganEntry;
  const rows = devOrgans(m).map((o) => `| ${o.role} | \`${o.organId}\` | ${o.name} | ${o.keyType === 'ec' ? 'ECDSA P-256' : 'RSA 2048'} | \`${o.cert}\` | ${o.notAfter.slice(0, 10)} |`);
  return `# ⚠️ DEVELOPMENT PKI — NOT FOR PRODUCTION ⚠️

**Every private key in this directory is public (it is committed to the repository). These are
development and test keys and certificates. NEVER use them in production, NEVER trust
\`root-ca.pem\` outside a test environment, and NEVER sign real documents with them.**

A lienthong hub or edge refuses to start with a trust anchor of this PKI (recognised by the
organisation \`lienthong development\` of its CAs) unless its configuration says
\`"trust": {"dev": true}\`, as \`deploy/*.json\`, the demo and the tests do.

In production, agencies sign with certificates issued by the government CA (Ban Cơ yếu Chính
phủ); this directory only stands in for that CA so that signing and verification can be developed
and tested end to end.

## How it was made

\`\`\`sh
npx tsc -p . && node bin/lienthong.js certs init --out ${DEFAULT_DEV_PKI_DIR} [--organs organs.json] [--force]
\`\`\`

Generated on ${m.generatedAt} by \`${m.generatedBy}\` (src/crypto/dev-pki.ts). \`organs.json\`
lists what was made and can be passed back to \`--organs\` to regenerate a set for the same agencies.

- Root CA: \`${m.root.subject}\` (self-signed, CA, keyCertSign + cRLSign, RSA 2048)
- Issuing CA: \`${m.issuing.subject}\` (signed by the root, CA with pathLen 0, RSA 2048)
- End-entity certificates: signed by the issuing CA, CA:false, keyUsage digitalSignature +
  nonRepudiation, subject \`UID=<organ id>, CN=<name>, O=<name>, C=VN\` (UID is OID
  0.9.2342.19200300.100.1.1), valid 5 years, SHA-256 signatures.
- The *revoked* certificate is listed (reason keyCompromise) in \`issuing-ca.crl.pem\`; the root's
  \`root-ca.crl.pem\` is empty. Both CRLs are valid for 5 years so the committed set keeps working.
- The *expired* certificate was valid from 3 years ago until 1 year ago (the CAs are back-dated to
  cover that period).

| role | organ id | name | key | certificate | valid until |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

## Layout

\`\`\`
root-ca.pem, root-ca.key.pem            development root CA (trust anchor)
issuing-ca.pem, issuing-ca.key.pem      issuing CA
chain.pem                               issuing CA + root CA
issuing-ca.crl.pem                      CRL of the issuing CA (lists the revoked certificate)
root-ca.crl.pem                         CRL of the root CA (empty)
hub.pem, hub.key.pem                    the hub's signing certificate and key
agencies/<organ id>.pem, .key.pem       one per agency
revoked/<organ id>.pem, .key.pem        a revoked agency certificate
expired/<organ id>.pem, .key.pem        an expired agency certificate
organs.json                             what is above, with roles, key types and file paths
\`\`\`

Keys are unencrypted PKCS#8 PEM; certificates and CRLs are PEM.

## Using the files with other tools

\`\`\`sh
openssl verify -CAfile root-ca.pem -untrusted issuing-ca.pem ${example.cert}
openssl verify -crl_check -CAfile root-ca.pem -untrusted issuing-ca.pem -CRLfile issuing-ca.crl.pem ${m.revoked.cert}   # fails: revoked
openssl x509 -in ${example.cert} -noout -subject -nameopt RFC2253
xmlsec1 --sign --privkey-pem ${example.key},${example.cert} --output signed.xml template.xml
xmlsec1 --verify --trusted-pem root-ca.pem --untrusted-pem issuing-ca.pem signed.xml
\`\`\`

xmlsec1 1.2 has no command-line option for CRLs; check revocation with openssl or lienthong.
`;
}

// --- Writing and reading --------------------------------------------------------------------

async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new LtError('USAGE', `${dir} exists and is not a directory`, { path: dir });
    return (await readdir(dir)).length > 0;
  } catch (error) {
    if (error instanceof LtError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    throw new LtError('IO', `cannot read ${dir}: ${code ?? (error as Error).message}`, { path: dir });
  }
}

/** Certificates of organs no longer in the list would otherwise linger and look current. */
async function removeStale(dir: string, files: Map<string, string>): Promise<void> {
  for (const sub of ['agencies', 'revoked', 'expired']) {
    let names: string[];
    try {
      names = await readdir(join(dir, sub));
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.endsWith('.pem') && !files.has(`${sub}/${name}`)) await rm(join(dir, sub, name), { force: true });
    }
  }
}

/** Generate a development PKI into `options.out`; returns the manifest with absolute paths. */
export async function createDevPki(options: DevPkiOptions): Promise<DevPkiManifest> {
  const cwd = options.cwd ?? process.cwd();
  const out = resolve(cwd, options.out);
  let organs = options.organs;
  let source = 'organs';
  if (organs === undefined && options.organsFile !== undefined) {
    source = options.organsFile;
    organs = await readJsonFile<unknown>(resolve(cwd, options.organsFile));
  }
  const plan = planDevOrgans(organs, source);
  if (!options.force && (await isNonEmptyDir(out))) {
    throw new LtError('USAGE', `${options.out} already exists and is not empty; choose another --out or pass --force to overwrite it`, { path: out });
  }
  // Generate everything in memory first, so a failure leaves the directory untouched.
  const { manifest, files } = await generate(plan, options.now ?? new Date());
  try {
    for (const rel of files.keys()) await mkdir(dirname(join(out, rel)), { recursive: true });
  } catch (error) {
    throw new LtError('IO', `cannot create ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path: out });
  }
  if (options.force) await removeStale(out, files);
  for (const [rel, content] of files) await writeOutput(join(out, rel), content);
  return absolutize(manifest, out);
}

function absolutize(m: DevPkiManifest, dir: string): DevPkiManifest {
  const ca = (e: DevCaEntry): DevCaEntry => ({ ...e, cert: resolve(dir, e.cert), key: resolve(dir, e.key), crl: resolve(dir, e.crl) });
  const organ = (e: DevOrganEntry): DevOrganEntry => ({ ...e, cert: resolve(dir, e.cert), key: resolve(dir, e.key) });
  return { ...m, root: ca(m.root), issuing: ca(m.issuing), chain: resolve(dir, m.chain), hub: organ(m.hub), agencies: m.agencies.map(organ), revoked: organ(m.revoked), expired: organ(m.expired) };
}

/** Read `<dir>/organs.json` as written by createDevPki, with every file path made absolute. */
export async function readDevPkiManifest(dir: string): Promise<DevPkiManifest> {
  const path = join(dir, 'organs.json');
  const m = await readJsonFile<DevPkiManifest>(path);
  const looksRight = isRecord(m) && isRecord(m.root) && isRecord(m.issuing) && isRecord(m.hub) && Array.isArray(m.agencies) && isRecord(m.revoked) && isRecord(m.expired);
  if (!looksRight) throw new LtError('USAGE', `${path} is not a development PKI manifest; regenerate it with "lienthong certs init"`, { path });
  return absolutize(m, resolve(dir));
}

/** Every organ certificate of a set: hub, agencies, revoked, expired. */
export function devOrgans(m: DevPkiManifest): DevOrganEntry[] {
  return [m.hub, ...m.agencies, m.revoked, m.expired];
}

export function findDevOrgan(m: DevPkiManifest, organId: string): DevOrganEntry | undefined {
  return devOrgans(m).find((o) => o.organId === organId);
}
