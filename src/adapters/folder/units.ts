/**
 * Which entries of outgoing/ are units ready to be taken (pure: a listing in, units out).
 *
 * A unit is named by its stem: `<name>/` (a folder holding `<name>.json` or `<name>.xml` and
 * attachments), `<name>.xml` (a ready edXML packet) or `<name>.json` (a description whose
 * attachment files lie beside it). Names starting with "." and ending in ".tmp" or ".part"
 * are files being written and never looked at. Mode "marker": a unit is ready once
 * `<name>.ready` exists; mode "rename": as soon as it is there (the writer renamed it in whole).
 */
import type { FolderMode } from '../../edge/folder-settings.js';

export type UnitForm = 'folder' | 'xml' | 'json';

export interface ReadyUnit {
  name: string;
  form: UnitForm;
  /** The entry in outgoing/: `<name>`, `<name>.xml` or `<name>.json`. */
  entry: string;
}

export const MARKER_SUFFIX = '.ready';

/** A name a writer uses while writing, or one of lienthong's own. */
export function isInProgressName(name: string): boolean {
  return name.startsWith('.') || /\.(tmp|part)$/i.test(name);
}

/** The units of a listing of outgoing/ that are complete, in name order (oldest-named first). */
export function readyUnits(listing: ReadonlyArray<{ name: string; file: boolean; directory: boolean }>, mode: FolderMode): ReadyUnit[] {
  const visible = listing.filter((e) => !isInProgressName(e.name));
  const markers = new Set(visible.filter((e) => e.file && e.name.endsWith(MARKER_SUFFIX)).map((e) => e.name.slice(0, -MARKER_SUFFIX.length)));
  const units: ReadyUnit[] = [];
  for (const e of visible) {
    let unit: ReadyUnit | undefined;
    if (e.directory) unit = { name: e.name, form: 'folder', entry: e.name };
    else if (e.file && /\.xml$/i.test(e.name)) unit = { name: e.name.slice(0, -4), form: 'xml', entry: e.name };
    else if (e.file && /\.json$/i.test(e.name)) unit = { name: e.name.slice(0, -5), form: 'json', entry: e.name };
    if (!unit || unit.name === '') continue;
    if (mode === 'marker' && !markers.has(unit.name)) continue;
    units.push(unit);
  }
  return units.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));
}
