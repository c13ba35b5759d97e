/**
 * How the dashboard writes times, dates and numbers. Times are shown in Vietnamese local time
 * (UTC+7, no daylight saving), whatever the server's time zone; report periods are local days.
 */
import { VN_UTC_OFFSET_MINUTES } from '../envelope/values.js';
import type { Lang } from './i18n.js';

const OFFSET_MS = VN_UTC_OFFSET_MINUTES * 60_000;
const DAY_MS = 86_400_000;
const pad = (n: number): string => String(n).padStart(2, '0');

/** dd/MM/yyyy HH:mm (or with seconds), local time; "" for null. */
export function formatTime(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms + OFFSET_MS);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${time}`;
}

/** The zone every local time is in, as printed beside a time where a reader could doubt it (CLI). */
export const LOCAL_ZONE = `+${pad(Math.floor(VN_UTC_OFFSET_MINUTES / 60))}:${pad(VN_UTC_OFFSET_MINUTES % 60)}`;

/** dd/MM/yyyy HH:mm (+07:00): a local time that says which zone it is in. */
export function formatZonedTime(iso: string): string {
  return `${formatTime(iso)} (${LOCAL_ZONE})`;
}

/** The same instant as ISO 8601 in local time, e.g. 2026-03-03T23:59:59.999+07:00 (JSON output). */
export function isoLocal(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms + OFFSET_MS).toISOString().slice(0, -1)}${LOCAL_ZONE}`;
}

/** yyyy-mm-dd → dd/MM/yyyy */
export function formatDay(day: string): string {
  const [y, m, d] = day.split('-');
  return `${d}/${m}/${y}`;
}

/** The local calendar day of an instant, yyyy-mm-dd. */
export function localDay(instant: Date): string {
  return new Date(instant.getTime() + OFFSET_MS).toISOString().slice(0, 10);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instant a local day (yyyy-mm-dd) starts, or undefined when it is no real day. */
export function localDayStartOf(day: string): Date | undefined {
  const m = DAY.exec(day);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const utc = Date.UTC(y, mo - 1, d);
  const check = new Date(utc);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  return new Date(utc - OFFSET_MS);
}

export interface Period {
  /** yyyy-mm-dd, local, inclusive. */
  from: string;
  to: string;
  /** [start, end): the start of `from` and the start of the day after `to`. */
  start: Date;
  end: Date;
}

/** A report period from the form's dates (both inclusive); default: this month up to today. */
export function reportPeriod(from: string | undefined, to: string | undefined, now: Date): Period | undefined {
  const today = localDay(now);
  const fromDay = from || `${today.slice(0, 8)}01`;
  const toDay = to || today;
  const start = localDayStartOf(fromDay);
  const toStart = localDayStartOf(toDay);
  if (!start || !toStart || toStart < start) return undefined;
  return { from: fromDay, to: toDay, start, end: new Date(toStart.getTime() + DAY_MS) };
}

function locale(lang: Lang): string {
  return lang === 'vi' ? 'vi-VN' : 'en-GB';
}

export function formatNumber(lang: Lang, value: number, fractionDigits = 0): string {
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: fractionDigits, minimumFractionDigits: 0 }).format(value);
}

/** 0.6667 → "66,7 %" (vi) / "66.7%" (en). */
export function formatRate(lang: Lang, rate: number | null): string {
  if (rate === null) return '—';
  const n = formatNumber(lang, Math.round(rate * 1000) / 10, 1);
  return lang === 'vi' ? `${n} %` : `${n}%`;
}

export function formatHours(lang: Lang, hours: number | null): string {
  return hours === null ? '—' : formatNumber(lang, Math.round(hours * 10) / 10, 1);
}

/** How much of a dead letter's bytes the page shows (the whole is downloaded). */
export const PAYLOAD_SHOWN_BYTES = 64 * 1024;

// Controls other than tab and line breaks, bidirectional overrides and invisible marks.
const HIDDEN_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Bytes someone else sent, as text an operator can read safely: decoded as UTF-8 (a broken
 * sequence becomes U+FFFD), cut at `cap` bytes, and every character that could hide or reorder
 * what is shown written out as ⟨U+XXXX⟩. The page escapes the result like any other text.
 */
export function payloadText(bytes: Uint8Array, cap = PAYLOAD_SHOWN_BYTES): { text: string; shown: number; size: number } {
  const shown = Math.min(bytes.length, cap);
  const text = new TextDecoder('utf-8').decode(bytes.subarray(0, shown));
  return { text: text.replace(HIDDEN_CHARACTERS, (c) => `⟨U+${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}⟩`), shown, size: bytes.length };
}
