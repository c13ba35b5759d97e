/**
 * What the provincial IT department reads off the hub's records: today's traffic, each
 * agency's part in the exchange, one document's journey, and usage over a period (the
 * regulation makes them monitor and report on agencies' use of the system).
 * Read-only SQL over the hub database; the clock and the calendar are parameters.
 */
import { receiptDue, type WorkingCalendar } from '../envelope/calendar.js';
import { VN_UTC_OFFSET_MINUTES, isUrgent } from '../envelope/values.js';
import type { Db } from '../store/db.js';
import { DeliveryLog, type DeliveryRow, type TimelineEvent } from '../store/deliveries.js';
import { hubOverdue } from './overdue.js';

const OFFSET_MS = VN_UTC_OFFSET_MINUTES * 60_000;
const DAY_MS = 86_400_000;

/** Start of the Vietnamese local day of `now`, and of its week (Monday). */
export function localDayStart(now: Date): Date {
  return new Date(Math.floor((now.getTime() + OFFSET_MS) / DAY_MS) * DAY_MS - OFFSET_MS);
}

export function localWeekStart(now: Date): Date {
  const day = localDayStart(now);
  const weekday = new Date(day.getTime() + OFFSET_MS).getUTCDay(); // 0 = Sunday
  return new Date(day.getTime() - ((weekday + 6) % 7) * DAY_MS);
}

export interface Overview {
  at: string;
  routedToday: number;
  routedThisWeek: number;
  refusedToday: number;
  /** Deliveries routed to a recipient whose 01 has not come back yet. */
  inFlight: number;
  bouncedToday: number;
  deadLettersPending: number;
}

export function overview(db: Db, now: Date): Overview {
  const today = localDayStart(now).toISOString();
  const week = localWeekStart(now).toISOString();
  const count = (sql: string, ...args: unknown[]): number => (db.prepare(sql).get(...args) as { n: number }).n;
  return {
    at: now.toISOString(),
    routedToday: count("SELECT COUNT(*) AS n FROM packets WHERE verdict = 'routed' AND kind = 'document' AND received_at >= ?", today),
    routedThisWeek: count("SELECT COUNT(*) AS n FROM packets WHERE verdict = 'routed' AND kind = 'document' AND received_at >= ?", week),
    refusedToday: count("SELECT COUNT(*) AS n FROM packets WHERE verdict = 'refused' AND received_at >= ?", today),
    inFlight: count("SELECT COUNT(*) AS n FROM deliveries WHERE stage = 'delivered' AND recall <> 'recalled'"),
    bouncedToday: count("SELECT COUNT(*) AS n FROM events WHERE event = 'bounced' AND at >= ?", today),
    deadLettersPending: count("SELECT COUNT(*) AS n FROM dead_letters WHERE status = 'pending'"),
  };
}

export interface AgencyActivity {
  organId: string;
  name: string;
  status: string;
  sent: number;
  received: number;
  receiptsOverdue: number;
  /** Arrived (01) but not yet accepted (03). */
  notAccepted: number;
  recallsPending: number;
}

export function agencyActivity(db: Db, calendar: WorkingCalendar, now: Date, urgentReceiptMinutes: number, search?: string): AgencyActivity[] {
  const overdue = new Map(hubOverdue(db, calendar, now, urgentReceiptMinutes).map((a) => [a.organId, a]));
  const pattern = search ? `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : '%';
  const rows = db
    .prepare(
      `SELECT a.organ_id, a.name, a.status,
              (SELECT COUNT(*) FROM documents d WHERE d.sender = a.organ_id) AS sent,
              (SELECT COUNT(*) FROM deliveries x WHERE x.recipient = a.organ_id AND x.stage <> 'bounced') AS received,
              (SELECT COUNT(*) FROM deliveries x WHERE x.recipient = a.organ_id AND x.stage = '01' AND x.recall <> 'recalled') AS not_accepted,
              (SELECT COUNT(*) FROM deliveries x WHERE x.recipient = a.organ_id AND x.recall = 'requested') AS recalls_pending
         FROM agencies a
        WHERE a.status <> 'removed' AND a.kind = 'agency' AND (a.organ_id LIKE @p ESCAPE '\\' OR a.name LIKE @p ESCAPE '\\')
        ORDER BY a.organ_id`,
    )
    .all({ p: pattern }) as Array<{ organ_id: string; name: string; status: string; sent: number; received: number; not_accepted: number; recalls_pending: number }>;
  return rows.map((r) => ({
    organId: r.organ_id,
    name: r.name,
    status: r.status,
    sent: r.sent,
    received: r.received,
    receiptsOverdue: overdue.get(r.organ_id)?.receipts ?? 0,
    notAccepted: r.not_accepted,
    recallsPending: r.recalls_pending,
  }));
}

export interface DocumentJourney {
  documentId: string;
  sender: string;
  subject: string | null;
  code: string | null;
  priority: string;
  sentAt: string;
  responseFor: string | null;
  deliveries: DeliveryRow[];
  timeline: JourneyEvent[];
}

/** A timeline event; a bounce also carries the error code the hub bounced with (its description is the English message). */
export interface JourneyEvent extends TimelineEvent {
  errorCode?: string;
}

/**
 * The code of the hub's bounce about `recipient` for the packet `cause`: the bounce it signed and
 * queued names it in its x-lt-error-code header (router.ts `bounce`).
 */
function bounceCode(db: Db, cause: string | null, recipient: string): string | undefined {
  if (!cause) return undefined;
  const row = db
    .prepare(
      `SELECT json_extract(envelope, '$.extra."x-lt-error-code"') AS code FROM outbound
        WHERE cause = ? AND type = 'status' AND json_extract(envelope, '$.extra."x-lt-bounce"') = ? LIMIT 1`,
    )
    .get(cause, recipient) as { code: string | null } | undefined;
  return row?.code ?? undefined;
}

export function documentJourney(db: Db, documentId: string): DocumentJourney | undefined {
  const doc = db.prepare('SELECT * FROM documents WHERE document_id = ?').get(documentId) as
    | { document_id: string; sender: string; subject: string | null; code: string | null; priority: string; sent_at: string; response_for: string | null }
    | undefined;
  if (!doc) return undefined;
  const log = new DeliveryLog(db);
  return {
    documentId: doc.document_id,
    sender: doc.sender,
    subject: doc.subject,
    code: doc.code,
    priority: doc.priority,
    sentAt: doc.sent_at,
    responseFor: doc.response_for,
    deliveries: log.all(documentId),
    timeline: log.timeline(documentId).map((e) => {
      const code = e.event === 'bounced' ? bounceCode(db, e.packetId, e.recipient) : undefined;
      return code ? { ...e, errorCode: code } : e;
    }),
  };
}

/** Documents whose id, code or subject contains `text`, newest first. */
export function findDocuments(db: Db, text: string, limit = 50): Array<{ documentId: string; sender: string; subject: string | null; code: string | null; sentAt: string }> {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return (
    db
      .prepare(
        `SELECT document_id, sender, subject, code, sent_at FROM documents
          WHERE document_id LIKE @p ESCAPE '\\' OR code LIKE @p ESCAPE '\\' OR subject LIKE @p ESCAPE '\\'
          ORDER BY sent_at DESC LIMIT @limit`,
      )
      .all({ p: pattern, limit }) as Array<{ document_id: string; sender: string; subject: string | null; code: string | null; sent_at: string }>
  ).map((r) => ({ documentId: r.document_id, sender: r.sender, subject: r.subject, code: r.code, sentAt: r.sent_at }));
}

export interface UsageRow {
  organId: string;
  name: string;
  sent: number;
  received: number;
  /** Receipts (01) given by their deadline, out of the documents received in the period. */
  receiptsOnTime: number;
  receiptsDue: number;
  /** receiptsOnTime / receiptsDue, or null when nothing was received. */
  onTimeRate: number | null;
  /** Mean time from delivery to acceptance (03), in hours; null when nothing was accepted. */
  averageHoursToAccept: number | null;
  /** Receipts, acceptances and processing overdue at the end of the period (as `overdue --hub` counts them). */
  overdue: number;
}

/** Usage per agency over [from, to): documents sent and received, on-time receipts, time to accept. */
export function usageReport(db: Db, calendar: WorkingCalendar, period: { from: Date; to: Date }, now: Date, urgentReceiptMinutes: number): UsageRow[] {
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  const agencies = db.prepare("SELECT organ_id, name FROM agencies WHERE status <> 'removed' AND kind = 'agency' ORDER BY organ_id").all() as Array<{ organ_id: string; name: string }>;
  const sent = new Map(
    (db.prepare('SELECT sender, COUNT(*) AS n FROM documents WHERE sent_at >= ? AND sent_at < ? GROUP BY sender').all(from, to) as Array<{ sender: string; n: number }>).map((r) => [r.sender, r.n]),
  );
  // One row per delivery made in the period, with when it arrived, was received (01), accepted (03).
  const deliveries = db
    .prepare(
      `SELECT e.document_id, e.recipient, e.at AS delivered_at, doc.priority,
              (SELECT MIN(x.at) FROM events x WHERE x.document_id = e.document_id AND x.recipient = e.recipient AND x.event = '01') AS received_at,
              (SELECT MIN(x.at) FROM events x WHERE x.document_id = e.document_id AND x.recipient = e.recipient AND x.event = '03') AS accepted_at
         FROM events e JOIN documents doc ON doc.document_id = e.document_id
        WHERE e.event = 'delivered' AND e.at >= ? AND e.at < ?`,
    )
    .all(from, to) as Array<{ document_id: string; recipient: string; delivered_at: string; priority: string; received_at: string | null; accepted_at: string | null }>;
  const end = period.to < now ? period.to : now;
  const overdue = new Map(hubOverdue(db, calendar, end, urgentReceiptMinutes).map((a) => [a.organId, a.receipts + a.acceptances + a.processing]));
  const byAgency = new Map<string, { received: number; onTime: number; acceptHours: number[] }>();
  for (const d of deliveries) {
    const entry = byAgency.get(d.recipient) ?? { received: 0, onTime: 0, acceptHours: [] };
    entry.received += 1;
    const due = receiptDue(calendar, new Date(d.delivered_at), isUrgent(d.priority), urgentReceiptMinutes);
    if (d.received_at && new Date(d.received_at) <= due) entry.onTime += 1;
    if (d.accepted_at) entry.acceptHours.push((new Date(d.accepted_at).getTime() - new Date(d.delivered_at).getTime()) / 3_600_000);
    byAgency.set(d.recipient, entry);
  }
  return agencies.map((a) => {
    const e = byAgency.get(a.organ_id);
    const received = e?.received ?? 0;
    const onTime = e?.onTime ?? 0;
    const hours = e?.acceptHours ?? [];
    return {
      organId: a.organ_id,
      name: a.name,
      sent: sent.get(a.organ_id) ?? 0,
      received,
      receiptsOnTime: onTime,
      receiptsDue: received,
      onTimeRate: received === 0 ? null : onTime / received,
      averageHoursToAccept: hours.length === 0 ? null : hours.reduce((s, h) => s + h, 0) / hours.length,
      overdue: overdue.get(a.organ_id) ?? 0,
    };
  });
}

/** The CSV's column names in the order of its cells (the dashboard gives them in the reader's language). */
export const USAGE_CSV_COLUMNS = ['organId', 'name', 'sent', 'received', 'receiptsOnTime', 'onTimeRate', 'averageHoursToAccept', 'overdue'] as const;

export function usageCsv(rows: readonly UsageRow[], header: Readonly<Record<(typeof USAGE_CSV_COLUMNS)[number], string>>): string {
  return csvText(USAGE_CSV_COLUMNS.map((column) => header[column]), rows.map((r) => USAGE_CSV_COLUMNS.map((column) => r[column])));
}

/** A CSV for spreadsheets: a header line and rows, CRLF, UTF-8 with a byte-order mark. */
function csvText(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  const cell = (v: string | number | null): string => {
    let text = v === null ? '' : typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v;
    // A name starting with = + - @ would be a live formula in a spreadsheet (CSV injection).
    if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = rows.map((r) => r.map(cell).join(','));
  // A byte-order mark so that Excel opens the Vietnamese names as UTF-8.
  return `\uFEFF${[header.map(cell).join(','), ...lines].join('\r\n')}\r\n`;
}

/**
 * What went through one link to another hub, from the hub's records, so that it survives a
 * restart (the link process's own counters start again at zero): what routing handed to the
 * link's queues (outbound rows naming the link, deliveries routed through it), what came in
 * through its intake (packets naming it as `via`), and what failed for good (recipients its hub
 * bounced back, packets from it the hub refused, packets that died in its queues).
 */
export interface LinkTraffic {
  link: string;
  /** Documents handed to the link: one packet per link, however many of its recipients are behind it. */
  documentsSent: number;
  /** The remote recipients of those documents. */
  recipientsSent: number;
  /** Statuses (receipts, acceptances, recalls…) of this hub's agencies handed to the link. */
  statusesSent: number;
  documentsReceived: number;
  statusesReceived: number;
  /** Recipients behind the link its hub could not deliver to: it bounced them back over the link. */
  bounced: number;
  /** Packets that came through the link and that this hub refused (recorded, never bounced). */
  refused: number;
  /** Packets that died in the link's queues (over the delivery limit), left to an operator. */
  deadLettered: number;
  /** When routing last handed a packet to the link (it waits in the link's queue until forwarded). */
  lastSentAt: string | null;
  /** When a packet last came in through the link. */
  lastReceivedAt: string | null;
}

export interface LinkReport {
  links: LinkTraffic[];
  /** Recipients bounced because no link serves their organ id (FEDERATION_NO_ROUTE). */
  noRoute: number;
}

/**
 * Traffic per link over [from, to), or since the start without a period: the links `configured`
 * (even without traffic) and every link the records name (one since removed from hub.json keeps
 * its history). `queuesOf` names a link's queues, where its dead letters died.
 */
export function linkReport(db: Db, configured: readonly string[], queuesOf: (link: string) => readonly string[], period?: { from: Date; to: Date }): LinkReport {
  // Without a period: every stored time (ISO 8601 strings compare as times).
  const from = period?.from.toISOString() ?? '0000';
  const to = period?.to.toISOString() ?? '9999';
  const range = { from, to };
  type Row = { link: string; kind: string; n: number; last: string | null };
  const sent = db
    .prepare(`SELECT link, type AS kind, COUNT(*) AS n, MAX(created_at) AS last FROM outbound WHERE link IS NOT NULL AND created_at >= @from AND created_at < @to GROUP BY link, type`)
    .all(range) as Row[];
  const received = db
    .prepare(`SELECT via AS link, verdict || ':' || kind AS kind, COUNT(*) AS n, MAX(received_at) AS last FROM packets WHERE via IS NOT NULL AND received_at >= @from AND received_at < @to GROUP BY via, verdict, kind`)
    .all(range) as Row[];
  // Deliveries routed through a link, by what happened to them in the period: handed over, bounced back.
  const routed = (event: 'delivered' | 'bounced'): Array<{ link: string; n: number }> =>
    db
      .prepare(
        `SELECT d.route AS link, COUNT(*) AS n FROM deliveries d JOIN events e ON e.document_id = d.document_id AND e.recipient = d.recipient AND e.event = @event
          WHERE d.route IS NOT NULL AND e.at >= @from AND e.at < @to GROUP BY d.route`,
      )
      .all({ ...range, event }) as Array<{ link: string; n: number }>;
  const recipients = routed('delivered');
  const bounced = routed('bounced');
  const names = [...new Set([...configured, ...sent.map((r) => r.link), ...received.map((r) => r.link)])];
  const deadLetters = db.prepare('SELECT COUNT(*) AS n FROM dead_letters WHERE queue = ? AND received_at >= ? AND received_at < ?');
  const links = names.map((link): LinkTraffic => {
    const count = (rows: Row[], match: (kind: string) => boolean): number => rows.filter((r) => r.link === link && match(r.kind)).reduce((s, r) => s + r.n, 0);
    const latest = (rows: Row[]): string | null => rows.filter((r) => r.link === link && r.last !== null).map((r) => r.last as string).sort().at(-1) ?? null;
    return {
      link,
      documentsSent: count(sent, (k) => k === 'edoc'),
      recipientsSent: recipients.find((r) => r.link === link)?.n ?? 0,
      statusesSent: count(sent, (k) => k === 'status'),
      documentsReceived: count(received, (k) => k === 'routed:document'),
      statusesReceived: count(received, (k) => k === 'routed:status'),
      bounced: bounced.find((r) => r.link === link)?.n ?? 0,
      refused: count(received, (k) => k.startsWith('refused:')),
      deadLettered: queuesOf(link).reduce((s, queue) => s + (deadLetters.get(queue, from, to) as { n: number }).n, 0),
      lastSentAt: latest(sent),
      lastReceivedAt: latest(received.filter((r) => r.kind.startsWith('routed:'))),
    };
  });
  const noRoute = (
    db
      .prepare(
        `SELECT COUNT(*) AS n FROM outbound WHERE type = 'status' AND created_at >= @from AND created_at < @to
           AND json_extract(envelope, '$.extra."x-lt-error-code"') = 'FEDERATION_NO_ROUTE'`,
      )
      .get(range) as { n: number }
  ).n;
  return { links, noRoute };
}

/** The link CSV's column names in the order of its cells. */
export const LINK_CSV_COLUMNS = ['link', 'documentsSent', 'recipientsSent', 'statusesSent', 'documentsReceived', 'statusesReceived', 'bounced', 'refused', 'deadLettered'] as const;

export function linkCsv(rows: readonly LinkTraffic[], header: Readonly<Record<(typeof LINK_CSV_COLUMNS)[number], string>>): string {
  return csvText(LINK_CSV_COLUMNS.map((column) => header[column]), rows.map((r) => LINK_CSV_COLUMNS.map((column) => r[column])));
}
