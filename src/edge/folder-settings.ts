/**
 * The "folder" section of edge.json: where the folder drop lives, how often it looks, and how a
 * writer says a unit is complete. Checked at load, so a typo stops the edge before it starts.
 */
import { LtError } from '../errors.js';
import { resolvePath } from '../config.js';

/** How a unit of outgoing/ is known to be complete. */
export type FolderMode = 'marker' | 'rename';

export interface FolderConfig {
  /** The folder holding outgoing/, sent/, failed/ and incoming/ (absolute). */
  root: string;
  /** Seconds between two looks at outgoing/ and at the timeline. Default 2. */
  pollSeconds: number;
  /** "marker" (default): a unit is taken once `<name>.ready` exists; "rename": as soon as it is there. */
  mode: FolderMode;
}

export const DEFAULT_FOLDER_POLL_SECONDS = 2;
const KEYS = new Set(['root', 'pollSeconds', 'mode']);

/** The folder section, checked; undefined when edge.json has none. Paths relative to edge.json's folder. */
export function folderSetting(value: unknown, baseDir: string, file: string): FolderConfig | undefined {
  if (value === undefined) return undefined;
  const invalid = (path: string, why: string): LtError => new LtError('CONFIG_INVALID', `${file}: "${path}" ${why}`, { path });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('folder', 'must be an object such as { "root": "/srv/lienthong/folder", "mode": "marker" }');
  }
  const raw = value as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw invalid(`folder.${key}`, 'is not a setting of the folder drop (it has root, pollSeconds and mode)');
  }
  if (typeof raw.root !== 'string' || raw.root.trim() === '') {
    throw invalid('folder.root', 'must name the folder that holds outgoing/, sent/, failed/ and incoming/');
  }
  const pollSeconds = raw.pollSeconds ?? DEFAULT_FOLDER_POLL_SECONDS;
  if (typeof pollSeconds !== 'number' || !Number.isFinite(pollSeconds) || pollSeconds <= 0 || pollSeconds > 3600) {
    throw invalid('folder.pollSeconds', `must be a number of seconds above 0 and at most 3600 (default ${DEFAULT_FOLDER_POLL_SECONDS}), not ${JSON.stringify(raw.pollSeconds)}`);
  }
  const mode = raw.mode ?? 'marker';
  if (mode !== 'marker' && mode !== 'rename') {
    throw invalid('folder.mode', `must be "marker" (a unit is taken once <name>.ready exists) or "rename" (the writer renames complete units into outgoing/), not ${JSON.stringify(raw.mode)}`);
  }
  return { root: resolvePath(baseDir, raw.root), pollSeconds, mode };
}
