/**
 * Languages of the dashboard: Vietnamese by default, English on request (a cookie set by the
 * language switch). The catalogues are i18n/vi.ts and i18n/en.ts, one file per language.
 */
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';
import { en } from './i18n/en.js';
import { VI_ERROR_EXPLANATIONS } from './i18n/error-codes-vi.js';
import { vi, type MessageKey } from './i18n/vi.js';

export type { MessageKey } from './i18n/vi.js';

export const LANGUAGES = ['vi', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DEFAULT_LANG: Lang = 'vi';

const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { vi, en };

export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

/** The text of `key` in `lang`, with `{name}` placeholders filled in (values are plain text). */
export function translator(lang: Lang): Translate {
  const catalogue = CATALOGUES[lang];
  return (key, values) => {
    const text = catalogue[key];
    return values ? text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole)) : text;
  };
}

/** Whether the catalogue has a key (for keys built from data, such as `stage.${stage}`). */
export function hasMessage(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(vi, key);
}

/** The strings the page script needs, in the page's language. */
export function clientMessages(lang: Lang, keys: readonly MessageKey[]): Record<string, string> {
  const catalogue = CATALOGUES[lang];
  return Object.fromEntries(keys.map((k) => [k, catalogue[k]]));
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code);
}

/**
 * An error code of src/errors.ts in words of `lang` (the catalogue's summary in English), or
 * undefined for a code this version does not know (a newer peer's): show the code itself then.
 */
export function explainCode(lang: Lang, code: string): string | undefined {
  if (!isErrorCode(code)) return undefined;
  return lang === 'vi' ? (VI_ERROR_EXPLANATIONS[code] ?? undefined) : `${ERROR_CATALOGUE[code].summary}.`;
}
