/**
 * Dashboard users of the hub: operators (may change things) and viewers (may only look).
 * Passwords are stored as scrypt hashes with a per-user salt; never in clear, never logged.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { LtError } from '../errors.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';

export type Role = 'operator' | 'viewer';

export interface User {
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

const N = 16_384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LENGTH, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const NAME = /^[a-zA-Z0-9._@-]{2,64}$/;

export function addUser(db: Db, input: { name: string; role: Role; password: string }, actor: string, now = new Date()): User {
  if (!NAME.test(input.name)) throw new LtError('USAGE', 'a user name has 2-64 letters, digits, ".", "_", "@" or "-"');
  if (input.role !== 'operator' && input.role !== 'viewer') throw new LtError('USAGE', 'the role is operator or viewer');
  if (input.password.length < 10) throw new LtError('USAGE', 'the password needs at least 10 characters');
  const at = now.toISOString();
  return db.transaction(() => {
    if (db.prepare('SELECT 1 FROM users WHERE name = ?').get(input.name)) throw new LtError('USER_EXISTS', `user ${input.name} already exists`);
    db.prepare('INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(input.name, input.role, hashPassword(input.password), at, at);
    appendAudit(db, { actor, action: 'user.add', subject: input.name, details: { role: input.role } }, now);
    return { name: input.name, role: input.role, createdAt: at, disabled: false };
  }).immediate();
}

export function listUsers(db: Db): User[] {
  return (db.prepare('SELECT name, role, created_at, disabled FROM users ORDER BY name').all() as Array<{ name: string; role: Role; created_at: string; disabled: number }>).map(
    (u) => ({ name: u.name, role: u.role, createdAt: u.created_at, disabled: u.disabled === 1 }),
  );
}

/** The user whose name and password match, or undefined (same time spent either way). */
export function authenticate(db: Db, name: string, password: string): User | undefined {
  const row = db.prepare('SELECT name, role, password_hash, created_at, disabled FROM users WHERE name = ?').get(name) as
    | { name: string; role: Role; password_hash: string; created_at: string; disabled: number }
    | undefined;
  // Hash even for an unknown user, so that timing does not tell which names exist.
  const ok = verifyPassword(password, row?.password_hash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
  if (!row || !ok || row.disabled === 1) return undefined;
  return { name: row.name, role: row.role, createdAt: row.created_at, disabled: false };
}

/** Sessions of `name` end now (dashboard logins are rows of `sessions`); returns how many. */
function endSessions(db: Db, name: string): number {
  return db.prepare('DELETE FROM sessions WHERE user = ?').run(name).changes;
}

function requireUser(db: Db, name: string): { role: Role } {
  const row = db.prepare('SELECT role FROM users WHERE name = ?').get(name) as { role: Role } | undefined;
  if (!row) throw new LtError('NOT_FOUND', `no dashboard user ${name}; "lienthong hub user list" shows who exists`);
  return row;
}

/**
 * Remove a dashboard login and end its sessions. The last operator is kept: without one nobody
 * could replay a dead letter or suspend an agency from the dashboard.
 */
export function removeUser(db: Db, name: string, actor: string, now = new Date()): { sessionsEnded: number } {
  return db.transaction(() => {
    const { role } = requireUser(db, name);
    if (role === 'operator') {
      const others = (db.prepare("SELECT COUNT(*) AS n FROM users WHERE role = 'operator' AND disabled = 0 AND name <> ?").get(name) as { n: number }).n;
      if (others === 0) throw new LtError('USER_LAST_OPERATOR', `${name} is the last operator; add another operator ("lienthong hub user add <name> --role operator") before removing this one`);
    }
    const sessionsEnded = endSessions(db, name);
    db.prepare('DELETE FROM users WHERE name = ?').run(name);
    appendAudit(db, { actor, action: 'user.remove', subject: name, details: { role, sessionsEnded } }, now);
    return { sessionsEnded };
  }).immediate();
}

/** A new password for a dashboard login; its open sessions end (whoever held them logs in again). */
export function setPassword(db: Db, name: string, password: string, actor: string, now = new Date()): { sessionsEnded: number } {
  if (password.length < 10) throw new LtError('USAGE', 'the password needs at least 10 characters');
  const hash = hashPassword(password);
  return db.transaction(() => {
    requireUser(db, name);
    db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?').run(hash, now.toISOString(), name);
    const sessionsEnded = endSessions(db, name);
    appendAudit(db, { actor, action: 'user.password', subject: name, details: { sessionsEnded } }, now);
    return { sessionsEnded };
  }).immediate();
}
