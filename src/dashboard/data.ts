/**
 * What the pages and the JSON API show, gathered once for both: the hub's reports
 * (src/hub/reports.ts) over its database, the queue snapshot, the dead letters, the links to
 * other hubs.
 */
import type { WorkingCalendar } from '../envelope/calendar.js';
import type { ResourceNames } from '../broker/names.js';
import { deadLetterCause, readPayload, type DeadLetterCause, type PayloadReading } from '../hub/dead-letter-cause.js';
import type { DeadLetter } from '../hub/dead-letters.js';
import type { LinkStats } from '../federation/link-process.js';
import {
  agencyActivity,
  documentJourney,
  findDocuments,
  linkReport,
  overview,
  usageReport,
  type AgencyActivity,
  type DocumentJourney,
  type LinkTraffic,
  type Overview,
  type UsageRow,
} from '../hub/reports.js';
import type { Db } from '../store/db.js';
import type { HealthSnapshot } from '../health.js';
import type { Period } from './format.js';
import type { LaneState, QueueMonitor, QueueSnapshot } from './queues.js';

/** What the dashboard asks of the hub's dead-letter store (Hub.deadLetters). */
export interface DeadLetterStore {
  list(filter?: { status?: DeadLetter['status']; limit?: number; offset?: number }): { total: number; items: DeadLetter[] };
  get(id: number): DeadLetter | undefined;
  /** The stored bytes, or undefined once retention deleted them. */
  payload(id: number): Promise<Buffer | undefined>;
  replay(id: number, actor: string): Promise<{ outcome: string }>;
  discard(id: number, actor: string, reason?: string): void;
}

export interface DataContext {
  db: Db;
  names: ResourceNames;
  calendar: WorkingCalendar;
  urgentReceiptMinutes: number;
  monitor: QueueMonitor;
  clock: () => Date;
  /** What keeps the hub from doing all its work right now (its health board). */
  health?: () => HealthSnapshot;
  /** The hub's links to other hubs, when hub.json has a "federation" section. */
  federation?: DashboardFederation;
}

/** What the dashboard knows of the hub's links to other hubs. */
export interface DashboardFederation {
  /** The links hub.json configures. */
  links: ReadonlyArray<{ name: string; kind: string; patterns: readonly string[] }>;
  /** What each link process has done since the hub started (Hub.linkStats; none before it started). */
  stats: () => LinkStats[];
}

export interface OverviewData {
  overview: Overview;
  queues: QueueSnapshot;
  health: HealthSnapshot;
  /** The links at a glance, when the hub has any. */
  links?: LinksSummary;
}

export interface LinksSummary {
  total: number;
  /** Links whose remote hub cannot be reached now. */
  down: number;
  /** Packets waiting in the links' queues; null when the broker API does not answer. */
  waiting: number | null;
}

export async function overviewData(ctx: DataContext): Promise<OverviewData> {
  const queues = await ctx.monitor.snapshot();
  const result: OverviewData = { overview: overview(ctx.db, ctx.clock()), queues, health: ctx.health?.() ?? { status: 'ok', problems: [] } };
  const links = ctx.federation?.links ?? [];
  if (links.length === 0) return result;
  const views = linkViews(ctx, queues, []);
  return {
    ...result,
    links: {
      total: links.length,
      down: views.filter((v) => v.attention === 'down').length,
      waiting: queues.ok ? views.reduce((s, v) => s + (v.waiting ?? 0), 0) : null,
    },
  };
}

/** One link to another hub as the Links page shows it. */
export interface LinkView {
  name: string;
  /** Of the configuration ("amqp"); null for a link only the records still name. */
  kind: string | null;
  /** The organ ids the remote hub serves ("*.H53"). */
  patterns: readonly string[];
  /** Whether hub.json configures it now (a removed link keeps its history in the records). */
  configured: boolean;
  /** Whether its process reaches the remote hub now; null when none runs for it (the hub has not started, or the link is gone). */
  connected: boolean | null;
  /** Packets waiting in each lane; null when the broker API does not answer or the link is gone. */
  backlog: { urgent: LaneState | null; normal: LaneState | null } | null;
  /** Both lanes together; null when unknown. */
  waiting: number | null;
  /** What the process did since the hub started: confirmed by the remote broker, failed attempts (each retried). */
  process: Omit<LinkStats, 'name' | 'kind' | 'connected'> | null;
  /** From the hub's records: since the hub first ran. */
  traffic: LinkTraffic;
  /** Why an operator should look: its remote hub is unreachable, or packets wait in its queues. */
  attention: 'down' | 'backlog' | null;
}

export interface LinksData {
  at: string;
  /** Whether the broker API answered (the backlogs are unknown otherwise). */
  queues: { ok: true } | { ok: false; error: string };
  links: LinkView[];
  /** Recipients ever bounced because no link serves their organ id. */
  noRoute: number;
}

/** A link's two queues, where its dead letters died. */
function linkQueues(ctx: DataContext): (link: string) => string[] {
  return (link) => [ctx.names.federationQueue(link, 'urgent'), ctx.names.federationQueue(link, 'normal')];
}

function linkViews(ctx: DataContext, queues: QueueSnapshot, traffic: readonly LinkTraffic[]): LinkView[] {
  const configured = ctx.federation?.links ?? [];
  const stats = new Map((ctx.federation?.stats() ?? []).map((s) => [s.name, s]));
  const names = [...new Set([...configured.map((l) => l.name), ...traffic.map((t) => t.link)])];
  return names.map((name): LinkView => {
    const config = configured.find((l) => l.name === name);
    const s = stats.get(name);
    const lanes = queues.ok && config ? queues.links.find((l) => l.link === name) : undefined;
    const backlog = lanes ? { urgent: lanes.urgent, normal: lanes.normal } : null;
    const waiting = backlog ? (backlog.urgent?.messages ?? 0) + (backlog.normal?.messages ?? 0) : null;
    const connected = config && s ? s.connected : null;
    return {
      name,
      kind: config?.kind ?? null,
      patterns: config?.patterns ?? [],
      configured: config !== undefined,
      connected,
      backlog,
      waiting,
      process: s ? { forwarded: s.forwarded, failures: s.failures, lastSuccessAt: s.lastSuccessAt, lastFailureAt: s.lastFailureAt, lastError: s.lastError } : null,
      traffic: traffic.find((t) => t.link === name) ?? emptyTraffic(name),
      attention: config && connected !== true ? 'down' : waiting ? 'backlog' : null,
    };
  });
}

function emptyTraffic(link: string): LinkTraffic {
  return { link, documentsSent: 0, recipientsSent: 0, statusesSent: 0, documentsReceived: 0, statusesReceived: 0, bounced: 0, refused: 0, deadLettered: 0, lastSentAt: null, lastReceivedAt: null };
}

/** Every link: its configuration, its state now, its backlog, and its traffic since the hub first ran. */
export async function linksData(ctx: DataContext): Promise<LinksData> {
  const queues = await ctx.monitor.snapshot();
  const report = linkReport(ctx.db, (ctx.federation?.links ?? []).map((l) => l.name), linkQueues(ctx));
  return {
    at: ctx.clock().toISOString(),
    queues: queues.ok ? { ok: true } : { ok: false, error: queues.error },
    links: linkViews(ctx, queues, report.links),
    noRoute: report.noRoute,
  };
}

export function agenciesData(ctx: DataContext, search: string | undefined): AgencyActivity[] {
  return agencyActivity(ctx.db, ctx.calendar, ctx.clock(), ctx.urgentReceiptMinutes, search?.trim() || undefined);
}

/** Names of the directory's agencies (removed ones too: old documents name them). */
export function agencyNames(db: Db): Map<string, string> {
  return new Map((db.prepare('SELECT organ_id, name FROM agencies').all() as Array<{ organ_id: string; name: string }>).map((r) => [r.organ_id, r.name]));
}

export interface JourneyData extends DocumentJourney {
  /** Organ id → name, for the sender and every recipient the directory knows. */
  names: Record<string, string>;
}

export function journeyData(ctx: DataContext, documentId: string): JourneyData | undefined {
  const journey = documentJourney(ctx.db, documentId);
  if (!journey) return undefined;
  const all = agencyNames(ctx.db);
  const names: Record<string, string> = {};
  for (const id of [journey.sender, ...journey.deliveries.map((d) => d.recipient)]) {
    const name = all.get(id);
    if (name !== undefined) names[id] = name;
  }
  return { ...journey, names };
}

export type FoundDocument = ReturnType<typeof findDocuments>[number];

export function findData(ctx: DataContext, text: string): FoundDocument[] {
  const q = text.trim();
  return q ? findDocuments(ctx.db, q, 50) : [];
}

export interface ReportData {
  from: string;
  to: string;
  rows: UsageRow[];
  /** Traffic per link to another hub in the period (every configured link, and any the records name). */
  links: LinkTraffic[];
  /** Recipients bounced in the period because no link serves their organ id. */
  noRoute: number;
}

export function reportData(ctx: DataContext, period: Period): ReportData {
  const span = { from: period.start, to: period.end };
  const links = linkReport(ctx.db, (ctx.federation?.links ?? []).map((l) => l.name), linkQueues(ctx), span);
  return { from: period.from, to: period.to, rows: usageReport(ctx.db, ctx.calendar, span, ctx.clock(), ctx.urgentReceiptMinutes), links: links.links, noRoute: links.noRoute };
}

/** A dead letter with the cause the hub knows (see hub/dead-letter-cause.ts). */
export interface ExplainedDeadLetter extends DeadLetter {
  cause: DeadLetterCause;
}

export function explainDeadLetters(ctx: DataContext, list: { total: number; items: DeadLetter[] }): { total: number; items: ExplainedDeadLetter[] } {
  return { total: list.total, items: list.items.map((d) => ({ ...d, cause: deadLetterCause(ctx.db, ctx.names, d) })) };
}

export interface DeadLetterDetail {
  deadLetter: ExplainedDeadLetter;
  /** What the bytes say (unverified), or null once retention deleted them. */
  payload: PayloadReading | null;
  /** Organ id → name for the agencies the dead letter names. */
  names: Record<string, string>;
}

export async function deadLetterDetail(ctx: DataContext, store: DeadLetterStore, id: number): Promise<DeadLetterDetail | undefined> {
  const d = store.get(id);
  if (!d) return undefined;
  const bytes = await store.payload(id);
  const payload = bytes ? readPayload(bytes) : null;
  const all = agencyNames(ctx.db);
  const names: Record<string, string> = {};
  const mentioned = [d.sender, d.claimedFrom, payload?.readable ? payload.from : null, d.routingKey];
  for (const organId of mentioned) if (organId && all.has(organId)) names[organId] = all.get(organId) as string;
  return { deadLetter: { ...d, cause: deadLetterCause(ctx.db, ctx.names, d) }, payload, names };
}
