/**
 * Verification of a signed edXML packet, reporting each check separately: structure (the
 * profile), reference digest, signature value, certificate chain, validity at signing time,
 * revocation, and that the certificate's subject UID names `From/OrganId`.
 *
 * Hostile or malformed input never throws: it is simply invalid, with a reason code. The
 * packet returned is read from the very tree whose signature was checked.
 */
import type * as x509 from './x509.js';
import { asLtError, type ErrorCode } from '../errors.js';
import { locateSkeleton, packetFromDocument, type EdxmlSkeleton } from '../envelope/parse.js';
import type { Packet } from '../envelope/types.js';
import { parseEdxmlTimestamp } from '../envelope/values.js';
import { DEFAULT_XML_LIMITS, readXml, type XmlLimits } from '../envelope/xml.js';
import type { XmlDocument, XmlElement } from '../envelope/xml-tree.js';
import { certificateFromBase64, describeName, organIdOf } from './certificates.js';
import { appendedTraceHeaders, canonicalSignedInfo, locateSignature, readSignatureParts, referenceDigest, type SignatureParts } from './profile.js';
import { signatureValueValid } from './signature-value.js';
import { validateChain, type TrustStore } from './trust.js';

export type CheckResult = 'ok' | 'failed' | 'skipped' | 'unknown';

export interface VerificationReport {
  valid: boolean;
  /** `From/OrganId` of the packet, when it could be read. */
  organId: string | null;
  kind: 'document' | 'status' | null;
  signer: {
    subject: string;
    issuer: string;
    serialNumber: string;
    organId: string | null;
    notBefore: string;
    notAfter: string;
  } | null;
  /** The signing time the packet claims (its sender TraceHeader or status Timestamp). */
  signingTime: string | null;
  algorithms: { signature: string; digest: string; canonicalization: string } | null;
  checks: {
    structure: CheckResult;
    digest: CheckResult;
    signatureValue: CheckResult;
    chain: CheckResult;
    validity: CheckResult;
    revocation: CheckResult;
    organ: CheckResult;
  };
  /** TraceHeaders appended by relaying hubs after signing: reported, not covered by the signature. */
  unsignedTraceHeaders: number;
  errors: Array<{ code: ErrorCode; message: string }>;
}

export interface VerifyOptions {
  /** Accept rsa-sha1 / sha1 (the SDK samples' algorithms). Default false. */
  legacySha1?: boolean;
  /** The clock. */
  now?: Date;
  /**
   * Refuse packets whose claimed signing time is older than this (live traffic: defeats an
   * expired key being used with a back-dated timestamp). Default: no limit (archives).
   */
  maxSignatureAgeMs?: number;
  /**
   * The instant the signature's age is judged at (default `now`). A recipient reading a packet
   * that waited in its queue judges it at the time the hub routed it, not when it reads it.
   */
  ageReference?: Date;
  limits?: XmlLimits;
  /** false: the packet returned has its attachments checked but not their bytes (see ReadOptions). */
  attachmentBytes?: boolean;
  /** The caller never reads `input` again: its memory is given back once parsed (see ParseOptions). */
  releaseInput?: boolean;
  /** false: the packet is read by xmldom alone (see ReadXmlOptions.fast); for the tests. Default true. */
  fastXml?: boolean;
}

export interface Verification {
  report: VerificationReport;
  /** Present when the packet could be read, valid or not. */
  packet?: Packet;
  /** The tree that was verified (in-thread callers only; never sent between threads). */
  document?: XmlDocument;
}

const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * The oldest signing time live traffic may claim: the hub routing a packet, an edge receiving
 * one and an edge accepting a packet its agency signed beforehand all refuse older ones (an
 * expired or revoked key used with a back-dated timestamp). Archives verify without a limit.
 */
export const LIVE_SIGNATURE_AGE_MS = 7 * 24 * 3_600_000;

function emptyReport(): VerificationReport {
  return {
    valid: false,
    organId: null,
    kind: null,
    signer: null,
    signingTime: null,
    algorithms: null,
    checks: { structure: 'skipped', digest: 'skipped', signatureValue: 'skipped', chain: 'skipped', validity: 'skipped', revocation: 'skipped', organ: 'skipped' },
    unsignedTraceHeaders: 0,
    errors: [],
  };
}

export async function verifyPacket(input: Uint8Array | string, trust: TrustStore, options: VerifyOptions = {}): Promise<Verification> {
  const report = emptyReport();
  let packet: Packet | undefined;
  let document: XmlDocument | undefined;
  try {
    await runChecks(input, trust, options, report, (p, d) => {
      packet = p;
      document = d;
    });
  } catch (error) {
    const e = asLtError(error, 'SIG_MALFORMED');
    report.errors.push({ code: e.code, message: e.message });
    if (report.checks.structure === 'skipped') report.checks.structure = 'failed';
  }
  report.valid = report.errors.length === 0;
  return { report, ...(packet ? { packet } : {}), ...(document ? { document } : {}) };
}

async function runChecks(
  input: Uint8Array | string,
  trust: TrustStore,
  options: VerifyOptions,
  report: VerificationReport,
  gotPacket: (p: Packet, d: XmlDocument) => void,
): Promise<void> {
  const now = options.now ?? new Date();
  const doc = readXml(input, options.limits ?? DEFAULT_XML_LIMITS, { releaseInput: options.releaseInput === true, fast: options.fastXml !== false });
  const skeleton = locateSkeleton(doc);
  const packet = packetFromDocument(doc, options.attachmentBytes === false ? { attachmentBytes: false } : {});
  gotPacket(packet, doc);
  report.kind = packet.kind;
  report.organId = packet.from?.organId ?? null;

  const signature = locateSignature(doc, skeleton);
  const parts = readSignatureParts(signature, options.legacySha1 === true);
  report.checks.structure = 'ok';
  report.algorithms = { signature: parts.signatureAlgorithm.uri, digest: parts.digestAlgorithm.uri, canonicalization: parts.signedInfoC14n.uri };

  const certificates = parts.certificates.map(certificateFromBase64);
  const signer = pickSigner(certificates);
  report.signer = {
    subject: describeName(signer.subjectName),
    issuer: describeName(signer.issuerName),
    serialNumber: signer.serialNumber,
    organId: organIdOf(signer) ?? null,
    notBefore: signer.notBefore.toISOString(),
    notAfter: signer.notAfter.toISOString(),
  };

  // Integrity first: a changed document and a wrong key are different findings.
  const digestOk = checkDigest(doc, skeleton, parts, packet.from?.organId, report);
  report.checks.digest = digestOk ? 'ok' : 'failed';
  if (!digestOk) {
    report.errors.push({ code: 'SIG_DIGEST_MISMATCH', message: 'the signed content was changed after signing (reference digest mismatch)' });
  }
  const valueOk = await checkSignatureValue(parts, signer);
  report.checks.signatureValue = valueOk ? 'ok' : 'failed';
  if (!valueOk) {
    report.errors.push({ code: 'SIG_VALUE_INVALID', message: 'the signature value does not verify with the key of the certificate in KeyInfo' });
  }

  const claimed = signingTimeOf(packet);
  report.signingTime = claimed ? claimed.toISOString() : null;
  let signingTime = claimed ?? now;
  if (claimed && claimed.getTime() > now.getTime() + FUTURE_SKEW_MS) {
    report.errors.push({ code: 'CERT_EXPIRED', message: `the packet claims to be signed at ${claimed.toISOString()}, in the future; check the sender's clock` });
    signingTime = now;
  }
  const ageReference = options.ageReference ?? now;
  if (claimed && options.maxSignatureAgeMs !== undefined && ageReference.getTime() - claimed.getTime() > options.maxSignatureAgeMs) {
    report.errors.push({
      code: 'CERT_EXPIRED',
      message: `the packet claims to be signed at ${claimed.toISOString()}, older than the accepted ${Math.round(options.maxSignatureAgeMs / 3_600_000)} hours for live traffic`,
    });
  }

  const chain = await validateChain(signer, certificates.filter((c) => c !== signer), trust, signingTime, now);
  report.checks.chain = chain.trusted ? 'ok' : 'failed';
  report.checks.validity = chain.validAtSigningTime ? 'ok' : 'failed';
  report.checks.revocation = chain.revocation === 'good' ? 'ok' : chain.revocation === 'revoked' ? 'failed' : 'unknown';
  for (const problem of chain.problems) report.errors.push(problem);

  const certOrgan = organIdOf(signer);
  if (certOrgan === undefined) {
    report.checks.organ = 'failed';
    report.errors.push({ code: 'CERT_ORGAN_MISMATCH', message: 'the signer certificate has no UID attribute naming an organ id' });
  } else if (certOrgan !== packet.from?.organId) {
    report.checks.organ = 'failed';
    report.errors.push({
      code: 'CERT_ORGAN_MISMATCH',
      message: `the packet says it is from ${packet.from?.organId ?? '(no From/OrganId)'} but is signed with the certificate of ${certOrgan} ("${describeName(signer.subjectName)}")`,
    });
  } else {
    report.checks.organ = 'ok';
  }
}

/** The end-entity certificate: the one that issued nothing else in KeyInfo. */
function pickSigner(certificates: x509.X509Certificate[]): x509.X509Certificate {
  const leaf = certificates.find((c) => !certificates.some((other) => other !== c && other.issuer === c.subject && other.subject !== c.subject));
  return leaf ?? (certificates[0] as x509.X509Certificate);
}

function signingTimeOf(packet: Packet): Date | undefined {
  if (packet.kind === 'status') return packet.timestamp ? parseEdxmlTimestamp(packet.timestamp) : undefined;
  const own = packet.traceHeaders.find((t) => t.organId === packet.from?.organId) ?? packet.traceHeaders[0];
  return own?.timestamp ? parseEdxmlTimestamp(own.timestamp) : undefined;
}

/**
 * The enveloped-signature transform is done by leaving the signature out of the canonical
 * document, wherever it sits (edXML's sits in edXMLHeader, not under the root).
 * If the digest fails as received, it is tried once more without the TraceHeaders that hubs
 * appended after the sender's own, which they add on the way without re-signing.
 */
function checkDigest(doc: XmlDocument, skeleton: EdxmlSkeleton, parts: SignatureParts, senderOrganId: string | undefined, report: VerificationReport): boolean {
  const digest = (omitted: XmlElement[]): string => referenceDigest(doc, parts.referenceC14n, parts.digestAlgorithm.hash, omitted);
  if (digest([parts.signature]) === parts.digestValue) return true;
  const hops = appendedTraceHeaders(skeleton, senderOrganId);
  if (hops.length === 0) return false;
  if (digest([parts.signature, ...hops]) !== parts.digestValue) return false;
  report.unsignedTraceHeaders = hops.length;
  return true;
}

function checkSignatureValue(parts: SignatureParts, signer: x509.X509Certificate): boolean | Promise<boolean> {
  const signedOctets = Buffer.from(canonicalSignedInfo(parts.signedInfo, parts.signedInfoC14n), 'utf8');
  return signatureValueValid(signer, parts.signatureAlgorithm, parts.signatureValue, signedOctets);
}
