/** The hub's configuration file (`lienthong hub --config hub.json`) and its environment overrides. */
import { join } from 'node:path';
import { LtError } from '../errors.js';
import {
  DEFAULT_AMQP_URL,
  DEFAULT_MANAGEMENT_URL,
  brokerSettings,
  envSecret,
  identityFiles,
  readConfigFile,
  requireString,
  resolvePath,
  trustFiles,
  nodeSettings,
  trustProxySetting,
  type TrustProxy,
  type BrokerSettings,
  type NodeSettings,
  type IdentityFiles,
  type TrustFileConfig,
} from '../config.js';
import { isOrganId } from '../envelope/values.js';
import { federationSettings, type FederationConfig } from '../federation/config.js';
import { httpsSetting, type HttpsFiles } from '../https.js';
import type { ManagementOptions } from '../broker/management.js';
import { DEFAULT_AGENCY_USER_LIMITS, DEFAULT_QUEUE_LIMITS, type AgencyUserLimits, type QueueLimits } from '../broker/topology.js';

export interface HubConfig extends BrokerSettings, NodeSettings {
  /** The hub's own organ id: its certificate's UID, the From of the bounces it signs. */
  organId: string;
  organName: string;
  /** RabbitMQ management API. Env LT_MANAGEMENT_URL, LT_MANAGEMENT_USER, LT_MANAGEMENT_PASSWORD. */
  management: ManagementOptions;
  /** SQLite database and blob store live here. Env LT_DATA_DIR. */
  dataDir: string;
  identity: IdentityFiles;
  trust: TrustFileConfig;
  /** The operators' web dashboard and /metrics; absent = not served. Env LT_DASHBOARD_PORT. */
  dashboard?: DashboardConfig;
  /** What one agency may take of the broker and the hub. */
  quotas?: Partial<QuotaConfig>;
  /** How long the hub keeps the bytes of what it refused or dead-lettered. */
  retention?: Partial<RetentionConfig>;
  /** Links to other hubs (other provinces); absent: agencies of this hub only. */
  federation?: FederationConfig;
}

export interface QuotaConfig extends QueueLimits, AgencyUserLimits {
  /** Packets one agency may submit per minute; more are bounced with RATE_LIMITED. 0 = no limit. */
  packetsPerMinute: number;
}

export const DEFAULT_QUOTAS: QuotaConfig = { ...DEFAULT_QUEUE_LIMITS, ...DEFAULT_AGENCY_USER_LIMITS, packetsPerMinute: 600 };

export interface RetentionConfig {
  /** Days after which a refused packet's bytes are deleted (the row and its hash stay). */
  refusedDays: number;
  /** Days after which a dead letter's bytes are deleted; a pending one is discarded first. */
  deadLetterDays: number;
  /** How often the running hub prunes. */
  intervalMinutes: number;
}

export const DEFAULT_RETENTION: RetentionConfig = { refusedDays: 30, deadLetterDays: 30, intervalMinutes: 60 };

/** The quotas in force: the file's values over the defaults. */
export function quotasOf(config: Pick<HubConfig, 'quotas'>): QuotaConfig {
  return { ...DEFAULT_QUOTAS, ...config.quotas };
}

export function retentionOf(config: Pick<HubConfig, 'retention'>): RetentionConfig {
  const given = config.retention ?? {};
  return { ...DEFAULT_RETENTION, deadLetterDays: given.refusedDays ?? DEFAULT_RETENTION.deadLetterDays, ...given };
}

export interface DashboardConfig {
  host: string;
  port: number;
  /** An agency whose queue has waited this long without a consumer is shown as not receiving. Default 30. */
  staleAfterMinutes: number;
  /** Mark the session cookie Secure (behind HTTPS). Default false. */
  secureCookies: boolean;
  /** When set, /metrics needs `Authorization: Bearer <token>`; absent = public. Env LT_METRICS_TOKEN. */
  metricsToken?: string;
  /** Whose X-Forwarded-For names the client (login limits per address). Default false: nobody's. */
  trustProxy?: TrustProxy;
  /** Serve HTTPS with this certificate and key ("dashboard.tls"; the session cookie is then Secure); absent: HTTP. */
  tls?: HttpsFiles;
}

export async function loadHubConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<HubConfig> {
  const { raw, baseDir } = await readConfigFile(path);
  return hubConfigFrom(raw, baseDir, path, env);
}

export function hubConfigFrom(raw: Record<string, unknown>, baseDir: string, file: string, env: NodeJS.ProcessEnv): HubConfig {
  const organId = requireString(raw, 'organId', file);
  if (!isOrganId(organId)) throw new LtError('CONFIG_INVALID', `${file}: "organId" ${organId} is not an organ id`, { path: 'organId' });
  const management = (raw.management ?? {}) as Partial<Omit<ManagementOptions, 'url'>> & { url?: string | string[] };
  const broker = brokerSettings(raw, env, DEFAULT_AMQP_URL, file, baseDir);
  const federation = federationSettings(raw.federation, { file, baseDir, env, hubOrganId: organId, hubPrefix: broker.prefix });
  return {
    ...broker,
    ...nodeSettings(raw, file, 8, env),
    organId,
    organName: typeof raw.organName === 'string' ? raw.organName : 'lienthong hub',
    management: {
      url: env.LT_MANAGEMENT_URL ?? managementUrls(management.url, file) ?? DEFAULT_MANAGEMENT_URL,
      user: env.LT_MANAGEMENT_USER ?? management.user ?? 'guest',
      password: envSecret(env, 'LT_MANAGEMENT_PASSWORD') ?? management.password ?? 'guest',
      vhost: management.vhost ?? vhostOf(broker.amqpUrl),
      // The management API of a TLS broker is served with the broker's certificates.
      ...(broker.tls ? { tls: broker.tls } : {}),
    },
    dataDir: resolvePath(baseDir, env.LT_DATA_DIR ?? (typeof raw.dataDir === 'string' ? raw.dataDir : 'var/hub')),
    identity: identityFiles(raw.identity, baseDir, file),
    trust: trustFiles(raw.trust, baseDir, file),
    ...dashboardConfig(raw.dashboard as Partial<DashboardConfig> | undefined, env, file, baseDir),
    ...numbersSection(raw, 'quotas', Object.keys(DEFAULT_QUOTAS), file, true),
    ...numbersSection(raw, 'retention', Object.keys(DEFAULT_RETENTION), file, false),
    ...(federation ? { federation } : {}),
  };
}

/** An optional section of numeric settings; unknown keys are refused so that a typo is not a silent default. */
function numbersSection(raw: Record<string, unknown>, key: 'quotas' | 'retention', known: string[], file: string, zeroAllowed: boolean): Record<string, Record<string, number>> {
  const section = raw[key];
  if (section === undefined) return {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new LtError('CONFIG_INVALID', `${file}: "${key}" must be an object of numbers (${known.join(', ')})`, { path: key });
  }
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(section)) {
    if (!known.includes(name)) throw new LtError('CONFIG_INVALID', `${file}: "${key}.${name}" is not a setting; known: ${known.join(', ')}`, { path: `${key}.${name}` });
    const zeroOk = zeroAllowed && name === 'packetsPerMinute';
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroOk)) {
      throw new LtError('CONFIG_INVALID', `${file}: "${key}.${name}" must be a ${zeroOk ? 'non-negative' : 'positive'} number`, { path: `${key}.${name}` });
    }
    out[name] = value;
  }
  return { [key]: out };
}

function dashboardConfig(raw: Partial<DashboardConfig> | undefined, env: NodeJS.ProcessEnv, file: string, baseDir: string): { dashboard?: DashboardConfig } {
  if (!raw && !env.LT_DASHBOARD_PORT) return {};
  const metricsToken = env.LT_METRICS_TOKEN ?? raw?.metricsToken;
  const tls = httpsSetting(raw?.tls, (path) => resolvePath(baseDir, path), file, 'dashboard.tls');
  return {
    dashboard: {
      host: raw?.host ?? '127.0.0.1',
      port: env.LT_DASHBOARD_PORT ? Number(env.LT_DASHBOARD_PORT) : (raw?.port ?? 8090),
      staleAfterMinutes: raw?.staleAfterMinutes ?? 30,
      secureCookies: raw?.secureCookies ?? false,
      ...(metricsToken ? { metricsToken } : {}),
      trustProxy: trustProxySetting(raw?.trustProxy, file, 'dashboard.trustProxy'),
      ...(tls ? { tls } : {}),
    },
  };
}

/** "management.url": one URL, or one per node (an array, kept as the comma-separated text the client takes). */
function managementUrls(value: unknown, file: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((url) => typeof url === 'string')) return value.join(',');
  throw new LtError('CONFIG_INVALID', `${file}: "management.url" must be the management API's URL or an array of them (one per node)`, { path: 'management.url' });
}

/** The vhost named in an AMQP URL ("/" when none). */
export function vhostOf(url: string | undefined): string {
  if (!url) return '/';
  try {
    const path = new URL(url).pathname;
    return path && path !== '/' ? decodeURIComponent(path.slice(1)) : '/';
  } catch {
    return '/';
  }
}

export function hubDatabasePath(config: HubConfig): string {
  return join(config.dataDir, 'hub.sqlite');
}
