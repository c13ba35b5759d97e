/**
 * An edge's database opened read-only, for the verbs that show what happened (`inbox`,
 * `outbox`, `show`): no keys, no crypto workers, no broker, no write. SQLite's WAL lets it read
 * beside the running edge without blocking it, and each query sees the edge's latest commit.
 */
import { existsSync } from 'node:fs';
import type { EdgeConfig } from '../edge/config.js';
import type { EdgeRecords, OutboxRow } from '../edge/records.js';
import { LtError } from '../errors.js';
import type { Db } from '../store/db.js';
import type { DeliveryLog } from '../store/deliveries.js';
import type { Io } from './command.js';
import { requireOption } from './command.js';

/** A packet this edge consumed for a document (the document itself, or a status about it). */
export interface ReceivedPacketRow {
  packetId: string;
  kind: string | null;
  sender: string | null;
  receivedAt: string;
  /** accepted, rejected, duplicate, unmatched-bounce. */
  verdict: string;
  errorCode: string | null;
  /** The hub's hop from the message headers (x-lt-hub, x-lt-routed-at, x-lt-lane). */
  hop: { hub: string; routedAt: string | null; lane: string | null } | null;
}

/** A packet this edge signed for a document: the document, or a status (recall, 01 … 06). */
export type SentPacketRow = Omit<OutboxRow, 'blob'>;

export interface EdgeReader {
  config: EdgeConfig;
  /** The database itself, read-only (the adapters' tables: webhook deliveries). */
  db: Db;
  records: EdgeRecords;
  deliveries: DeliveryLog;
  /** Every packet of the document, each direction in the order written. */
  packets(documentId: string): { sent: SentPacketRow[]; received: ReceivedPacketRow[] };
}

export async function withEdgeReader<T>(configPath: string | undefined, io: Io, work: (reader: EdgeReader) => T | Promise<T>): Promise<T> {
  const config = requireOption(configPath, '--config');
  const { loadEdgeConfig, edgeDatabasePath } = await import('../edge/config.js');
  const { EdgeRecords, toOutbox } = await import('../edge/records.js');
  const { DeliveryLog } = await import('../store/deliveries.js');
  const { openDatabase } = await import('../store/db.js');
  const { EDGE_MIGRATIONS } = await import('../store/migrations/edge.js');
  const edgeConfig = await loadEdgeConfig(config, io.env);
  const path = edgeDatabasePath(edgeConfig);
  if (!existsSync(path)) {
    throw new LtError(
      'IO',
      `the edge of ${edgeConfig.organId} has no database at ${path} yet: start it once ("lienthong edge --config ${config}"), or check dataDir / LT_DATA_DIR`,
      { path },
    );
  }
  const db = openDatabase(path, EDGE_MIGRATIONS, { readonly: true });
  try {
    assertSchemaCurrent(db, Math.max(...EDGE_MIGRATIONS.map((m) => m.version)), edgeConfig.organId, config);
    return await work({ config: edgeConfig, db, records: new EdgeRecords(db), deliveries: new DeliveryLog(db), packets: (documentId) => packetsOf(db, documentId, toOutbox) });
  } finally {
    db.close();
  }
}

/** Read-only, this process cannot migrate: an edge that has not run this version yet is named as such. */
function assertSchemaCurrent(db: Db, known: number, organId: string, config: string): void {
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null } | undefined;
  if ((row?.version ?? 0) < known) {
    throw new LtError('CONFIG_INVALID', `the database of the edge of ${organId} is from an older lienthong; run "lienthong edge --config ${config}" once to upgrade it`);
  }
}

function packetsOf(db: Db, documentId: string, toOutbox: (r: Record<string, unknown>) => OutboxRow): { sent: SentPacketRow[]; received: ReceivedPacketRow[] } {
  const sent = (db.prepare('SELECT * FROM outbox WHERE document_id = ? ORDER BY created_at, rowid').all(documentId) as Array<Record<string, unknown>>).map((r): SentPacketRow => {
    const { blob: _blob, ...row } = toOutbox(r);
    return row;
  });
  const received = (
    db.prepare('SELECT packet_id, kind, sender, received_at, verdict, error_code, hop FROM received_packets WHERE document_id = ? ORDER BY received_at, rowid').all(documentId) as Array<
      Record<string, unknown>
    >
  ).map(
    (r): ReceivedPacketRow => ({
      packetId: r.packet_id as string,
      kind: (r.kind as string | null) ?? null,
      sender: (r.sender as string | null) ?? null,
      receivedAt: r.received_at as string,
      verdict: r.verdict as string,
      errorCode: (r.error_code as string | null) ?? null,
      hop: r.hop ? (JSON.parse(r.hop as string) as ReceivedPacketRow['hop']) : null,
    }),
  );
  return { sent, received };
}
