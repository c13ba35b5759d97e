/**
 * The README's reference, read the way the tests that hold other documents to it need it: one
 * section by its heading, and the configuration keys its tables document.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './pki.js';

export function readme(): string {
  return readFileSync(join(REPO, 'README.md'), 'utf8');
}

/** From `heading` to the next second-level heading. */
export function readmeSection(heading: string, text: string = readme()): string {
  const start = text.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  const end = text.indexOf('\n## ', start + heading.length);
  return text.slice(start, end < 0 ? undefined : end);
}

/** One row of a configuration table: the keys its first cell names, and the whole row's text. */
export interface ConfigRow {
  keys: string[];
  text: string;
}

/** The rows of every markdown table in `text` whose header's first cell is "key". */
export function configRows(text: string, prefix = ''): ConfigRow[] {
  const rows: ConfigRow[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'key') {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? '')) continue;
    const keys = [...(cells[0] ?? '').matchAll(/`([^`]+)`/g)].map((m) => `${prefix}${m[1] as string}`);
    rows.push({ keys, text: line });
  }
  return rows;
}

/**
 * Every configuration row of the README: the hub.json and edge.json tables of "Configuration",
 * and the dashboard's table, whose keys live under "dashboard" in hub.json.
 */
export function readmeConfigRows(text: string = readme()): ConfigRow[] {
  return [...configRows(readmeSection('## Configuration', text)), ...configRows(readmeSection("## Operators' dashboard", text), 'dashboard.')];
}

/**
 * Whether the README documents a configuration key path (`trust.crls`, `api.keys`,
 * `dashboard.port`): a row names it, or a row names one of its parents and mentions the rest
 * (the `trust` row lists `{anchors, intermediates, crls}`).
 */
export function configKeyDocumented(path: string, rows: readonly ConfigRow[]): boolean {
  if (rows.some((row) => row.keys.includes(path))) return true;
  // A section whose settings have rows of their own (`trust.crlRefresh` by `trust.crlRefresh.fetch`...).
  if (rows.some((row) => row.keys.some((key) => key.startsWith(`${path}.`)))) return true;
  const segments = path.split('.');
  for (let cut = segments.length - 1; cut >= 1; cut--) {
    const parent = segments.slice(0, cut).join('.');
    const rest = segments.slice(cut);
    const row = rows.find((r) => r.keys.includes(parent));
    if (row && rest.every((segment) => new RegExp(`\\b${segment}\\b`).test(row.text))) return true;
  }
  return false;
}
