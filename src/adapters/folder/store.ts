/** The folder drop's own rows in the edge database (migration 5): units submitted, incoming folders, cursor. */
import type { Db } from '../../store/db.js';

export interface SubmittedUnit {
  packetId: string;
  documentId: string;
}

export class FolderStore {
  constructor(private readonly db: Db) {}

  /** The packet a unit (its name and content hash) already became, if it did. */
  submitted(name: string, contentHash: string): SubmittedUnit | undefined {
    const row = this.db.prepare('SELECT packet_id, document_id FROM folder_units WHERE name = ? AND content_hash = ?').get(name, contentHash) as
      | { packet_id: string; document_id: string }
      | undefined;
    return row ? { packetId: row.packet_id, documentId: row.document_id } : undefined;
  }

  /** Inside the transaction that queued the packet (SubmitOptions.inTransaction). */
  recordSubmitted(name: string, contentHash: string, unit: SubmittedUnit, at: string): void {
    this.db
      .prepare('INSERT INTO folder_units (name, content_hash, packet_id, document_id, submitted_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, contentHash, unit.packetId, unit.documentId, at);
  }

  /** The last timeline event (events.id) incoming/ reflects. */
  cursor(): number {
    const row = this.db.prepare('SELECT event_id FROM folder_cursor WHERE id = 1').get() as { event_id: number } | undefined;
    return row?.event_id ?? 0;
  }

  setCursor(eventId: number): void {
    this.db.prepare('INSERT INTO folder_cursor (id, event_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id').run(eventId);
  }

  /** Events after `after`, oldest first: which documents they are about. */
  eventsAfter(after: number, limit: number): Array<{ id: number; documentId: string }> {
    return (this.db.prepare('SELECT id, document_id FROM events WHERE id > ? ORDER BY id LIMIT ?').all(after, limit) as Array<{ id: number; document_id: string }>).map((r) => ({
      id: r.id,
      documentId: r.document_id,
    }));
  }

  incomingFolder(documentId: string): { folder: string; written: boolean } | undefined {
    const row = this.db.prepare('SELECT folder, written_at FROM folder_incoming WHERE document_id = ?').get(documentId) as { folder: string; written_at: string | null } | undefined;
    return row ? { folder: row.folder, written: row.written_at !== null } : undefined;
  }

  /** Whether a received document was given this folder name (the column compares without case, as Windows and macOS do). */
  folderTaken(folder: string): boolean {
    return this.db.prepare('SELECT 1 FROM folder_incoming WHERE folder = ?').get(folder) !== undefined;
  }

  /** The name is kept before the folder is written, so a crash in between writes it again under the same name. */
  reserveIncoming(documentId: string, folder: string): void {
    this.db.prepare('INSERT INTO folder_incoming (document_id, folder, written_at) VALUES (?, ?, NULL)').run(documentId, folder);
  }

  incomingWritten(documentId: string, at: string): void {
    this.db.prepare('UPDATE folder_incoming SET written_at = ? WHERE document_id = ?').run(at, documentId);
  }
}
