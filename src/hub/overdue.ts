/**
 * What is late across the province, per agency, from the hub's records: receipts not given by
 * the end of the working day of arrival (urgent: within minutes), documents that arrived (01)
 * but were not accepted (03) by that same deadline, processing past DueDate. The same rules as
 * the edges' `Lifecycle.overdue`, so that `overdue --hub` and the edges list the same delays.
 */
import { processingDue, receiptDue, type WorkingCalendar } from '../envelope/calendar.js';
import { isUrgent } from '../envelope/values.js';
import type { Db } from '../store/db.js';

export interface HubOverdueItem {
  /** receipt: no 01 yet; acceptance: 01 but no 03 (the văn thư registers what arrived the same working day); processing: past DueDate. */
  kind: 'receipt' | 'acceptance' | 'processing';
  /** The agency that is late. */
  organId: string;
  documentId: string;
  sender: string;
  subject: string | null;
  stage: string;
  due: string;
}

export interface AgencyOverdue {
  organId: string;
  receipts: number;
  acceptances: number;
  processing: number;
  items: HubOverdueItem[];
}

export function hubOverdue(db: Db, calendar: WorkingCalendar, now: Date, urgentReceiptMinutes: number): AgencyOverdue[] {
  const rows = db
    .prepare(
      `SELECT d.document_id, d.recipient, d.stage, d.recall, doc.sender, doc.subject, doc.priority, doc.due_date,
              (SELECT MIN(e.at) FROM events e WHERE e.document_id = d.document_id AND e.recipient = d.recipient AND e.event = 'delivered') AS delivered_at
         FROM deliveries d JOIN documents doc ON doc.document_id = d.document_id
        WHERE d.stage NOT IN ('02', '06', 'bounced') AND d.recall <> 'recalled'`,
    )
    .all() as Array<{
    document_id: string;
    recipient: string;
    stage: string;
    recall: string;
    sender: string;
    subject: string | null;
    priority: string;
    due_date: string | null;
    delivered_at: string | null;
  }>;
  const byAgency = new Map<string, AgencyOverdue>();
  const add = (item: HubOverdueItem): void => {
    const entry = byAgency.get(item.organId) ?? { organId: item.organId, receipts: 0, acceptances: 0, processing: 0, items: [] };
    if (item.kind === 'receipt') entry.receipts += 1;
    else if (item.kind === 'acceptance') entry.acceptances += 1;
    else entry.processing += 1;
    entry.items.push(item);
    byAgency.set(item.organId, entry);
  };
  for (const r of rows) {
    const base = { organId: r.recipient, documentId: r.document_id, sender: r.sender, subject: r.subject, stage: r.stage };
    if ((r.stage === 'delivered' || r.stage === '01') && r.delivered_at) {
      const due = receiptDue(calendar, new Date(r.delivered_at), isUrgent(r.priority), urgentReceiptMinutes);
      if (now > due) add({ ...base, kind: r.stage === 'delivered' ? 'receipt' : 'acceptance', due: due.toISOString() });
    }
    const processing = processingDue(r.due_date);
    if (processing && now > processing) add({ ...base, kind: 'processing', due: processing.toISOString() });
  }
  return [...byAgency.values()].sort((a, b) => a.organId.localeCompare(b.organId));
}
