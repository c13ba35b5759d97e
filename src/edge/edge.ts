/**
 * An agency's edge node as one object: database and blob store, crypto workers with the agency
 * identity, the outbox and its relay, the inbox consuming the agency's two lanes, and the
 * read side the adapters use.
 */
import { join } from 'node:path';
import { reportBrokerHealth } from '../broker/broker-health.js';
import { BrokerConnection } from '../broker/connection.js';
import { explainBrokerFailure } from '../broker/failures.js';
import { LaneConsumer } from '../broker/consumer.js';
import { documentOrderKey } from '../broker/message.js';
import { resourceNames, type ResourceNames } from '../broker/names.js';
import { ConfirmPublisher } from '../broker/publisher.js';
import { amqpUrlsOf, nodeCryptoOptions } from '../config.js';
import type { SigningIdentity } from '../crypto/certificates.js';
import type { RevocationRefresher } from '../crypto/revocation-refresher.js';
import { openNodeFiles, reloadNodeFiles, type ReloadResult } from '../node-reload.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import { CryptoPool } from '../crypto/pool.js';
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
import { assertAgencyBrokerUser, assertCertificateUser } from './broker-identity.js';
import { assertQueuesFree, lockDataDirectory } from './single-instance.js';
import type { InstanceLock } from '../store/instance-lock.js';
import { settlesWithin } from '../time-limit.js';
import { EdgeMetrics } from './metrics.js';

/** Of a stop's deadline, what is kept to drop the broker connection and close the rest. */
const STOP_RESERVE_MS = 1500;
/** The most a stop gives each door to finish what it holds. */
const ADAPTER_STOP_MS = 2000;

/**
 * A door that runs inside the edge's process (webhooks, folder drop): made with the edge,
 * started once it runs, stopped first when it stops, while its database is still open. The
 * edge does not know which doors exist (imports point inward): whoever runs it passes them.
 */
export interface EdgeAdapter {
  /** A start that throws stops the edge's start (a folder it cannot use). */
  start(): void | Promise<void>;
  /** Quick: what is in hand after `deadlineMs` is finished at the next start. */
  stop(deadlineMs: number): Promise<void>;
}

/** Makes the door for this edge, or nothing when edge.json does not configure it. */
export type EdgeAdapterFactory = (edge: Edge) => EdgeAdapter | undefined;

export interface EdgeOptions {
  clock?: () => Date;
  log?: Logger;
  onReceived?: (event: InboxEvent) => void;
  onSent?: (rows: OutboxRow[]) => void;
  /** The doors running with this edge (src/adapters/edge-adapters.ts lists them all). */
  adapters?: readonly EdgeAdapterFactory[];
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
  /** Prometheus metrics (served by the REST API at /metrics). */
  readonly metrics: EdgeMetrics;
  /** The doors running with this edge, started by `start`, stopped by `stop`. */
  private readonly adapters: readonly EdgeAdapter[];
  private readonly deliveries: DeliveryLog;
  readonly clock: () => Date;
  private pool: CryptoPool | undefined;
  private identity: IdentityMaterial | undefined;
  /** The identity's certificate and chain, parsed: their CRL distribution points are fetched. */
  private signer: SigningIdentity | undefined;
  private revocation: RevocationRefresher | undefined;
  private outboxInstance: Outbox | undefined;
  private lifecycleInstance: Lifecycle | undefined;
  private connection: BrokerConnection | undefined;
  private consumer: LaneConsumer | undefined;
  private publisher: ConfirmPublisher | undefined;
  private relay: Relay | undefined;
  private lock: InstanceLock | undefined;
  private stopped = false;
  private failWith: ((error: Error) => void) | undefined;
  /**
   * Resolves when the running edge cannot go on: the broker, reached only after an offline
   * start, refused it for good (see `start`). The CLI then stops it and exits 1.
   */
  readonly failed: Promise<Error> = new Promise((resolve) => {
    this.failWith = resolve;
  });

  constructor(
    readonly config: EdgeConfig,
    private readonly options: EdgeOptions = {},
  ) {
    this.names = resourceNames(config.prefix);
    this.log = options.log ?? createLogger('edge').child({ organId: config.organId });
    this.clock = options.clock ?? (() => new Date());
    this.health = new HealthBoard(this.log, this.clock);
    this.db = openDatabase(edgeDatabasePath(config), EDGE_MIGRATIONS, { synchronous: config.synchronous });
    this.blobs = new BlobStore(join(config.dataDir, 'blobs'), this.db);
    this.records = new EdgeRecords(this.db);
    this.deliveries = new DeliveryLog(this.db);
    this.gate = new FaultGate({ health: this.health, log: this.log, probe: nodeProbe({ db: this.db, dataDir: config.dataDir, pool: () => this.pool }) });
    this.metrics = new EdgeMetrics(this.health, {
      signingCertificate: () => this.signer && { subject: this.signer.certificate.subject, notAfter: this.signer.certificate.notAfter },
      crls: () => this.revocation?.freshness() ?? [],
      clock: () => this.clock(),
    });
    this.adapters = (options.adapters ?? []).map((make) => make(this)).filter((adapter): adapter is EdgeAdapter => adapter !== undefined);
  }

  /** The running door of this kind, if this edge runs one (the REST API reaches the webhook dispatcher so). */
  adapter<T extends EdgeAdapter>(kind: abstract new (...args: never[]) => T): T | undefined {
    return this.adapters.find((adapter): adapter is T => adapter instanceof kind);
  }

  /** Load keys and start the crypto workers; enough to submit (e.g. `lienthong send`). */
  async open(): Promise<void> {
    if (this.outboxInstance) return;
    const files = await openNodeFiles({
      identityFiles: this.config.identity,
      trustFiles: this.config.trust,
      organId: this.config.organId,
      currentSigner: () => this.signer,
      apply: (material) => this.pool?.updateTrust(material),
      health: this.health,
      log: this.log,
      clock: this.clock,
    });
    ({ identity: this.identity, signer: this.signer, revocation: this.revocation } = files);
    const trust = files.revocation.material();
    this.pool = new CryptoPool({ size: this.config.cryptoThreads, trust, ...nodeCryptoOptions(this.config) });
    const scanner = this.config.clamd ? new ClamdScanner({ address: this.config.clamd }) : undefined;
    if (scanner) this.log.info({ scanner: scanner.description }, 'attachments are scanned for malware before signing');
    else this.log.warn('malware scanning is off: no ClamAV daemon configured (clamd / LT_CLAMD); attachments are sent unscanned');
    const edge = this;
    this.outboxInstance = new Outbox({
      db: this.db,
      blobs: this.blobs,
      pool: this.pool,
      // Read at each signature: a reload (SIGHUP) replaces the identity while the outbox runs.
      get identity() {
        return edge.identity as IdentityMaterial;
      },
      organization: this.config.organization,
      ...(this.config.staffInfo ? { staffInfo: this.config.staffInfo } : {}),
      clock: this.clock,
      maxPacketBytes: this.config.maxPacketBytes,
      ...(scanner ? { scanner } : {}),
      onQueued: (urgent, queued) => this.relay?.wake(urgent, queued),
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
   *
   * A broker that cannot be reached does not stop the start: the outbox works offline, so the
   * edge starts without it (/health: degraded, broker), keeps trying for ever (capped back-off)
   * and relays once it comes. When the broker IS reachable, what retrying cannot cure (a
   * refused login or vhost, queues the hub never declared, another edge on them) is refused at
   * once, as before. When such a refusal comes only later, from a broker that was away at the
   * start, the edge logs it and stops (`failed`, exit 1), rather than running on degraded: it is
   * the same refusal a start a minute later would give, a supervisor shows it the same way, and
   * an edge beside another one of its agency must not keep accepting documents meanwhile.
   */
  async start(): Promise<void> {
    assertAgencyBrokerUser(this.config, this.names);
    assertCertificateUser(this.config);
    this.lock = lockDataDirectory(this.config);
    let reached: boolean;
    try {
      reached = await this.connectAndRun();
    } catch (error) {
      await this.release(STOP_RESERVE_MS).catch(() => {});
      throw error;
    }
    this.log.info({ prefix: this.names.prefix, broker: reached ? 'connected' : 'unreachable' }, 'edge started');
  }

  /** Whether the broker was reached (and joined) at once. */
  private async connectAndRun(): Promise<boolean> {
    await this.open();
    this.revocation?.start();
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
      narrowBesideUrgent: true,
      gate: this.gate,
      onError: (error, delivery) =>
        this.log.error({ err: error, packetId: delivery.message.properties.messageId }, 'handling a packet failed; it will be redelivered'),
      log: this.log,
    });
    const connection = (this.connection = await BrokerConnection.connect(amqpUrlsOf(this.config), {
      name: `lienthong edge ${this.config.organId}`,
      log: this.log,
      background: true,
      ...(this.config.tls ? { tls: this.config.tls } : {}),
    }));
    reportBrokerHealth(connection, this.health, 'documents are accepted and wait in the outbox');
    const reached = (await connection.firstOutcome()) === 'up';
    if (reached) {
      await this.joinBroker(connection);
    } else {
      this.log.warn(
        { code: this.health.problem('broker')?.code },
        'the broker cannot be reached: the edge starts without it, accepts documents into its outbox and sends them once the broker comes',
      );
      this.joinWhenUp(connection);
    }
    this.relay.start();
    for (const adapter of this.adapters) await adapter.start();
    return reached;
  }

  /** Checks that the agency's queues are free, then publishes and consumes on this connection. */
  private async joinBroker(connection: BrokerConnection): Promise<void> {
    await assertQueuesFree(connection, this.config, this.names);
    await connection.add(this.publisher as ConfirmPublisher);
    await connection.add(this.consumer as LaneConsumer);
  }

  /** After an offline start: join the broker when it comes; stop on a refusal retrying cannot cure. */
  private joinWhenUp(connection: BrokerConnection): void {
    let joining = false;
    const onUp = (): void => {
      if (joining || this.stopped) return;
      joining = true;
      this.joinBroker(connection).then(
        () => {
          connection.off('up', onUp);
          connection.off('refused', onRefused);
          this.log.info('the broker is reachable: the edge relays its outbox and consumes its queues');
        },
        (error: unknown) => {
          joining = false;
          const failure = explainBrokerFailure(error, this.config.amqpUrl, 'joining the broker');
          const cannotCure = failure.permanent || failure.error.code === 'EDGE_ALREADY_RUNNING' || failure.error.code === 'AGENCY_UNKNOWN';
          if (cannotCure) onRefused(failure.error);
          else this.log.warn({ code: failure.error.code, err: failure.error.message }, 'joining the broker failed; trying again when the connection is back');
        },
      );
    };
    const onRefused = (error: Error): void => {
      connection.off('up', onUp);
      connection.off('refused', onRefused);
      if (this.stopped) return;
      const code = (error as { code?: string }).code ?? 'BROKER_UNREACHABLE';
      this.health.raise('broker', code, error.message);
      this.log.error({ code, err: error.message }, 'the broker refused this edge; it stops (the documents in its outbox are kept): fix the cause and start it again');
      this.failWith?.(error);
    };
    connection.on('up', onUp);
    connection.on('refused', onRefused);
  }

  /**
   * Read the trust files and the signing identity again (SIGHUP), without stopping: CRLs and
   * anchors in force are replaced in every crypto worker, and the next packets are signed with
   * the new key. A part that cannot be used is refused with the reason and the old one stays.
   */
  async reload(): Promise<ReloadResult> {
    if (!this.revocation || !this.identity) throw new LtError('INTERNAL', 'the edge is not open; call open() or start() first');
    return reloadNodeFiles({
      revocation: this.revocation,
      identityFiles: this.config.identity,
      current: this.identity,
      organId: this.config.organId,
      now: this.clock(),
      log: this.log,
      replace: (material, identity) => {
        this.identity = material;
        this.signer = identity;
      },
    });
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

  /**
   * Stop within `deadlineMs` (default: stopTimeoutSeconds), whatever the broker does: packets in
   * hand are finished while it answers; at the deadline the connection is dropped. What was not
   * confirmed stays unsent in the outbox, deliveries not acknowledged go back to the queue
   * (redelivered after the restart; the inbox recognises what it already stored).
   */
  async stop(deadlineMs = this.config.stopTimeoutSeconds * 1000): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    await this.release(deadlineMs);
    this.log.info({ ms: Date.now() - started }, 'edge stopped');
  }

  /** Everything started, in reverse; the data directory's lock last. Once. */
  private async release(deadlineMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gate.stop();
    this.revocation?.stop();
    // Doors stop first and quickly (a webhook call in flight is aborted and stays pending, a
    // folder unit in hand is finished at the next start): a slow receiver does not hold the stop.
    const adaptersStopped = Promise.allSettled(this.adapters.map((adapter) => adapter.stop(Math.min(ADAPTER_STOP_MS, deadlineMs / 4))));
    const deadline = Date.now() + deadlineMs;
    try {
      const relay = this.relay;
      const publisher = this.publisher;
      const brokerWork = Promise.all([
        this.consumer?.stop(),
        (async () => {
          const relayStopped = relay?.stop();
          publisher?.stop(); // what waits for a connection gives up; what was sent may still be confirmed
          await relayStopped;
        })(),
      ]);
      const inTime = await settlesWithin(brokerWork, deadline - Date.now() - STOP_RESERVE_MS);
      if (!inTime) {
        this.log.warn(
          { deadlineMs },
          'stopping: the broker did not confirm in time (down or blocking publishers); dropping the connection. Unconfirmed packets stay in the outbox and are sent after the restart',
        );
      }
      await this.connection?.close(Math.max(200, Math.min(1000, deadline - Date.now())));
      await settlesWithin(brokerWork, Math.max(200, deadline - Date.now()));
      await adaptersStopped;
      await this.pool?.close();
      this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}
