/**
 * What the pages and the JSON API show, gathered once for both: the hub's reports
 * (src/hub/reports.ts) over its database, the queue snapshot, the dead letters.
 */
import type { WorkingCalendar } from '../envelope/calendar.js';
import type { ResourceNames } from '../broker/names.js';
import { deadLetterCause, readPayload, type DeadLetterCause, type PayloadReading } from '../hub/dead-letter-cause.js';
import type { DeadLetter } from '../hub/dead-letters.js';
import { agencyActivity, documentJourney, findDocuments, overview, usageReport, type AgencyActivity, type DocumentJourney, type Overview, type UsageRow } from '../hub/reports.js';
import type { Db } from '../store/db.js';
import type { HealthSnapshot } from '../health.js';
import type { Period } from './format.js';
import type { QueueMonitor, QueueSnapshot } from './queues.js';

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
}

export interface OverviewData {
  overview: Overview;
  queues: QueueSnapshot;
  health: HealthSnapshot;
}

export async function overviewData(ctx: DataContext): Promise<OverviewData> {
  const queues = await ctx.monitor.snapshot();
  return { overview: overview(ctx.db, ctx.clock()), queues, health: ctx.health?.() ?? { status: 'ok', problems: [] } };
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
}

export function reportData(ctx: DataContext, period: Period): ReportData {
  return { from: period.from, to: period.to, rows: usageReport(ctx.db, ctx.calendar, { from: period.start, to: period.end }, ctx.clock(), ctx.urgentReceiptMinutes) };
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
