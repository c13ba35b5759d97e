/**
 * Helpers for the integration tests that run a whole exchange in-process against the real
 * RabbitMQ (src/demo/local-exchange.ts): a hub and edges under a fresh broker prefix, torn down
 * (broker resources, users, files) when the test ends, with every routing decision of the hub
 * and every packet an edge handled recorded in arrival order. Plus what the tests need to act as
 * a misbehaving client: raw AMQP with an agency's own credentials, packets signed in-thread.
 */
import { readFileSync } from 'node:fs';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type Message } from 'amqplib';
import type { Test } from 'tap';
import { publishOptions, type PacketEnvelope } from '../../src/broker/message.js';
import type { Lane } from '../../src/broker/names.js';
import { loadSigningIdentity, type SigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { devPath, startLocalExchange, type AgencySpec, type LocalExchange, type LocalExchangeOptions } from '../../src/demo/local-exchange.js';
import { Edge } from '../../src/edge/edge.js';
import { EDGE_ADAPTERS } from '../../src/adapters/edge-adapters.js';
import type { InboxEvent } from '../../src/edge/inbox.js';
import { buildPacket, composeDocument, type DocumentInput, type Packet } from '../../src/envelope/index.js';
import type { RouteOutcome } from '../../src/hub/router.js';
import { silentLogger } from '../../src/log.js';
import { EVENT_DEADLINE_MS } from './deadline.js';
import { identityOf, organ, trustStore } from './pki.js';

/** The agencies of the scenarios (certificates in certs-dev/agencies/). */
export const A = '000.00.01.H12'; // Văn phòng UBND tỉnh
export const B = '000.00.05.H12'; // Sở Tài chính
export const C = '000.00.31.H12'; // UBND thành phố Cà Mau

export function agency(organId: string, extra: Partial<AgencySpec> = {}): AgencySpec {
  return { organId, organName: organ(organId).name, ...extra };
}

export interface ObservedExchange {
  exchange: LocalExchange;
  /** Every routing decision of the hub, in order. */
  routed: RouteOutcome[];
  /** Every packet each edge handled, in order, by organ id. */
  received: Map<string, InboxEvent[]>;
  /** The edge of an agency provisioned with `start: false`, started now (stopped with the exchange). */
  startEdge(organId: string): Promise<Edge>;
}

/**
 * A hub and edges under a fresh prefix; `exchange.stop()` is registered as teardown, so the
 * prefix's queues, exchanges and users and the temporary directory go whatever the outcome.
 */
export async function openExchange(t: Test, agencies: AgencySpec[], options: Partial<LocalExchangeOptions> = {}): Promise<ObservedExchange> {
  const routed: RouteOutcome[] = [];
  const received = new Map<string, InboxEvent[]>();
  const log = silentLogger();
  const recorder = (organId: string, chained?: (e: InboxEvent) => void) => (event: InboxEvent) => {
    let list = received.get(organId);
    if (!list) received.set(organId, (list = []));
    list.push(event);
    chained?.(event);
  };
  const exchange = await startLocalExchange({
    prefixBase: 'lt-it',
    log,
    ...options,
    hubOptions: {
      ...options.hubOptions,
      onRouted: (o) => {
        routed.push(o);
        options.hubOptions?.onRouted?.(o);
      },
    },
    agencies: agencies.map((spec) => ({
      ...spec,
      edgeOptions: { ...spec.edgeOptions, onReceived: recorder(spec.organId, spec.edgeOptions?.onReceived) },
    })),
  });
  t.teardown(() => exchange.stop());
  return {
    exchange,
    routed,
    received,
    async startEdge(organId) {
      const config = exchange.edgeConfigs.get(organId);
      if (!config) throw new Error(`${organId} is not provisioned in this exchange`);
      const edge = new Edge(config, { log, adapters: EDGE_ADAPTERS, onReceived: recorder(organId) });
      exchange.edges.set(organId, edge); // so that exchange.stop() stops it too
      await edge.start();
      return edge;
    },
  };
}

export { EVENT_DEADLINE_MS };

/**
 * Poll `probe` until it returns something other than undefined/false/null; fail with `what`
 * (and the last value `describe` gives) when the deadline passes. `timeoutMs` can lengthen the
 * deadline for an event known to take long, never shorten it below EVENT_DEADLINE_MS: a short
 * deadline measures the machine's load, not the code.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const timeoutMs = Math.max(options.timeoutMs ?? 0, EVENT_DEADLINE_MS);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      const last = options.describe ? ` (last seen: ${JSON.stringify(options.describe())})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}

/** A fresh công văn's metadata for `submitDocument`: numbered `n`, to `to`, with one attachment. */
export function letter(to: readonly string[], n: number | string, overrides: Partial<DocumentInput> = {}): Omit<DocumentInput, 'from'> {
  return {
    to: to.map((organId) => ({ organId, organName: organName(organId) })),
    code: { codeNumber: String(n), codeNotation: 'UBND-VP' },
    subject: `V/v triển khai liên thông văn bản điện tử (số ${n})`,
    content: 'Đề nghị các đơn vị triển khai kết nối trước ngày 31/12.',
    signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    attachments: [{ name: `cong-van-${n}.pdf`, content: attachmentBytes(n) }],
    ...overrides,
  };
}

/** Bytes that are not text: every byte value, and the number, so each document differs. */
export function attachmentBytes(n: number | string): Buffer {
  return Buffer.concat([Buffer.from(`%PDF-1.4 công văn ${n}\n`, 'utf8'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
}

function organName(organId: string): string {
  try {
    return organ(organId).name;
  } catch {
    return `Cơ quan ${organId}`;
  }
}

/** A document packet from `from`, composed as an edge would, unsigned. */
export function documentPacket(from: string, to: readonly string[], n: number | string, overrides: Partial<DocumentInput> = {}): Packet {
  return composeDocument({ from: { organId: from, organName: organName(from) }, ...letter(to, n, overrides) }, new Date());
}

/** Sign a packet in-thread with an identity (default: the agency's committed dev certificate). */
export async function signAs(packet: Packet, identity: SigningIdentity | string): Promise<string> {
  return signPacket(buildPacket(packet), typeof identity === 'string' ? await identityOf(identity) : identity);
}

/** An identity from PEM files (e.g. openssl-made ones). */
export async function identityFromFiles(keyPath: string, certPath: string, chainPath?: string): Promise<SigningIdentity> {
  return loadSigningIdentity(readFileSync(keyPath, 'utf8'), readFileSync(certPath, 'utf8'), chainPath ? readFileSync(chainPath, 'utf8') : undefined);
}

export { devPath };

// --- the hub's records ----------------------------------------------------------------------

export interface HubPacketRow {
  packet_id: string;
  kind: string;
  sender: string | null;
  claimed_from: string | null;
  document_id: string | null;
  status_code: string | null;
  /** The SHA-256 its bytes are stored under; null when they were not kept. */
  blob: string | null;
  verdict: 'routed' | 'refused';
  error_code: string | null;
  error_message: string | null;
}

export function hubPacket(exchange: LocalExchange, packetId: string): HubPacketRow | undefined {
  return exchange.hub.db.prepare('SELECT * FROM packets WHERE packet_id = ?').get(packetId) as HubPacketRow | undefined;
}

export function hubPacketsOf(exchange: LocalExchange, documentId: string): HubPacketRow[] {
  return exchange.hub.db.prepare('SELECT * FROM packets WHERE document_id = ? ORDER BY rowid').all(documentId) as HubPacketRow[];
}

export function hubDeliveries(exchange: LocalExchange, documentId: string): Array<{ recipient: string; stage: string }> {
  return exchange.hub.db.prepare('SELECT recipient, stage FROM deliveries WHERE document_id = ? ORDER BY recipient').all(documentId) as Array<{ recipient: string; stage: string }>;
}

export function hubEvents(exchange: LocalExchange, documentId: string, recipient: string): Array<{ event: string; description: string | null }> {
  return exchange.hub.db
    .prepare('SELECT event, description FROM events WHERE document_id = ? AND recipient = ? ORDER BY id')
    .all(documentId, recipient) as Array<{ event: string; description: string | null }>;
}

// --- the broker, as an agency's own client --------------------------------------------------

/** An AMQP connection with the agency's own credentials (those its edge uses). */
export async function connectAs(t: Test, exchange: LocalExchange, organId: string): Promise<ChannelModel> {
  const config = exchange.edgeConfigs.get(organId);
  if (!config) throw new Error(`${organId} is not provisioned in this exchange`);
  const connection = await amqp.connect(config.amqpUrl);
  connection.on('error', () => {}); // channel errors are the subject of the tests; a connection error fails them by closing
  t.teardown(() => connection.close().catch(() => {}));
  return connection;
}

/**
 * Publish a packet to the submit exchange with an agency's credentials, as its edge would
 * (persistent, message-id, type, x-lt-* headers, user-id = `userId`, default the agency's own
 * broker user), and wait for the broker's confirm.
 */
export async function publishAs(
  t: Test,
  exchange: LocalExchange,
  organId: string,
  content: string | Buffer,
  envelope: Omit<PacketEnvelope, 'lane' | 'userId'> & { lane?: Lane; userId?: string },
): Promise<void> {
  const connection = await connectAs(t, exchange, organId);
  try {
    const channel = await connection.createConfirmChannel();
    const lane = envelope.lane ?? 'normal';
    channel.publish(
      exchange.names.submit,
      lane,
      Buffer.from(content),
      publishOptions({ ...envelope, lane, userId: envelope.userId ?? exchange.names.agencyUser(organId) }),
    );
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close().catch(() => {});
  }
}

export type AmqpError = Error & { code?: number };

/**
 * What the broker answered `operation` on a fresh channel: the error it closed the channel with,
 * or undefined when it accepted. No clock decides: after the operation a basic.qos round trip
 * (which needs no permission) is answered only once the broker has processed every frame sent
 * before it, so a refusal, even of an unconfirmed publish, has closed the channel by then.
 * A failure of the client's own (not a channel closed by the broker) is thrown.
 */
export async function brokerAnswer<C extends Channel>(open: () => Promise<C>, operation: (channel: C) => unknown): Promise<AmqpError | undefined> {
  const channel = await open();
  let refusal: AmqpError | undefined;
  // amqplib emits 'error' in the same tick as it fails the pending calls: set before any await below resumes.
  channel.once('error', (error: AmqpError) => (refusal = error));
  try {
    await operation(channel);
    await channel.prefetch(0);
  } catch (error) {
    if (refusal) return refusal;
    throw error;
  }
  if (refusal) return refusal;
  await channel.close().catch(() => {});
  return undefined;
}

/** The name of one of an agency's queues, token included, as the hub's directory knows it. */
export function agencyQueueOf(exchange: LocalExchange, organId: string, lane: Lane): string {
  const owner = exchange.hub.directory.get(organId);
  if (!owner) throw new Error(`${organId} is not provisioned in this exchange`);
  return exchange.names.agencyQueue(owner, lane);
}

/** Take `count` messages from one of an agency's own queues, with its own credentials (acked). */
export async function takeFromQueue(t: Test, exchange: LocalExchange, organId: string, lane: Lane, count: number, timeoutMs = EVENT_DEADLINE_MS): Promise<ConsumeMessage[]> {
  const connection = await connectAs(t, exchange, organId);
  try {
    const channel = await connection.createChannel();
    const taken: ConsumeMessage[] = [];
    await channel.prefetch(count);
    const queue = agencyQueueOf(exchange, organId, lane);
    await channel.consume(queue, (message) => {
      if (message && taken.length < count) taken.push(message);
    });
    await waitFor(`${count} message(s) in ${queue}`, () => taken.length >= count, { timeoutMs, describe: () => taken.length });
    for (const message of taken) channel.ack(message);
    await channel.close();
    return taken;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Verify a packet against the development trust anchors (as the edges do). */
export function verifyDev(content: string | Uint8Array): Promise<Verification> {
  return verifyPacket(content, trustStore());
}

/** The x-lt-* headers of a message, as strings. */
export function headersOf(message: Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.properties.headers ?? {})) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return out;
}

/** The inbox of an edge, the way the REST API lists it (first page). */
export function inboxOf(edge: Edge): { total: number; documentIds: string[] } {
  const { total, items } = edge.list({ direction: 'in', page: 1, pageSize: 20 });
  return { total, documentIds: items.map((d) => d.documentId) };
}

/** The stage of one recipient's delivery of a document, as the edge sees it. */
export function stageAt(edge: Edge, documentId: string, recipient: string): string | undefined {
  return edge.document(documentId)?.deliveries.find((d) => d.recipient === recipient)?.stage;
}

/** Whom the hub published something to because of packet `cause` (forwards and bounces). */
export function hubOutboundTargets(exchange: LocalExchange, cause: string): string[] {
  return (exchange.hub.db.prepare('SELECT target FROM outbound WHERE cause = ? ORDER BY id').all(cause) as Array<{ target: string }>).map((r) => r.target);
}

/** The bounces the hub decided because of packet `cause`: their AMQP envelope and signed bytes. */
export async function hubBounces(exchange: LocalExchange, cause: string): Promise<Array<{ target: string; envelope: PacketEnvelope; content: Buffer }>> {
  const rows = exchange.hub.db
    .prepare("SELECT target, blob, envelope FROM outbound WHERE cause = ? AND type = 'status' ORDER BY id")
    .all(cause) as Array<{ target: string; blob: string; envelope: string }>;
  return Promise.all(rows.map(async (r) => ({ target: r.target, envelope: JSON.parse(r.envelope) as PacketEnvelope, content: await exchange.hub.blobs.get(r.blob) })));
}
