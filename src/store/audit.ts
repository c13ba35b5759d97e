/**
 * The append-only audit trail: every packet, status transition and operator action is a row
 * whose hash covers the previous row's hash, so an edited or deleted row breaks the chain at
 * the first place it was touched.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db.js';

export const AUDIT_SCHEMA = `
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
`;

export interface AuditEntry {
  /** Who: an organ id, "hub", or "operator:<name>". */
  actor: string;
  /** What, e.g. "packet.routed", "status.03", "agency.suspend". */
  action: string;
  /** About what: a packet id, document id or organ id. */
  subject: string;
  details?: Record<string, unknown>;
}

export interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function auditHash(row: Omit<AuditRow, 'hash'>): string {
  const canonical = JSON.stringify([row.seq, row.at, row.actor, row.action, row.subject, row.details, row.prev_hash]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** Append within the caller's transaction (so the audit row commits with what it records). */
export function appendAudit(db: Db, entry: AuditEntry, at: Date = new Date()): AuditRow {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const row = {
    seq: (last?.seq ?? 0) + 1,
    at: at.toISOString(),
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    details: JSON.stringify(entry.details ?? {}),
    prev_hash: last?.hash ?? GENESIS_HASH,
  };
  const full: AuditRow = { ...row, hash: auditHash(row) };
  db.prepare('INSERT INTO audit (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @subject, @details, @prev_hash, @hash)').run(full);
  return full;
}

export type ChainCheck = { ok: true; rows: number } | { ok: false; rows: number; brokenAt: number; reason: string };

/** Recompute the chain; name the first row that does not fit. */
export function verifyAuditChain(db: Db): ChainCheck {
  let previous = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (const row of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
    rows += 1;
    if (row.seq !== expectedSeq) return { ok: false, rows, brokenAt: expectedSeq, reason: `row ${expectedSeq} is missing` };
    if (row.prev_hash !== previous) return { ok: false, rows, brokenAt: row.seq, reason: `row ${row.seq} does not link to row ${row.seq - 1}` };
    if (auditHash(row) !== row.hash) return { ok: false, rows, brokenAt: row.seq, reason: `row ${row.seq} was changed after it was written` };
    previous = row.hash;
    expectedSeq += 1;
  }
  return { ok: true, rows };
}
