/**
 * An agency's edge node as one object: database and blob store, crypto workers with the agency
 * identity, the outbox and its relay, the inbox consuming the agency's two lanes, and the
 * read side the adapters use.
 */
import { join } from 'node:path';
import { BrokerConnection } from '../broker/connection.js';
import { LaneConsumer } from '../broker/consumer.js';
import { documentOrderKey } from '../broker/message.js';
import { resourceNames, type ResourceNames } from '../broker/names.js';
import { ConfirmPublisher } from '../broker/publisher.js';
import { loadIdentityMaterial } from '../config.js';
import { loadSigningIdentity } from '../crypto/certificates.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import { CryptoPool } from '../crypto/pool.js';
import { assertOwnCertificate, readNodeTrust } from '../crypto/trust.js';
import { LtError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { HealthBoard } from '../health.js';
import { FaultGate, nodeProbe } from '../fault-gate.js';
import { BlobStore } from '../store/blobs.js';
import { openDatabase, type Db } from '../store/db.js';
import { DeliveryLog, type DeliveryRow, type TimelineEvent } from '../store/deliveries.js';
import { EDGE_MIGRATIONS } from '../store/migrations/edge.js';
import { edgeDatabasePath, type EdgeConfig } from './config.js';
import { Inbox, type InboxEvent } from './inbox.js';
import { Outbox } from './outbox.js';
import { Lifecycle } from './lifecycle.js';
import { ClamdScanner } from './scanner.js';
import { workingCalendar } from '../envelope/calendar.js';
import { buildEvidence } from '../evidence/bundle.js';
import { collectEdgeEvidence } from './evidence.js';
import { EdgeRecords, type AttachmentRow, type DocumentQuery, type DocumentRow, type OutboxRow } from './records.js';
import { Relay } from './relay.js';
import { assertAgencyBrokerUser } from './broker-identity.js';
import { assertQueuesFree, lockDataDirectory } from './single-instance.js';
import type { InstanceLock } from '../store/instance-lock.js';

export interface EdgeOptions {
  clock?: () => Date;
  log?: Logger;
  onReceived?: (event: InboxEvent) => void;
  onSent?: (rows: OutboxRow[]) => void;
}

export interface DocumentView {
  document: DocumentRow;
  /** Per recipient: current stage and recall state (outgoing: each recipient; incoming: this agency). */
  deliveries: DeliveryRow[];
  timeline: TimelineEvent[];
  attachments: AttachmentRow[];
}

export class Edge {
  readonly names: ResourceNames;
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly records: EdgeRecords;
  readonly log: Logger;
  /** What keeps this edge from doing all its work right now (served at /health). */
  readonly health: HealthBoard;
  /** Closed by a local fault (full disk...): the inbox waits instead of returning packets. */
  readonly gate: FaultGate;
  private readonly deliveries: DeliveryLog;
  private readonly clock: () => Date;
  private pool: CryptoPool | undefined;
  private identity: IdentityMaterial | undefined;
  private outboxInstance: Outbox | undefined;
  private lifecycleInstance: Lifecycle | undefined;
  private connection: BrokerConnection | undefined;
  private consumer: LaneConsumer | undefined;
  private publisher: ConfirmPublisher | undefined;
  private relay: Relay | undefined;
  private lock: InstanceLock | undefined;
  private stopped = false;

  constructor(
    readonly config: EdgeConfig,
    private readonly options: EdgeOptions = {},
  ) {
    this.names = resourceNames(config.prefix);
    this.log = options.log ?? createLogger('edge').child({ organId: config.organId });
    this.clock = options.clock ?? (() => new Date());
    this.health = new HealthBoard(this.log, this.clock);
    this.db = openDatabase(edgeDatabasePath(config), EDGE_MIGRATIONS, { synchronous: config.synchronous });
    this.blobs = new BlobStore(join(config.dataDir, 'blobs'));
    this.records = new EdgeRecords(this.db);
    this.deliveries = new DeliveryLog(this.db);
    this.gate = new FaultGate({ health: this.health, log: this.log, probe: nodeProbe({ db: this.db, dataDir: config.dataDir, pool: () => this.pool }) });
  }

  /** Load keys and start the crypto workers; enough to submit (e.g. `lienthong send`). */
  async open(): Promise<void> {
    if (this.outboxInstance) return;
    this.identity = await loadIdentityMaterial(this.config.identity);
    const loaded = await loadSigningIdentity(this.identity.keyPem, this.identity.certPem, this.identity.chainPem);
    const trust = await readNodeTrust(this.config.trust);
    await assertOwnCertificate(loaded, trust, this.config.organId, this.clock());
    this.pool = new CryptoPool({ size: this.config.cryptoThreads, trust, ...(this.config.cryptoHeapMb ? { heapMb: this.config.cryptoHeapMb } : {}) });
    const scanner = this.config.clamd ? new ClamdScanner({ address: this.config.clamd }) : undefined;
    if (scanner) this.log.info({ scanner: scanner.description }, 'attachments are scanned for malware before signing');
    else this.log.warn('malware scanning is off: no ClamAV daemon configured (clamd / LT_CLAMD); attachments are sent unscanned');
    this.outboxInstance = new Outbox({
      db: this.db,
      blobs: this.blobs,
      pool: this.pool,
      identity: this.identity,
      organization: this.config.organization,
      ...(this.config.staffInfo ? { staffInfo: this.config.staffInfo } : {}),
      clock: this.clock,
      maxPacketBytes: this.config.maxPacketBytes,
      ...(scanner ? { scanner } : {}),
      onQueued: () => this.relay?.wake(),
    });
    this.lifecycleInstance = new Lifecycle({
      db: this.db,
      records: this.records,
      outbox: this.outboxInstance,
      organId: this.config.organId,
      clock: this.clock,
      calendar: workingCalendar(this.config.calendar),
      urgentReceiptMinutes: this.config.urgentReceiptMinutes,
      recallPolicy: this.config.recallPolicy,
    });
  }

  /**
   * Open, connect to the broker, start relaying the outbox and consuming the inbox. Refuses to
   * start under any broker user but the agency's own, or beside another edge of the agency (on
   * this data directory, or on its queues from anywhere); a failed start releases everything.
   */
  async start(): Promise<void> {
    assertAgencyBrokerUser(this.config, this.names);
    this.lock = lockDataDirectory(this.config);
    try {
      await this.connectAndRun();
    } catch (error) {
      await this.release().catch(() => {});
      throw error;
    }
    this.log.info({ prefix: this.names.prefix }, 'edge started');
  }

  private async connectAndRun(): Promise<void> {
    await this.open();
    const pool = this.pool as CryptoPool;
    this.publisher = new ConfirmPublisher({ name: `edge-${this.config.organId}-publisher`, log: this.log });
    this.relay = new Relay({
      records: this.records,
      blobs: this.blobs,
      publisher: this.publisher,
      names: this.names,
      organId: this.config.organId,
      brokerUser: this.config.brokerUser,
      clock: this.clock,
      log: this.log,
      ...(this.options.onSent ? { onSent: this.options.onSent } : {}),
    });
    const inbox = new Inbox({
      db: this.db,
      blobs: this.blobs,
      pool,
      outbox: this.outbox,
      lifecycle: this.lifecycle,
      organId: this.config.organId,
      hubOrganId: this.config.hubOrganId,
      maxPacketBytes: this.config.maxPacketBytes,
      clock: this.clock,
      log: this.log,
      ...(this.options.onReceived ? { onReceived: this.options.onReceived } : {}),
    });
    this.consumer = new LaneConsumer({
      name: `edge-${this.config.organId}-inbox`,
      queues: [
        { queue: this.names.agencyQueue(this.config, 'urgent'), lane: 'urgent', prefetch: this.config.concurrency },
        { queue: this.names.agencyQueue(this.config, 'normal'), lane: 'normal', prefetch: this.config.concurrency },
      ],
      concurrency: this.config.concurrency,
      handler: inbox.handle,
      orderKey: documentOrderKey,
      gate: this.gate,
      onError: (error, delivery) =>
        this.log.error({ err: error, packetId: delivery.message.properties.messageId }, 'handling a packet failed; it will be redelivered'),
      log: this.log,
    });
    this.connection = await BrokerConnection.connect(this.config.amqpUrl, { name: `lienthong edge ${this.config.organId}`, log: this.log });
    await assertQueuesFree(this.connection, this.config, this.names);
    await this.connection.add(this.publisher);
    await this.connection.add(this.consumer);
    this.relay.start();
  }

  get outbox(): Outbox {
    if (!this.outboxInstance) throw new LtError('INTERNAL', 'the edge is not open; call open() or start() first');
    return this.outboxInstance;
  }

  /** Recipient actions, recall, threads, chains, overdue and paper lists. */
  get lifecycle(): Lifecycle {
    if (!this.lifecycleInstance) throw new LtError('INTERNAL', 'the edge is not open; call open() or start() first');
    return this.lifecycleInstance;
  }

  document(documentId: string): DocumentView | undefined {
    const document = this.records.document(documentId);
    if (!document) return undefined;
    return { document, deliveries: this.deliveries.all(documentId), timeline: this.deliveries.timeline(documentId), attachments: this.records.attachments(documentId) };
  }

  list(query: DocumentQuery): { total: number; items: Array<DocumentRow & { deliveries: DeliveryRow[] }> } {
    const { total, items } = this.records.listDocuments(query);
    return { total, items: items.map((d) => ({ ...d, deliveries: this.deliveries.all(d.documentId) })) };
  }

  /** The evidence file (zip) of a document, signed with this agency's certificate; needs `open()`. */
  async evidence(documentId: string): Promise<Buffer> {
    if (!this.identity) throw new LtError('INTERNAL', 'the edge is not open; call open() first');
    const input = await collectEdgeEvidence(
      { db: this.db, blobs: this.blobs, records: this.records, organId: this.config.organId, hubOrganId: this.config.hubOrganId, readPacket: (bytes) => this.outbox.readPacket(bytes) },
      documentId,
    );
    return buildEvidence(input, this.identity, this.clock());
  }

  async attachment(documentId: string, contentId: string): Promise<{ meta: AttachmentRow; content: Buffer } | undefined> {
    const meta = this.records.attachments(documentId).find((a) => a.contentId === contentId);
    if (!meta) return undefined;
    return { meta, content: await this.blobs.get(meta.sha256) };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.release();
    this.log.info('edge stopped');
  }

  /** Everything started, in reverse; the data directory's lock last. Once. */
  private async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gate.stop();
    try {
      await this.consumer?.stop();
      await this.relay?.stop();
      this.publisher?.stop();
      await this.connection?.close();
      await this.pool?.close();
      this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}
