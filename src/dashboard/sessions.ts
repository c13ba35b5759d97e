/**
 * Dashboard logins: sessions, CSRF tokens, cookies, and the brake on password guessing.
 *
 * A session is a random 256-bit id handed to the browser in an HttpOnly, SameSite=Strict cookie
 * (Secure when configured). The `sessions` table keeps only the id's SHA-256, so a copy of the
 * database opens no session. Sessions end after 8 hours, or at logout (the row is deleted), or
 * when the user is disabled. The CSRF token of a session is an HMAC of its id: unguessable
 * without the cookie, stable across hub restarts, and it does not reveal the id.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { newSecret } from '../ids.js';
import type { Role } from '../hub/users.js';
import type { Db } from '../store/db.js';

export const SESSION_COOKIE = 'lt_session';
export const LANG_COOKIE = 'lt_lang';
export const SESSION_TTL_MS = 8 * 3_600_000;

export interface Session {
  user: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  /** What forms and fetch calls of this session send back (field `_csrf` or header `X-CSRF-Token`). */
  csrfToken: string;
}

const hashId = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', 'lienthong dashboard csrf').update(sessionId, 'utf8').digest('base64url');
}

/** Constant-time comparison of a presented token with the expected one. */
export function sameToken(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export class Sessions {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {}

  /** A new session for `user`; the returned id goes into the cookie and nowhere else. */
  create(user: { name: string; role: Role }): { id: string; session: Session } {
    const id = newSecret(32);
    const now = this.clock();
    const createdAt = now.toISOString();
    const expiresAt = new Date(now.getTime() + this.ttlMs).toISOString();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(createdAt);
      this.db.prepare('INSERT INTO sessions (id, user, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hashId(id), user.name, createdAt, expiresAt);
    }).immediate();
    return { id, session: { user: user.name, role: user.role, createdAt, expiresAt, csrfToken: csrfTokenFor(id) } };
  }

  /** The live session of a cookie value, or undefined (unknown, expired, user disabled or gone). */
  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const row = this.db
      .prepare(
        `SELECT s.user, s.created_at, s.expires_at, u.role, u.disabled
           FROM sessions s JOIN users u ON u.name = s.user WHERE s.id = ?`,
      )
      .get(hashId(id)) as { user: string; created_at: string; expires_at: string; role: Role; disabled: number } | undefined;
    if (!row) return undefined;
    if (row.expires_at <= this.clock().toISOString() || row.disabled === 1) {
      this.delete(id);
      return undefined;
    }
    return { user: row.user, role: row.role, createdAt: row.created_at, expiresAt: row.expires_at, csrfToken: csrfTokenFor(id) };
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM sessions WHERE id = ?').run(hashId(id));
  }
}

/** Cookies of a request header, first value of each name wins. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax';
}

export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  parts.push(`SameSite=${options.sameSite ?? 'Strict'}`);
  return parts.join('; ');
}

export interface LoginLimits {
  /** Failed logins allowed per user name within the window. Default 5. */
  perName: number;
  /** Failed logins allowed per client address within the window. Default 10. */
  perAddress: number;
  /** Default one minute. */
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perName: 5, perAddress: 10, windowMs: 60_000 };

/**
 * Counts failed logins per user name and per client address over a sliding window; once either
 * reaches its limit, further attempts are refused without checking the password until the
 * oldest failure leaves the window. In memory: a hub restart forgets, which is acceptable for
 * a brake (the scrypt cost slows guessing further).
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly clock: () => Date,
  ) {}

  /** Seconds to wait before `name` from `address` may try again, or 0. */
  retryAfter(name: string, address: string): number {
    const now = this.clock().getTime();
    const wait = (key: string, max: number): number => {
      const times = this.recent(key, now);
      if (times.length < max) return 0;
      const oldest = times[times.length - max] as number;
      return Math.max(1, Math.ceil((oldest + this.limits.windowMs - now) / 1000));
    };
    return Math.max(wait(`name:${name.toLowerCase()}`, this.limits.perName), wait(`addr:${address}`, this.limits.perAddress));
  }

  fail(name: string, address: string): void {
    const now = this.clock().getTime();
    // Bound the memory an attacker can make us use: forget stale keys when the map grows.
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) if (this.recent(key, now).length === 0) this.failures.delete(key);
    for (const key of [`name:${name.toLowerCase()}`, `addr:${address}`]) {
      const times = this.recent(key, now);
      times.push(now);
      this.failures.set(key, times.slice(-100));
    }
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > now - this.limits.windowMs);
  }
}
