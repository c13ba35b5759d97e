/**
 * Test helpers for the signature tests: the committed development PKI (certs-dev/), packets
 * composed the way an agency system would, the real xmlsec1 and openssl binaries, and
 * hand-made XMLDSig templates for xmlsec1 to sign.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSigningIdentity, type SigningIdentity } from '../../src/crypto/certificates.js';
import { createTrustStore, type TrustMaterial, type TrustStore } from '../../src/crypto/trust.js';
import type { IdentityMaterial } from '../../src/crypto/jobs.js';
import { buildPacket, composeDocument, composeStatus, type DocumentInput, type DocumentPacket, type StatusPacket } from '../../src/envelope/index.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CERTS = join(REPO, 'certs-dev');

export const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const INCL_C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const INCL_C14N_WITH_COMMENTS = `${INCL_C14N}#WithComments`;
export const EXC_C14N_WITH_COMMENTS = `${EXC_C14N}WithComments`;
export const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
export const XPATH_TRANSFORM = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';

/** Organ ids of the committed set (see certs-dev/README.md). */
export const OFFICE = '000.00.01.H12'; // Văn phòng UBND tỉnh, RSA
export const FINANCE = '000.00.05.H12'; // Sở Tài chính, RSA
export const ICT = '000.00.14.H12'; // Sở Thông tin và Truyền thông, ECDSA P-256
export const CITY = '000.00.31.H12'; // UBND thành phố Cà Mau, RSA
export const HUB = '000.00.90.H12';
export const REVOKED = '000.00.98.H12';
export const EXPIRED = '000.00.97.H12';

export interface OrganEntry {
  organId: string;
  name: string;
  keyType: 'rsa' | 'ec';
  cert: string;
  key: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

function organs(): OrganEntry[] {
  const m = JSON.parse(readFileSync(join(CERTS, 'organs.json'), 'utf8')) as {
    hub: OrganEntry;
    agencies: OrganEntry[];
    revoked: OrganEntry;
    expired: OrganEntry;
  };
  return [m.hub, ...m.agencies, m.revoked, m.expired];
}

export function organ(organId: string): OrganEntry & { certPath: string; keyPath: string } {
  const found = organs().find((o) => o.organId === organId);
  if (!found) throw new Error(`certs-dev/organs.json has no ${organId}`);
  return { ...found, certPath: join(CERTS, found.cert), keyPath: join(CERTS, found.key) };
}

export function certsFile(name: string): string {
  return readFileSync(join(CERTS, name), 'utf8');
}

export function identityMaterial(organId: string): IdentityMaterial {
  const o = organ(organId);
  return { keyPem: readFileSync(o.keyPath, 'utf8'), certPem: readFileSync(o.certPath, 'utf8') };
}

export function identityOf(organId: string): Promise<SigningIdentity> {
  const m = identityMaterial(organId);
  return loadSigningIdentity(m.keyPem, m.certPem);
}

/**
 * The trust configuration of a Cà Mau hub: the development root as anchor, the issuing CA as
 * intermediate and, unless `crls: false`, the CRLs of both CAs (revocation is only 'ok' when
 * every link of the path, the issuing CA included, was looked up).
 */
export function trustMaterial(options: { crls?: boolean } = {}): TrustMaterial {
  return {
    anchors: [certsFile('root-ca.pem')],
    intermediates: [certsFile('issuing-ca.pem')],
    crls: options.crls === false ? [] : [certsFile('issuing-ca.crl.pem'), certsFile('root-ca.crl.pem')],
  };
}

export function trustStore(options: { crls?: boolean } = {}): TrustStore {
  return createTrustStore(trustMaterial(options));
}

/** A bit of a PDF: what a scanned official letter starts with. */
export const PDF_BYTES = new Uint8Array(Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1'));

/** A công văn from `from` to two agencies, with one PDF attachment, composed at `now`. */
export function documentFrom(from: string, overrides: Partial<DocumentInput> = {}, now = new Date()): DocumentPacket {
  return composeDocument(
    {
      from: { organId: from, organName: organ(from).name },
      to: [
        { organId: CITY, organName: 'UBND thành phố Cà Mau' },
        { organId: '000.21.31.H12', organName: 'UBND phường 5, thành phố Cà Mau' },
      ],
      code: { codeNumber: '125', codeNotation: 'UBND-VP' },
      subject: 'V/v triển khai liên thông văn bản điện tử',
      content: 'Đề nghị các đơn vị triển khai kết nối trước ngày 31/12.',
      signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
      attachments: [{ name: 'cong-van-125.pdf', content: PDF_BYTES }],
      ...overrides,
    },
    now,
  );
}

export function statusFrom(from: string, now = new Date()): StatusPacket {
  return composeStatus(
    {
      from: { organId: from, organName: organ(from).name },
      responseFor: { organId: OFFICE, code: '125/UBND-VP', documentId: `${OFFICE},2026/11/25,125/UBND-VP`, promulgationDate: '2026/11/25' },
      statusCode: '03',
      description: 'Đã tiếp nhận vào sổ văn bản đến',
      staffInfo: { department: 'Văn thư', staff: 'Trần Thị B' },
    },
    now,
  );
}

export function unsignedDocument(from: string, overrides: Partial<DocumentInput> = {}): string {
  return buildPacket(documentFrom(from, overrides));
}

// --- external tools ------------------------------------------------------------------------

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function xmlsec1(...args: string[]): ToolRun {
  const r = spawnSync('xmlsec1', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `xmlsec1 --verify` against the development root, the issuing CA as untrusted helper. */
export function xmlsec1Verify(file: string, ...extra: string[]): ToolRun {
  return xmlsec1('--verify', '--trusted-pem', join(CERTS, 'root-ca.pem'), '--untrusted-pem', join(CERTS, 'issuing-ca.pem'), '--enabled-key-data', 'x509', ...extra, file);
}

export function openssl(cwd: string, ...args: string[]): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TemplateOptions {
  /** Namespace prefix of the signature elements; '' for a default-namespace signature. */
  prefix?: string;
  canonicalization?: string;
  signatureMethod?: string;
  digestMethod?: string;
  /** Transform algorithms; an XPath transform gets the usual "not the signature" expression. */
  transforms?: string[];
  referenceUri?: string;
}

/** An XMLDSig template as xmlsec1 expects it: empty DigestValue, SignatureValue, X509Certificate. */
export function signatureTemplate(options: TemplateOptions = {}): string {
  const prefix = options.prefix ?? 'ds';
  const q = (name: string) => (prefix ? `${prefix}:${name}` : name);
  const xmlns = prefix ? `xmlns:${prefix}="${DSIG}"` : `xmlns="${DSIG}"`;
  const transforms = (options.transforms ?? [ENVELOPED, EXC_C14N])
    .map((alg) =>
      alg === XPATH_TRANSFORM
        ? `<${q('Transform')} Algorithm="${alg}"><${q('XPath')}>not(ancestor-or-self::${q('Signature')})</${q('XPath')}></${q('Transform')}>`
        : `<${q('Transform')} Algorithm="${alg}"/>`,
    )
    .join('');
  return (
    `<${q('Signature')} ${xmlns}><${q('SignedInfo')}>` +
    `<${q('CanonicalizationMethod')} Algorithm="${options.canonicalization ?? EXC_C14N}"/>` +
    `<${q('SignatureMethod')} Algorithm="${options.signatureMethod ?? RSA_SHA256}"/>` +
    `<${q('Reference')} URI="${options.referenceUri ?? ''}"><${q('Transforms')}>${transforms}</${q('Transforms')}>` +
    `<${q('DigestMethod')} Algorithm="${options.digestMethod ?? SHA256}"/><${q('DigestValue')}/></${q('Reference')}>` +
    `</${q('SignedInfo')}><${q('SignatureValue')}/>` +
    `<${q('KeyInfo')}><${q('X509Data')}><${q('X509Certificate')}/></${q('X509Data')}></${q('KeyInfo')}></${q('Signature')}>`
  );
}

/** Put `fragment` where the edXML profile puts the signature: right after TraceHeaderList. */
export function afterTraceHeaderList(xml: string, fragment: string): string {
  const at = xml.indexOf('</edXML:TraceHeaderList>');
  if (at === -1) throw new Error('no TraceHeaderList in the packet');
  const end = at + '</edXML:TraceHeaderList>'.length;
  return xml.slice(0, end) + fragment + xml.slice(end);
}

/**
 * Sign `unsignedXml` with xmlsec1 from a template (the options of one, or its text when a
 * test needs what the options do not say); returns the signed text.
 */
export function signWithXmlsec1(
  dir: string,
  unsignedXml: string,
  key: { keyPath: string; certPath: string },
  template: TemplateOptions | string = {},
  extraArgs: string[] = [],
  name = 'packet',
): string {
  const templateFile = join(dir, `${name}.template.xml`);
  const out = join(dir, `${name}.signed.xml`);
  writeFileSync(templateFile, afterTraceHeaderList(unsignedXml, typeof template === 'string' ? template : signatureTemplate(template)));
  const r = xmlsec1('--sign', ...extraArgs, '--privkey-pem', `${key.keyPath},${key.certPath}`, '--output', out, templateFile);
  if (r.status !== 0) throw new Error(`xmlsec1 --sign failed (${r.status}): ${r.stderr}`);
  return readFileSync(out, 'utf8');
}

export interface Xmlsec1Octets extends ToolRun {
  /** The canonical octets of the Reference that xmlsec1 digested. */
  preDigest: string | undefined;
  /** The canonical SignedInfo whose signature value xmlsec1 checked. */
  preSigned: string | undefined;
}

/** `xmlsec1 --verify` (as xmlsec1Verify) showing the octets it digested and verified. */
export function xmlsec1Octets(file: string, ...extra: string[]): Xmlsec1Octets {
  const r = xmlsec1Verify(file, '--store-references', '--store-signatures', ...extra);
  const buffer = (name: string): string | undefined => {
    const text = r.stdout + r.stderr;
    const start = text.indexOf(`== ${name} data - start buffer:\n`);
    const end = text.indexOf(`\n== ${name} data - end buffer`, start);
    return start === -1 || end === -1 ? undefined : text.slice(start + `== ${name} data - start buffer:\n`.length, end);
  };
  return { ...r, preDigest: buffer('PreDigest'), preSigned: buffer('PreSigned') };
}

/** A UTC instant as openssl's GeneralizedTime argument (YYYYMMDDHHMMSSZ). */
export function opensslTime(instant: Date): string {
  return `${instant.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export interface SelfMadeCa {
  caCertPath: string;
  caKeyPath: string;
}

/** A CA of one's own, made with `openssl req -x509` (CA:TRUE, as openssl 3 sets by default). */
export function makeCa(dir: string, name = 'ca', subject = '/C=VN/O=Tu lam/CN=Self-made CA'): SelfMadeCa {
  const caKeyPath = join(dir, `${name}.key.pem`);
  const caCertPath = join(dir, `${name}.pem`);
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyPath, '-out', caCertPath, '-days', '30', '-subj', subject);
  return { caCertPath, caKeyPath };
}

/** The extensions of a well-formed agency signing certificate (openssl x509v3_config lines). */
export const SIGNER_EXTENSIONS = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n';

/**
 * An agency certificate issued by `ca` with `openssl x509 -req`, subject
 * `/UID=<organId>/O=<name>/CN=<name>`, for a key given as PEM file (any flavour openssl reads),
 * with `extensions` (openssl x509v3_config lines; an empty text gives a certificate without any).
 */
export function issueCertificate(dir: string, ca: SelfMadeCa, keyPath: string, organId: string, name: string, file: string, extensions = SIGNER_EXTENSIONS): string {
  const csr = join(dir, `${file}.csr`);
  const ext = join(dir, `${file}.ext`);
  const certPath = join(dir, `${file}.pem`);
  openssl(dir, 'req', '-new', '-key', keyPath, '-out', csr, '-utf8', '-subj', `/UID=${organId}/O=${name}/CN=${name}`);
  writeFileSync(ext, extensions);
  // A random serial rather than -CAcreateserial, which writes a serial file beside the CA's
  // certificate: into certs-dev/ when the CA is the development one, under every test's feet.
  openssl(dir, 'x509', '-req', '-in', csr, '-CA', ca.caCertPath, '-CAkey', ca.caKeyPath, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '30', '-extfile', ext, '-out', certPath);
  return certPath;
}
