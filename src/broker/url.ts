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

/**
 * The addresses of one setting that may name several nodes: an array, or one text with the URLs
 * separated by commas. A comma splits only before the next URL's scheme (`amqp://`, `https://`,
 * ...), so a comma inside a password or a path stays where it is.
 */
export function addressList(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(/\s*,\s*(?=[a-z][a-z0-9+.-]*:\/\/)/i) : value;
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** What amqplib reads from an AMQP URL, as the object form `amqp.connect` also takes. */
export interface AmqpTarget {
  protocol: string;
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  locale?: string;
}

/**
 * The fields amqplib would take from the URL string, for its object form: that object is read at
 * every connection attempt, so pointing it at another node redirects the next attempt.
 */
export function amqpTarget(url: string): AmqpTarget {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, '');
  const number = (name: string): { [key: string]: number } => {
    const value = u.searchParams.get(name);
    return value !== null && /^\d+$/.test(value) ? { [name]: Number(value) } : {};
  };
  return {
    protocol,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : protocol === 'amqps' ? 5671 : 5672,
    // As the string form does: guest/guest only when the URL names no user at all.
    username: u.username || u.password ? decodeURIComponent(u.username) : 'guest',
    password: u.username || u.password ? decodeURIComponent(u.password) : 'guest',
    // Still escaped: amqplib unescapes the vhost of either form.
    vhost: u.pathname.length > 1 ? u.pathname.slice(1) : '',
    ...number('heartbeat'),
    ...number('frameMax'),
    ...number('channelMax'),
    ...(u.searchParams.get('locale') ? { locale: u.searchParams.get('locale') as string } : {}),
  };
}
