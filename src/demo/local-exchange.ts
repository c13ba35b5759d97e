/**
 * A whole exchange on one machine: a hub and any number of edges under one broker prefix and
 * one temporary directory, provisioned with the development certificates of certs-dev/. The
 * demo runs on it; so do the integration tests and benchmarks. `stop()` removes everything it
 * created, on the broker and on disk.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerConnection, withCredentials } from '../broker/connection.js';

import { ManagementClient, type ManagementOptions } from '../broker/management.js';
import { resourceNames, type ResourceNames } from '../broker/names.js';
import { assertTlsUrls, brokerTlsSetting } from '../broker/tls.js';
import { deleteDeployment } from '../broker/topology.js';
import { DEFAULT_AMQP_URL, DEFAULT_MANAGEMENT_URL, DEFAULT_STOP_TIMEOUT_SECONDS, type TrustFileConfig } from '../config.js';
import type { EdgeConfig } from '../edge/config.js';
import { Edge, type EdgeOptions } from '../edge/edge.js';
import { LtError } from '../errors.js';
import { quotasOf, vhostOf, type HubConfig } from '../hub/config.js';
import { Hub, type HubOptions } from '../hub/hub.js';
import { addAgency } from '../hub/provisioning.js';
import { silentLogger, type Logger } from '../log.js';
import { EDGE_ADAPTERS } from '../adapters/edge-adapters.js';

/** The checkout's development PKI (never for production). */
export const DEV_CERTS = fileURLToPath(new URL('../../certs-dev/', import.meta.url));

export function devPath(...parts: string[]): string {
  return join(DEV_CERTS, ...parts);
}

export const DEV_HUB = { organId: '000.00.90.H12', organName: 'Trục liên thông văn bản tỉnh Cà Mau (DEV hub)' };

/** The development root is refused as an anchor unless a configuration says `dev: true`, as this one does. */
export function devTrust(): TrustFileConfig {
  return {
    anchors: [devPath('root-ca.pem')],
    intermediates: [devPath('issuing-ca.pem')],
    crls: [devPath('issuing-ca.crl.pem'), devPath('root-ca.crl.pem')],
    revocation: 'require',
    dev: true,
  };
}

export interface AgencySpec {
  organId: string;
  organName: string;
  /** Certificate to use instead of certs-dev/agencies/<organId> (e.g. revoked/, expired/). */
  identity?: EdgeConfig['identity'];
  /** Provision and configure, but do not start the edge. */
  start?: boolean;
  edgeOptions?: EdgeOptions;
  /** Overrides of the edge configuration. */
  config?: Partial<EdgeConfig>;
}

export interface LocalExchangeOptions {
  env?: NodeJS.ProcessEnv;
  amqpUrl?: string;
  management?: Partial<ManagementOptions>;
  /** Broker prefix; default a fresh "<prefixBase>-xxxxxx". */
  prefix?: string;
  prefixBase?: string;
  /** Where databases go; default a fresh temporary directory, deleted by stop(). */
  dir?: string;
  log?: Logger;
  hubOptions?: HubOptions;
  hubConfig?: Partial<HubConfig>;
  /** Start the hub. Default true. */
  startHub?: boolean;
  agencies: AgencySpec[];
}

export interface LocalExchange {
  prefix: string;
  names: ResourceNames;
  dir: string;
  api: ManagementClient;
  amqpUrl: string;
  hub: Hub;
  hubConfig: HubConfig;
  /** The operators' dashboard, when `hubConfig.dashboard` is given (port 0 is bound to a free port). */
  dashboardUrl: string | undefined;
  edges: Map<string, Edge>;
  edgeConfigs: Map<string, EdgeConfig>;
  /** The edge of an agency (throws when there is none). */
  edge(organId: string): Edge;
  /** Provision one more agency (and start its edge unless spec.start === false). */
  addAgency(spec: AgencySpec): Promise<EdgeConfig>;
  stop(options?: { keepBroker?: boolean; keepFiles?: boolean }): Promise<void>;
}

export function managementOptions(amqpUrl: string, env: NodeJS.ProcessEnv, given: Partial<ManagementOptions> = {}): ManagementOptions {
  return {
    url: given.url ?? env.LT_MANAGEMENT_URL ?? DEFAULT_MANAGEMENT_URL,
    user: given.user ?? env.LT_MANAGEMENT_USER ?? 'guest',
    password: given.password ?? env.LT_MANAGEMENT_PASSWORD ?? 'guest',
    vhost: given.vhost ?? vhostOf(amqpUrl),
  };
}

export async function startLocalExchange(options: LocalExchangeOptions): Promise<LocalExchange> {
  if (!existsSync(devPath('root-ca.pem'))) {
    throw new LtError('CONFIG_INVALID', `the development certificates are missing in ${DEV_CERTS}; run "lienthong certs init"`);
  }
  const env = options.env ?? process.env;
  const amqpUrl = options.amqpUrl ?? env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const prefix = options.prefix ?? `${options.prefixBase ?? 'lt-local'}-${randomBytes(3).toString('hex')}`;
  const names = resourceNames(prefix);
  const log = options.log ?? silentLogger();
  // A TLS broker: its CA (and the administrator's client certificate) from the environment, as the CLI's nodes take them.
  const tls = brokerTlsSetting(undefined, env, (path) => resolve(path), 'the environment');
  assertTlsUrls(tls, [amqpUrl], 'the environment');
  const management = managementOptions(amqpUrl, env, { ...(tls ? { tls } : {}), ...options.management });
  const api = new ManagementClient(management);

  // Fail early, with the hint, when there is no broker at all.
  const probe = await BrokerConnection.connect(amqpUrl, { name: 'lienthong probe', initialRetries: 2, log, ...(tls ? { tls } : {}) });
  await probe.close();
  await api.overview();

  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `${prefix}-`));
  const hubConfig: HubConfig = {
    organId: DEV_HUB.organId,
    organName: DEV_HUB.organName,
    amqpUrl,
    prefix,
    management,
    dataDir: join(dir, 'hub'),
    identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
    trust: devTrust(),
    maxPacketBytes: 32 * 1024 * 1024,
    cryptoThreads: 1,
    concurrency: 8,
    synchronous: 'normal',
    calendar: {},
    urgentReceiptMinutes: 30,
    stopTimeoutSeconds: DEFAULT_STOP_TIMEOUT_SECONDS,
    ...(tls ? { tls } : {}),
    ...options.hubConfig,
  };
  const hub = new Hub(hubConfig, { log, ...options.hubOptions });
  const edges = new Map<string, Edge>();
  const edgeConfigs = new Map<string, EdgeConfig>();
  let dashboard: { url: string; close(): Promise<void> } | undefined;

  const exchange: LocalExchange = {
    prefix,
    names,
    dir,
    api,
    amqpUrl,
    hub,
    hubConfig,
    get dashboardUrl() {
      return dashboard?.url;
    },
    edges,
    edgeConfigs,
    edge(organId) {
      const edge = edges.get(organId);
      if (!edge) throw new LtError('AGENCY_UNKNOWN', `no edge for ${organId} in this exchange`);
      return edge;
    },
    async addAgency(spec) {
      const { agency, password } = await addAgency(
        { db: hub.db, api, names, actor: 'local-exchange', userLimits: quotasOf(hubConfig), ...(hubConfig.federation ? { links: hubConfig.federation.links } : {}) },
        { organId: spec.organId, name: spec.organName },
      );
      const config: EdgeConfig = {
        amqpUrl: withCredentials(amqpUrl, agency.brokerUser, password, agency.queueToken),
        prefix,
        organId: spec.organId,
        organization: { organId: spec.organId, organName: spec.organName },
        hubOrganId: hubConfig.organId,
        brokerUser: agency.brokerUser,
        queueToken: agency.queueToken,
        dataDir: join(dir, spec.organId),
        identity: spec.identity ?? {
          key: devPath('agencies', `${spec.organId}.key.pem`),
          cert: devPath('agencies', `${spec.organId}.pem`),
          chain: devPath('issuing-ca.pem'),
        },
        trust: devTrust(),
        maxPacketBytes: 32 * 1024 * 1024,
        cryptoThreads: 1,
        concurrency: 4,
        synchronous: 'normal',
        calendar: {},
        urgentReceiptMinutes: 30,
        stopTimeoutSeconds: DEFAULT_STOP_TIMEOUT_SECONDS,
        recallPolicy: 'accept',
        // The CA only: a client certificate would log every edge in as the administrator.
        ...(tls?.ca ? { tls: { ca: tls.ca, ...(tls.servername ? { servername: tls.servername } : {}) } } : {}),
        ...spec.config,
      };
      edgeConfigs.set(spec.organId, config);
      if (spec.start !== false) {
        const edge = new Edge(config, { log, adapters: EDGE_ADAPTERS, ...spec.edgeOptions });
        edges.set(spec.organId, edge);
        await edge.start();
      }
      return config;
    },
    async stop(stopOptions = {}) {
      for (const edge of edges.values()) await edge.stop().catch(() => {});
      edges.clear();
      await dashboard?.close().catch(() => {});
      await hub.stop().catch(() => {});
      if (!stopOptions.keepBroker) await deleteDeployment(api, names).catch(() => {});
      if (ownDir && !stopOptions.keepFiles) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (options.startHub !== false) {
      if (hubConfig.dashboard) {
        const { startHubWithDashboard } = await import('../dashboard/server.js');
        dashboard = await startHubWithDashboard(hub, options.hubOptions?.clock);
      } else {
        await hub.start();
      }
    }
    for (const spec of options.agencies) await exchange.addAgency(spec);
  } catch (error) {
    await exchange.stop();
    throw error;
  }
  return exchange;
}
