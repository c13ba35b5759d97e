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
