/** An edge node's configuration file (`lienthong edge --config edge.json`) and its environment overrides. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LtError } from '../errors.js';
import {
  brokerSettings,
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
import { QUEUE_TOKEN_PARAMETER, QUEUE_TOKEN_PATTERN } from '../broker/names.js';
import { isOrganId } from '../envelope/values.js';
import { SYSTEM_ID_PATTERN } from '../sdk-protocol/index.js';
import { httpsSetting, type HttpsFiles } from '../https.js';
import type { Organization } from '../envelope/types.js';
import type { RecallPolicy } from './lifecycle.js';
import { publicUrlSetting, webhookRetrySettings, webhookSettings, type WebhookConfig, type WebhookRetry } from './webhook-settings.js';
import { folderSetting, type FolderConfig } from './folder-settings.js';

export interface ApiKeyConfig {
  /** The client system's name (shown in the outbox, logs). */
  name: string;
  /** Hex SHA-256 of the key; the key itself is never stored. */
  sha256: string;
}

/** A program written for the national SDK, allowed through the SDK door (`lienthong apikey new --sdk`). */
export interface SdkClientConfig {
  /** The SDK's `systemid`: the system the program says it is. */
  systemId: string;
  /** The shared HMAC secret, from "secret" or read from "secretFile". */
  secret: string;
}

export interface EdgeApiConfig {
  host: string;
  port: number;
  keys: ApiKeyConfig[];
  /** Largest request body, bytes. Default 48 MiB (a 32 MiB packet in base64 JSON). */
  bodyLimit: number;
  /** Requests per API key and window. Default 600 per minute; false turns it off. */
  rateLimit?: { max: number; timeWindow: number } | false;
  /** Whose X-Forwarded-For names the client (logs). Default false: nobody's. */
  trustProxy?: TrustProxy;
  /** Serve HTTPS with this certificate and key ("api.tls"); absent: HTTP (behind a TLS-terminating proxy, or on loopback). */
  tls?: HttpsFiles;
  /** Programs written for the national SDK ("api.sdkClients"); with any, the SDK door answers under /sdk. */
  sdkClients?: SdkClientConfig[];
  /** Where clients reach this API from outside ("api.publicUrl"): the base of the links in webhook payloads. */
  publicUrl?: string;
}

export interface EdgeConfig extends BrokerSettings, NodeSettings {
  /** This agency's organ id: its certificate UID and the From of everything it sends. */
  organId: string;
  /** The From block written into outgoing packets. */
  organization: Organization;
  /** The hub's organ id: status 02 from it are bounces. */
  hubOrganId: string;
  /**
   * Broker user the edge publishes as (AMQP user-id): the user name of the AMQP URL, which must
   * be the agency's own (`agency add`); `Edge.start` refuses any other.
   */
  brokerUser: string;
  /**
   * The random part of this agency's queue names, from `agency add`: the `queueToken`
   * parameter of the AMQP URL, which travels with the password. Empty: the old names.
   */
  queueToken: string;
  /** SQLite database and blob store. Env LT_DATA_DIR. */
  dataDir: string;
  identity: IdentityFiles;
  trust: TrustFileConfig;
  /** REST adapter; absent = no HTTP server. Env LT_API_PORT overrides the port. */
  api?: EdgeApiConfig;
  /** Answer recalls automatically ("accept": 15, or 16 when completed) or let a clerk ("manual"). */
  recallPolicy: RecallPolicy;
  /** ClamAV daemon that scans attachments before signing: a socket path or tcp://host:port. Env LT_CLAMD. */
  clamd?: string;
  /** Where to POST new documents and status changes ("webhooks"); none by default. */
  webhooks?: WebhookConfig[];
  /** How webhook deliveries are retried and when given up ("webhookRetry"). */
  webhookRetry?: WebhookRetry;
  /** Folder drop (outgoing/, sent/, failed/, incoming/); absent = none. */
  folder?: FolderConfig;
}

export async function loadEdgeConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<EdgeConfig> {
  const { raw, baseDir } = await readConfigFile(path);
  return edgeConfigFrom(raw, baseDir, path, env);
}

export function edgeConfigFrom(raw: Record<string, unknown>, baseDir: string, file: string, env: NodeJS.ProcessEnv): EdgeConfig {
  const organId = requireString(raw, 'organId', file);
  if (!isOrganId(organId)) throw new LtError('CONFIG_INVALID', `${file}: "organId" ${organId} is not an organ id`, { path: 'organId' });
  const hubOrganId = requireString(raw, 'hubOrganId', file);
  // No fallback to the broker's administrator: what an edge publishes as any user but its
  // agency's own, the hub cannot attribute (see broker-identity.ts).
  const broker = brokerSettings(raw, env, '', file, baseDir);
  const organization = { ...((raw.organization as Organization | undefined) ?? {}), organId };
  if (!organization.organName && typeof raw.organName === 'string') organization.organName = raw.organName;
  const folder = folderSetting(raw.folder, baseDir, file);
  const apiRaw = raw.api as Partial<EdgeApiConfig> | undefined;
  const port = env.LT_API_PORT ? Number(env.LT_API_PORT) : apiRaw?.port;
  const api: EdgeApiConfig | undefined =
    apiRaw || env.LT_API_PORT
      ? {
          host: apiRaw?.host ?? '127.0.0.1',
          port: port ?? 8080,
          keys: Array.isArray(apiRaw?.keys) ? apiRaw.keys : [],
          bodyLimit: apiRaw?.bodyLimit ?? 48 * 1024 * 1024,
          trustProxy: trustProxySetting(apiRaw?.trustProxy, file, 'api.trustProxy'),
          ...httpsSection(httpsSetting(apiRaw?.tls, (path) => resolvePath(baseDir, path), file, 'api.tls')),
          ...(apiRaw?.rateLimit !== undefined ? { rateLimit: apiRaw.rateLimit } : {}),
          ...(apiRaw?.sdkClients !== undefined ? { sdkClients: sdkClientsSetting(apiRaw.sdkClients, baseDir, file) } : {}),
          ...optional('publicUrl', publicUrlSetting(apiRaw?.publicUrl, file)),
        }
      : undefined;
  return {
    ...broker,
    ...nodeSettings(raw, file, 4, env),
    organId,
    organization,
    hubOrganId,
    brokerUser: userOf(broker.amqpUrl),
    queueToken: queueTokenOf(broker.amqpUrl, file),
    dataDir: resolvePath(baseDir, env.LT_DATA_DIR ?? (typeof raw.dataDir === 'string' ? raw.dataDir : `var/edge-${organId}`)),
    identity: identityFiles(raw.identity, baseDir, file),
    trust: trustFiles(raw.trust, baseDir, file),
    ...(api ? { api } : {}),
    recallPolicy: raw.recallPolicy === 'manual' ? 'manual' : 'accept',
    ...(env.LT_CLAMD || typeof raw.clamd === 'string' ? { clamd: env.LT_CLAMD ?? (raw.clamd as string) } : {}),
    webhooks: webhookSettings(raw.webhooks, file, baseDir),
    webhookRetry: webhookRetrySettings(raw.webhookRetry, file),
    ...(folder ? { folder } : {}),
  };
}

function userOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username);
  } catch {
    return '';
  }
}

function queueTokenOf(url: string, file: string): string {
  let token: string;
  try {
    token = new URL(url).searchParams.get(QUEUE_TOKEN_PARAMETER) ?? '';
  } catch {
    return '';
  }
  if (!QUEUE_TOKEN_PATTERN.test(token)) {
    throw new LtError('CONFIG_INVALID', `${file}: the ${QUEUE_TOKEN_PARAMETER} of the AMQP URL (amqpUrl / AMQP_URL) is not one "agency add" writes; copy the URL it printed again`, { path: 'amqpUrl' });
  }
  return token;
}

export function edgeDatabasePath(config: Pick<EdgeConfig, 'dataDir'>): string {
  return join(config.dataDir, 'edge.sqlite');
}

const SDK_SECRET_MIN = 16;

/** "api.sdkClients": `[{systemId, secret}]` or `[{systemId, secretFile}]` (relative to the file; one trailing line break ignored). */
function sdkClientsSetting(value: unknown, baseDir: string, file: string): SdkClientConfig[] {
  if (!Array.isArray(value)) throw new LtError('CONFIG_INVALID', `${file}: "api.sdkClients" must be a list of {"systemId", "secret" or "secretFile"}`, { path: 'api.sdkClients' });
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const path = `api.sdkClients[${i}]`;
    const e = (entry ?? {}) as { systemId?: unknown; secret?: unknown; secretFile?: unknown };
    if (typeof e.systemId !== 'string' || !SYSTEM_ID_PATTERN.test(e.systemId)) {
      throw new LtError('CONFIG_INVALID', `${file}: ${path}.systemId must be the SDK's systemid: 1 to 100 printable ASCII characters without blanks`, { path: `${path}.systemId` });
    }
    if (seen.has(e.systemId)) throw new LtError('CONFIG_INVALID', `${file}: ${path}.systemId "${e.systemId}" is listed twice`, { path: `${path}.systemId` });
    seen.add(e.systemId);
    if ((e.secret === undefined) === (e.secretFile === undefined)) {
      throw new LtError('CONFIG_INVALID', `${file}: ${path} ("${e.systemId}") needs exactly one of "secret" and "secretFile"`, { path });
    }
    let secret: string;
    if (e.secretFile !== undefined) {
      if (typeof e.secretFile !== 'string') throw new LtError('CONFIG_INVALID', `${file}: ${path}.secretFile must be a path`, { path: `${path}.secretFile` });
      const secretPath = resolvePath(baseDir, e.secretFile);
      try {
        secret = readFileSync(secretPath, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new LtError('CONFIG_INVALID', `${file}: ${path}.secretFile names ${secretPath}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { path: `${path}.secretFile` });
      }
    } else {
      if (typeof e.secret !== 'string') throw new LtError('CONFIG_INVALID', `${file}: ${path}.secret must be a string`, { path: `${path}.secret` });
      secret = e.secret;
    }
    if (secret.length < SDK_SECRET_MIN) {
      throw new LtError('CONFIG_INVALID', `${file}: the secret of ${path} ("${e.systemId}") has fewer than ${SDK_SECRET_MIN} characters; make one with "lienthong apikey new --sdk ${e.systemId}"`, { path });
    }
    return { systemId: e.systemId, secret };
  });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function httpsSection(tls: HttpsFiles | undefined): { tls?: HttpsFiles } {
  return tls ? { tls } : {};
}
