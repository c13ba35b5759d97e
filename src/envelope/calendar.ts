/**
 * The working-day calendar and the deadlines of the regulation (Decree 30/2020, Decision
 * 31/2021/QĐ-UBND), as pure functions of instants and a calendar. Days are Vietnamese local
 * days (UTC+7): a document arriving at 23:30 UTC arrives the next local day.
 *
 *  - receipt (status 01) is due by the end of the working day of arrival (a document arriving
 *    on a day off is due by the end of the next working day); urgent documents within a
 *    configured number of minutes;
 *  - an outgoing document is due to be issued by the end of the working day after signing;
 *  - processing is due by the end of its DueDate, when it has one.
 */
import { VN_HOLIDAYS, VN_WORKING_DAYS } from './holidays-vn.js';
import { VN_UTC_OFFSET_MINUTES, parseEdxmlDate, type CalendarDate } from './values.js';

export interface WorkingCalendar {
  /** Days off besides weekends, yyyy-mm-dd. */
  holidays: ReadonlySet<string>;
  /** Weekend days worked (compensation), yyyy-mm-dd. */
  workingDays: ReadonlySet<string>;
  /** Weekdays that are not worked, 0 = Sunday … 6 = Saturday. */
  weekend: ReadonlySet<number>;
}

export interface CalendarConfig {
  holidays?: readonly string[];
  workingDays?: readonly string[];
  /** Replace (not extend) the shipped Vietnamese list. */
  replaceDefaults?: boolean;
}

export function workingCalendar(config: CalendarConfig = {}): WorkingCalendar {
  const base = config.replaceDefaults ? [] : VN_HOLIDAYS;
  const baseWorking = config.replaceDefaults ? [] : VN_WORKING_DAYS;
  return {
    holidays: new Set([...base, ...(config.holidays ?? [])]),
    workingDays: new Set([...baseWorking, ...(config.workingDays ?? [])]),
    weekend: new Set([0, 6]),
  };
}

const DAY_MS = 86_400_000;
const OFFSET_MS = VN_UTC_OFFSET_MINUTES * 60_000;

/** The local day an instant falls on, as a day number (days since 1970-01-01, local). */
function localDay(instant: Date): number {
  return Math.floor((instant.getTime() + OFFSET_MS) / DAY_MS);
}

function dayKey(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function dayOfDate(date: CalendarDate): number {
  return Math.floor(Date.UTC(date.year, date.month - 1, date.day) / DAY_MS);
}

/** The last instant of a local day (23:59:59.999 local). */
function endOfDay(day: number): Date {
  return new Date((day + 1) * DAY_MS - OFFSET_MS - 1);
}

export function isWorkingDay(cal: WorkingCalendar, day: number): boolean {
  const key = dayKey(day);
  if (cal.workingDays.has(key)) return true;
  if (cal.holidays.has(key)) return false;
  return !cal.weekend.has(new Date(day * DAY_MS).getUTCDay());
}

export function isWorkingDayAt(cal: WorkingCalendar, instant: Date): boolean {
  return isWorkingDay(cal, localDay(instant));
}

/** The first working day strictly after `day`. */
function nextWorkingDay(cal: WorkingCalendar, day: number): number {
  let d = day + 1;
  for (let i = 0; i < 366 && !isWorkingDay(cal, d); i++) d += 1;
  return d;
}

/** Receipt deadline of a document that arrived at `arrival`. */
export function receiptDue(cal: WorkingCalendar, arrival: Date, urgent: boolean, urgentMinutes: number): Date {
  if (urgent) return new Date(arrival.getTime() + urgentMinutes * 60_000);
  const day = localDay(arrival);
  return endOfDay(isWorkingDay(cal, day) ? day : nextWorkingDay(cal, day));
}

/** Issue deadline of a document signed (promulgated) on `promulgationDate` (yyyy/MM/dd). */
export function issueDue(cal: WorkingCalendar, promulgationDate: string): Date | undefined {
  const date = parseEdxmlDate(promulgationDate);
  return date ? endOfDay(nextWorkingDay(cal, dayOfDate(date))) : undefined;
}

/** Processing deadline from a DueDate (yyyy/MM/dd). */
export function processingDue(dueDate: string | null | undefined): Date | undefined {
  const date = dueDate ? parseEdxmlDate(dueDate) : undefined;
  return date ? endOfDay(dayOfDate(date)) : undefined;
}
