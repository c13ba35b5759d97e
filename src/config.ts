/**
 * What hub and edge configuration files share: broker, identity and trust settings, paths
 * relative to the configuration file, and environment variables that override the file (so a
 * container can take one file and per-instance secrets).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LtError } from './errors.js';
import { readInput } from './files.js';
import { stripJsonComments } from './json-comments.js';
import type { IdentityMaterial } from './crypto/jobs.js';
import { DEFAULT_WORKER_HEAP_MB, type CryptoPoolOptions } from './crypto/pool.js';
import { xmlLimitsFor } from './envelope/xml.js';
import { MAX_PACKET_BYTES_CEILING, heapMbFor } from './packet-size.js';
import { REVOCATION_POLICIES, type RevocationPolicy, type TrustFiles } from './crypto/trust.js';
import { DEFAULT_CRL_REFRESH, type CrlRefreshSettings } from './crypto/crl-freshness.js';
import { DEFAULT_PREFIX, QUEUE_TOKEN_PARAMETER } from './broker/names.js';
import { addressList, redactUrl } from './broker/url.js';
import { assertTlsUrls, brokerTlsSetting, type BrokerTls } from './broker/tls.js';
import type { CalendarConfig } from './envelope/calendar.js';
import type { StaffInfo } from './envelope/types.js';

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_MANAGEMENT_URL = 'http://127.0.0.1:15672';

/** PEM files of a signing identity. */
export interface IdentityFiles {
  key: string;
  cert: string;
  chain?: string;
}

/**
 * PEM files of the trust configuration, the revocation policy (default `require`) and `dev`
 * (development anchors allowed, default false).
 */
export type TrustFileConfig = TrustFiles & {
  /** How CRLs are kept current while the node runs; default DEFAULT_CRL_REFRESH. */
  crlRefresh?: CrlRefreshSettings;
};

export interface BrokerSettings {
  /**
   * AMQP URL. Env AMQP_URL. Hub default amqp://guest:guest@127.0.0.1:5672; an edge has none
   * (empty: not configured), since it must connect as its own agency's broker user. With a
   * cluster, the first node's: its user, password, vhost and queue token are every node's.
   */
  amqpUrl: string;
  /**
   * Every node's AMQP URL, tried in this order ("amqpUrl" as an array, or AMQP_URL / "amqpUrl"
   * with the URLs separated by commas). Absent: `amqpUrl` alone.
   */
  amqpUrls?: string[];
  /** Prefix of every broker resource. Env LT_PREFIX. Default "lt". */
  prefix: string;
  /**
   * TLS to the broker ("brokerTls"; env LT_BROKER_CA, LT_BROKER_CERT, LT_BROKER_KEY,
   * LT_BROKER_KEY_PASSPHRASE): the CA the broker's certificate must chain to, and a client
   * certificate for the EXTERNAL login. Absent: amqps:// URLs trust the system's CAs.
   */
  tls?: BrokerTls;
}

/** Settings hub and edge share, with their defaults. */
export interface NodeSettings {
  /** Largest packet accepted, bytes. Default 32 MiB. */
  maxPacketBytes: number;
  /** Worker threads signing and verifying. Default 2. */
  cryptoThreads: number;
  /**
   * Heap of each crypto worker thread, MiB; a job needing more fails alone (WORKER_OUT_OF_MEMORY).
   * Default: the pool's, DEFAULT_WORKER_HEAP_MB (512), sized for 32 MiB packets.
   */
  cryptoHeapMb?: number;
  /**
   * A crypto worker with no job for this many seconds stops (it holds some 20 MB); the next job
   * starts it again. 0: workers, once started, run until the node stops. Default: the pool's,
   * DEFAULT_WORKER_IDLE_MS (60 s).
   */
  cryptoIdleSeconds?: number;
  /** Packets handled at the same time (per lane prefetch). Default: hub 8, edge 4. */
  concurrency: number;
  /** SQLite synchronous mode: "normal" (default) or "full". */
  synchronous: 'normal' | 'full';
  /**
   * A stop (SIGTERM, SIGINT) ends within this many seconds, whatever the broker does: what it
   * has not confirmed by then stays in the outbox or its queue. Env LT_STOP_TIMEOUT_SECONDS.
   * Default DEFAULT_STOP_TIMEOUT_SECONDS.
   */
  stopTimeoutSeconds: number;
  /** Holidays and compensatory working days added to (or replacing) the shipped Vietnamese list. */
  calendar: CalendarConfig;
  /** Receipt deadline of urgent documents, in minutes after arrival. Default 30. */
  urgentReceiptMinutes: number;
  /**
   * The office named in StaffInfo of the statuses this node signs ({department, departmentId,
   * staff, staffId, email, mobile}); default: the văn thư of the organisation.
   */
  staffInfo?: StaffInfo;
}

/** Long enough to finish the packets in hand on a healthy broker, short enough for a supervisor's patience (systemd waits 90 s, docker 10 s by default: raise docker's stop_grace_period). */
export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

export function nodeSettings(raw: Record<string, unknown>, file: string, defaultConcurrency: number, env: NodeJS.ProcessEnv = {}): NodeSettings {
  const maxPacketBytes = optionalNumber(raw, 'maxPacketBytes', 32 * 1024 * 1024, file);
  if (maxPacketBytes > MAX_PACKET_BYTES_CEILING) {
    throw new LtError('CONFIG_INVALID', `${file}: "maxPacketBytes" is ${maxPacketBytes}, over the ${MAX_PACKET_BYTES_CEILING} (1 GiB) a packet held in memory may have`, { path: 'maxPacketBytes' });
  }
  const cryptoHeapMb = optionalNumber(raw, 'cryptoHeapMb', DEFAULT_WORKER_HEAP_MB, file);
  const neededMb = heapMbFor(maxPacketBytes);
  if (cryptoHeapMb < neededMb) {
    throw new LtError(
      'CONFIG_INVALID',
      `${file}: "cryptoHeapMb" is ${cryptoHeapMb}, under the ${neededMb} MiB (8 × maxPacketBytes) a crypto worker needs for the largest accepted packet; raise it or lower maxPacketBytes`,
      { path: raw.cryptoHeapMb !== undefined ? 'cryptoHeapMb' : 'maxPacketBytes' },
    );
  }
  return {
    maxPacketBytes,
    cryptoThreads: optionalNumber(raw, 'cryptoThreads', 2, file),
    ...(raw.cryptoHeapMb !== undefined ? { cryptoHeapMb } : {}),
    ...(raw.cryptoIdleSeconds !== undefined ? { cryptoIdleSeconds: cryptoIdleSetting(raw.cryptoIdleSeconds, file) } : {}),
    concurrency: optionalNumber(raw, 'concurrency', defaultConcurrency, file),
    synchronous: raw.synchronous === 'full' ? 'full' : 'normal',
    stopTimeoutSeconds: stopTimeoutSetting(raw, file, env),
    calendar: (raw.calendar as CalendarConfig | undefined) ?? {},
    urgentReceiptMinutes: optionalNumber(raw, 'urgentReceiptMinutes', 30, file),
    ...staffInfoSetting(raw, file),
  };
}

/** What a node's crypto workers take from its settings: their heap, and the packet limit they parse and sign under. */
export function nodeCryptoOptions(
  settings: Pick<NodeSettings, 'maxPacketBytes' | 'cryptoHeapMb' | 'cryptoIdleSeconds'>,
): Pick<CryptoPoolOptions, 'heapMb' | 'limits' | 'idleMs'> {
  return {
    limits: xmlLimitsFor(settings.maxPacketBytes),
    ...(settings.cryptoHeapMb ? { heapMb: settings.cryptoHeapMb } : {}),
    ...(settings.cryptoIdleSeconds !== undefined ? { idleMs: settings.cryptoIdleSeconds * 1000 } : {}),
  };
}

/** Unlike the other numbers, 0 has a meaning here: never stop an idle worker. */
function cryptoIdleSetting(value: unknown, file: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new LtError('CONFIG_INVALID', `${file}: "cryptoIdleSeconds" must be 0 (never stop an idle crypto worker) or a positive number of seconds`, { path: 'cryptoIdleSeconds' });
  }
  return value;
}

function stopTimeoutSetting(raw: Record<string, unknown>, file: string, env: NodeJS.ProcessEnv): number {
  if (env.LT_STOP_TIMEOUT_SECONDS === undefined) return optionalNumber(raw, 'stopTimeoutSeconds', DEFAULT_STOP_TIMEOUT_SECONDS, file);
  const seconds = Number(env.LT_STOP_TIMEOUT_SECONDS);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new LtError('CONFIG_INVALID', `LT_STOP_TIMEOUT_SECONDS must be a positive number of seconds, not "${env.LT_STOP_TIMEOUT_SECONDS}"`, { path: 'stopTimeoutSeconds' });
  }
  return seconds;
}

function staffInfoSetting(raw: Record<string, unknown>, file: string): { staffInfo?: StaffInfo } {
  const value = raw.staffInfo;
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new LtError('CONFIG_INVALID', `${file}: "staffInfo" must be an object of texts, e.g. {"department": "Văn thư", "staff": "Nguyễn Văn A"}`, { path: 'staffInfo' });
  }
  return { staffInfo: value as StaffInfo };
}

export interface Overrides {
  env?: NodeJS.ProcessEnv;
}

export async function readConfigFile(path: string): Promise<{ raw: Record<string, unknown>; baseDir: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new LtError('IO', `cannot read the configuration ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path });
  }
  try {
    // People write configuration files: comments (// and /* */) explain settings in place.
    const raw = JSON.parse(stripJsonComments(text, path)) as unknown;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('the top level must be an object');
    return { raw: raw as Record<string, unknown>, baseDir: dirname(resolve(path)) };
  } catch (error) {
    if (error instanceof LtError) throw error;
    throw new LtError('CONFIG_INVALID', `${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
}

export function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

export function requireString(raw: Record<string, unknown>, key: string, file: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new LtError('CONFIG_INVALID', `${file}: "${key}" is required (a non-empty string)`, { path: key });
  }
  return value;
}

export function optionalNumber(raw: Record<string, unknown>, key: string, fallback: number, file: string): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new LtError('CONFIG_INVALID', `${file}: "${key}" must be a positive number`, { path: key });
  }
  return value;
}

/**
 * Fastify's `trustProxy`: whose X-Forwarded-For to believe for the client address (the login
 * limits count per address, logs name it). false (default): nobody's, the TCP peer is the
 * client; true: anyone's (only when every request comes through a proxy that overwrites the
 * header); or the proxies' addresses/CIDRs (`"127.0.0.1"`, `["10.0.0.5"]`, `"loopback"`).
 */
export type TrustProxy = boolean | string | string[];

export function trustProxySetting(value: unknown, file: string, path: string): TrustProxy {
  if (value === undefined) return false;
  const ok =
    typeof value === 'boolean' ||
    (typeof value === 'string' && value.trim() !== '') ||
    (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.trim() !== ''));
  if (!ok) {
    throw new LtError('CONFIG_INVALID', `${file}: "${path}" must be false (default), true, or the proxies' addresses, e.g. "127.0.0.1" or ["10.0.0.5"]`, { path });
  }
  return value as TrustProxy;
}

/**
 * A secret from the environment, or from the file NAME_FILE names (docker compose secrets under
 * /run/secrets, systemd credentials): a file keeps it out of `docker inspect`, /proc/PID/environ
 * and the environment every child inherits. One trailing line break is not part of it.
 */
export function envSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const path = env[`${name}_FILE`];
  if (path === undefined || path === '') return env[name];
  if (env[name] !== undefined) {
    throw new LtError('CONFIG_INVALID', `both ${name} and ${name}_FILE are set: keep one (${name}_FILE keeps the secret out of the environment)`, { path: name });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LtError('CONFIG_INVALID', `${name}_FILE names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path and that this user may read it`, { path: `${name}_FILE` });
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.trim() === '') throw new LtError('CONFIG_INVALID', `${name}_FILE names ${path}, which is empty: put the ${name} value in it`, { path: `${name}_FILE` });
  return value;
}

/**
 * `fallbackUrl`: the AMQP URL when neither AMQP_URL (AMQP_URL_FILE) nor "amqpUrl" gives one ('' for none);
 * `baseDir`: where the "brokerTls" paths are relative to (the configuration file's directory).
 */
export function brokerSettings(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, fallbackUrl = DEFAULT_AMQP_URL, file = 'the configuration', baseDir = process.cwd()): BrokerSettings {
  const given = envSecret(env, 'AMQP_URL') ?? (typeof raw.amqpUrl === 'string' || Array.isArray(raw.amqpUrl) ? (raw.amqpUrl as string | unknown[]) : fallbackUrl);
  if (Array.isArray(given) && !given.every((url) => typeof url === 'string')) {
    throw new LtError('CONFIG_INVALID', `${file}: "amqpUrl" must be an AMQP URL or an array of them (one per node of the cluster)`, { path: 'amqpUrl' });
  }
  const urls = addressList(given as string | string[]);
  assertOneIdentity(urls, file);
  const tls = brokerTlsSetting(raw.brokerTls, env, (path) => resolvePath(baseDir, path), file);
  assertTlsUrls(tls, urls, file);
  return {
    amqpUrl: urls[0] ?? '',
    ...(urls.length > 1 ? { amqpUrls: urls } : {}),
    prefix: env.LT_PREFIX ?? (typeof raw.prefix === 'string' ? raw.prefix : DEFAULT_PREFIX),
    ...(tls ? { tls } : {}),
  };
}

/**
 * The nodes of one cluster share users, vhosts and queues: URLs that differ in anything but
 * where the node is would make the node reached decide who connects, or to what.
 */
function assertOneIdentity(urls: string[], file: string): void {
  const identity = (url: string): string => {
    try {
      const u = new URL(url);
      return JSON.stringify([u.username, u.password, u.pathname, u.searchParams.get(QUEUE_TOKEN_PARAMETER)]);
    } catch {
      throw new LtError('CONFIG_INVALID', `${file}: ${redactUrl(url)} in "amqpUrl" (or AMQP_URL) is not a URL`, { path: 'amqpUrl' });
    }
  };
  if (urls.length < 2) return;
  const first = identity(urls[0] as string);
  const other = urls.find((url) => identity(url) !== first);
  if (other !== undefined) {
    throw new LtError(
      'CONFIG_INVALID',
      `${file}: the AMQP URLs in "amqpUrl" (or AMQP_URL) differ in user, password, vhost or queue token (${redactUrl(urls[0] as string)} and ${redactUrl(other)}): the nodes of one cluster take the same ones; only host and port may differ`,
      { path: 'amqpUrl' },
    );
  }
}

/** Every AMQP URL of the settings, in the order tried. */
export function amqpUrlsOf(settings: Pick<BrokerSettings, 'amqpUrl' | 'amqpUrls'>): string[] {
  return settings.amqpUrls ?? [settings.amqpUrl];
}

export function identityFiles(raw: unknown, baseDir: string, file: string): IdentityFiles {
  const o = raw as Partial<IdentityFiles> | undefined;
  if (!o || typeof o.key !== 'string' || typeof o.cert !== 'string') {
    throw new LtError('CONFIG_INVALID', `${file}: "identity" needs "key" and "cert" (PEM file paths)`, { path: 'identity' });
  }
  return {
    key: resolvePath(baseDir, o.key),
    cert: resolvePath(baseDir, o.cert),
    ...(typeof o.chain === 'string' ? { chain: resolvePath(baseDir, o.chain) } : {}),
  };
}

export function trustFiles(raw: unknown, baseDir: string, file: string): TrustFileConfig {
  const o = raw as Partial<TrustFileConfig> | undefined;
  if (!o || !Array.isArray(o.anchors) || o.anchors.length === 0) {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.anchors" must list at least one root CA certificate (PEM)`, { path: 'trust.anchors' });
  }
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((p) => resolvePath(baseDir, p)) : []);
  const revocation = o.revocation ?? 'require';
  if (!REVOCATION_POLICIES.includes(revocation)) {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.revocation" must be "require" (refuse a signer whose revocation cannot be checked) or "best-effort"`, { path: 'trust.revocation' });
  }
  if (o.dev !== undefined && typeof o.dev !== 'boolean') {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.dev" must be true or false (true allows the development certificates of certs-dev/)`, { path: 'trust.dev' });
  }
  return {
    anchors: list(o.anchors),
    intermediates: list(o.intermediates),
    crls: list(o.crls),
    revocation: revocation as RevocationPolicy,
    dev: o.dev === true,
    crlRefresh: crlRefreshSettings((o as { crlRefresh?: unknown }).crlRefresh, file),
  };
}

/** "trust.crlRefresh": every key optional, defaults DEFAULT_CRL_REFRESH. */
export function crlRefreshSettings(value: unknown, file: string): CrlRefreshSettings {
  if (value === undefined) return { ...DEFAULT_CRL_REFRESH };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.crlRefresh" must be an object, e.g. {"intervalMinutes": 60, "fetch": true, "warnBeforeHours": 24, "graceHours": 0}`, { path: 'trust.crlRefresh' });
  }
  const o = value as Record<string, unknown>;
  const known = ['intervalMinutes', 'fetch', 'warnBeforeHours', 'graceHours', 'refreshFraction', 'urls'];
  const unknown = Object.keys(o).find((key) => !known.includes(key));
  if (unknown !== undefined) {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.crlRefresh.${unknown}" is not a setting; the settings are ${known.join(', ')}`, { path: `trust.crlRefresh.${unknown}` });
  }
  const number = (key: string, fallback: number, ok: (n: number) => boolean, rule: string): number => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
      throw new LtError('CONFIG_INVALID', `${file}: "trust.crlRefresh.${key}" must be ${rule}`, { path: `trust.crlRefresh.${key}` });
    }
    return v;
  };
  if (o.fetch !== undefined && typeof o.fetch !== 'boolean') {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.crlRefresh.fetch" must be true (download CRLs from the distribution points) or false`, { path: 'trust.crlRefresh.fetch' });
  }
  const urls = o.urls ?? [];
  const isCrlUrl = (u: unknown): boolean => typeof u === 'string' && /^https?:\/\/[^/]/i.test(u) && URL.canParse(u);
  if (!Array.isArray(urls) || !urls.every(isCrlUrl)) {
    throw new LtError('CONFIG_INVALID', `${file}: "trust.crlRefresh.urls" must be a list of http:// or https:// CRL URLs`, { path: 'trust.crlRefresh.urls' });
  }
  return {
    intervalMinutes: number('intervalMinutes', DEFAULT_CRL_REFRESH.intervalMinutes, (n) => n > 0, 'a positive number of minutes'),
    fetch: (o.fetch as boolean | undefined) ?? DEFAULT_CRL_REFRESH.fetch,
    warnBeforeHours: number('warnBeforeHours', DEFAULT_CRL_REFRESH.warnBeforeHours, (n) => n >= 0, 'a number of hours, 0 or more'),
    graceHours: number('graceHours', DEFAULT_CRL_REFRESH.graceHours, (n) => n >= 0, 'a number of hours, 0 or more (0: an expired CRL is not used)'),
    refreshFraction: number('refreshFraction', DEFAULT_CRL_REFRESH.refreshFraction, (n) => n > 0 && n <= 1, 'a fraction above 0 and at most 1 of a CRL\'s validity'),
    urls: urls as string[],
  };
}

export async function loadIdentityMaterial(files: IdentityFiles): Promise<IdentityMaterial> {
  const text = async (path: string): Promise<string> => (await readInput(path)).toString('utf8');
  return {
    keyPem: await text(files.key),
    certPem: await text(files.cert),
    ...(files.chain ? { chainPem: await text(files.chain) } : {}),
  };
}
