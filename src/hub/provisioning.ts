/**
 * `lienthong agency add|suspend|resume|remove`: the directory row and the broker side of an
 * agency together (user, permissions, two quorum queues, bindings), through the management API.
 * Broker first, directory second: a failure half-way leaves nothing the hub would route to, and
 * every broker call is idempotent, so the command can simply be run again.
 */
import { LtError } from '../errors.js';
import { newSecret } from '../ids.js';
import type { ManagementClient } from '../broker/management.js';
import type { ResourceNames } from '../broker/names.js';
import { LINK_NAME_PATTERN } from '../broker/names.js';
import { LANES, linkPermissions, agencyPermissions, provisionAgencyQueues, provisionAgencyUserLimits, DEFAULT_AGENCY_USER_LIMITS, type AgencyUserLimits } from '../broker/topology.js';
import { isOrganId } from '../envelope/values.js';
import { appendAudit } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { Directory, type Agency } from './directory.js';
import { linkFor, type LinkRoute } from '../federation/patterns.js';

export interface ProvisioningContext {
  db: Db;
  api: ManagementClient;
  names: ResourceNames;
  /** Who does it, for the audit trail. */
  actor: string;
  now?: () => Date;
  /** Connections and channels the agency's broker user may hold (default DEFAULT_AGENCY_USER_LIMITS). */
  userLimits?: AgencyUserLimits;
  /** The hub's links to other hubs: an agency they serve is not this hub's to add. */
  links?: readonly LinkRoute[];
}

export async function addAgency(
  ctx: ProvisioningContext,
  input: { organId: string; name: string; parentId?: string; password?: string },
): Promise<{ agency: Agency; password: string }> {
  if (!isOrganId(input.organId)) {
    throw new LtError('USAGE', `"${input.organId}" is not an organ id (expected V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.01.H12)`);
  }
  if (!input.name.trim()) throw new LtError('USAGE', '--name is required');
  const link = linkFor(input.organId, ctx.links ?? []);
  if (link) {
    throw new LtError(
      'USAGE',
      `${input.organId} is served by link "${link.name}" (${link.patterns.map((p) => p.text).join(', ')}) in this hub's federation settings: it is another hub's agency; narrow the link's patterns first if it really is this hub's`,
    );
  }
  const directory = new Directory(ctx.db);
  const existing = directory.get(input.organId);
  if (existing && existing.status !== 'removed') {
    throw new LtError('AGENCY_EXISTS', `agency ${input.organId} is already registered (${existing.status})`);
  }
  if (input.parentId && !directory.get(input.parentId)) {
    throw new LtError('AGENCY_UNKNOWN', `the parent agency ${input.parentId} is not registered; add it first`);
  }
  const user = ctx.names.agencyUser(input.organId);
  const password = input.password ?? newSecret();
  // Fresh at every add: an agency removed and added again (re-provisioned) gets new names too.
  const owner = { organId: input.organId, queueToken: newSecret(16) };
  await ctx.api.putUser(user, password);
  // Limits before the edge can have the password: a leaked one cannot open a flood of connections.
  await provisionAgencyUserLimits(ctx.api, ctx.names, input.organId, ctx.userLimits ?? DEFAULT_AGENCY_USER_LIMITS);
  await ctx.api.setPermissions(user, agencyPermissions(ctx.names, owner));
  await provisionAgencyQueues(ctx.api, ctx.names, owner);
  const now = ctx.now?.() ?? new Date();
  const agency = ctx.db.transaction(() => {
    const a = directory.insert({ organId: input.organId, name: input.name, brokerUser: user, queueToken: owner.queueToken, ...(input.parentId ? { parentId: input.parentId } : {}) }, now);
    appendAudit(ctx.db, { actor: ctx.actor, action: 'agency.add', subject: input.organId, details: { name: input.name, parentId: input.parentId ?? null, brokerUser: user } }, now);
    return a;
  }).immediate();
  return { agency, password };
}

export function setAgencyStatus(ctx: Pick<ProvisioningContext, 'db' | 'actor' | 'now'>, organId: string, status: 'active' | 'suspended'): Agency {
  const directory = new Directory(ctx.db);
  const now = ctx.now?.() ?? new Date();
  return ctx.db.transaction(() => {
    const existing = directory.get(organId);
    if (!existing || existing.status === 'removed') throw new LtError('AGENCY_UNKNOWN', `agency ${organId} is not registered`);
    const agency = directory.setStatus(organId, status, now);
    appendAudit(ctx.db, { actor: ctx.actor, action: status === 'suspended' ? 'agency.suspend' : 'agency.resume', subject: organId }, now);
    return agency;
  }).immediate();
}

/** Removes an agency whose queues are empty; refuses otherwise, naming what is still waiting. */
export async function removeAgency(ctx: ProvisioningContext, organId: string): Promise<Agency> {
  const directory = new Directory(ctx.db);
  const existing = directory.get(organId);
  if (!existing || existing.status === 'removed') throw new LtError('AGENCY_UNKNOWN', `agency ${organId} is not registered`);
  // Suspended first: the hub then bounces new documents instead of queueing them, so the queues
  // stay empty between the check below and their deletion (quorum queues have no if-empty delete).
  if (existing.status === 'active') setAgencyStatus(ctx, organId, 'suspended');
  const waiting: string[] = [];
  for (const lane of LANES) {
    const queue = await ctx.api.getQueue(ctx.names.agencyQueue(existing, lane));
    if (queue && queue.messages > 0) waiting.push(`${queue.name}: ${queue.messages}`);
  }
  if (waiting.length > 0) {
    throw new LtError(
      'AGENCY_NOT_EMPTY',
      `agency ${organId} still has undelivered packets (${waiting.join(', ')}); it is now suspended (no new documents reach it): let its edge drain the queues, then remove it again`,
    );
  }
  for (const lane of LANES) await ctx.api.deleteQueue(ctx.names.agencyQueue(existing, lane));
  await ctx.api.deleteUser(existing.brokerUser);
  const now = ctx.now?.() ?? new Date();
  return ctx.db.transaction(() => {
    const agency = directory.setStatus(organId, 'removed', now);
    appendAudit(ctx.db, { actor: ctx.actor, action: 'agency.remove', subject: organId }, now);
    return agency;
  }).immediate();
}

/**
 * `lienthong hub link add <name>`: the broker user another hub's link process publishes to this
 * hub's federation intake as (`P.link.<name>`), allowed to write to `P.federation-in` and nothing
 * else. This hub's configuration names the same link (its patterns, trust anchors, and this
 * user as its peer user, the default); the other hub puts the credentials in its link's URL.
 * Idempotent on the broker; a new password each time it is run.
 */
export async function addLink(ctx: ProvisioningContext, input: { name: string; password?: string }): Promise<{ user: string; password: string }> {
  if (!LINK_NAME_PATTERN.test(input.name)) throw new LtError('USAGE', `"${input.name}" is not a link name (1-32 lower-case letters, digits, "-" or "_", e.g. h53)`);
  const user = ctx.names.linkUser(input.name);
  const password = input.password ?? newSecret();
  await ctx.api.putExchange(ctx.names.federationIn, 'direct');
  await ctx.api.putUser(user, password);
  await ctx.api.putUserLimit(user, 'max-connections', (ctx.userLimits ?? DEFAULT_AGENCY_USER_LIMITS).maxConnections);
  await ctx.api.putUserLimit(user, 'max-channels', (ctx.userLimits ?? DEFAULT_AGENCY_USER_LIMITS).maxChannels);
  await ctx.api.setPermissions(user, linkPermissions(ctx.names));
  const now = ctx.now?.() ?? new Date();
  ctx.db.transaction(() => appendAudit(ctx.db, { actor: ctx.actor, action: 'link.add', subject: input.name, details: { brokerUser: user } }, now)).immediate();
  return { user, password };
}

/** `lienthong hub link remove <name>`: the other hub can no longer publish to this one. */
export async function removeLink(ctx: ProvisioningContext, name: string): Promise<{ user: string }> {
  if (!LINK_NAME_PATTERN.test(name)) throw new LtError('USAGE', `"${name}" is not a link name`);
  const user = ctx.names.linkUser(name);
  await ctx.api.deleteUser(user);
  const now = ctx.now?.() ?? new Date();
  ctx.db.transaction(() => appendAudit(ctx.db, { actor: ctx.actor, action: 'link.remove', subject: name, details: { brokerUser: user } }, now)).immediate();
  return { user };
}
