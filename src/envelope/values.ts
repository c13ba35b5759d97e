/**
 * The small value types of edXML: organ ids, dates, document ids and the code domains.
 * Pure functions only; the clock is always passed in.
 */
import type { BussinessDocType, OrganId, Priority, StatusCode, SteeringType } from './types.js';

// --- Organ id (mã định danh) ----------------------------------------------------------------

/** Standard four-group form `V1V2V3.Z1Z2.Y1Y2.MX1X2`. */
const ORGAN_ID_STANDARD = /^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}$/;
/** What peers send in practice: dot-separated groups of digits and capitals ending in a level-1 code. */
const ORGAN_ID_TOLERATED = /^(?:[0-9A-Z]{1,8}\.){1,4}[A-Z][0-9]{2}$/;

export type OrganIdForm = 'standard' | 'tolerated' | 'invalid';

export function organIdForm(value: string): OrganIdForm {
  if (value.length > 35) return 'invalid';
  if (ORGAN_ID_STANDARD.test(value)) return 'standard';
  if (ORGAN_ID_TOLERATED.test(value)) return 'tolerated';
  return 'invalid';
}

export function isOrganId(value: unknown): value is OrganId {
  return typeof value === 'string' && organIdForm(value) !== 'invalid';
}

/** The level-1 code (`H12`, `G22`): which province or central body serves this agency. */
export function organIdLevel1(id: string): string {
  return id.slice(id.lastIndexOf('.') + 1);
}

// --- Domains --------------------------------------------------------------------------------

export const PRIORITIES: readonly Priority[] = ['0', '1', '2', '3', '4'];
export const BUSSINESS_DOC_TYPES: readonly BussinessDocType[] = ['0', '1', '2', '3'];
export const STEERING_TYPES: readonly SteeringType[] = ['0', '1', '2'];
export const STATUS_CODES: readonly StatusCode[] = ['01', '02', '03', '04', '05', '06', '13', '15', '16'];
/** A return (02), a recall (13) and a refused recall (16) must say why: no default text stands in. */
export const STATUS_CODES_NEEDING_A_REASON: readonly string[] = ['02', '13', '16'];

export function isPriority(v: unknown): v is Priority {
  return (PRIORITIES as readonly unknown[]).includes(v);
}
export function isStatusCode(v: unknown): v is StatusCode {
  return (STATUS_CODES as readonly unknown[]).includes(v);
}

/** Khẩn, Thượng khẩn, Hỏa tốc, Hỏa tốc hẹn giờ: delivered and handled immediately. */
export function isUrgent(priority: string | undefined): boolean {
  return priority !== undefined && priority !== '0' && isPriority(priority);
}

export const STATUS_MEANING: Record<StatusCode, string> = {
  '01': 'arrived',
  '02': 'rejected',
  '03': 'accepted',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': 'recall requested',
  '15': 'recall accepted',
  '16': 'recall refused',
};

// --- Dates ----------------------------------------------------------------------------------

/** Dates on the wire are Vietnamese local time (ICT, UTC+7, no daylight saving). */
export const VN_UTC_OFFSET_MINUTES = 7 * 60;

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

const DATE = /^(\d{4})\/(\d{2})\/(\d{2})$/;
const TIMESTAMP = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `yyyy/MM/dd` → a real calendar date, or undefined (wrong shape or no such day, e.g. 02/30). */
export function parseEdxmlDate(value: string): CalendarDate | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  return isRealDate(date) ? date : undefined;
}

/** `yyyy/MM/dd HH:mm:ss` (Vietnamese local time) → instant, or undefined. */
export function parseEdxmlTimestamp(value: string): Date | undefined {
  const m = TIMESTAMP.exec(value);
  if (!m) return undefined;
  const [year, month, day, hh, mm, ss] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (!isRealDate({ year, month, day }) || hh > 23 || mm > 59 || ss > 59) return undefined;
  return new Date(Date.UTC(year, month - 1, day, hh, mm, ss) - VN_UTC_OFFSET_MINUTES * 60_000);
}

function isRealDate({ year, month, day }: CalendarDate): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function localParts(instant: Date): Date {
  return new Date(instant.getTime() + VN_UTC_OFFSET_MINUTES * 60_000);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export function formatEdxmlDate(instant: Date): string {
  const l = localParts(instant);
  return `${l.getUTCFullYear()}/${pad(l.getUTCMonth() + 1)}/${pad(l.getUTCDate())}`;
}

export function formatEdxmlTimestamp(instant: Date): string {
  const l = localParts(instant);
  return `${formatEdxmlDate(instant)} ${pad(l.getUTCHours())}:${pad(l.getUTCMinutes())}:${pad(l.getUTCSeconds())}`;
}

export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

export function todayIn(now: Date): CalendarDate {
  const l = localParts(now);
  return { year: l.getUTCFullYear(), month: l.getUTCMonth() + 1, day: l.getUTCDate() };
}

// --- Document id ----------------------------------------------------------------------------

export interface DocumentIdParts {
  organId: string;
  date: string;
  code: string;
}

/** `{senderOrganId},{yyyy/MM/dd},{number}/{notation}` */
export function parseDocumentId(value: string): DocumentIdParts | undefined {
  const parts = value.split(',');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '')) return undefined;
  const [organId, date, code] = parts as [string, string, string];
  return { organId, date, code };
}

export function formatDocumentId(organId: string, promulgationDate: string, codeNumber: string, codeNotation: string): string {
  return `${organId},${promulgationDate},${codeNumber}/${codeNotation}`;
}

/**
 * A document's "số/ký hiệu" from its Code, or undefined when the packet lacks either part (a
 * refused packet may): never "undefined/…".
 */
export function documentCodeOf(code: { codeNumber?: string | undefined; codeNotation?: string | undefined } | undefined): string | undefined {
  const number = code?.codeNumber?.trim();
  const notation = code?.codeNotation?.trim();
  return number && notation ? `${code?.codeNumber}/${code?.codeNotation}` : undefined;
}
