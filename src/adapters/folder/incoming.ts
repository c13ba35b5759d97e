/**
 * The edge's timeline → incoming/. Each received document gets a folder: `packet.xml` (the
 * packet's bytes as stored, signature and all), `attachments/` (its files under safe names) and
 * `status.json`, built in a hidden folder and renamed into place whole. Every later event about
 * the document (a status this agency gave, a recall, a reply) rewrites status.json through a
 * temporary file. Which events are reflected is a cursor in the edge database, moved only after
 * the files are written: a crash writes the same files again, nothing is skipped.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Edge } from '../../edge/edge.js';
import type { Logger } from '../../log.js';
import { entries, exists, makeDirectory, move, writeFileAtomic, type FolderLayout } from './files.js';
import { firstFreeName, safeFileName, uniqueName } from './safe-name.js';
import { statusFile, type StatusFileAttachment } from './status-file.js';
import type { FolderStore } from './store.js';

export const PACKET_FILE = 'packet.xml';
export const STATUS_FILE = 'status.json';
export const ATTACHMENTS_FOLDER = 'attachments';
const BATCH = 200;
const BUILDING_PREFIX = '.building-';

export interface IncomingDeps {
  layout: FolderLayout;
  store: FolderStore;
  edge: Pick<Edge, 'document' | 'records' | 'blobs' | 'config'>;
  clock: () => Date;
  log: Logger;
  stopping: () => boolean;
}

export class IncomingFolder {
  constructor(private readonly deps: IncomingDeps) {}

  /** Remove folders a crash left half built (they are built again from the timeline). */
  async clearLeftovers(): Promise<void> {
    for (const e of await entries(this.deps.layout.incoming)) {
      if (e.directory && e.name.startsWith(BUILDING_PREFIX)) await rm(join(this.deps.layout.incoming, e.name), { recursive: true, force: true });
    }
  }

  /** Reflect every event after the cursor, a batch at a time. */
  async pass(): Promise<void> {
    const { store } = this.deps;
    for (;;) {
      if (this.deps.stopping()) return;
      const events = store.eventsAfter(store.cursor(), BATCH);
      if (events.length === 0) return;
      const touched = new Set<string>();
      for (const e of events) for (const id of this.incomingAffected(e.documentId)) touched.add(id);
      for (const documentId of touched) await this.write(documentId);
      store.setCursor((events.at(-1) as { id: number }).id);
    }
  }

  /** The received documents an event about `documentId` changes: itself, or the one it answers. */
  private incomingAffected(documentId: string): string[] {
    const { records } = this.deps.edge;
    const row = records.document(documentId);
    if (!row) return [];
    const out: string[] = [];
    if (row.direction === 'in') out.push(documentId);
    if (row.responseFor && records.document(row.responseFor)?.direction === 'in') out.push(row.responseFor);
    return out;
  }

  private async write(documentId: string): Promise<void> {
    const { layout, store, edge } = this.deps;
    const view = edge.document(documentId);
    if (!view) return;
    let folder = store.incomingFolder(documentId);
    if (!folder) {
      const name = await firstFreeName(safeFileName(documentId, 'document'), async (candidate) => store.folderTaken(candidate) || (await exists(join(layout.incoming, candidate))));
      store.reserveIncoming(documentId, name);
      folder = { folder: name, written: false };
    }
    const path = join(layout.incoming, folder.folder);
    const replies = edge.records.documentsReferring('response_for', documentId);
    const names = attachmentFiles(view.attachments);
    const status = `${JSON.stringify(statusFile(view, edge.config.organId, replies, names), null, 2)}\n`;
    if (await exists(path)) {
      await writeFileAtomic(join(path, STATUS_FILE), status);
      if (!folder.written) store.incomingWritten(documentId, this.deps.clock().toISOString()); // a crash came between the rename and this mark
      return;
    }
    // Written whole once and then gone: the agency's program took it. Not made again.
    if (folder.written) return;
    const building = join(layout.incoming, `${BUILDING_PREFIX}${randomBytes(6).toString('hex')}`);
    await makeDirectory(join(building, ATTACHMENTS_FOLDER));
    await writeFileAtomic(join(building, PACKET_FILE), await edge.blobs.get(view.document.blob));
    for (const a of names) await writeFileAtomic(join(building, ATTACHMENTS_FOLDER, a.file), await edge.blobs.get(a.sha256));
    await writeFileAtomic(join(building, STATUS_FILE), status);
    await move(building, path);
    store.incomingWritten(documentId, this.deps.clock().toISOString());
    this.deps.log.info({ documentId, folder: folder.folder }, 'folder drop: received document written to incoming/');
  }
}

/** Each attachment's file in attachments/: its name made safe, kept apart from the others. */
export function attachmentFiles(attachments: ReadonlyArray<{ contentId: string; name: string | null; contentType: string | null; size: number; sha256: string }>): StatusFileAttachment[] {
  const taken = new Set<string>();
  return attachments.map((a) => ({
    file: uniqueName(safeFileName(a.name ?? a.contentId, 'attachment'), taken),
    name: a.name,
    contentType: a.contentType,
    size: a.size,
    sha256: a.sha256,
  }));
}
