/**
 * The evidence file of one document (hồ sơ chứng cứ): everything a node holds about it, in one
 * zip an archivist or a court can check offline with nothing but the file and the trusted root.
 *
 * - every packet byte-exact as it was signed (the document, each status, each hub bounce), so
 *   any standard XMLDSig verifier (xmlsec1) accepts each one on its own;
 * - the verification report this node made when it received each packet;
 * - the timeline (deliveries and every event) and, from the hub, its audit rows;
 * - `manifest.json`, naming every file with its SHA-256, signed (`manifest.sig.json`) by the
 *   node that wrote the file, with its certificate and chain.
 *
 * Building and checking are pure apart from the clock; collecting is the edge's and the hub's.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_ZIP_LIMITS, readZip, writeZip, type ZipLimits } from '../archive/zip.js';
import { signDetached, verifyDetached, type DetachedSignature } from '../crypto/detached.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import type { TrustMaterial } from '../crypto/trust.js';
import { verifyPacket, type VerificationReport } from '../crypto/verify.js';
import { createTrustStore } from '../crypto/trust.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../envelope/xml.js';
import { LtError, asLtError, type ErrorCode } from '../errors.js';
import { auditHash, type AuditRow } from '../store/audit.js';
import type { DeliveryRow, TimelineEvent } from '../store/deliveries.js';

export const EVIDENCE_FORMAT = 'lienthong-evidence/1';

/** What a packet was in this document's life, seen from the node that kept it. */
export type EvidenceRole = 'document' | 'status' | 'bounce' | 'refused';

export interface EvidencePacket {
  packetId: string;
  role: EvidenceRole;
  /** 'sent': this node signed it; 'received': it came in (and was verified on arrival). */
  direction: 'sent' | 'received';
  /** The signer's organ id as the node recorded it. */
  from: string;
  /** Status code of a status packet. */
  statusCode?: string;
  /** When the node signed, received or refused it (ISO). */
  at: string;
  bytes: Uint8Array;
  /** The report made at receipt, for received packets. */
  verification?: VerificationReport;
  /** The hub's hop as the message headers told it (received at an edge). */
  hop?: Record<string, unknown>;
  /** Why the hub refused it (role 'refused'). */
  refusal?: { code: string; message: string };
}

export interface EvidenceInput {
  node: { kind: 'edge' | 'hub'; organId: string };
  documentId: string;
  /** What the node's records say of the document (subject, sender, code...). */
  summary: Record<string, unknown>;
  packets: EvidencePacket[];
  deliveries: DeliveryRow[];
  timeline: TimelineEvent[];
  /** The hub's audit rows about the document, and the head of its chain when exported. */
  audit?: { rows: AuditRow[]; head: { seq: number; hash: string } };
}

interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

interface ManifestPacket extends Omit<EvidencePacket, 'bytes' | 'verification'> {
  file: string;
  sha256: string;
  verificationFile?: string;
}

export interface EvidenceManifest {
  format: typeof EVIDENCE_FORMAT;
  documentId: string;
  node: EvidenceInput['node'];
  createdAt: string;
  summary: Record<string, unknown>;
  packets: ManifestPacket[];
  files: ManifestFile[];
}

const README = `Hồ sơ chứng cứ của một văn bản điện tử — evidence file of one electronic document (lienthong)

manifest.json        what is inside: every file with its SHA-256, every packet with its role
manifest.sig.json    the signature of manifest.json by the node that wrote this file, with its certificate
packets/             each packet exactly as it was signed (the original), one XML file each
verification/        the verification report the node made when it received each packet
timeline.json        deliveries per recipient and every event, in order
audit.json           (hub only) the hub's hash-chained audit rows about the document

Check everything offline:   lienthong evidence verify THIS.zip --trust ROOT.pem [--intermediate CA.pem]
Check one packet with any XMLDSig verifier, e.g.:
  xmlsec1 --verify --trusted-pem ROOT.pem --untrusted-pem CA.pem --enabled-key-data x509 packets/FILE.xml
`;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function packetFile(index: number, p: EvidencePacket): string {
  const what = p.role === 'document' ? 'document' : `${p.role}-${p.statusCode ?? 'xx'}`;
  return `packets/${String(index + 1).padStart(3, '0')}-${what}-${p.packetId}.xml`;
}

/** The evidence zip, its manifest signed with `identity` (the node's own certificate). */
export function buildEvidence(input: EvidenceInput, identity: IdentityMaterial, now: Date): Buffer {
  const files: Array<{ path: string; data: Uint8Array }> = [{ path: 'README.txt', data: Buffer.from(README) }];
  const packets: ManifestPacket[] = [];
  const ordered = [...input.packets].sort((a, b) => a.at.localeCompare(b.at) || a.packetId.localeCompare(b.packetId));
  ordered.forEach((p, i) => {
    const file = packetFile(i, p);
    files.push({ path: file, data: p.bytes });
    const { bytes, verification, ...rest } = p;
    const entry: ManifestPacket = { ...rest, file, sha256: sha256(bytes) };
    if (verification) {
      entry.verificationFile = `verification/${p.packetId}.json`;
      files.push({ path: entry.verificationFile, data: Buffer.from(`${JSON.stringify(verification, null, 2)}\n`) });
    }
    packets.push(entry);
  });
  files.push({ path: 'timeline.json', data: Buffer.from(`${JSON.stringify({ deliveries: input.deliveries, events: input.timeline }, null, 2)}\n`) });
  if (input.audit) files.push({ path: 'audit.json', data: Buffer.from(`${JSON.stringify(input.audit, null, 2)}\n`) });
  const manifest: EvidenceManifest = {
    format: EVIDENCE_FORMAT,
    documentId: input.documentId,
    node: input.node,
    createdAt: now.toISOString(),
    summary: input.summary,
    packets,
    files: files.map((f) => ({ path: f.path, sha256: sha256(f.data), size: f.data.byteLength })),
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  const signature = signDetached(manifestBytes, identity);
  return writeZip([
    { path: 'manifest.json', data: manifestBytes, modified: now },
    { path: 'manifest.sig.json', data: Buffer.from(`${JSON.stringify(signature, null, 2)}\n`), modified: now },
    ...files.map((f) => ({ ...f, modified: now })),
  ]);
}

export interface EvidenceStep {
  at: string;
  /** One line a person reads: who did what. */
  says: string;
  packetId: string | null;
}

export interface EvidenceCheck {
  valid: boolean;
  documentId: string | null;
  node: EvidenceInput['node'] | null;
  signer: string | null;
  packets: Array<{ file: string; packetId: string; role: EvidenceRole; from: string; statusCode?: string; valid: boolean; errors: Array<{ code: string; message: string }> }>;
  audit: { rows: number; intact: boolean } | null;
  /** The document's life, in order: what every packet and event says. */
  steps: EvidenceStep[];
  errors: Array<{ code: ErrorCode | string; message: string }>;
}

/**
 * Checks an evidence file offline: the manifest's signature and chain, every file's hash, every
 * packet's XML signature (against the same trusted roots), that every packet is about the
 * document, and the audit rows' hash chain. Never throws for a bad file: it says what is wrong.
 * `xmlLimits` are the packets' (a node's maxPacketBytes, the CLI's --max-packet-bytes).
 */
export async function checkEvidence(zip: Uint8Array, trust: TrustMaterial, now = new Date(), xmlLimits: XmlLimits = DEFAULT_XML_LIMITS): Promise<EvidenceCheck> {
  const result: EvidenceCheck = { valid: false, documentId: null, node: null, signer: null, packets: [], audit: null, steps: [], errors: [] };
  try {
    await check(zip, trust, now, { zip: evidenceZipLimits(xmlLimits.maxBytes), xml: xmlLimits }, result);
  } catch (error) {
    const e = asLtError(error, 'EVIDENCE_INVALID');
    result.errors.push({ code: e.code, message: e.message });
  }
  result.valid = result.errors.length === 0 && result.packets.every((p) => p.valid || p.role === 'refused');
  return result;
}

/**
 * What the archive may hold when its packets may be `maxPacketBytes` each: the document's packet
 * must fit in one entry, and beside it the statuses, reports and timeline the defaults allow.
 */
export function evidenceZipLimits(maxPacketBytes: number): ZipLimits {
  return {
    ...DEFAULT_ZIP_LIMITS,
    maxEntryBytes: Math.max(DEFAULT_ZIP_LIMITS.maxEntryBytes, maxPacketBytes),
    maxTotalBytes: Math.max(DEFAULT_ZIP_LIMITS.maxTotalBytes, maxPacketBytes + DEFAULT_ZIP_LIMITS.maxTotalBytes),
  };
}

async function check(zip: Uint8Array, trust: TrustMaterial, now: Date, limits: { zip: ZipLimits; xml: XmlLimits }, result: EvidenceCheck): Promise<void> {
  const entries = new Map(readZip(zip, limits.zip).map((f) => [f.path, f.data]));
  const manifestBytes = entries.get('manifest.json');
  if (!manifestBytes) throw new LtError('EVIDENCE_INVALID', 'not an evidence file: it has no manifest.json');
  let manifest: EvidenceManifest;
  let signature: DetachedSignature | undefined;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as EvidenceManifest;
    const sig = entries.get('manifest.sig.json');
    signature = sig ? (JSON.parse(sig.toString('utf8')) as DetachedSignature) : undefined;
  } catch (error) {
    throw new LtError('EVIDENCE_INVALID', `the manifest cannot be read: ${(error as Error).message}`);
  }
  if (manifest.format !== EVIDENCE_FORMAT || !Array.isArray(manifest.files) || !Array.isArray(manifest.packets)) {
    throw new LtError('EVIDENCE_INVALID', `not a ${EVIDENCE_FORMAT} manifest`);
  }
  result.documentId = manifest.documentId;
  result.node = manifest.node;

  const signed = await verifyDetached(manifestBytes, signature, trust, manifest.node?.organId, new Date(manifest.createdAt), now);
  result.signer = signed.signer;
  for (const e of signed.errors) result.errors.push({ code: e.code, message: `manifest: ${e.message}` });

  const listed = new Set(['manifest.json', 'manifest.sig.json']);
  for (const file of manifest.files) {
    listed.add(file.path);
    const data = entries.get(file.path);
    if (!data) result.errors.push({ code: 'EVIDENCE_INVALID', message: `${file.path} is named in the manifest but missing from the file` });
    else if (sha256(data) !== file.sha256) result.errors.push({ code: 'EVIDENCE_INVALID', message: `${file.path} was changed: its SHA-256 differs from the manifest's` });
  }
  for (const path of entries.keys()) {
    if (!listed.has(path)) result.errors.push({ code: 'EVIDENCE_INVALID', message: `${path} was added: the manifest does not name it` });
  }

  const store = createTrustStore(trust);
  for (const p of manifest.packets) {
    const bytes = entries.get(p.file);
    const entry = { file: p.file, packetId: p.packetId, role: p.role, from: p.from, ...(p.statusCode ? { statusCode: p.statusCode } : {}), valid: false, errors: [] as Array<{ code: string; message: string }> };
    result.packets.push(entry);
    if (!bytes) continue;
    if (sha256(bytes) !== p.sha256) entry.errors.push({ code: 'EVIDENCE_INVALID', message: 'the packet differs from the one the manifest names' });
    const { report, packet } = await verifyPacket(bytes, store, { now, limits: limits.xml });
    entry.errors.push(...report.errors);
    const about = packet?.kind === 'document' ? packet.documentId : packet?.responseFor?.documentId;
    if (packet && about !== manifest.documentId) {
      entry.errors.push({ code: 'EVIDENCE_INVALID', message: `the packet is about ${about ?? '(no document)'}, not ${manifest.documentId}` });
    }
    if (packet && packet.from?.organId !== p.from) {
      entry.errors.push({ code: 'EVIDENCE_INVALID', message: `the manifest says the packet is from ${p.from}, its signed content says ${packet.from?.organId ?? '(nobody)'}` });
    }
    entry.valid = entry.errors.length === 0;
    if (!entry.valid && p.role !== 'refused') result.errors.push({ code: entry.errors[0]?.code ?? 'EVIDENCE_INVALID', message: `${p.file}: ${entry.errors[0]?.message ?? 'invalid'}` });
    result.steps.push({ at: p.at, says: describePacket(p, packet?.kind === 'document' ? packet.to.map((to) => to.organId) : undefined), packetId: p.packetId });
  }

  const auditBytes = entries.get('audit.json');
  if (auditBytes) {
    const audit = JSON.parse(auditBytes.toString('utf8')) as NonNullable<EvidenceInput['audit']>;
    const broken = auditProblem(audit.rows);
    result.audit = { rows: audit.rows.length, intact: broken === undefined };
    if (broken) result.errors.push({ code: 'AUDIT_CHAIN_BROKEN', message: broken });
  }
  const timelineBytes = entries.get('timeline.json');
  if (timelineBytes) {
    const { events } = JSON.parse(timelineBytes.toString('utf8')) as { events: TimelineEvent[] };
    for (const e of events) {
      if (e.packetId && result.steps.some((s) => s.packetId === e.packetId && s.says.startsWith(`${e.event} `))) continue;
      result.steps.push({ at: e.at, says: `${e.event} — ${e.recipient}${e.description ? `: ${e.description}` : ''}`, packetId: e.packetId });
    }
  }
  result.steps.sort((a, b) => a.at.localeCompare(b.at));
}

function describePacket(p: ManifestPacket, to: string[] | undefined): string {
  if (p.role === 'document') return `document ${p.direction} by ${p.from}${to ? ` to ${to.join(', ')}` : ''}`;
  if (p.role === 'bounce') return `${p.statusCode ?? '02'} bounce signed by the hub ${p.from}`;
  if (p.role === 'refused') return `packet from ${p.from} refused by the hub${p.refusal ? `: [${p.refusal.code}] ${p.refusal.message}` : ''}`;
  return `${p.statusCode ?? '??'} status from ${p.from} (${p.direction})`;
}

/**
 * The hub's rows about one document are not contiguous in its chain, so each row is checked on
 * its own (its hash covers its content and its predecessor's hash), and rows that follow each
 * other in the chain must link; the manifest's signature vouches that the hub exported them.
 */
function auditProblem(rows: AuditRow[]): string | undefined {
  let previous: AuditRow | undefined;
  for (const row of rows) {
    if (auditHash(row) !== row.hash) return `audit row ${row.seq} does not match its hash: it was changed`;
    if (previous && row.seq <= previous.seq) return `audit rows are out of order at row ${row.seq}`;
    if (previous && row.seq === previous.seq + 1 && row.prev_hash !== previous.hash) return `audit row ${row.seq} does not link to row ${previous.seq}`;
    previous = row;
  }
  return undefined;
}
