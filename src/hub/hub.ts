/**
 * The provincial hub as one object: database and blob store, crypto workers, the broker
 * connection with the topology it owns, the router consuming both inbound lanes (urgent first).
 */
import { join } from 'node:path';
import { BrokerConnection } from '../broker/connection.js';
import { LaneConsumer } from '../broker/consumer.js';
import { documentOrderKey } from '../broker/message.js';
import { probeMessageSize } from '../broker/message-size.js';
import { resourceNames, type ResourceNames } from '../broker/names.js';
import { ConfirmPublisher } from '../broker/publisher.js';
import { applyQueueLimits, declareAgenciesQueues, declareAgencyQueues, declareHubTopology, provisionAgencyUserLimits, queuesMissingReplicas } from '../broker/topology.js';
import { amqpUrlsOf, nodeCryptoOptions } from '../config.js';
import type { SigningIdentity } from '../crypto/certificates.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import type { RevocationRefresher } from '../crypto/revocation-refresher.js';
import { openNodeFiles, reloadNodeFiles, type ReloadResult } from '../node-reload.js';
import { CryptoPool } from '../crypto/pool.js';
import { LtError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { BlobStore } from '../store/blobs.js';
import { openDatabase, type Db } from '../store/db.js';
import { HUB_MIGRATIONS } from '../store/migrations/hub.js';
import type { HubConfig } from './config.js';
import { hubDatabasePath, quotasOf, retentionOf } from './config.js';
import { pruneRetention, type PruneResult } from './retention.js';
import { Directory } from './directory.js';
import { Router, type RouteOutcome } from './router.js';
import { DeadLetters } from './dead-letters.js';
import { HubMetrics } from './metrics.js';
import { HealthBoard } from '../health.js';
import { FaultGate, nodeProbe } from '../fault-gate.js';
import { ManagementClient } from '../broker/management.js';
import { reportBrokerHealth } from '../broker/broker-health.js';
import { settlesWithin } from '../time-limit.js';
import { CapacityWatch } from './broker-capacity.js';
import { shareHubDataDirectory } from './data-lock.js';
import type { InstanceLock } from '../store/instance-lock.js';
import { declareFederationTopology } from '../broker/topology.js';
import { readNodeTrust } from '../crypto/trust.js';
import { linkProcess, type LinkProcess, type LinkStats } from '../federation/link-process.js';
import { linkFor } from '../federation/patterns.js';
import type { FederationLink } from './router.js';

/** Of a stop's deadline, what is kept to drop the broker connection and close the rest. */
const STOP_RESERVE_MS = 1500;

export interface HubOptions {
  clock?: () => Date;
  log?: Logger;
  onRouted?: (outcome: RouteOutcome) => void;
}

export class Hub {
  readonly names: ResourceNames;
  readonly db: Db;
  readonly directory: Directory;
  readonly blobs: BlobStore;
  readonly log: Logger;
  /** Prometheus metrics of this hub (served by the dashboard at /metrics). */
  readonly metrics: HubMetrics;
  /** What keeps this hub from doing all its work right now (dashboard, /metrics). */
  readonly health: HealthBoard;
  /** Closed by a local fault (full disk...): routing and dead-letter collection wait instead of returning packets. */
  readonly gate: FaultGate;
  /** RabbitMQ's management API (queue depths, consumers, provisioning). */
  readonly management: ManagementClient;
  private pool: CryptoPool | undefined;
  private identity: IdentityMaterial | undefined;
  /** The identity's certificate and chain, parsed: their CRL distribution points are fetched. */
  private signer: SigningIdentity | undefined;
  private revocation: RevocationRefresher | undefined;
  private connection: BrokerConnection | undefined;
  private consumer: LaneConsumer | undefined;
  private deadLetterConsumer: LaneConsumer | undefined;
  /** The federation intake (what linked hubs forward), and one process per link to another hub. */
  private intakeConsumer: LaneConsumer | undefined;
  private links: LinkProcess[] = [];
  /** Verifies what each link forwards against that link's trust anchors. */
  private linkPools: CryptoPool[] = [];
  private publisher: ConfirmPublisher | undefined;
  private router: Router | undefined;
  /** Dead letters collected from the broker, to list, replay or discard. */
  readonly deadLetters: DeadLetters;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private maintenance: Promise<void> | undefined;
  /** Queue byte limits and agency user limits are in place on the broker. */
  private limitsApplied = false;
  /** Whether the broker's file descriptors and memory hold the agencies (health board, metrics). */
  readonly capacity: CapacityWatch;
  /** Shared with other hubs on this data directory; keeps a restore out while the hub runs. */
  private lock: InstanceLock | undefined;

  constructor(
    readonly config: HubConfig,
    private readonly options: HubOptions = {},
  ) {
    this.names = resourceNames(config.prefix);
    this.log = options.log ?? createLogger('hub');
    this.health = new HealthBoard(this.log);
    this.db = openDatabase(hubDatabasePath(config), HUB_MIGRATIONS, { synchronous: config.synchronous });
    this.directory = new Directory(this.db);
    this.blobs = new BlobStore(join(config.dataDir, 'blobs'), this.db);
    this.management = new ManagementClient(config.management);
    this.gate = new FaultGate({ health: this.health, log: this.log, probe: nodeProbe({ db: this.db, dataDir: config.dataDir, pool: () => this.pool }) });
    this.metrics = new HubMetrics({
      db: this.db,
      api: this.management,
      names: this.names,
      health: this.health,
      crls: () => this.revocation?.freshness() ?? [],
      signingCertificate: () => this.signer && { subject: this.signer.certificate.subject, notAfter: this.signer.certificate.notAfter },
      ...(options.clock ? { clock: options.clock } : {}),
      ...(config.federation ? { links: () => this.linkStats() } : {}),
    });
    this.capacity = new CapacityWatch({
      api: this.management,
      agencies: () => this.directory.queueOwners(),
      health: this.health,
      log: this.log,
      onEstimate: (estimates) => this.metrics.brokerCapacity(estimates),
    });
    // Listing works from the start; replaying needs the broker and the router.
    this.deadLetters = new DeadLetters({
      db: this.db,
      blobs: this.blobs,
      names: this.names,
      publisher: () => this.started(this.publisher),
      route: (delivery) => this.started(this.router).handle(delivery),
      routeIntake: (delivery) => this.started(this.router).handleIntake(delivery),
      clock: options.clock ?? (() => new Date()),
      log: this.log,
    });
  }

  private started<T>(part: T | undefined): T {
    if (!part) throw new LtError('BROKER_UNREACHABLE', 'the hub is not connected to the broker yet; try again in a moment');
    return part;
  }

  async start(): Promise<void> {
    this.lock = shareHubDataDirectory(this.config);
    try {
      await this.startHoldingLock();
    } catch (error) {
      // A hub that did not start holds nothing: a restore (or another start) may take the data directory.
      this.revocation?.stop();
      this.lock.release();
      this.lock = undefined;
      throw error;
    }
  }

  private async startHoldingLock(): Promise<void> {
    const files = await openNodeFiles({
      identityFiles: this.config.identity,
      trustFiles: this.config.trust,
      organId: this.config.organId,
      currentSigner: () => this.signer,
      apply: (material) => this.pool?.updateTrust(material),
      health: this.health,
      log: this.log,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    ({ identity: this.identity, signer: this.signer, revocation: this.revocation } = files);
    const identity = files.identity;
    const trust = files.revocation.material();
    // The hub signs bounces as a party of the exchange: it is an entry of its own directory.
    this.directory.registerHub({ organId: this.config.organId, name: this.config.organName, certificatePem: identity.certPem }, (this.options.clock ?? (() => new Date()))());
    this.pool = new CryptoPool({ size: this.config.cryptoThreads, trust, ...nodeCryptoOptions(this.config) });
    const names = this.names;
    const federation = this.config.federation;
    const linkNames = federation?.links.map((link) => link.name) ?? [];
    // Links the hub runs itself over HTTP have an inbox on this broker for what they take in.
    const inboxLinks = federation?.links.filter((link) => link.kind === 'axis').map((link) => link.name) ?? [];
    const federationLinks = federation ? await this.federationLinks() : [];
    this.publisher = new ConfirmPublisher({
      name: 'hub-publisher',
      log: this.log,
      // The hub owns the topology: its exchanges and queues on each channel (a channel the broker
      // closed for a missing exchange heals on the next), every agency's lanes on each connection.
      topology: async (channel) => {
        await declareHubTopology(channel, names);
        if (federation) await declareFederationTopology(channel, names, linkNames, inboxLinks);
      },
      connectionTopology: (model) =>
        declareAgenciesQueues(model, names, [...this.directory.list({ status: 'active', kind: 'agency' }), ...this.directory.list({ status: 'suspended', kind: 'agency' })]),
    });
    const hub = this;
    const router = (this.router = new Router({
      db: this.db,
      blobs: this.blobs,
      pool: this.pool,
      directory: this.directory,
      names,
      publisher: this.publisher,
      hub: {
        organId: this.config.organId,
        organName: this.config.organName,
        // Read at each bounce: a reload (SIGHUP) replaces the identity while the router runs.
        get identity() {
          return hub.identity as IdentityMaterial;
        },
        ...(this.config.staffInfo ? { staffInfo: this.config.staffInfo } : {}),
      },
      maxPacketBytes: this.config.maxPacketBytes,
      packetsPerMinute: quotasOf(this.config).packetsPerMinute,
      ...(federation ? { federation: { links: federationLinks, maxHops: federation.maxHops } } : {}),
      clock: this.options.clock ?? (() => new Date()),
      log: this.log,
      onRouted: (outcome) => {
        this.metrics.observe(outcome);
        this.options.onRouted?.(outcome);
      },
    }));
    this.consumer = new LaneConsumer({
      name: 'hub-router',
      queues: [
        { queue: names.hubInbound.urgent, lane: 'urgent', prefetch: this.config.concurrency },
        { queue: names.hubInbound.normal, lane: 'normal', prefetch: this.config.concurrency },
      ],
      concurrency: this.config.concurrency,
      handler: router.handle,
      gate: this.gate,
      // The statuses of one document are routed in the order they came (a 04 must not overtake a 03).
      orderKey: documentOrderKey,
      narrowBesideUrgent: true,
      topology: (channel) => declareHubTopology(channel, names),
      log: this.log,
      onError: (error, delivery) =>
        this.log.error({ err: error, packetId: delivery.message.properties.messageId }, 'routing failed; the packet will be redelivered'),
    });
    this.deadLetterConsumer = new LaneConsumer({
      name: 'hub-dead-letters',
      queues: [{ queue: names.deadLetters, lane: 'normal', prefetch: 16 }],
      concurrency: 1,
      handler: this.deadLetters.collect,
      gate: this.gate,
      topology: (channel) => declareHubTopology(channel, names),
      log: this.log,
      onError: (error) => this.log.error({ err: error }, 'collecting a dead letter failed; it stays in the queue'),
    });
    try {
      this.connection = await BrokerConnection.connect(amqpUrlsOf(this.config), {
        name: `lienthong hub ${this.config.organId}`,
        log: this.log,
        ...(this.config.tls ? { tls: this.config.tls } : {}),
      });
      reportBrokerHealth(this.connection, this.health, 'packets wait in the inbound lanes and with their senders');
      await this.connection.add(this.publisher);
      await this.connection.add(this.consumer);
      await this.connection.add(this.deadLetterConsumer);
      if (federation) {
        this.intakeConsumer = new LaneConsumer({
          name: 'hub-federation-intake',
          queues: [
            { queue: names.hubFederationIn.urgent, lane: 'urgent', prefetch: this.config.concurrency },
            ...inboxLinks.map((link) => ({ queue: names.federationInbox(link, 'urgent'), lane: 'urgent' as const, prefetch: this.config.concurrency })),
            { queue: names.hubFederationIn.normal, lane: 'normal', prefetch: this.config.concurrency },
            ...inboxLinks.map((link) => ({ queue: names.federationInbox(link, 'normal'), lane: 'normal' as const, prefetch: this.config.concurrency })),
          ],
          concurrency: this.config.concurrency,
          // What a link forwards after an outage comes as two backlogs at once: urgent first, all of it.
          strictUrgent: true,
          handler: router.handleIntake,
          gate: this.gate,
          orderKey: documentOrderKey,
          topology: (channel) => declareFederationTopology(channel, names, linkNames, inboxLinks),
          log: this.log,
          onError: (error, delivery) =>
            this.log.error({ err: error, packetId: delivery.message.properties.messageId }, 'taking in a packet from a linked hub failed; it will be redelivered'),
        });
        await this.connection.add(this.intakeConsumer);
        const local = this.connection;
        const publisher = this.publisher;
        for (const link of federation.links) {
          const process = linkProcess(link, {
            local,
            names,
            hubOrganId: this.config.organId,
            log: this.log,
            onForwarded: (name) => this.metrics.linkForwardedOne(name),
            onFailure: (name) => this.metrics.linkFailedOnce(name),
            inbound: (queue, bytes) => publisher.publish({ exchange: '', routingKey: queue, content: bytes, options: { persistent: true, contentType: 'application/xml' } }),
          });
          this.links.push(process);
          await process.start();
        }
      }
    } catch (error) {
      // A refused start leaves nothing running that would keep the process alive.
      await this.releaseBroker(STOP_RESERVE_MS);
      throw error;
    }
    this.revocation.start();
    await this.applyLimits();
    void this.checkMessageSize();
    void this.checkReplicas();
    this.capacity.start();
    const every = Math.min(2 ** 31 - 1, retentionOf(this.config).intervalMinutes * 60_000); // setInterval's range
    this.maintenanceTimer = setInterval(() => void this.maintain(), every);
    this.maintenanceTimer.unref();
    void this.maintain(); // a hub restarted more often than the interval still prunes
    this.log.info({ prefix: names.prefix, organId: this.config.organId }, 'hub started');
  }

  /**
   * Each link as the router uses it, with a crypto worker verifying against that link's trust
   * anchors. Refused when an agency of this hub's directory matches a link's pattern: its packets
   * would go to the other hub, and that hub's packets could claim to come from it.
   */
  private async federationLinks(): Promise<FederationLink[]> {
    const links = this.config.federation?.links ?? [];
    for (const status of ['active', 'suspended'] as const) {
      for (const agency of this.directory.list({ status, kind: 'agency' })) {
        const link = linkFor(agency.organId, links);
        if (link) {
          throw new LtError(
            'CONFIG_INVALID',
            `the pattern(s) ${link.patterns.map((p) => `"${p.text}"`).join(', ')} of link "${link.name}" match ${agency.organId}, an agency of this hub: narrow the patterns (a link serves another hub's agencies) or remove the agency`,
            { path: 'federation.links' },
          );
        }
      }
    }
    const result: FederationLink[] = [];
    for (const link of links) {
      const trust = await readNodeTrust(link.trust, `link "${link.name}"`);
      const pool = new CryptoPool({ size: 1, trust, ...nodeCryptoOptions(this.config) });
      this.linkPools.push(pool);
      result.push({
        name: link.name,
        patterns: link.patterns,
        pool,
        ...(link.kind === 'amqp' ? { peerUser: link.peerUser } : { inbox: [this.names.federationInbox(link.name, 'urgent'), this.names.federationInbox(link.name, 'normal')] }),
      });
    }
    return result;
  }

  /** What each link to another hub has done since the start (metrics, dashboard). */
  linkStats(): LinkStats[] {
    return this.links.map((link) => link.stats());
  }

  /**
   * The broker side of the quotas, through the management API: byte limits on every lane (a
   * policy) and connection/channel limits on every agency user, provisioned before they existed
   * included. Idempotent; a management API that does not answer is retried at the next
   * maintenance round, the hub routes meanwhile.
   */
  private async applyLimits(): Promise<void> {
    const quotas = quotasOf(this.config);
    try {
      await applyQueueLimits(this.management, this.names, quotas);
      for (const status of ['active', 'suspended'] as const) {
        for (const agency of this.directory.list({ status, kind: 'agency' })) await provisionAgencyUserLimits(this.management, this.names, agency.organId, quotas);
      }
      this.limitsApplied = true;
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'cannot set the queue byte limits and agency user limits on the broker; lanes may grow unbounded until it works (retried)');
    }
  }

  /**
   * Warn when the broker refuses messages as large as the packets the hub accepts: such a
   * packet would pass every check of ours and then close the channel of whoever publishes it.
   * In the background: the answer is a warning, never a reason not to route.
   */
  private async checkMessageSize(): Promise<void> {
    const bytes = this.config.maxPacketBytes;
    try {
      const channel = await this.started(this.connection).channel();
      try {
        const verdict = await probeMessageSize(channel, bytes, `${this.names.prefix}.message-size-probe.unroutable`);
        if (!verdict.fits) {
          this.log.warn(
            { maxPacketBytes: bytes, ...(verdict.brokerLimit !== undefined ? { brokerMaxMessageSize: verdict.brokerLimit } : {}) },
            `the broker refuses messages of ${bytes} bytes (maxPacketBytes)${verdict.brokerLimit !== undefined ? `: its max_message_size is ${verdict.brokerLimit}` : ''}; ` +
              'raise max_message_size in rabbitmq.conf on every node (deploy/rabbitmq.conf) or lower maxPacketBytes on the hub and the edges',
          );
        }
      } finally {
        await channel.close().catch(() => {});
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "cannot check the broker's max_message_size against maxPacketBytes");
    }
  }

  /** Warn, with the command that heals it, when a lane has no replica on some node of the cluster. */
  private async checkReplicas(): Promise<void> {
    try {
      const nodes = (await this.management.listNodes()).map((n) => n.name);
      const missing = queuesMissingReplicas(await this.management.listQueues(), nodes, this.names);
      if (missing.length === 0) return;
      const lacking = [...new Set(missing.flatMap((m) => m.missing))];
      this.log.warn(
        { queues: missing.map((m) => m.queue), nodes: lacking },
        `${missing.length} quorum queue(s) have no replica on ${lacking.join(', ')}; losing a node costs them more than it should: ` +
          `run ${lacking.map((node) => `"rabbitmq-queues grow ${node} all"`).join(' and ')} (deploy/cluster/README.md)`,
      );
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'cannot check the replicas of the quorum queues (management API)');
    }
  }

  private maintain(): Promise<void> {
    this.maintenance ??= (async () => {
      try {
        if (!this.limitsApplied) await this.applyLimits();
        await this.prune();
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'retention failed; retried at the next round');
      } finally {
        this.maintenance = undefined;
      }
    })();
    return this.maintenance;
  }

  /** Release the bytes of refused packets and dead letters older than the retention period. */
  prune(now: Date = (this.options.clock ?? (() => new Date()))()): Promise<PruneResult> {
    return pruneRetention({ db: this.db, blobs: this.blobs, names: this.names, log: this.log }, retentionOf(this.config), now);
  }

  /**
   * Read the trust files and the signing identity again (SIGHUP), without stopping: CRLs and
   * anchors in force are replaced in every crypto worker, the next bounces are signed with the
   * new key and the directory shows the new certificate. Packets the agencies signed with a
   * previous certificate still verify while it is valid and not revoked (the rotation overlap).
   */
  async reload(): Promise<ReloadResult> {
    if (!this.revocation || !this.identity) throw new LtError('INTERNAL', 'the hub is not started');
    const clock = this.options.clock ?? (() => new Date());
    return reloadNodeFiles({
      revocation: this.revocation,
      identityFiles: this.config.identity,
      current: this.identity,
      organId: this.config.organId,
      now: clock(),
      log: this.log,
      replace: (material, identity) => {
        this.identity = material;
        this.signer = identity;
        this.directory.registerHub({ organId: this.config.organId, name: this.config.organName, certificatePem: material.certPem }, clock());
      },
    });
  }

  /** Re-declare an agency's queues now (after `agency add` while the hub runs). */
  async declareAgency(organId: string): Promise<void> {
    if (!this.connection) return;
    const agency = this.directory.get(organId);
    if (!agency || agency.kind !== 'agency') throw new LtError('AGENCY_UNKNOWN', `agency ${organId} is not registered; run "agency add" first`);
    const channel = await this.connection.channel();
    try {
      await declareAgencyQueues(channel, this.names, agency);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /**
   * Stop within `deadlineMs` (default: stopTimeoutSeconds), whatever the broker does: packets in
   * hand are routed while it answers; at the deadline the connection is dropped, and what was
   * not acknowledged goes back to the inbound lanes (routed after the restart; the router
   * recognises packet ids it already routed).
   */
  async stop(deadlineMs = this.config.stopTimeoutSeconds * 1000): Promise<void> {
    const started = Date.now();
    const deadline = started + deadlineMs;
    clearInterval(this.maintenanceTimer);
    this.capacity.stop();
    this.revocation?.stop();
    if (this.maintenance && !(await settlesWithin(this.maintenance, (deadline - Date.now()) / 2))) {
      this.log.warn('stopping: retention did not finish in time; it runs again at the next start');
    }
    await this.releaseBroker(deadline - Date.now());
    this.db.close();
    this.lock?.release();
    this.log.info({ ms: Date.now() - started }, 'hub stopped');
  }

  /** Stop routing and let go of the broker and the crypto workers (the database stays open), within `deadlineMs`. */
  private async releaseBroker(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.gate.stop();
    this.router?.stop();
    // The publisher stays until the packets in hand are routed: they publish through it.
    const routing = Promise.all([this.consumer?.stop(), this.deadLetterConsumer?.stop(), this.intakeConsumer?.stop(), ...this.links.map((link) => link.stop())]);
    if (!(await settlesWithin(routing, deadline - Date.now() - STOP_RESERVE_MS))) {
      this.log.warn(
        { deadlineMs },
        'stopping: the broker did not confirm in time (down or blocking publishers); dropping the connection. The packets in hand go back to the inbound lanes and are routed after the restart',
      );
    }
    this.publisher?.stop();
    await this.connection?.close(Math.max(200, Math.min(1000, deadline - Date.now())));
    await settlesWithin(routing, Math.max(200, deadline - Date.now()));
    await this.pool?.close();
    for (const pool of this.linkPools.splice(0)) await pool.close();
    this.links = [];
    this.connection = undefined;
    this.pool = undefined;
  }
}
