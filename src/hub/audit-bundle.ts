/**
 * An export of the audit trail an archivist can check offline: the rows of a period with the
 * hash linking the first one to its predecessor, signed by the hub's certificate (included with
 * its chain). `checkAuditBundle` needs nothing but the file and the trusted root.
 */
import { signDetached, signerCertificates, verifyDetached } from '../crypto/detached.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import type { TrustMaterial } from '../crypto/trust.js';
import { LtError } from '../errors.js';
import { auditHash, type AuditRow } from '../store/audit.js';
import type { Db } from '../store/db.js';

export const AUDIT_BUNDLE_FORMAT = 'lienthong-audit-bundle/1';

export interface AuditBundle {
  format: typeof AUDIT_BUNDLE_FORMAT;
  hub: string;
  from: string;
  to: string;
  exportedAt: string;
  /** Hash of the row before the first exported one (the chain continues from it). */
  previousHash: string;
  rows: AuditRow[];
  /** PEM: the hub certificate first, then its chain. */
  certificates: string[];
  signature?: { algorithm: 'sha256'; value: string };
}

function signedText(bundle: AuditBundle): string {
  const { signature: _omit, ...rest } = bundle;
  return JSON.stringify(rest);
}

export function exportAuditBundle(db: Db, period: { from: Date; to: Date }, hubOrganId: string, identity: IdentityMaterial, now = new Date()): AuditBundle {
  if (!(period.from < period.to)) throw new LtError('USAGE', '--from must be before --to');
  const rows = db.prepare('SELECT * FROM audit WHERE at >= ? AND at < ? ORDER BY seq').all(period.from.toISOString(), period.to.toISOString()) as AuditRow[];
  const first = rows[0];
  const previous = first ? (db.prepare('SELECT hash FROM audit WHERE seq = ?').get(first.seq - 1) as { hash: string } | undefined) : undefined;
  const bundle: AuditBundle = {
    format: AUDIT_BUNDLE_FORMAT,
    hub: hubOrganId,
    from: period.from.toISOString(),
    to: period.to.toISOString(),
    exportedAt: now.toISOString(),
    previousHash: first ? (previous?.hash ?? first.prev_hash) : '',
    rows,
    certificates: signerCertificates(identity),
  };
  const { algorithm, value } = signDetached(Buffer.from(signedText(bundle)), identity);
  bundle.signature = { algorithm, value };
  return bundle;
}

export interface BundleCheck {
  valid: boolean;
  rows: number;
  hub: string | null;
  signer: string | null;
  period: { from: string; to: string } | null;
  errors: Array<{ code: string; message: string }>;
}

export async function checkAuditBundle(text: string, trust: TrustMaterial, now = new Date()): Promise<BundleCheck> {
  const result: BundleCheck = { valid: false, rows: 0, hub: null, signer: null, period: null, errors: [] };
  let bundle: AuditBundle;
  try {
    bundle = JSON.parse(text) as AuditBundle;
    if (bundle.format !== AUDIT_BUNDLE_FORMAT || !Array.isArray(bundle.rows) || !Array.isArray(bundle.certificates)) throw new Error(`not a ${AUDIT_BUNDLE_FORMAT} file`);
  } catch (error) {
    result.errors.push({ code: 'XML_NOT_EDXML', message: `not an audit bundle: ${(error as Error).message}` });
    return result;
  }
  result.rows = bundle.rows.length;
  result.hub = bundle.hub;
  result.period = { from: bundle.from, to: bundle.to };
  const check = await verifyDetached(
    Buffer.from(signedText(bundle)),
    bundle.signature ? { ...bundle.signature, certificates: bundle.certificates } : undefined,
    trust,
    bundle.hub,
    new Date(bundle.exportedAt),
    now,
  );
  result.signer = check.signer;
  result.errors.push(...check.errors);
  if (check.errors.some((e) => e.code === 'SIG_MISSING')) return result;
  let previous = bundle.previousHash;
  for (const row of bundle.rows) {
    if (row.prev_hash !== previous) {
      result.errors.push({ code: 'AUDIT_CHAIN_BROKEN', message: `row ${row.seq} does not link to the row before it` });
      break;
    }
    if (auditHash(row) !== row.hash) {
      result.errors.push({ code: 'AUDIT_CHAIN_BROKEN', message: `row ${row.seq} does not match its hash` });
      break;
    }
    previous = row.hash;
  }
  result.valid = result.errors.length === 0;
  return result;
}
