/**
 * The signature of a webhook call: `Lienthong-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 * of "<t>.<raw body>" under the webhook's secret>`. The timestamp is signed with the body, so a
 * receiver that refuses old timestamps refuses a captured call replayed later. Pure; what a
 * receiver imports (or copies: examples/webhook-client.mjs does the same in plain Node).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Lienthong-Signature';
export const EVENT_ID_HEADER = 'Lienthong-Event-Id';
export const EVENT_TYPE_HEADER = 'Lienthong-Event-Type';
export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The header value for `body` sent at `now`. */
export function signWebhook(secret: string, body: string | Uint8Array, now: Date = new Date()): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

export type SignatureVerdict =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'outside-window' | 'mismatch'; message: string };

/**
 * Whether `header` signs `rawBody` (the bytes as received, before any JSON parsing) under
 * `secret`, within `toleranceSeconds` of `now` either way. Several v1 values are accepted (one
 * may be under a secret being rotated out); each is compared in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  rawBody: string | Uint8Array,
  options: { toleranceSeconds?: number; now?: Date } = {},
): SignatureVerdict {
  if (!header) return { ok: false, reason: 'missing', message: `no ${SIGNATURE_HEADER} header` };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2) as [string, string | undefined];
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === undefined || signatures.length === 0) {
    return { ok: false, reason: 'malformed', message: `${SIGNATURE_HEADER} must be "t=<unix seconds>,v1=<64 hex digits>"` };
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > tolerance) {
    return { ok: false, reason: 'outside-window', message: `signed at ${timestamp}, ${now - timestamp} s from now: outside the ${tolerance} s replay window` };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  let matched = false;
  for (const candidate of signatures) {
    if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
  }
  return matched ? { ok: true, timestamp } : { ok: false, reason: 'mismatch', message: 'the signature does not match the body under this secret' };
}
