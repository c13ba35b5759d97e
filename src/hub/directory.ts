/** The hub's directory of agencies (SQLite): who may send, who may receive. */
import { LtError } from '../errors.js';
import type { Db } from '../store/db.js';

export type AgencyStatus = 'active' | 'suspended' | 'removed';
/** 'hub': this hub's own entry, which signs bounces and receives nothing through a queue. */
export type DirectoryKind = 'agency' | 'hub';

export interface Agency {
  organId: string;
  name: string;
  parentId: string | null;
  brokerUser: string;
  /** Random part of its queue names (`P.agency.<organId>.<token>`); empty for the old names. */
  queueToken: string;
  status: AgencyStatus;
  kind: DirectoryKind;
  /** PEM of the entry's signing certificate, when known. */
  certificate: string | null;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  organ_id: string;
  name: string;
  parent_id: string | null;
  broker_user: string;
  queue_token: string;
  status: AgencyStatus;
  kind: DirectoryKind;
  certificate: string | null;
  created_at: string;
  updated_at: string;
}

const toAgency = (r: Row): Agency => ({
  organId: r.organ_id,
  name: r.name,
  parentId: r.parent_id,
  brokerUser: r.broker_user,
  queueToken: r.queue_token,
  status: r.status,
  kind: r.kind,
  certificate: r.certificate,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class Directory {
  constructor(private readonly db: Db) {}

  get(organId: string): Agency | undefined {
    const row = this.db.prepare('SELECT * FROM agencies WHERE organ_id = ?').get(organId) as Row | undefined;
    return row ? toAgency(row) : undefined;
  }

  byBrokerUser(user: string): Agency | undefined {
    // The hub's own entry has no broker user an edge could publish as.
    const row = this.db.prepare("SELECT * FROM agencies WHERE broker_user = ? AND kind = 'agency'").get(user) as Row | undefined;
    return row ? toAgency(row) : undefined;
  }

  list(filter: { status?: AgencyStatus; search?: string; kind?: DirectoryKind } = {}): Agency[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind) {
      where.push('kind = ?');
      args.push(filter.kind);
    }
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.search) {
      where.push("(organ_id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')");
      const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(pattern, pattern);
    }
    const sql = `SELECT * FROM agencies ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY organ_id`;
    return (this.db.prepare(sql).all(...args) as Row[]).map(toAgency);
  }

  /** Agencies that own queues on the broker (active or suspended), the hub itself not counted. */
  queueOwners(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM agencies WHERE kind = 'agency' AND status <> 'removed'").get() as { n: number }).n;
  }

  insert(agency: { organId: string; name: string; parentId?: string; brokerUser: string; queueToken: string }, now: Date): Agency {
    const existing = this.get(agency.organId);
    if (existing && existing.status !== 'removed') {
      throw new LtError('AGENCY_EXISTS', `agency ${agency.organId} is already registered (${existing.status}); use "agency resume" or remove it first`);
    }
    if (agency.parentId && !this.get(agency.parentId)) {
      throw new LtError('AGENCY_UNKNOWN', `the parent agency ${agency.parentId} is not registered; add it first`);
    }
    const at = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO agencies (organ_id, name, parent_id, broker_user, queue_token, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?)
         ON CONFLICT (organ_id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
           broker_user = excluded.broker_user, queue_token = excluded.queue_token, status = 'active', updated_at = excluded.updated_at`,
      )
      .run(agency.organId, agency.name, agency.parentId ?? null, agency.brokerUser, agency.queueToken, at, at);
    return this.get(agency.organId) as Agency;
  }

  /**
   * This hub's own entry, written at every start: its organ id and name as configured and the
   * certificate it signs bounces with. Refused when an agency already holds the organ id.
   */
  registerHub(hub: { organId: string; name: string; certificatePem: string }, now: Date): Agency {
    const existing = this.get(hub.organId);
    if (existing && existing.kind !== 'hub' && existing.status !== 'removed') {
      throw new LtError('AGENCY_EXISTS', `the hub's organ id ${hub.organId} is registered as an agency; give the hub its own organ id or remove that agency`);
    }
    const at = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO agencies (organ_id, name, parent_id, broker_user, status, kind, certificate, created_at, updated_at)
         VALUES (?, ?, NULL, ?, 'active', 'hub', ?, ?, ?)
         ON CONFLICT (organ_id) DO UPDATE SET name = excluded.name, broker_user = excluded.broker_user, status = 'active',
           kind = 'hub', certificate = excluded.certificate, updated_at = excluded.updated_at`,
      )
      .run(hub.organId, hub.name, `hub:${hub.organId}`, hub.certificatePem, at, at);
    return this.get(hub.organId) as Agency;
  }

  setStatus(organId: string, status: AgencyStatus, now: Date): Agency {
    const existing = this.get(organId);
    if (!existing) throw new LtError('AGENCY_UNKNOWN', `agency ${organId} is not registered`);
    if (existing.kind === 'hub') throw new LtError('USAGE', `${organId} is this hub's own entry; it cannot be suspended, resumed or removed`);
    this.db.prepare('UPDATE agencies SET status = ?, updated_at = ? WHERE organ_id = ?').run(status, now.toISOString(), organId);
    return { ...existing, status, updatedAt: now.toISOString() };
  }
}
