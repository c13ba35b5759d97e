/**
 * `lienthong hub check`: the hub's broker (as its administrator user, the way the hub
 * connects), the management API that provisions agencies, the user's permissions on the
 * deployment's prefix, the hub's exchanges and queues, the broker's headroom, then identity,
 * trust, disk and clock as for an edge.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { brokerFactsOf, estimate } from '../broker/capacity.js';
import { ManagementClient, tlsFetch, type NodeStats, type Permissions } from '../broker/management.js';
import { LANES } from '../broker/topology.js';
import { escapeForPermission, resourceNames, type ResourceNames } from '../broker/names.js';
import { amqpUrlsOf } from '../config.js';
import type { LtError } from '../errors.js';
import { hubDatabasePath, type HubConfig } from '../hub/config.js';
import { Directory } from '../hub/directory.js';
import { connectedRow, openBrokerSession, presenceRow, refusedRow, transportRow } from './broker.js';
import { clockSkewCheck } from './clock.js';
import { dataDirChecks } from './disk.js';
import { overviewUrl } from './edge.js';
import { identityChecks } from './identity.js';
import { ok, problem, skipped, type CheckRow } from './rows.js';

export interface HubCheckOptions {
  minFreeMb: number;
  maxSkewSeconds: number;
  now?: Date;
}

/** Above this share of its file descriptors a broker refuses new connections soon (each takes one). */
export const FD_HEADROOM = 0.9;

export async function hubChecks(config: HubConfig, options: HubCheckOptions): Promise<CheckRow[]> {
  const now = options.now ?? new Date();
  const names = resourceNames(config.prefix);
  const rows: CheckRow[] = [];
  for (const url of new Set(amqpUrlsOf(config))) rows.push(transportRow(url));
  rows.push(...(await topologyRows(config, names)));
  rows.push(...(await managementRows(config, names)));
  rows.push(...(await identityChecks({ organId: config.organId, identity: config.identity, trust: config.trust, node: 'hub', now })));
  rows.push(...(await dataDirChecks(config.dataDir, options.minFreeMb, '"dataDir" (or LT_DATA_DIR)')));
  const firstManagement = config.management.url.split(/\s*,\s*/)[0];
  rows.push(await clockSkewCheck(overviewUrl(firstManagement), options.maxSkewSeconds, 'correct "management.url" (LT_MANAGEMENT_URL) to compare clocks', tlsFetch(config.management.tls)));
  return rows;
}

function userOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || 'guest';
  } catch {
    return 'guest';
  }
}

async function topologyRows(config: HubConfig, names: ResourceNames): Promise<CheckRow[]> {
  const wanted: Array<{ kind: 'exchange' | 'queue'; name: string; label: string }> = [
    { kind: 'exchange', name: names.submit, label: 'submit exchange' },
    { kind: 'exchange', name: names.deliver, label: 'deliver exchange' },
    { kind: 'exchange', name: names.dead, label: 'dead-letter exchange' },
    { kind: 'queue', name: names.hubInbound.urgent, label: 'queue inbound urgent' },
    { kind: 'queue', name: names.hubInbound.normal, label: 'queue inbound normal' },
    { kind: 'queue', name: names.deadLetters, label: 'queue dead letters' },
  ];
  const opened = await openBrokerSession(amqpUrlsOf(config), 'lienthong hub check', config.tls ? { tls: config.tls } : {});
  if ('error' in opened) return [refusedRow(opened.error, '"amqpUrl" (or AMQP_URL) of hub.json'), skipped('hub topology', 'no broker connection')];
  const session = opened.session;
  try {
    const found = [];
    for (const w of wanted) {
      found.push(await presenceRow(session, w.kind, w.name, w.label, 'start the hub (lienthong hub --config hub.json): it declares its exchanges and queues at start; a running hub whose queues were deleted must be restarted'));
    }
    const rows: CheckRow[] = [connectedRow(session, userOf(session.connection.url))];
    // A deployment whose hub never started has none of them: not a fault yet.
    if (found.every((f) => !f.found && f.status === 'problem' && /does not exist/.test(f.detail))) {
      rows.push(skipped('hub topology', `none of the exchanges and queues of prefix "${names.prefix}" exists yet: the hub declares them at its first start`));
    } else {
      rows.push(...found.map(({ name, status, detail, fix }) => ({ name, status, detail, ...(fix ? { fix } : {}) })));
    }
    return rows;
  } finally {
    await session.close();
  }
}

async function managementRows(config: HubConfig, names: ResourceNames): Promise<CheckRow[]> {
  const api = new ManagementClient({ ...config.management, timeoutMs: 5000 });
  const failed = (error: unknown): string => {
    const e = error as Partial<LtError> & Error;
    return `${e.message}${e.code ? ` (${e.code})` : ''}`;
  };
  try {
    const overview = await api.overview();
    const rows: CheckRow[] = [ok('management API', `RabbitMQ ${overview.rabbitmq_version}, cluster "${overview.cluster_name}"`)];
    const me = await api.whoami();
    const admin = me.tags.includes('administrator');
    rows.push(
      admin
        ? ok('management user', `"${me.name}" has the administrator tag (agency add creates users, queues, permissions)`)
        : problem('management user', `"${me.name}" has tags [${me.tags.join(', ')}], not administrator: "lienthong agency add" cannot create users and permissions`, `rabbitmqctl set_user_tags ${me.name} administrator`),
    );
    const user = userOf(config.amqpUrl);
    // Only an administrator may read another user's permissions.
    if (!admin) rows.push(skipped('broker permissions', 'the management user may not read permissions'));
    else {
      rows.push(
        await api.getPermissions(user).then(
          (permissions) => permissionsRow(user, api.vhost, permissions, names),
          (error: unknown) => problem('broker permissions', failed(error), 'check the management API row above'),
        ),
      );
    }
    const agencies = agenciesServed(config);
    rows.push(await api.nodeStats().then((nodes) => capacityRow(nodes, agencies), (error: unknown) => skipped('broker capacity', `the management API does not tell: ${failed(error)}`)));
    return rows;
  } catch (error) {
    const code = (error as Partial<LtError>).code;
    const fix =
      code === 'BROKER_MANAGEMENT_LOGIN'
        ? 'set "management.user" and "management.password" (LT_MANAGEMENT_USER, LT_MANAGEMENT_PASSWORD) to an administrator of the broker'
        : 'enable the plugin (rabbitmq-plugins enable rabbitmq_management) or correct "management.url" (LT_MANAGEMENT_URL)';
    return [problem('management API', failed(error), fix), ...['management user', 'broker permissions', 'broker capacity'].map((n) => skipped(n, 'no management API'))];
  }
}

/** The hub declares, binds, publishes to and reads every resource of its prefix. */
export function permissionsRow(user: string, vhost: string, permissions: Permissions | undefined, names: ResourceNames): CheckRow {
  const name = 'broker permissions';
  const pattern = `^${escapeForPermission(names.prefix)}\\..*`;
  const fix = `rabbitmqctl set_permissions -p "${vhost}" ${user} '${pattern}' '${pattern}' '${pattern}'`;
  if (!permissions) return problem(name, `"${user}" has no permissions on vhost "${vhost}"`, fix);
  const resources = [names.submit, names.deliver, names.dead, names.deadLetters, names.hubInbound.urgent, names.hubInbound.normal, names.agencyQueue({ organId: '000.00.00.H12', queueToken: 'x' }, 'urgent')];
  const lacking: string[] = [];
  for (const kind of ['configure', 'write', 'read'] as const) {
    let regex: RegExp;
    try {
      regex = new RegExp(permissions[kind]);
    } catch {
      lacking.push(`${kind} "${permissions[kind]}" is no regular expression`);
      continue;
    }
    const missed = resources.filter((r) => !regex.test(r));
    if (missed.length > 0) lacking.push(`${kind} "${permissions[kind]}" misses ${missed.join(', ')}`);
  }
  if (lacking.length > 0) return problem(name, `"${user}" on vhost "${vhost}": ${lacking.join('; ')}`, fix);
  return ok(name, `"${user}" may configure, write and read every "${names.prefix}." resource on vhost "${vhost}"`);
}

/**
 * Alarms and file descriptors of every node: an alarm blocks every publisher, a broker out of
 * descriptors refuses the next edge's connection.
 */
export function capacityRow(nodes: readonly NodeStats[], agencies?: number): CheckRow {
  const name = 'broker capacity';
  const issues: string[] = [];
  const fixes: string[] = [];
  const figures: string[] = [];
  // The hub's own warning, for the agencies its directory holds (before the hub runs, too).
  if (agencies !== undefined) {
    for (const budget of brokerFactsOf(nodes).map((facts) => estimate(agencies, LANES.length, facts))) {
      if (!budget.ok) {
        issues.push(`node ${budget.node} holds about ${budget.maxAgencies} agencies, the directory has ${agencies}`);
        fixes.push(...budget.advice);
      } else figures.push(`${budget.node}: room for about ${budget.maxAgencies} agencies (${agencies} registered)`);
    }
  }
  for (const node of nodes) {
    if (!node.running) {
      issues.push(`node ${node.name} is not running`);
      fixes.push(`start ${node.name}`);
      continue;
    }
    if (node.mem_alarm) {
      issues.push(`node ${node.name} raised its memory alarm (${mib(node.mem_used)} of ${mib(node.mem_limit)} MiB): publishers are blocked`);
      fixes.push('give the broker more memory (vm_memory_high_watermark) or let the consumers drain the queues');
    }
    if (node.disk_free_alarm) {
      issues.push(`node ${node.name} raised its disk alarm (${mib(node.disk_free)} MiB free, limit ${mib(node.disk_free_limit)} MiB): publishers are blocked`);
      fixes.push("free disk space on the broker's data volume");
    }
    if (node.fd_total && node.fd_used !== undefined && node.fd_used > FD_HEADROOM * node.fd_total) {
      issues.push(`node ${node.name} uses ${node.fd_used} of its ${node.fd_total} file descriptors`);
      fixes.push("raise the broker's file descriptor limit (LimitNOFILE in its systemd unit, ulimit -n in a container)");
    }
    figures.push(`${node.name}: ${node.fd_used ?? '?'}/${node.fd_total ?? '?'} fds, ${mib(node.mem_used)}/${mib(node.mem_limit)} MiB memory`);
  }
  if (nodes.length === 0) return skipped(name, 'the management API lists no node');
  if (issues.length > 0) return problem(name, issues.join('; '), [...new Set(fixes)].join('; '));
  return ok(name, `no alarm; ${figures.join('; ')}`);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : String(Math.round(bytes / (1024 * 1024)));
}

/** Agencies with queues in the hub's directory; undefined before the hub's first start (no database yet). */
function agenciesServed(config: HubConfig): number | undefined {
  const path = hubDatabasePath(config);
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return new Directory(db).queueOwners();
  } catch {
    return undefined; // a database of an older schema: the hub migrates it at start
  } finally {
    db.close();
  }
}
