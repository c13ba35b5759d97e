/** What `lienthong --version` reports and a backup records: the package version and the schema each database is at. */
import { readFileSync } from 'node:fs';
import { EDGE_MIGRATIONS } from './store/migrations/edge.js';
import { HUB_MIGRATIONS } from './store/migrations/hub.js';
import type { Migration } from './store/db.js';

/** The package root: one level up from src/ and dist/. */
const PACKAGE_JSON = new URL('../package.json', import.meta.url);

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function latestSchema(migrations: readonly Migration[]): number {
  return Math.max(0, ...migrations.map((m) => m.version));
}

/** The newest schema this build writes, per node kind. */
export function schemaVersions(): { edge: number; hub: number } {
  return { edge: latestSchema(EDGE_MIGRATIONS), hub: latestSchema(HUB_MIGRATIONS) };
}
