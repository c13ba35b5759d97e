/** The hub's directory of agencies (SQLite): who may send, who may receive. */
import { LtError } from '../errors.js';
import type { Db } from '../store/db.js';

export type AgencyStatus = 'active' | 'suspended' | 'removed';

export interface Agency {
  organId: string;
  name: string;
  parentId: string | null;
  brokerUser: string;
  status: AgencyStatus;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  organ_id: string;
  name: string;
  parent_id: string | null;
  broker_user: string;
  status: AgencyStatus;
  created_at: string;
  updated_at: string;
}

const toAgency = (r: Row): Agency => ({
  organId: r.organ_id,
  name: r.name,
  parentId: r.parent_id,
  brokerUser: r.broker_user,
  status: r.status,
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
    const row = this.db.prepare('SELECT * FROM agencies WHERE broker_user = ?').get(user) as Row | undefined;
    return row ? toAgency(row) : undefined;
  }

  list(filter: { status?: AgencyStatus; search?: string } = {}): Agency[] {
    const where: string[] = [];
    const args: unknown[] = [];
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

  insert(agency: { organId: string; name: string; parentId?: string; brokerUser: string }, now: Date): Agency {
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
        `INSERT INTO agencies (organ_id, name, parent_id, broker_user, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'active', ?, ?)
         ON CONFLICT (organ_id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,
           broker_user = excluded.broker_user, status = 'active', updated_at = excluded.updated_at`,
      )
      .run(agency.organId, agency.name, agency.parentId ?? null, agency.brokerUser, at, at);
    return this.get(agency.organId) as Agency;
  }

  setStatus(organId: string, status: AgencyStatus, now: Date): Agency {
    const existing = this.get(organId);
    if (!existing) throw new LtError('AGENCY_UNKNOWN', `agency ${organId} is not registered`);
    this.db.prepare('UPDATE agencies SET status = ?, updated_at = ? WHERE organ_id = ?').run(status, now.toISOString(), organId);
    return { ...existing, status, updatedAt: now.toISOString() };
  }
}
