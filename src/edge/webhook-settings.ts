/**
 * The webhook settings of edge.json: where to POST which events ("webhooks"), how long to keep
 * trying ("webhookRetry"), and the public base of the links in the payloads ("api.publicUrl").
 * Pure apart from reading a secretFile; every refusal names the setting and what to write.
 */
import { readFileSync } from 'node:fs';
import { resolvePath } from '../config.js';
import { LtError } from '../errors.js';

export const WEBHOOK_EVENT_TYPES = ['document.received', 'status.changed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookConfig {
  url: string;
  /** Which events go to this URL. Default: all. */
  events: WebhookEventType[];
  /** The HMAC-SHA256 key the receiver verifies with (never logged, never in a payload). */
  secret: string;
  /** One POST's time limit, ms. Default 10 s. */
  timeoutMs: number;
}

export interface WebhookRetry {
  /** Wait after the first failure, seconds; doubled after each further one. Default 1. */
  firstDelaySeconds: number;
  /** The longest wait between two attempts, seconds. Default 600. */
  maxDelaySeconds: number;
  /** How long after the event a delivery is tried before it is marked failed, seconds. Default 86 400 (a day). */
  giveUpAfterSeconds: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetry = { firstDelaySeconds: 1, maxDelaySeconds: 600, giveUpAfterSeconds: 86_400 };
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Shorter secrets are guessable offline from one signed request. */
const MIN_SECRET_LENGTH = 16;

function invalid(file: string, path: string, message: string): LtError {
  return new LtError('CONFIG_INVALID', `${file}: "${path}" ${message}`, { path });
}

/** The "webhooks" array: each entry checked, URLs unique (a delivery is known by its event and URL). */
export function webhookSettings(value: unknown, file: string, baseDir: string): WebhookConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(file, 'webhooks', 'must be an array of {"url", "events", "secret" or "secretFile", "timeoutMs"}');
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const at = `webhooks[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw invalid(file, at, 'must be an object with "url" and "secret" (or "secretFile")');
    const raw = entry as Record<string, unknown>;
    const known = new Set(['url', 'events', 'secret', 'secretFile', 'timeoutMs']);
    const unknown = Object.keys(raw).find((k) => !known.has(k));
    if (unknown) throw invalid(file, `${at}.${unknown}`, `is not a webhook setting (known: ${[...known].join(', ')})`);
    const url = webhookUrl(raw.url, file, `${at}.url`);
    if (seen.has(url)) throw invalid(file, `${at}.url`, `repeats ${url}: give each URL once, with every event it wants in "events"`);
    seen.add(url);
    return { url, events: eventTypes(raw.events, file, `${at}.events`), secret: webhookSecret(raw, file, at, baseDir), timeoutMs: timeout(raw.timeoutMs, file, `${at}.timeoutMs`) };
  });
}

function webhookUrl(value: unknown, file: string, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(file, path, 'is required: the http(s) URL the edge POSTs the events to');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(file, path, `is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(file, path, `must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.username || url.password) throw invalid(file, path, 'must not carry a user name or password: the receiver checks the signature (Lienthong-Signature) instead');
  return url.toString();
}

function eventTypes(value: unknown, file: string, path: string): WebhookEventType[] {
  if (value === undefined) return [...WEBHOOK_EVENT_TYPES];
  const all = WEBHOOK_EVENT_TYPES as readonly string[];
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && all.includes(v))) {
    throw invalid(file, path, `must list one or more of ${WEBHOOK_EVENT_TYPES.map((e) => `"${e}"`).join(', ')} (or be left out for all)`);
  }
  return [...new Set(value as WebhookEventType[])];
}

function webhookSecret(raw: Record<string, unknown>, file: string, at: string, baseDir: string): string {
  if (raw.secret !== undefined && raw.secretFile !== undefined) throw invalid(file, at, 'has both "secret" and "secretFile": keep one ("secretFile" keeps the secret out of edge.json)');
  let secret: unknown = raw.secret;
  if (raw.secretFile !== undefined) {
    if (typeof raw.secretFile !== 'string' || raw.secretFile.trim() === '') throw invalid(file, `${at}.secretFile`, 'must be the path of a file holding the secret');
    const path = resolvePath(baseDir, raw.secretFile);
    try {
      secret = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw invalid(file, `${at}.secretFile`, `names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path and that the edge's user may read it`);
    }
  }
  if (secret === undefined) throw invalid(file, at, 'needs "secret" or "secretFile": every call is signed, the receiver verifies it with the same secret');
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw invalid(file, raw.secretFile !== undefined ? `${at}.secretFile` : `${at}.secret`, `must be a secret of at least ${MIN_SECRET_LENGTH} characters (e.g. "openssl rand -hex 32")`);
  }
  return secret;
}

function timeout(value: unknown, file: string, path: string): number {
  if (value === undefined) return DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 300_000) throw invalid(file, path, 'must be a whole number of milliseconds from 100 to 300000');
  return value;
}

/** "webhookRetry": each part a positive number of seconds, the first delay no longer than the longest. */
export function webhookRetrySettings(value: unknown, file: string): WebhookRetry {
  if (value === undefined) return { ...DEFAULT_WEBHOOK_RETRY };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(file, 'webhookRetry', 'must be an object: {"firstDelaySeconds", "maxDelaySeconds", "giveUpAfterSeconds"}');
  const raw = value as Record<string, unknown>;
  const unknown = Object.keys(raw).find((k) => !(k in DEFAULT_WEBHOOK_RETRY));
  if (unknown) throw invalid(file, `webhookRetry.${unknown}`, `is not a retry setting (known: ${Object.keys(DEFAULT_WEBHOOK_RETRY).join(', ')})`);
  const seconds = (key: keyof WebhookRetry): number => {
    const v = raw[key];
    if (v === undefined) return DEFAULT_WEBHOOK_RETRY[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalid(file, `webhookRetry.${key}`, 'must be a positive number of seconds');
    return v;
  };
  const retry = { firstDelaySeconds: seconds('firstDelaySeconds'), maxDelaySeconds: seconds('maxDelaySeconds'), giveUpAfterSeconds: seconds('giveUpAfterSeconds') };
  if (retry.firstDelaySeconds > retry.maxDelaySeconds) {
    throw invalid(file, 'webhookRetry.firstDelaySeconds', `(${retry.firstDelaySeconds}) must not exceed maxDelaySeconds (${retry.maxDelaySeconds})`);
  }
  return retry;
}

/** "api.publicUrl": the base the receivers reach this edge's REST API at (links in the payloads). */
export function publicUrlSetting(value: unknown, file: string): string | undefined {
  if (value === undefined) return undefined;
  const url = webhookUrlLike(value, file);
  return url.replace(/\/+$/, '');
}

function webhookUrlLike(value: unknown, file: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(file, 'api.publicUrl', 'must be the http(s) URL clients reach this edge\'s API at, e.g. "https://lienthong.sotaichinh.camau.gov.vn"');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(file, 'api.publicUrl', `is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(file, 'api.publicUrl', `must be an http:// or https:// URL, not ${url.protocol}`);
  if (url.search || url.hash) throw invalid(file, 'api.publicUrl', 'must be a base URL without query or fragment');
  return url.toString();
}
