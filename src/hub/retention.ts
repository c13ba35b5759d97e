/**
 * Retention of what the hub refused or dead-lettered. Every such packet used to be kept whole
 * forever, so an agency could grow the hub's disk at will (20 × 1 MiB of random bytes: 21.5 MiB).
 * After the retention period the bytes go; the row (hash, size, verdict, reason) stays, and an
 * audit row says what was deleted. Blobs are content-addressed: one still referenced by another
 * row (a routed packet with the same bytes, a bounce, a newer refusal) is kept.
 */
import { LtError } from '../errors.js';
import type { Logger } from '../log.js';
import { appendAudit } from '../store/audit.js';
import type { BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import type { ResourceNames } from '../broker/names.js';
import type { RetentionConfig } from './config.js';
import { DeadLetters } from './dead-letters.js';

const DAY_MS = 86_400_000;
/** A blob stored again within this time is in use by a packet being routed right now. */
const IN_USE_GRACE_MS = 15 * 60_000;
/** dead_letters.blob is NOT NULL: the empty hash marks bytes deleted by retention. */
const PRUNED = '';

export interface PruneDeps {
  db: Db;
  blobs: BlobStore;
  names: ResourceNames;
  log: Logger;
}

export interface PruneResult {
  /** Refused packets whose bytes were released. */
  packets: number;
  /** Dead letters whose bytes were released. */
  deadLetters: number;
  /** Pending dead letters discarded because they outlived the retention period. */
  discarded: number;
  /** Blob files deleted, and their bytes (a blob another row still holds is not deleted). */
  blobsDeleted: number;
  bytesDeleted: number;
}

interface Candidate {
  table: 'packets' | 'dead_letters';
  subject: string;
  key: string | number;
  blob: string;
  size: number;
  receivedAt: string;
}

export async function pruneRetention(deps: PruneDeps, retention: RetentionConfig, now: Date, actor = 'hub:retention'): Promise<PruneResult> {
  const result: PruneResult = { packets: 0, deadLetters: 0, discarded: 0, blobsDeleted: 0, bytesDeleted: 0 };
  const refusedBefore = new Date(now.getTime() - retention.refusedDays * DAY_MS).toISOString();
  const deadBefore = new Date(now.getTime() - retention.deadLetterDays * DAY_MS).toISOString();

  // A dead letter nobody acted on within the period is discarded (audited) before its bytes go,
  // so that nobody can replay a packet whose bytes are gone.
  const deadLetters = new DeadLetters({
    db: deps.db,
    blobs: deps.blobs,
    names: deps.names,
    publisher: () => {
      throw new LtError('INTERNAL', 'retention does not publish');
    },
    route: () => Promise.reject(new LtError('INTERNAL', 'retention does not route')),
    clock: () => now,
    log: deps.log,
  });
  const stale = deps.db.prepare("SELECT id FROM dead_letters WHERE status = 'pending' AND received_at < ?").all(deadBefore) as Array<{ id: number }>;
  for (const { id } of stale) {
    deadLetters.discard(id, actor, `retention: pending for more than ${retention.deadLetterDays} days`);
    result.discarded += 1;
  }

  const candidates: Candidate[] = [
    ...(
      deps.db
        .prepare("SELECT packet_id, blob, size, received_at FROM packets WHERE verdict = 'refused' AND blob IS NOT NULL AND received_at < ? ORDER BY received_at")
        .all(refusedBefore) as Array<{ packet_id: string; blob: string; size: number; received_at: string }>
    ).map((r): Candidate => ({ table: 'packets', subject: r.packet_id, key: r.packet_id, blob: r.blob, size: r.size, receivedAt: r.received_at })),
    ...(
      deps.db
        .prepare("SELECT id, blob, size, received_at FROM dead_letters WHERE status <> 'pending' AND blob <> ? AND received_at < ? ORDER BY id")
        .all(PRUNED, deadBefore) as Array<{ id: number; blob: string; size: number; received_at: string }>
    ).map((r): Candidate => ({ table: 'dead_letters', subject: `dead-letter:${r.id}`, key: r.id, blob: r.blob, size: r.size, receivedAt: r.received_at })),
  ];

  const release = {
    packets: deps.db.prepare('UPDATE packets SET blob = NULL WHERE packet_id = ?'),
    dead_letters: deps.db.prepare('UPDATE dead_letters SET blob = ? WHERE id = ?'),
  };
  const references = deps.db.prepare(
    `SELECT (SELECT COUNT(*) FROM packets WHERE blob = @h) + (SELECT COUNT(*) FROM outbound WHERE blob = @h)
       + (SELECT COUNT(*) FROM dead_letters WHERE blob = @h) AS n`,
  );
  const idleSince = new Date(now.getTime() - IN_USE_GRACE_MS);
  for (const c of candidates) {
    const unreferenced = deps.db.transaction(() => {
      if (c.table === 'packets') release.packets.run(c.key);
      else release.dead_letters.run(PRUNED, c.key);
      const left = (references.get({ h: c.blob }) as { n: number }).n;
      appendAudit(
        deps.db,
        {
          actor,
          action: 'blob.pruned',
          subject: c.subject,
          details: { sha256: c.blob, size: c.size, receivedAt: c.receivedAt, retentionDays: c.table === 'packets' ? retention.refusedDays : retention.deadLetterDays, stillReferenced: left > 0 },
        },
        now,
      );
      return left === 0;
    }).immediate();
    if (c.table === 'packets') result.packets += 1;
    else result.deadLetters += 1;
    // After the commit: a crash in between leaves an orphan file, never a row without its bytes.
    if (unreferenced && (await deps.blobs.remove(c.blob, idleSince))) {
      result.blobsDeleted += 1;
      result.bytesDeleted += c.size;
    }
  }
  if (candidates.length > 0 || result.discarded > 0) deps.log.info({ ...result }, 'retention: released the bytes of old refused packets and dead letters');
  return result;
}
