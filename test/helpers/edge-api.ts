/**
 * Helpers for the REST adapter tests: an edge that is only opened (keys loaded, crypto workers
 * running, SQLite in a temporary directory, no broker), API keys made the way an operator makes
 * them (`lienthong apikey new`), a check of error bodies against schemas/api/error.json, and a
 * hand-delivery of packets into an opened edge's inbox (the hub's part, without a broker).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { Test } from 'tap';
import { lienthongInProcess } from './cli-in-process.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { edgeConfigFrom, type ApiKeyConfig } from '../../src/edge/config.js';
import { Edge } from '../../src/edge/edge.js';
import { EDGE_ADAPTERS } from '../../src/adapters/edge-adapters.js';
import { silentLogger } from '../../src/log.js';
import type { ConsumeMessage } from 'amqplib';
import type { Verdict } from '../../src/broker/consumer.js';
import { publishOptions, type PacketEnvelope } from '../../src/broker/message.js';
import type { Lane } from '../../src/broker/names.js';
import { CryptoPool } from '../../src/crypto/pool.js';
import { readTrustFiles } from '../../src/crypto/trust.js';
import { Inbox, type InboxEvent } from '../../src/edge/inbox.js';
import { organ, REPO } from './pki.js';

/**
 * An opened edge of `organId` with its data in a fresh test directory, configured the way an
 * operator's edge.json would configure it (so every default is the real one); stopped at teardown.
 */
export async function openedEdge(t: Test, organId: string, raw: Record<string, unknown> = {}): Promise<Edge> {
  const config = edgeConfigFrom(
    {
      organId,
      organization: { organId, organName: organ(organId).name },
      hubOrganId: DEV_HUB.organId,
      amqpUrl: 'amqp://127.0.0.1:1',
      prefix: 'lt-unit',
      dataDir: t.testdir(),
      identity: { key: devPath('agencies', `${organId}.key.pem`), cert: devPath('agencies', `${organId}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
      ...raw,
    },
    REPO,
    'test edge.json',
    {},
  );
  const edge = new Edge(config, { log: silentLogger(), adapters: EDGE_ADAPTERS });
  t.teardown(() => edge.stop());
  await edge.open();
  return edge;
}

/** `lienthong apikey new <client> --json`, run in-process: the key and the edge.json entry. */
export async function apiKeyFromCli(client: string): Promise<{ key: string; entry: ApiKeyConfig; stdout: string }> {
  const { code, stdout, stderr } = await lienthongInProcess('apikey', 'new', client, '--json');
  if (code !== 0) throw new Error(`apikey new exited ${code}: ${stderr}`);
  const out = JSON.parse(stdout) as { key: string; entry: ApiKeyConfig };
  return { key: out.key, entry: out.entry, stdout };
}

/** A validator of schemas/api/error.json (with the schemas it references). */
export function errorBodyValidator(): (body: unknown) => string | undefined {
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  const dir = join(REPO, 'schemas', 'api');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object);
  const validate = ajv.getSchema('error.json');
  if (!validate) throw new Error('schemas/api/error.json is missing');
  return (body) => (validate(body) ? undefined : ajv.errorsText(validate.errors));
}

/** Hands packets to one opened edge's inbox, the way the hub delivers them. */
export interface InboxFeed {
  readonly edge: Edge;
  /** What the inbox reported, in order. */
  readonly events: InboxEvent[];
  /** One queued outbox row of `from` (its signed bytes), delivered as the hub forwards it. */
  handOver(from: Edge, packetId: string): Promise<Verdict>;
  /** Every row of `from`'s outbox about `documentId` not yet handed to this edge, oldest first. */
  handOverAll(from: Edge, documentId: string): Promise<Verdict[]>;
  /** Any signed packet, with the AMQP properties of `envelope` (e.g. a bounce signed as the hub). */
  deliver(content: Uint8Array | string, envelope: PacketEnvelope): Promise<Verdict>;
}

/**
 * An Inbox over an opened edge's database, blob store, outbox and lifecycle, built the way
 * Edge.start() builds it (own crypto pool with the edge's trust, the edge's organ ids and
 * limits), for tests that need a "received" state without a broker: take a signed packet from
 * one edge's outbox and hand it to another's inbox. The pool is closed at teardown.
 */
export async function inboxFeed(t: Test, edge: Edge, options: { clock?: () => Date } = {}): Promise<InboxFeed> {
  const pool = new CryptoPool({ size: 1, trust: await readTrustFiles(edge.config.trust) });
  t.teardown(() => pool.close());
  const events: InboxEvent[] = [];
  const clock = options.clock ?? (() => new Date());
  const inbox = new Inbox({
    db: edge.db,
    blobs: edge.blobs,
    pool,
    outbox: edge.outbox,
    lifecycle: edge.lifecycle,
    organId: edge.config.organId,
    hubOrganId: edge.config.hubOrganId,
    maxPacketBytes: edge.config.maxPacketBytes,
    clock,
    log: silentLogger(),
    onReceived: (event) => events.push(event),
  });
  const handed = new Set<string>();
  let deliveryTag = 0;
  const deliver = (content: Uint8Array | string, envelope: PacketEnvelope): Promise<Verdict> => {
    const options = publishOptions(envelope, clock());
    const message = {
      content: Buffer.from(content),
      fields: { deliveryTag: ++deliveryTag, redelivered: false, exchange: 'test-deliver', routingKey: envelope.lane, consumerTag: 'test' },
      properties: { ...options, messageId: envelope.packetId, type: envelope.type, userId: undefined, headers: options.headers },
    } as unknown as ConsumeMessage;
    const lane: Lane = envelope.lane;
    return inbox.handle({ lane, queue: edge.names.agencyQueue(edge.config, lane), message });
  };
  const handOver = async (from: Edge, packetId: string): Promise<Verdict> => {
    const row = from.records.outboxEntry(packetId);
    if (!row) throw new Error(`${from.config.organId} has no outbox row ${packetId}`);
    handed.add(packetId);
    return deliver(await from.blobs.get(row.blob), {
      packetId: row.packetId,
      type: row.kind === 'document' ? 'edoc' : 'status',
      from: from.config.organId,
      to: row.recipients,
      priority: row.priority,
      documentId: row.documentId,
      lane: row.lane,
      ...(row.statusCode ? { extra: { 'x-lt-status': row.statusCode } } : {}),
    });
  };
  const handOverAll = async (from: Edge, documentId: string): Promise<Verdict[]> => {
    const rows = from.db
      .prepare('SELECT packet_id, recipients FROM outbox WHERE document_id = ? ORDER BY created_at, rowid')
      .all(documentId) as Array<{ packet_id: string; recipients: string }>;
    const verdicts: Verdict[] = [];
    for (const row of rows) {
      if (handed.has(row.packet_id) || !(JSON.parse(row.recipients) as string[]).includes(edge.config.organId)) continue;
      verdicts.push(await handOver(from, row.packet_id));
    }
    return verdicts;
  };
  return { edge, events, handOver, handOverAll, deliver };
}
