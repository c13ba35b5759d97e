/**
 * Where an urgent document's time goes, hop by hop, from what the three nodes record anyway:
 * the sender's and recipient's outbox (queued, confirmed by the broker), the hub's packets and
 * outbound rows (taken off its queue, published and confirmed), the recipients' received
 * packets (taken and verified), and the edges' log lines written after each commit. Nothing
 * is added to the nodes for the benchmark; every moment is the node's own clock (one machine).
 */
import type { Cluster } from '../test/helpers/processes.js';
import { readDb } from '../test/helpers/processes.js';
import { fmt, percentile, table } from './harness.js';

/** An urgent document as the benchmark submitted it. */
export interface Submitted {
  documentId: string;
  packetId: string;
  /** Epoch ms: just before the POST. */
  submittedAt: number;
}

/** The moments of one document's round trip, in order (epoch ms; NaN where a node kept none). */
export const MOMENTS = [
  'submitted (POST sent)',
  'sender: signed, queued in its outbox',
  'sender: published, confirmed',
  'hub: document taken off its queue',
  'hub: routed, published, confirmed',
  'recipient: document taken and verified',
  'recipient: stored, 01 queued (committed)',
  'recipient: 01 published, confirmed',
  'hub: 01 taken off its queue',
  'hub: 01 routed, published, confirmed',
  'sender: 01 taken and verified',
  'sender: 01 stored (committed)',
] as const;

export interface RoundTrip {
  documentId: string;
  moments: number[];
  /** The lane of the 01 at the recipient's outbox and at the hub's outbound. */
  receiptLanes: string[];
}

const ms = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : NaN);

/** The time of the first log line of `msg` about `packetId`, by packet id. */
function loggedAt(lines: Array<Record<string, unknown>>): Map<string, number> {
  const at = new Map<string, number>();
  for (const line of lines) {
    const id = line.packetId;
    // pino's time: an ISO string as the nodes log it (src/log.ts), epoch ms by its default.
    const time = typeof line.time === 'string' ? Date.parse(line.time) : line.time;
    if (typeof id === 'string' && typeof time === 'number' && !at.has(id)) at.set(id, time);
  }
  return at;
}

export function roundTrips(cluster: Cluster, sender: string, recipient: string, submitted: readonly Submitted[]): RoundTrip[] {
  const stored = loggedAt(cluster.edge(recipient).lines('document received; 01 queued'));
  const statusStored = loggedAt(cluster.edge(sender).lines('status received'));
  return submitted.map((s) => {
    const atSender = readDb(cluster.edgeDb(sender), (db) => ({
      document: db.prepare('SELECT created_at, sent_at FROM outbox WHERE packet_id = ?').get(s.packetId) as { created_at: string; sent_at: string | null } | undefined,
      receipt: db
        .prepare(`SELECT r.packet_id, r.received_at FROM events e JOIN received_packets r ON r.packet_id = e.packet_id WHERE e.document_id = ? AND e.event = '01'`)
        .get(s.documentId) as { packet_id: string; received_at: string } | undefined,
    }));
    const receiptId = atSender.receipt?.packet_id;
    const atRecipient = readDb(cluster.edgeDb(recipient), (db) => ({
      received: db.prepare('SELECT received_at FROM received_packets WHERE packet_id = ?').get(s.packetId) as { received_at: string } | undefined,
      receipt: db.prepare(`SELECT lane, sent_at FROM outbox WHERE document_id = ? AND kind = 'status' AND status_code = '01'`).get(s.documentId) as
        | { lane: string; sent_at: string | null }
        | undefined,
    }));
    const hub = readDb(cluster.hubDb, (db) => {
      const taken = db.prepare('SELECT received_at FROM packets WHERE packet_id = ?');
      const published = db.prepare('SELECT lane, published_at FROM outbound WHERE packet_id = ? AND cause = ?');
      return {
        document: taken.get(s.packetId) as { received_at: string } | undefined,
        documentOut: published.get(s.packetId, s.packetId) as { lane: string; published_at: string | null } | undefined,
        receipt: receiptId ? (taken.get(receiptId) as { received_at: string } | undefined) : undefined,
        receiptOut: receiptId ? (published.get(receiptId, receiptId) as { lane: string; published_at: string | null } | undefined) : undefined,
      };
    });
    return {
      documentId: s.documentId,
      moments: [
        s.submittedAt,
        ms(atSender.document?.created_at),
        ms(atSender.document?.sent_at),
        ms(hub.document?.received_at),
        ms(hub.documentOut?.published_at),
        ms(atRecipient.received?.received_at),
        stored.get(s.packetId) ?? NaN,
        ms(atRecipient.receipt?.sent_at),
        ms(hub.receipt?.received_at),
        ms(hub.receiptOut?.published_at),
        ms(atSender.receipt?.received_at),
        (receiptId ? statusStored.get(receiptId) : undefined) ?? NaN,
      ],
      receiptLanes: [atRecipient.receipt?.lane ?? '?', hub.receiptOut?.lane ?? '?'],
    };
  });
}

/** One row per hop: median, p95 and the largest over the documents, and the median of the same hop without a backlog. */
export function hopTable(trips: readonly RoundTrip[], floor: readonly RoundTrip[]): string {
  const sortedOf = (values: number[]): number[] => values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const hopOf = (of: readonly RoundTrip[], from: number, to: number): number[] => sortedOf(of.map((t) => (t.moments[to] as number) - (t.moments[from] as number)));
  const row = (hop: string, from: number, to: number): Record<string, string> => {
    const values = hopOf(trips, from, to);
    return {
      hop,
      'median ms': fmt(percentile(values, 50)),
      'p95 ms': fmt(percentile(values, 95)),
      'max ms': fmt(percentile(values, 100)),
      'median, no backlog': fmt(percentile(hopOf(floor, from, to), 50)),
    };
  };
  const rows = MOMENTS.slice(1).map((to, i) => row(`${MOMENTS[i]} → ${to}`, i, i + 1));
  rows.push(row('whole round trip', 0, MOMENTS.length - 1));
  return table(rows);
}

/** The slowest round trip, moment by moment, as ms after its submission. */
export function slowestTrip(trips: readonly RoundTrip[]): string {
  const total = (t: RoundTrip): number => (t.moments.at(-1) as number) - (t.moments[0] as number);
  const slowest = [...trips].sort((a, b) => total(b) - total(a))[0];
  if (!slowest) return '';
  const start = slowest.moments[0] as number;
  return [
    `The slowest urgent document (${slowest.documentId}), ms after its POST:`,
    table(MOMENTS.map((moment, i) => ({ moment, 'at ms': fmt((slowest.moments[i] as number) - start) }))),
  ].join('\n');
}
