/**
 * The hub's router: consumes what edges submit, decides, records, publishes, acknowledges.
 *
 * For each packet: who really sent it (the broker-validated user-id), is it the same packet as
 * one already seen (redelivery: finish publishing, route nothing twice), does the signature,
 * certificate and content hold, who receives it. The decision, the packet, one delivery per
 * recipient, the timeline, the audit rows and the messages to publish commit in one SQLite
 * transaction; the messages are then published with confirms, and only then is the packet
 * acknowledged. A refusal is answered with a bounce status signed by the hub.
 */
import type { Delivery, Verdict } from '../broker/consumer.js';
import { publishOptions, readProperties, type PacketEnvelope, type ReceivedProperties } from '../broker/message.js';
import type { Lane, ResourceNames } from '../broker/names.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import type { CryptoPool } from '../crypto/pool.js';
import type { IdentityMaterial } from '../crypto/jobs.js';
import { LIVE_SIGNATURE_AGE_MS, type Verification } from '../crypto/verify.js';
import { buildPacket } from '../envelope/build.js';
import { composeStatus } from '../envelope/compose.js';
import { transition, INITIAL_STATE, type DeliveryEvent } from '../envelope/status-machine.js';
import type { DocumentPacket, Packet, StaffInfo, StatusPacket, UncheckedPacket } from '../envelope/types.js';
import { validatePacket } from '../envelope/validate.js';
import { answeredDocumentOf, firstForeignAct, foreignDocumentIdOf } from '../envelope/links.js';
import { documentCodeOf, isUrgent, organIdLevel1, parseDocumentId } from '../envelope/values.js';
import { ERROR_CATALOGUE, isLtError, LtError, repeatsOnRetry, type ErrorCode } from '../errors.js';
import { derivedPacketId, isPacketId } from '../ids.js';
import { untrustedLine } from '../untrusted.js';
import type { Logger } from '../log.js';
import { appendAudit } from '../store/audit.js';
import { sha256Hex, type BlobStore } from '../store/blobs.js';
import type { Db } from '../store/db.js';
import { DeliveryLog } from '../store/deliveries.js';
import type { Directory } from './directory.js';
import { HubRecords } from './records.js';
import { HOPS_HEADER, hopsHeader, parseHops, type Hop } from '../federation/hops.js';
import { hopRefusal, linkOfPeer, peerRefusal, senderRefusal, type PeerLink } from '../federation/intake.js';
import { linkFor, routeRecipient } from '../federation/patterns.js';
import { abortableDelay } from '../time-limit.js';

/** A link to another hub as the router uses it: where its agencies are, and how to check what it forwards. */
export interface FederationLink extends PeerLink {
  /** Verifies against this link's trust anchors only (never the packet's own certificate alone). */
  pool: Pick<CryptoPool, 'verify' | 'verifyLent'>;
}

export interface RouterFederation {
  links: readonly FederationLink[];
  /** Hubs a packet may have passed before the intake refuses it. */
  maxHops: number;
}

/** A packet that came from another hub: the link it came through and the hops it carried. */
interface Via {
  link: FederationLink;
  hops: Hop[];
  /** The x-lt-* headers of the forwarded message: the link's word (its broker user is authenticated), never the sender's. */
  headers: Record<string, string>;
}

export interface RouterDeps {
  db: Db;
  blobs: BlobStore;
  pool: CryptoPool;
  directory: Directory;
  names: ResourceNames;
  publisher: ConfirmPublisher;
  hub: { organId: string; organName: string; identity: IdentityMaterial; staffInfo?: StaffInfo };
  maxPacketBytes: number;
  /** Refuse signatures claiming to be older than this (live traffic). Default LIVE_SIGNATURE_AGE_MS. */
  maxSignatureAgeMs?: number;
  /** Packets one agency may submit per minute; more are bounced with RATE_LIMITED. 0 or absent: no limit. */
  packetsPerMinute?: number;
  /**
   * How long a packet waits, unacknowledged, for a full agency queue before it goes back to the
   * inbound queue. Each return counts against its delivery limit (20: a queue full for some
   * 100 minutes dead-letters the packet, which an operator replays), so the wait is long; it
   * stays well under RabbitMQ's consumer_timeout (30 min), which would close the channel.
   * Default 5 min.
   */
  backPressureHoldMs?: number;
  clock: () => Date;
  log: Logger;
  /** Links to other hubs: recipients they serve are forwarded there, and what they forward is taken in. */
  federation?: RouterFederation;
  /** Told about every decision (metrics, tests). */
  onRouted?: (outcome: RouteOutcome) => void;
}

export interface RouteOutcome {
  /** Seconds from taking the packet off the queue to the decision being published. */
  seconds?: number;
  /** The status code of a status packet. */
  statusCode?: string;
  /** The broker had delivered this packet before (AMQP redelivered flag): an earlier attempt did not end. */
  redelivered?: boolean;
  packetId: string;
  kind: Packet['kind'] | 'unknown';
  verdict: 'routed' | 'refused' | 'duplicate' | 'dead-letter';
  errorCode?: ErrorCode;
  documentId?: string;
  delivered: string[];
  bounced: string[];
  /** Recipients handed to links to other hubs, by link. */
  forwarded?: Record<string, string[]>;
  /** The link a packet from another hub came through. */
  via?: string;
}

interface Refusal {
  code: ErrorCode;
  message: string;
}

/** A bounce or a forward, as decided inside the routing transaction. */
interface Planned {
  packetId: string;
  target: string;
  /** Set when it goes over a link to another hub (target is then the link's name). */
  link?: string;
  lane: Lane;
  type: 'edoc' | 'status';
  blob: string;
  envelope: PacketEnvelope;
}


/**
 * How the hub verifies: it forwards and stores the packet's own bytes and never reads an
 * attachment, so their base64 is checked but not kept decoded beside the packet's text.
 */
const FORWARDED = { attachmentBytes: false } as const;
/**
 * The largest packet whose write begins beside its verification, the worker verifying a copy;
 * above it the packet is lent to the worker instead, so that a large one is never held twice.
 */
const STORE_BESIDE_VERIFY_MAX_BYTES = 1024 * 1024;

export class Router {
  private readonly records: HubRecords;
  private readonly deliveries: DeliveryLog;

  private readonly rate: RateLimiter | undefined;
  /** Ends the back-pressure waits when the hub stops. */
  private readonly stopping = new AbortController();
  /**
   * The message each delivery being handled brought, by packet id, with its content's SHA-256:
   * the blob it is stored as. What flush publishes of it is taken from here, not read back from
   * the blob store, which cost one more copy of the packet per recipient.
   */
  private readonly inHand = new Map<string, { hash: string; message: Delivery['message'] }>();

  constructor(private readonly deps: RouterDeps) {
    this.records = new HubRecords(deps.db);
    this.deliveries = new DeliveryLog(deps.db);
    this.rate = deps.packetsPerMinute ? new RateLimiter(deps.packetsPerMinute) : undefined;
  }

  /** Stop waiting for full queues: the packets waiting go back to the inbound queue. */
  stop(): void {
    this.stopping.abort();
  }

  /** What edges submit (the inbound lanes). */
  handle = (delivery: Delivery): Promise<Verdict> => this.run(delivery, (props, packetId, hash) => this.route(delivery, props, packetId, hash));

  /** What linked hubs forward (the federation intake lanes). */
  handleIntake = (delivery: Delivery): Promise<Verdict> => this.run(delivery, (props, packetId, hash) => this.intake(delivery, props, packetId, hash));

  private async run(delivery: Delivery, handler: (props: ReceivedProperties, packetId: string, hash: string) => Promise<Verdict>): Promise<Verdict> {
    const started = performance.now();
    const props = readProperties(delivery.message);
    const hash = sha256Hex(delivery.message.content);
    // Without a usable message-id the content hash names the packet, so redeliveries still match.
    const packetId = isPacketId(props.packetId) ? props.packetId : derivedPacketId('content', hash);
    // Read now: a verification the worker dies in takes the bytes lent to it along.
    const size = delivery.message.content.length;
    this.inHand.set(packetId, { hash, message: delivery.message });
    try {
      return await handler(props, packetId, hash);
    } catch (error) {
      if (isLtError(error) && error.code === 'BROKER_QUEUE_FULL') {
        // The decision is committed and what was confirmed is marked published: the redelivery
        // publishes only the rest, once the recipient's edge has drained its queue.
        this.deps.log.warn({ packetId, errorCode: error.code }, `${error.message}; the packet goes back to the inbound queue`);
        return 'retry';
      }
      if (!repeatsOnRetry(error)) throw error;
      return this.unprocessable(packetId, hash, size, props, error);
    } finally {
      // Two deliveries of one packet id at once: the other's flush then reads the blob back, as right.
      this.inHand.delete(packetId);
      const outcome = this.outcomes.get(packetId);
      this.outcomes.delete(packetId);
      if (outcome) this.deps.onRouted?.({ ...outcome, seconds: (performance.now() - started) / 1000, redelivered: delivery.message.fields.redelivered });
    }
  }

  /**
   * Handling the packet failed in a way every redelivery would repeat (a bug met on this input):
   * it goes to the dead letters at once, its cause filed with it for the dashboard, instead of
   * burning twenty deliveries. A packet whose decision was already committed is not refiled: it
   * goes back, and its redelivery only finishes publishing what was decided. A failure to file
   * the cause (the disk) is temporary, and sends the packet back as well.
   */
  private unprocessable(packetId: string, hash: string, size: number, props: ReceivedProperties, error: unknown): Verdict {
    if (this.records.packet(packetId)) throw error;
    const failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const message = `the hub failed to handle the packet (${untrustedLine(failure, REASON_MAX)}) and would fail the same way on every delivery; dead-lettered for an operator`;
    const sender = props.userId ? (this.deps.directory.byBrokerUser(props.userId)?.organId ?? null) : null;
    const now = this.deps.clock();
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: 'unknown',
        sender,
        claimedFrom: null,
        documentId: null,
        statusCode: null,
        priority: null,
        sha256: hash,
        blob: null, // the dead letters keep the bytes
        size,
        receivedAt: now.toISOString(),
        verdict: 'refused',
        errorCode: 'PACKET_UNPROCESSABLE',
        errorMessage: message,
        verification: null,
      });
      appendAudit(this.deps.db, { actor: sender ?? 'broker', action: 'packet.refused', subject: packetId, details: { code: 'PACKET_UNPROCESSABLE', message } }, now);
    }).immediate();
    this.deps.log.error({ packetId, errorCode: 'PACKET_UNPROCESSABLE', err: error }, `packet dead-lettered: ${message}`);
    this.report({ packetId, kind: 'unknown', verdict: 'dead-letter', errorCode: 'PACKET_UNPROCESSABLE', delivered: [], bounced: [] });
    return 'dead-letter';
  }

  /** The decision about each packet being routed, reported when its routing ends. */
  private readonly outcomes = new Map<string, RouteOutcome>();

  /**
   * Packets being written to the blob store, by the delivery's buffer (an entry goes with it): the
   * write begun beside a packet's verification is the one its routing then waits for.
   */
  private readonly storing = new WeakMap<Buffer, Promise<string>>();

  /**
   * Store a packet's bytes, once: a write already begun for this buffer is the one awaited. A
   * write that failed is forgotten, so that the same delivery handled again (held by the fault
   * gate through a full disk, then resumed) writes again instead of failing on the old error.
   */
  private store(content: Buffer): Promise<string> {
    let stored = this.storing.get(content);
    if (!stored) {
      stored = this.deps.blobs.put(content);
      this.storing.set(content, stored);
      stored.catch(() => {
        // A failure reaches whoever waits for it; a path that keeps no bytes does not wait.
        if (this.storing.get(content) === stored) this.storing.delete(content);
      });
    }
    return stored;
  }

  private async route(delivery: Delivery, props: ReceivedProperties, packetId: string, hash: string): Promise<Verdict> {
    let content = delivery.message.content;
    const log = this.deps.log.child({ packetId, documentId: props.headers['x-lt-document-id'] });

    const seen = await this.seenBefore(packetId, hash, log);
    if (seen) return seen;

    const sender = props.userId ? this.deps.directory.byBrokerUser(props.userId) : undefined;
    if (!sender) return this.unattributed(packetId, hash, content, props.userId, log);
    const now = this.deps.clock();
    const claimedDocumentId = props.headers['x-lt-document-id'];

    // Before any verification, the costly part: a flooding agency costs the hub a bounce each.
    if (this.rate && !this.rate.take(sender.organId)) {
      return this.refuse(
        packetId,
        hash,
        content,
        sender.organId,
        undefined,
        claimedDocumentId,
        now,
        {
          code: 'RATE_LIMITED',
          message: `agency ${sender.organId} sent more than ${this.deps.packetsPerMinute} packets in a minute, the hub's limit; send it again later`,
        },
        null,
        false,
      );
    }

    if (content.length > this.deps.maxPacketBytes) {
      return this.refuse(packetId, hash, content, sender.organId, undefined, claimedDocumentId, now, {
        code: 'XML_TOO_LARGE',
        message: `the packet is ${content.length} bytes, over the hub's limit of ${this.deps.maxPacketBytes}`,
      });
    }
    if (sender.status !== 'active') {
      return this.refuse(packetId, hash, content, sender.organId, undefined, claimedDocumentId, now, {
        code: 'AGENCY_SUSPENDED',
        message: `agency ${sender.organId} is ${sender.status} in the hub directory and may not send`,
      });
    }

    // The hub reads and judges the packet but never writes into it: what it forwards and stores
    // are the bytes the sender signed; its own hop travels in the message headers and its database.
    // Every verdict from here on keeps those bytes (a refusal too). A packet up to
    // STORE_BESIDE_VERIFY_MAX_BYTES (most, and every urgent one) begins its write (an fsync) now,
    // beside the verification, instead of after it on every hop; the worker gets a copy. A larger
    // one is lent to the worker (moved there and back, never held twice) and written after.
    const verifyOptions = { now, maxSignatureAgeMs: this.deps.maxSignatureAgeMs ?? LIVE_SIGNATURE_AGE_MS, urgent: delivery.lane === 'urgent', ...FORWARDED };
    let verification: Verification;
    if (content.length <= STORE_BESIDE_VERIFY_MAX_BYTES) {
      void this.store(content);
      verification = await this.deps.pool.verify(content, verifyOptions);
    } else {
      const lent = await this.deps.pool.verifyLent(content, verifyOptions);
      verification = lent.verification;
      content = this.takeBack(delivery, lent.bytes);
    }
    const unchecked: UncheckedPacket | undefined = verification.packet;
    const report = JSON.stringify(verification.report);
    const refusal = this.check(verification, sender.organId, now);
    if (refusal || !unchecked) {
      // A packet without its own DocumentId is answered about the one its header claims, as a claim.
      return this.refuse(packetId, hash, content, sender.organId, unchecked, nonEmpty(documentIdOf(unchecked)) ?? claimedDocumentId, now, refusal ?? {
        code: 'XML_NOT_EDXML',
        message: 'the packet cannot be read',
      }, report);
    }
    // check() validated it: from here on it has every field its type declares.
    const packet = unchecked as Packet;
    return packet.kind === 'document'
      ? this.routeDocument(packetId, hash, content, packet, sender.organId, now, log, report)
      : this.routeStatus(packetId, hash, content, packet, sender.organId, now, log, delivery.lane, report);
  }

  /** A packet id routed before: finish publishing what was decided (a redelivery), or refuse a different packet under it. */
  private async seenBefore(packetId: string, hash: string, log: Logger): Promise<Verdict | undefined> {
    const seen = this.records.packet(packetId);
    if (!seen) return undefined;
    if (seen.sha256 !== hash) {
      log.warn({ errorCode: 'PACKET_ID_CONFLICT' }, 'a different packet reused a packet id; dead-lettered for an operator');
      this.report({ packetId, kind: 'unknown', verdict: 'dead-letter', errorCode: 'PACKET_ID_CONFLICT', delivered: [], bounced: [] });
      return 'dead-letter';
    }
    await this.flush(packetId);
    log.info('redelivered packet already routed; finished publishing');
    this.report({ packetId, kind: 'unknown', verdict: 'duplicate', delivered: [], bounced: [] });
    return 'ack';
  }

  /**
   * A packet another hub forwarded (federation intake). Checked in order, each with its own
   * refusal (federation/intake.ts): the publisher is a link's peer user; the hops do not include
   * this hub and are under the limit; the sender is served by that link and is not one of this
   * hub's agencies; the signature and chain verify against that link's trust anchors; the
   * content is valid. Then it is routed like a packet of an edge, to this hub's own agencies
   * only: the origin hub split the recipients, the others are other hubs' business. A refusal is
   * recorded (packets, audit, log) and not bounced: the sender is not this hub's to answer, and
   * a packet failing these checks may not even be from whom it names.
   */
  private async intake(delivery: Delivery, props: ReceivedProperties, packetId: string, hash: string): Promise<Verdict> {
    let content = delivery.message.content;
    const log = this.deps.log.child({ packetId, documentId: props.headers['x-lt-document-id'] });
    const seen = await this.seenBefore(packetId, hash, log);
    if (seen) return seen;
    const now = this.deps.clock();
    const federation = this.deps.federation;
    const link = linkOfPeer(props.userId, federation?.links ?? [], delivery.queue);
    if (!federation || !link) return this.refuseIntake(packetId, hash, null, undefined, undefined, peerRefusal(props.userId), now);
    const hops = parseHops(props.headers[HOPS_HEADER]);
    const via: Via = { link, hops: hops ?? [], headers: props.headers };
    const loop = hopRefusal(hops, this.deps.hub.organId, federation.maxHops, link.name);
    if (loop) return this.refuseIntake(packetId, hash, content, undefined, via, loop, now);
    if (content.length > this.deps.maxPacketBytes) {
      return this.refuseIntake(packetId, hash, null, undefined, via, { code: 'XML_TOO_LARGE', message: `the packet is ${content.length} bytes, over the hub's limit of ${this.deps.maxPacketBytes}` }, now);
    }
    const { verification, bytes } = await link.pool.verifyLent(content, { now, maxSignatureAgeMs: this.deps.maxSignatureAgeMs ?? LIVE_SIGNATURE_AGE_MS, urgent: delivery.lane === 'urgent', ...FORWARDED });
    content = this.takeBack(delivery, bytes);
    const unchecked: UncheckedPacket | undefined = verification.packet;
    const report = JSON.stringify(verification.report);
    const refusal =
      senderRefusal(unchecked?.from?.organId, link, federation.links, (organId) => this.deps.directory.get(organId) !== undefined) ??
      this.signatureRefusal(verification, now);
    if (refusal || !unchecked) {
      return this.refuseIntake(packetId, hash, content, unchecked, via, refusal ?? { code: 'XML_NOT_EDXML', message: 'the packet cannot be read' }, now, report);
    }
    const packet = unchecked as Packet;
    const sender = packet.from.organId;
    return packet.kind === 'document'
      ? this.routeDocument(packetId, hash, content, packet, sender, now, log, report, via)
      : this.routeStatus(packetId, hash, content, packet, sender, now, log, delivery.lane, report, via);
  }

  /**
   * Record a packet from the federation intake as refused, without a bounce. A packet whose
   * publisher is no link's is recorded without its bytes (a stranger must not fill the disk), and
   * what it claims (its DocumentId) is not filed.
   */
  private async refuseIntake(
    packetId: string,
    hash: string,
    content: Buffer | null,
    packet: UncheckedPacket | undefined,
    via: Via | undefined,
    refusal: Refusal,
    now: Date,
    report: string | null = null,
    verified = false,
  ): Promise<Verdict> {
    const blob = content ? await this.store(content) : null;
    const documentId = verified ? (documentIdOf(packet) ?? null) : null;
    const sender = verified ? (packet?.from?.organId ?? null) : null;
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: packet?.kind ?? 'unknown',
        sender,
        claimedFrom: packet?.from?.organId ?? null,
        documentId,
        statusCode: packet?.kind === 'status' ? (packet.statusCode ?? null) : null,
        priority: packet?.kind === 'document' ? packet.otherInfo?.priority ?? null : null,
        sha256: hash,
        blob,
        size: content?.length ?? 0,
        receivedAt: now.toISOString(),
        verdict: 'refused',
        errorCode: refusal.code,
        errorMessage: refusal.message,
        verification: report,
        via: via?.link.name ?? null,
        hops: via ? hopsHeader(via.hops) : null,
      });
      appendAudit(
        this.deps.db,
        { actor: via ? `link:${via.link.name}` : 'broker', action: 'packet.refused', subject: packetId, details: { via: via?.link.name ?? null, code: refusal.code, message: refusal.message } },
        now,
      );
    }).immediate();
    this.deps.log.warn({ packetId, errorCode: refusal.code, via: via?.link.name ?? null }, `packet from the federation intake refused: ${refusal.message}`);
    this.report({ packetId, kind: packet?.kind ?? 'unknown', verdict: 'refused', errorCode: refusal.code, ...(documentId ? { documentId } : {}), delivered: [], bounced: [], ...(via ? { via: via.link.name } : {}) });
    return 'ack';
  }

  /** The signature, certificate and content checks of a packet whose sender is already established. */
  private signatureRefusal(v: Verification, now: Date): Refusal | undefined {
    const first = v.report.errors[0];
    if (first) return { code: first.code, message: first.message };
    if (v.report.unsignedTraceHeaders > 0) {
      return {
        code: 'TRACE_FORGED',
        message: `the packet carries ${v.report.unsignedTraceHeaders} TraceHeader(s) added after it was signed; hubs record their hops beside a packet, never in it`,
      };
    }
    if (!v.packet) return undefined;
    const validation = validatePacket(v.packet, { now });
    const error = validation.errors[0];
    if (error) {
      return { code: error.code === 'SECRECY_MARK' ? 'PACKET_SECRET' : 'PACKET_INVALID', message: `${error.message}${validation.errors.length > 1 ? ` (and ${validation.errors.length - 1} more)` : ''}` };
    }
    return undefined;
  }

  /**
   * A packet published under a broker user that is no agency's (the broker's administrator, the
   * hub's own, one made by hand): the hub cannot tell who sent it. If it is signed, validly, by a
   * registered agency, that agency's edge runs with the wrong AMQP URL: the packet is bounced to
   * that agency, so its edge shows the document bounced with what to fix rather than "sent" for
   * ever. A bounce only ever goes to the agency whose own certificate signed the packet, and
   * never about a document the hub already routed (whoever holds a copy of its bytes must not
   * get it marked bounced at its sender). Anything else goes to the dead letters, its cause
   * recorded with the packet.
   */
  private async unattributed(packetId: string, hash: string, content: Buffer, userId: string | undefined, log: Logger): Promise<Verdict> {
    const now = this.deps.clock();
    const publisher = userId === undefined ? 'without a broker user (no AMQP user-id)' : `as broker user "${untrustedLine(userId, 64)}", no agency's`;
    const deadLetter = (cause: string, packet?: UncheckedPacket, report: string | null = null): Verdict => {
      this.recordUnattributed(packetId, hash, content.length, packet, userId, `published ${publisher}: ${cause}`, report, now);
      log.warn({ userId: userId ?? null, errorCode: 'SENDER_UNKNOWN' }, `packet dead-lettered: published ${publisher}; ${cause}`);
      this.report({ packetId, kind: packet?.kind ?? 'unknown', verdict: 'dead-letter', errorCode: 'SENDER_UNKNOWN', delivered: [], bounced: [] });
      return 'dead-letter';
    };
    // Verifying costs the hub; one who floods it without an agency's user gets no more of it than an agency.
    if (this.rate && !this.rate.take(`broker-user:${userId ?? ''}`)) return deadLetter('over the rate limit; not verified');
    if (content.length > this.deps.maxPacketBytes) return deadLetter(`${content.length} bytes, over the limit of ${this.deps.maxPacketBytes}; not verified`);
    const verification = await this.deps.pool.verify(content, { now, maxSignatureAgeMs: this.deps.maxSignatureAgeMs ?? LIVE_SIGNATURE_AGE_MS, ...FORWARDED });
    // Not validated: only a refusal is ever made of it.
    const packet: UncheckedPacket | undefined = verification.packet;
    const report = JSON.stringify(verification.report);
    const problem = verification.report.errors[0];
    const signer = packet?.from?.organId;
    if (!packet || !signer || problem || verification.report.unsignedTraceHeaders > 0) {
      return deadLetter(`its signature does not establish a sender (${problem ? `[${problem.code}] ${untrustedLine(problem.message, REASON_MAX)}` : 'unreadable or carrying added TraceHeaders'})`, packet, report);
    }
    const agency = this.deps.directory.get(signer);
    if (agency?.kind !== 'agency') return deadLetter(`signed by ${untrustedLine(signer, 64)}, which is no agency of this hub`, packet, report);
    if (packet.kind === 'document' && packet.documentId !== undefined && this.records.document(packet.documentId)) {
      return deadLetter(`a copy of document ${untrustedLine(packet.documentId, CLAIM_MAX)}, which the hub already routed; not bounced`, packet, report);
    }
    return this.refuse(packetId, hash, content, signer, packet, documentIdOf(packet), now, {
      code: 'SENDER_UNKNOWN',
      message:
        `published ${publisher}, so the hub cannot tell who sent it and delivered nothing; the edge of ${signer} must connect as ` +
        `${this.deps.names.agencyUser(signer)} with the AMQP URL "lienthong agency add" printed for it, then send again`,
    }, report);
  }

  /** The record (packet row, audit) of an unattributed packet going to the dead letters. */
  private recordUnattributed(packetId: string, hash: string, size: number, packet: UncheckedPacket | undefined, userId: string | undefined, cause: string, report: string | null, now: Date): void {
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: packet?.kind ?? 'unknown',
        sender: null,
        claimedFrom: packet?.from?.organId ?? null,
        // Unattributed, its DocumentId is a claim: the packet is not filed under it.
        documentId: null,
        statusCode: packet?.kind === 'status' ? (packet.statusCode ?? null) : null,
        priority: packet?.kind === 'document' ? packet.otherInfo?.priority ?? null : null,
        sha256: hash,
        blob: null, // the dead letters keep the bytes
        size,
        receivedAt: now.toISOString(),
        verdict: 'refused',
        errorCode: 'SENDER_UNKNOWN',
        errorMessage: cause,
        verification: report,
      });
      appendAudit(
        this.deps.db,
        { actor: 'broker', action: 'packet.refused', subject: packetId, details: { brokerUser: userId === undefined ? null : untrustedLine(userId, 64), code: 'SENDER_UNKNOWN', message: cause } },
        now,
      );
    }).immediate();
  }

  /** Identity, signature and content checks, in the order an operator would want them named. */
  private check(v: Verification, senderOrgan: string, now: Date): Refusal | undefined {
    const packet = v.packet;
    if (packet && packet.from?.organId !== senderOrgan) {
      return {
        code: 'SENDER_MISMATCH',
        message: `the packet says it is from ${packet.from?.organId ?? '(nobody)'} but was published by agency ${senderOrgan}`,
      };
    }
    const first = v.report.errors[0];
    if (first) return { code: first.code, message: first.message };
    if (v.report.unsignedTraceHeaders > 0) {
      // Only a relaying hub writes a hop, and this hub writes none into packets; an edge that
      // submits one is claiming a route the packet never took.
      return {
        code: 'TRACE_FORGED',
        message: `the packet carries ${v.report.unsignedTraceHeaders} TraceHeader(s) added after it was signed; an edge submits a packet exactly as it was signed`,
      };
    }
    if (!packet) return undefined;
    const validation = validatePacket(packet, { now });
    const error = validation.errors[0];
    if (error) {
      return { code: error.code === 'SECRECY_MARK' ? 'PACKET_SECRET' : 'PACKET_INVALID', message: `${error.message}${validation.errors.length > 1 ? ` (and ${validation.errors.length - 1} more)` : ''}` };
    }
    return undefined;
  }

  private async routeDocument(
    packetId: string,
    hash: string,
    content: Buffer,
    packet: DocumentPacket,
    sender: string,
    now: Date,
    log: Logger,
    report: string,
    via?: Via,
  ): Promise<Verdict> {
    // A packet from another hub is not bounced: its sender is that hub's to answer.
    const deny = (refusal: Refusal): Promise<Verdict> =>
      via ? this.refuseIntake(packetId, hash, content, packet, via, refusal, now, report, true) : this.refuse(packetId, hash, content, sender, packet, packet.documentId, now, refusal, report);
    // Ownership before the duplicate check: a squatted number is named as a squat, and the
    // sender here is the broker-validated one (check() made From equal to it).
    const ownership = this.ownershipRefusal(packet);
    if (ownership) return deny(ownership);
    if (this.records.document(packet.documentId)) {
      return deny({
        code: 'DOCUMENT_DUPLICATE',
        message: `DocumentId ${packet.documentId} was already sent; send an update (BussinessDocType 2) or a replacement (3) with a new number instead`,
      });
    }
    const lane: Lane = isUrgent(packet.otherInfo?.priority) ? 'urgent' : 'normal';
    const recipients = [...new Set(packet.to.map((t) => t.organId))];
    const links = this.deps.federation?.links ?? [];
    const deliverable: string[] = [];
    const bounced: Array<{ organId: string; refusal: Refusal }> = [];
    const remote = new Map<FederationLink, string[]>();
    for (const organId of recipients) {
      const agency = this.deps.directory.get(organId);
      if (agency?.kind === 'agency' && agency.status === 'active') {
        deliverable.push(organId);
        continue;
      }
      if (via && !routedHere(via, organId)) continue; // another hub's business: the origin hub split the list
      if (!agency) {
        if (via) {
          bounced.push({ organId, refusal: recipientRefusal(organId, agency, this.deps.hub.organId) });
          continue;
        }
        const route = routeRecipient(organId, false, links);
        if (route.kind === 'link') {
          remote.set(route.link, [...(remote.get(route.link) ?? []), organId]);
          continue;
        }
      }
      bounced.push({ organId, refusal: recipientRefusal(organId, agency, this.deps.hub.organId) });
    }
    if (via && deliverable.length === 0 && bounced.length === 0) {
      return deny({ code: 'NOT_RECIPIENT', message: `link "${via.link.name}" forwarded document ${packet.documentId}, which is addressed to no agency of this hub` });
    }
    const blob = await this.store(content);
    const bounces: Planned[] = [];
    const at = now.toISOString();
    const ownHop: Hop = { hub: this.deps.hub.organId, name: this.deps.hub.organName, at, lane };
    for (const b of bounced) {
      const planned = await this.bounce(packetId, sender, packet, b.organId, b.refusal, lane, now);
      // To a sender behind another hub the bounce goes back over the link it came by; that hub answers its sender.
      bounces.push(via ? { ...planned, target: via.link.name, link: via.link.name, envelope: { ...planned.envelope, extra: { ...planned.envelope.extra, ...this.hop(at), [HOPS_HEADER]: hopsHeader([ownHop]) } } } : planned);
    }
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: 'document',
        sender,
        claimedFrom: packet.from.organId,
        documentId: packet.documentId,
        statusCode: null,
        priority: packet.otherInfo.priority,
        sha256: hash,
        blob,
        size: content.length,
        receivedAt: at,
        verdict: 'routed',
        errorCode: null,
        errorMessage: null,
        verification: report,
        ...this.viaColumns(via),
      });
      this.records.insertDocument({
        documentId: packet.documentId,
        sender,
        packetId,
        subject: packet.subject,
        code: `${packet.code.codeNumber}/${packet.code.codeNotation}`,
        priority: packet.otherInfo.priority,
        bussinessType: packet.bussiness?.bussinessDocType ?? null,
        responseFor: answeredDocumentOf(packet) ?? null,
        sentAt: at,
        dueDate: packet.dueDate ?? null,
      });
      for (const organId of deliverable) {
        this.deliveries.record(packet.documentId, organId, { ...INITIAL_STATE, stage: 'delivered' }, 'delivered', at, packetId, null);
        this.records.insertOutbound(
          {
            packetId,
            cause: packetId,
            target: organId,
            lane,
            type: 'edoc',
            blob,
            envelope: {
              packetId,
              type: 'edoc',
              from: sender,
              to: recipients,
              priority: packet.otherInfo.priority,
              documentId: packet.documentId,
              lane,
              extra: this.hop(at),
            },
          },
          at,
        );
      }
      // Once per link, the bytes the sender signed; the hop travels beside them.
      for (const [link, organIds] of remote) {
        for (const organId of organIds) {
          this.deliveries.record(packet.documentId, organId, { ...INITIAL_STATE, stage: 'delivered' }, 'delivered', at, packetId, `handed to the link to hub "${link.name}"`);
          this.records.setRoute(packet.documentId, organId, link.name);
        }
        this.records.insertOutbound(
          {
            packetId,
            cause: packetId,
            target: link.name,
            link: link.name,
            lane,
            type: 'edoc',
            blob,
            envelope: {
              packetId,
              type: 'edoc',
              from: sender,
              to: organIds,
              priority: packet.otherInfo.priority,
              documentId: packet.documentId,
              lane,
              extra: { ...this.hop(at), [HOPS_HEADER]: hopsHeader([ownHop]) },
            },
          },
          at,
        );
      }
      for (const b of bounced) {
        this.deliveries.record(packet.documentId, b.organId, { ...INITIAL_STATE, stage: 'bounced' }, 'bounced', at, packetId, b.refusal.message);
      }
      for (const planned of bounces) this.records.insertOutbound({ ...planned, cause: packetId }, at);
      const forwarded = Object.fromEntries([...remote].map(([link, organIds]) => [link.name, organIds]));
      appendAudit(
        this.deps.db,
        {
          actor: sender,
          action: 'packet.routed',
          subject: packetId,
          details: {
            kind: 'document',
            documentId: packet.documentId,
            lane,
            delivered: deliverable,
            bounced: bounced.map((b) => ({ organId: b.organId, code: b.refusal.code })),
            sha256: hash,
            ...(remote.size > 0 ? { forwarded } : {}),
            ...(via ? { via: via.link.name } : {}),
          },
        },
        now,
      );
    }).immediate();
    await this.flush(packetId);
    const forwarded = Object.fromEntries([...remote].map(([link, organIds]) => [link.name, organIds]));
    log.info({ delivered: deliverable, bounced: bounced.map((b) => b.organId), lane, ...(remote.size > 0 ? { forwarded } : {}), ...(via ? { via: via.link.name } : {}) }, 'document routed');
    this.report({
      packetId,
      kind: 'document',
      verdict: 'routed',
      documentId: packet.documentId,
      delivered: deliverable,
      bounced: bounced.map((b) => b.organId),
      ...(remote.size > 0 ? { forwarded } : {}),
      ...(via ? { via: via.link.name } : {}),
    });
    return 'ack';
  }

  /**
   * The hub at the other end of a link could not deliver a document this hub forwarded to one of
   * its recipients, and said so with a 02 it signed. This hub records the recipient as bounced and
   * tells the document's sender with a bounce of its own (its edge takes bounces from its hub only),
   * quoting the other hub's reason.
   */
  private async routeRemoteBounce(
    packetId: string,
    hash: string,
    content: Buffer,
    packet: StatusPacket,
    document: { documentId: string; sender: string; priority: string },
    recipient: string,
    via: Via,
    now: Date,
    log: Logger,
    lane: Lane,
    report: string,
  ): Promise<Verdict> {
    const deny = (refusal: Refusal): Promise<Verdict> => this.refuseIntake(packetId, hash, content, packet, via, refusal, now, report, true);
    const state = this.deliveries.state(document.documentId, recipient);
    if (!state) return deny({ code: 'NOT_RECIPIENT', message: `${packet.from.organId} bounced ${recipient}, which is not a recipient of ${document.documentId}` });
    const at = now.toISOString();
    const blob = await this.store(content);
    const code = via.headers['x-lt-error-code'];
    const reason = `hub ${packet.from.organId} could not deliver it: ${untrustedLine(packet.description ?? '', REASON_MAX)}`;
    // Only a delivery still in the other hub's hands ('delivered' here) can bounce there; a repeat changes nothing.
    const applies = state.stage === 'delivered' && this.deps.directory.get(document.sender)?.kind === 'agency';
    const planned = applies
      ? await this.bounce(packetId, document.sender, undefined, recipient, { code: code !== undefined && Object.hasOwn(ERROR_CATALOGUE, code) ? (code as ErrorCode) : 'AGENCY_UNKNOWN', message: reason }, lane, now, document.documentId)
      : undefined;
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: 'status',
        sender: packet.from.organId,
        claimedFrom: packet.from.organId,
        documentId: document.documentId,
        statusCode: packet.statusCode,
        priority: document.priority,
        sha256: hash,
        blob,
        size: content.length,
        receivedAt: at,
        verdict: 'routed',
        errorCode: null,
        errorMessage: null,
        verification: report,
        ...this.viaColumns(via),
      });
      if (planned) {
        this.deliveries.record(document.documentId, recipient, { ...state, stage: 'bounced' }, 'bounced', at, packetId, reason);
        this.records.insertOutbound({ ...planned, cause: packetId }, at);
      }
      appendAudit(this.deps.db, { actor: packet.from.organId, action: 'status.02', subject: packetId, details: { documentId: document.documentId, recipient, bounce: true, via: via.link.name, applied: planned !== undefined } }, now);
    }).immediate();
    await this.flush(packetId);
    log.info({ recipient, via: via.link.name, applied: planned !== undefined }, 'a linked hub bounced a recipient');
    this.report({ packetId, kind: 'status', verdict: 'routed', documentId: document.documentId, statusCode: '02', delivered: [], bounced: planned ? [recipient] : [], via: via.link.name });
    return 'ack';
  }

  /** The packet row's record of a packet from another hub. */
  private viaColumns(via: Via | undefined): { via?: string; hops?: string } {
    return via ? { via: via.link.name, hops: hopsHeader(via.hops) } : {};
  }

  /**
   * An organ's DocumentIds, and the updates, replacements and revocations of its documents, are
   * its own: otherwise one agency could take another's next number (its real document would
   * then bounce as a duplicate) or revoke another's document at every recipient.
   */
  private ownershipRefusal(packet: DocumentPacket): Refusal | undefined {
    const squat = foreignDocumentIdOf(packet);
    if (squat) return { code: 'DOCUMENT_NOT_OWNED', message: squat };
    const foreign = firstForeignAct(packet, (id) => this.records.document(id)?.sender);
    return foreign ? { code: 'DOCUMENT_NOT_OWNED', message: foreign.reason } : undefined;
  }

  private async routeStatus(
    packetId: string,
    hash: string,
    content: Buffer,
    packet: StatusPacket,
    sender: string,
    now: Date,
    log: Logger,
    incomingLane: Lane,
    report: string,
    via?: Via,
  ): Promise<Verdict> {
    const documentId = packet.responseFor.documentId as string;
    const deny = (refusal: Refusal): Promise<Verdict> =>
      via ? this.refuseIntake(packetId, hash, content, packet, via, refusal, now, report, true) : this.refuse(packetId, hash, content, sender, packet, documentId, now, refusal, report);
    const document = this.records.document(documentId);
    if (!document) {
      return deny({
        code: 'DOCUMENT_UNKNOWN',
        message: `status ${packet.statusCode} is about document ${documentId}, which this hub never routed`,
      });
    }
    const remoteBounce = via ? bouncedRemotely(via, packet) : undefined;
    if (via && remoteBounce) return this.routeRemoteBounce(packetId, hash, content, packet, document, remoteBounce, via, now, log, incomingLane, report);
    // 13 goes from the document's sender to one recipient; every other status the other way.
    const fromSender = packet.statusCode === '13';
    const recipient = fromSender ? packet.responseFor.organId : sender;
    const target = fromSender ? packet.responseFor.organId : document.sender;
    const state = this.deliveries.state(documentId, recipient);
    if ((fromSender && document.sender !== sender) || !state) {
      return deny({
        code: 'NOT_RECIPIENT',
        message: fromSender
          ? `only the sender of ${documentId} may recall it, and only from one of its recipients`
          : `agency ${sender} is not a recipient of document ${documentId}`,
      });
    }
    // The target is an agency of this hub, or, for what this hub's agencies say, one another hub serves.
    const targetAgency = this.deps.directory.get(target);
    const link = targetAgency ? undefined : via ? undefined : linkFor(target, this.deps.federation?.links ?? []);
    if (!targetAgency && !link) {
      return deny(
        via
          ? { code: 'NOT_RECIPIENT', message: `link "${via.link.name}" forwarded status ${packet.statusCode} for ${target}, which is no agency of this hub` }
          : { code: 'FEDERATION_NO_ROUTE', message: `status ${packet.statusCode} is for ${target}, which is neither an agency of this hub nor served by a linked hub` },
      );
    }
    const outcome = transition(state, packet.statusCode as DeliveryEvent);
    if (outcome.outcome === 'illegal') return deny({ code: 'STATUS_ILLEGAL_TRANSITION', message: outcome.reason });
    // A status travels on to its target in the lane it came in: the edge that wrote it chose the
    // lane so that it cannot overtake the document it is about (a recall of a document still in
    // flight follows it in the document's lane).
    const lane: Lane = incomingLane;
    const blob = await this.store(content);
    const at = now.toISOString();
    const forward = outcome.outcome !== 'duplicate';
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: 'status',
        sender,
        claimedFrom: packet.from.organId,
        documentId,
        statusCode: packet.statusCode,
        priority: document.priority,
        sha256: hash,
        blob,
        size: content.length,
        receivedAt: at,
        verdict: 'routed',
        errorCode: null,
        errorMessage: null,
        verification: report,
        ...this.viaColumns(via),
      });
      if (outcome.outcome === 'applied') {
        this.deliveries.record(documentId, recipient, outcome.state, packet.statusCode as DeliveryEvent, at, packetId, packet.description ?? null);
      }
      if (forward) {
        const hops: Record<string, string> = link ? { [HOPS_HEADER]: hopsHeader([{ hub: this.deps.hub.organId, name: this.deps.hub.organName, at, lane }]) } : {};
        this.records.insertOutbound(
          {
            packetId,
            cause: packetId,
            target: link ? link.name : target,
            ...(link ? { link: link.name } : {}),
            lane,
            type: 'status',
            blob,
            envelope: { packetId, type: 'status', from: sender, to: [target], priority: document.priority, documentId, lane, extra: { 'x-lt-status': packet.statusCode, ...this.hop(at), ...hops } },
          },
          at,
        );
      }
      appendAudit(
        this.deps.db,
        { actor: sender, action: `status.${packet.statusCode}`, subject: packetId, details: { documentId, recipient, outcome: outcome.outcome, state: outcome.state } },
        now,
      );
    }).immediate();
    await this.flush(packetId);
    log.info({ statusCode: packet.statusCode, target, outcome: outcome.outcome, ...(link ? { link: link.name } : {}), ...(via ? { via: via.link.name } : {}) }, 'status routed');
    this.report({
      packetId,
      kind: 'status',
      verdict: 'routed',
      documentId,
      statusCode: packet.statusCode,
      delivered: forward && !link ? [target] : [],
      bounced: [],
      ...(forward && link ? { forwarded: { [link.name]: [target] } } : {}),
      ...(via ? { via: via.link.name } : {}),
    });
    return 'ack';
  }

  /** Record a refused packet and answer the sender with a signed bounce. */
  private async refuse(
    packetId: string,
    hash: string,
    content: Buffer,
    sender: string,
    packet: UncheckedPacket | undefined,
    documentId: string | undefined,
    now: Date,
    refusal: Refusal,
    report: string | null = null,
    keepContent = true,
  ): Promise<Verdict> {
    const log = this.deps.log.child({ packetId, documentId });
    // A packet refused unread (over the rate) is recorded by hash and size only: a flood must not fill the disk.
    const blob = keepContent ? await this.store(content) : null;
    const at = now.toISOString();
    const lane: Lane = packet?.kind === 'document' && isUrgent(packet.otherInfo?.priority) ? 'urgent' : 'normal';
    // A DocumentId read only from the x-lt-document-id header of a packet the hub did not read is
    // the sender's claim and may name anyone's document: the refused packet is not filed under
    // it, and the bounce says it is a claim. A bounce must name a document; without one that is
    // at least a well-formed DocumentId, only an operator can help.
    const claimedOnly = documentId !== undefined && documentId !== documentIdOf(packet);
    const answerable = documentId !== undefined && documentId.trim() !== '' && (!claimedOnly || parseDocumentId(documentId) !== undefined);
    let bounce: Planned | undefined;
    if (answerable) {
      try {
        bounce = await this.bounce(packetId, sender, packet, sender, refusal, lane, now, documentId, claimedOnly);
      } catch (error) {
        // A refusal must not fail as a whole: without its bounce it still ends, in the dead letters.
        if (!repeatsOnRetry(error)) throw error;
        log.error({ errorCode: refusal.code, err: error }, `the bounce for this refused packet could not be made; it goes to the dead letters`);
      }
    }
    this.deps.db.transaction(() => {
      this.records.insertPacket({
        packetId,
        kind: packet?.kind ?? 'unknown',
        sender,
        claimedFrom: packet?.from?.organId ?? null,
        documentId: claimedOnly ? null : (documentId ?? null),
        statusCode: packet?.kind === 'status' ? (packet.statusCode ?? null) : null,
        priority: packet?.kind === 'document' ? packet.otherInfo?.priority ?? null : null,
        sha256: hash,
        blob,
        size: content.length,
        receivedAt: at,
        verdict: 'refused',
        errorCode: refusal.code,
        errorMessage: refusal.message,
        verification: report,
      });
      if (bounce) this.records.insertOutbound({ ...bounce, cause: packetId }, at);
      appendAudit(
        this.deps.db,
        {
          actor: sender,
          action: 'packet.refused',
          subject: packetId,
          details: {
            documentId: claimedOnly ? null : (documentId ?? null),
            ...(claimedOnly ? { claimedDocumentId: untrustedLine(documentId, CLAIM_MAX) } : {}),
            code: refusal.code,
            message: refusal.message,
          },
        },
        now,
      );
    }).immediate();
    log.warn({ errorCode: refusal.code, sender }, `packet refused: ${refusal.message}`);
    if (!bounce && !keepContent) {
      this.report({ packetId, kind: 'unknown', verdict: 'refused', errorCode: refusal.code, delivered: [], bounced: [] });
      return 'ack';
    }
    if (!bounce) {
      this.report({ packetId, kind: packet?.kind ?? 'unknown', verdict: 'dead-letter', errorCode: refusal.code, delivered: [], bounced: [] });
      return 'dead-letter';
    }
    await this.flush(packetId);
    this.report({ packetId, kind: packet?.kind ?? 'unknown', verdict: 'refused', errorCode: refusal.code, ...(documentId ? { documentId } : {}), delivered: [], bounced: [sender] });
    return 'ack';
  }

  /**
   * A status 02 signed by the hub, to `sender`, about `documentId`. As in the SDK's own 02, its
   * ResponseFor names the document by its issuer (so any peer matches it to the document); the
   * Description names who could not be reached (`about`, or the whole packet) and why. The
   * recipient concerned also travels, for lienthong's edges, in the x-lt-bounce header, which
   * only the hub can publish. The reason may repeat what the sender wrote (its From, its
   * recipients, a parser's complaint), so it is quoted, on one line and bounded: the hub signs
   * this text. `claimedOnly`: the DocumentId is the header's claim, not read from the packet.
   */
  private async bounce(
    cause: string,
    sender: string,
    packet: UncheckedPacket | undefined,
    about: string,
    refusal: Refusal,
    lane: Lane,
    now: Date,
    documentId = packet ? documentIdOf(packet) : undefined,
    claimedOnly = false,
  ): Promise<Planned> {
    // A claim about a document takes nothing from the packet: it may not be that document's.
    const document = packet?.kind === 'document' && !claimedOnly ? packet : undefined;
    // What the hub knows of a document is not lent to a claim about it.
    const known = documentId && !claimedOnly ? this.records.document(documentId) : undefined;
    const parsedId = documentId ? parseDocumentId(documentId) : undefined;
    const issuer = nonEmpty(document?.from?.organId) ?? known?.sender ?? parsedId?.organId ?? sender;
    const code = documentCodeOf(document?.code) ?? known?.code ?? parsedId?.code;
    const promulgationDate = nonEmpty(document?.promulgationInfo?.promulgationDate) ?? parsedId?.date;
    const what =
      about === sender
        ? `Trục liên thông ${this.deps.hub.organId} từ chối gói tin của ${sender}`
        : `Không chuyển được văn bản tới ${untrustedLine(about, 64)}`;
    const claim = claimedOnly
      ? ` (gói tin không đọc được; mã văn bản "${untrustedLine(documentId as string, CLAIM_MAX)}" chỉ do tiêu đề x-lt-document-id khai, không phải của gói tin)`
      : '';
    const status = composeStatus(
      {
        from: { organId: this.deps.hub.organId, organName: this.deps.hub.organName },
        responseFor: {
          organId: issuer,
          documentId: documentId as string,
          ...(code ? { code } : {}),
          ...(promulgationDate ? { promulgationDate } : {}),
        },
        ...(this.deps.hub.staffInfo ? { staffInfo: this.deps.hub.staffInfo } : {}),
        statusCode: '02',
        description: `${what}: [${refusal.code}] "${untrustedLine(refusal.message, REASON_MAX)}"${claim}`,
      },
      now,
    );
    const signed = await this.deps.pool.sign(buildPacket(status), this.deps.hub.identity, { urgent: lane === 'urgent' });
    const blob = await this.deps.blobs.put(signed);
    const packetId = derivedPacketId('bounce', cause, about);
    return {
      packetId,
      target: sender,
      lane,
      type: 'status',
      blob,
      envelope: {
        packetId,
        type: 'status',
        from: this.deps.hub.organId,
        to: [sender],
        priority: document?.otherInfo?.priority ?? '0',
        documentId: documentId as string,
        lane,
        extra: { 'x-lt-status': '02', 'x-lt-bounce': about, 'x-lt-error-code': refusal.code, 'x-lt-cause': cause },
      },
    };
  }

  /**
   * Publish what routing decided for `cause` and is not yet confirmed; mark what the broker
   * confirmed published, so that a retry publishes only the rest (no recipient gets a packet
   * twice). A full agency queue (BROKER_QUEUE_FULL) is waited for, with backoff, for up to
   * `backPressureHoldMs`; then the error goes up and the packet back to the inbound queue.
   */
  private async flush(cause: string): Promise<void> {
    const holdUntil = Date.now() + (this.deps.backPressureHoldMs ?? 300_000);
    for (let attempt = 0; ; attempt += 1) {
      const rows = this.records.unpublished(cause);
      if (rows.length === 0) return;
      const results = await Promise.allSettled(
        rows.map(async (row) => {
          const content = await this.contentOf(row.blob, cause);
          // A link's row goes to that link's queue (the default exchange routes by queue name).
          await this.deps.publisher.publish({
            exchange: row.link ? '' : this.deps.names.deliver,
            routingKey: row.link ? this.deps.names.federationQueue(row.link, row.lane) : this.deps.names.deliverKey(row.target, row.lane),
            content,
            options: publishOptions(row.envelope, this.deps.clock()),
          });
        }),
      );
      const published = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      if (published.length > 0) {
        this.records.markPublished(
          published.map((r) => r.id),
          this.deps.clock().toISOString(),
        );
      }
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failures.length === 0) return;
      const other = failures.find((e) => !isLtError(e) || e.code !== 'BROKER_QUEUE_FULL');
      if (other) throw other;
      const full = rows.filter((_, i) => results[i]?.status === 'rejected').map((r) => r.target);
      const wait = Math.min(15_000, 250 * 2 ** attempt);
      if (this.stopping.signal.aborted || Date.now() + wait > holdUntil) {
        throw new LtError('BROKER_QUEUE_FULL', `the queue of ${[...new Set(full)].join(', ')} is full: its edge is not taking its packets`);
      }
      if (attempt === 0) this.deps.log.warn({ packetId: cause, full }, 'recipient queue full (back-pressure); waiting for its edge to drain it');
      else this.deps.log.debug({ packetId: cause, full, attempt }, 'recipient queue still full; trying again');
      await abortableDelay(wait, this.stopping.signal);
    }
  }

  /**
   * The packet's bytes back from a lent verification, put where the delivery kept them: the
   * message's own are empty now, and flush publishes what the message holds.
   */
  private takeBack(delivery: Delivery, bytes: Buffer): Buffer {
    delivery.message.content = bytes;
    return bytes;
  }

  /** The bytes of a blob flush publishes: the packet in hand as it is, anything else (a bounce) from the blob store. */
  private contentOf(blob: string, cause: string): Promise<Buffer> {
    const inHand = this.inHand.get(cause);
    return inHand?.hash === blob ? Promise.resolve(inHand.message.content) : this.deps.blobs.get(blob);
  }

  /** What the hub says about its hop: beside the packet, never inside the signed XML. */
  private hop(at: string): Record<string, string> {
    return { 'x-lt-hub': this.deps.hub.organId, 'x-lt-routed-at': at };
  }

  private report(outcome: RouteOutcome): void {
    this.outcomes.set(outcome.packetId, outcome);
  }
}

/** Longest reason a bounce repeats, and longest claimed DocumentId it quotes (characters). */
const REASON_MAX = 300;
const CLAIM_MAX = 200;

/**
 * Whether the origin hub routed `organId` over this link: its x-lt-to header lists the recipients
 * it handed to the link (without it, a hub of another make: every recipient of the list).
 */
function routedHere(via: Via, organId: string): boolean {
  const to = via.headers['x-lt-to'];
  return to === undefined || to.split(',').includes(organId);
}

/**
 * The recipient a 02 from the other end of a link bounces: signed by that hub itself (the first
 * hop its link reports), naming in x-lt-bounce a recipient that link serves. Undefined for any
 * other status, which is a recipient's own.
 */
function bouncedRemotely(via: Via, packet: StatusPacket): string | undefined {
  const about = via.headers['x-lt-bounce'];
  if (packet.statusCode !== '02' || !about || packet.from.organId !== via.hops[0]?.hub) return undefined;
  return linkFor(about, [via.link]) ? about : undefined;
}

/** Why a recipient this hub cannot deliver to is bounced. */
function recipientRefusal(organId: string, agency: { kind: string; status: string } | undefined, hubOrganId: string): Refusal {
  if (agency?.kind === 'hub') return { code: 'AGENCY_UNKNOWN', message: `recipient ${organId} is the hub itself, which receives no documents; address the agency concerned` };
  if (agency) return { code: 'AGENCY_SUSPENDED', message: `recipient ${organId} is ${agency.status} in the hub directory; send it on paper` };
  const suffix = organIdLevel1(organId);
  if (suffix === organIdLevel1(hubOrganId)) return { code: 'AGENCY_UNKNOWN', message: `recipient ${organId} is not connected to this hub; send it on paper` };
  return {
    code: 'FEDERATION_NO_ROUTE',
    message: `recipient ${organId} is served by "${suffix}" (its level-1 code), and this hub is linked to no hub serving *.${suffix}; send it on paper`,
  };
}

function documentIdOf(packet: UncheckedPacket | undefined): string | undefined {
  return packet?.kind === 'document' ? packet.documentId : packet?.responseFor?.documentId;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value : undefined;
}

/**
 * Packets per agency per minute, as a token bucket: a burst up to the minute's allowance, then
 * one packet every 60/limit seconds. Real time, not the router's clock (which tests may fix).
 * In memory: several hub processes each allow the limit.
 */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  take(key: string): boolean {
    const now = performance.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
