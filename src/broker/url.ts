/** AMQP URLs: shown without secrets, rewritten for another user, given a heartbeat. */
import { QUEUE_TOKEN_PARAMETER } from './names.js';

/** `amqp://user:pass@host:port/vhost` with the password (and an edge's queue token) hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has(QUEUE_TOKEN_PARAMETER)) u.searchParams.set(QUEUE_TOKEN_PARAMETER, '***');
    return u.toString();
  } catch {
    return '(unparseable AMQP URL)';
  }
}

/** The same AMQP URL for another broker user (an agency's, with the token of its queue names). */
export function withCredentials(url: string, user: string, password: string, queueToken?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  if (queueToken) u.searchParams.set(QUEUE_TOKEN_PARAMETER, queueToken);
  return u.toString();
}

export function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}
