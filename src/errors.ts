/**
 * The one catalogue of error codes. The REST API, the CLI, status packets and logs all draw from
 * it, so that an operator who sees a code anywhere can look it up in one place.
 *
 * `status` is the HTTP status the REST adapter answers with; `summary` is the generic sentence,
 * the thrower adds the specific one (which file, which field, what to do).
 */
export const ERROR_CATALOGUE = {
  // Input and XML safety
  XML_TOO_LARGE: { status: 413, summary: 'The XML input is larger than the configured limit' },
  XML_TOO_DEEP: { status: 400, summary: 'The XML input nests elements deeper than allowed' },
  XML_TOO_MANY_NODES: { status: 400, summary: 'The XML input has more nodes (elements, attributes, text, comments, CDATA) than allowed' },
  XML_TOO_MANY_COMMENTS: { status: 400, summary: 'The XML input has more comments and processing instructions than allowed' },
  XML_COMMENTS_TOO_LARGE: { status: 400, summary: 'The comments and processing instructions of the XML input are larger than allowed' },
  XML_CDATA_TOO_LARGE: { status: 400, summary: 'The CDATA sections of the XML input are larger than allowed' },
  XML_WHITESPACE_TOO_LARGE: { status: 400, summary: 'The XML input has more whitespace between elements than allowed' },
  XML_DOCTYPE: { status: 400, summary: 'DOCTYPE declarations are not allowed in edXML packets' },
  XML_ENTITY: { status: 400, summary: 'Entity references other than the five predefined ones are not allowed' },
  XML_ENCODING: { status: 400, summary: 'Only UTF-8 encoded XML is accepted' },
  XML_MALFORMED: { status: 400, summary: 'The input is not well-formed XML' },
  XML_NOT_EDXML: { status: 400, summary: 'The XML is not an edXML packet' },
  // Envelope
  PACKET_INVALID: { status: 422, summary: 'The packet does not satisfy the edXML rules' },
  PACKET_SECRET: { status: 422, summary: 'Documents carrying a secrecy mark may not enter this system' },
  MALWARE_FOUND: { status: 422, summary: 'An attachment contains malware' },
  SCAN_FAILED: { status: 503, summary: 'The malware scanner could not scan the attachments' },
  // Zip archives (zipped attachments, evidence archives)
  ZIP_INVALID: { status: 422, summary: 'The file is not a well-formed zip archive' },
  ZIP_UNSUPPORTED: { status: 422, summary: 'The zip archive uses a feature lienthong does not read: a password, a compression other than deflate, ZIP64 or several volumes' },
  ZIP_UNSAFE: { status: 422, summary: 'The zip archive is refused as dangerous: a zip bomb, a name outside its folder, or over a size limit' },
  // Signatures and certificates
  SIG_MISSING: { status: 422, summary: 'The packet carries no XML signature' },
  SIG_MULTIPLE: { status: 422, summary: 'The packet carries more than one XML signature' },
  SIG_MISPLACED: { status: 422, summary: 'The signature is not where the edXML profile puts it' },
  SIG_MALFORMED: { status: 422, summary: 'The signature element is malformed' },
  SIG_REFERENCE: { status: 422, summary: 'The signature must have exactly one Reference with URI=""' },
  SIG_ALGORITHM: { status: 422, summary: 'The signature uses an algorithm outside the allow-list' },
  SIG_DIGEST_MISMATCH: { status: 422, summary: 'The signed content was changed after signing' },
  TRACE_FORGED: { status: 422, summary: 'The packet carries TraceHeaders added after it was signed' },
  SIG_VALUE_INVALID: { status: 422, summary: 'The signature value does not match the signer key' },
  CERT_MISSING: { status: 422, summary: 'The signature carries no signer certificate' },
  CERT_MALFORMED: { status: 422, summary: 'A certificate could not be read' },
  CERT_UNTRUSTED: { status: 422, summary: 'The signer certificate does not chain to a trusted root' },
  CERT_EXPIRED: { status: 422, summary: 'A certificate was not valid at signing time' },
  CERT_REVOKED: { status: 422, summary: 'The signer certificate is revoked' },
  CERT_USAGE: { status: 422, summary: 'A certificate may not be used for this purpose' },
  CRL_INVALID: { status: 422, summary: 'A certificate revocation list is not usable' },
  REVOCATION_UNKNOWN: { status: 422, summary: 'Whether a certificate is revoked cannot be established, and the revocation policy requires it' },
  CRL_STALE: { status: 503, summary: 'A CRL in force is about to expire or has expired, and no later one was found' },
  CRL_FETCH_FAILED: { status: 503, summary: 'A CRL could not be downloaded or re-read; the last good one stays in force' },
  CERT_ORGAN_MISMATCH: { status: 422, summary: 'The signer certificate does not belong to the sending agency' },
  KEY_INVALID: { status: 400, summary: 'The private key could not be used' },
  // Status machine
  STATUS_ILLEGAL_TRANSITION: { status: 409, summary: 'This status change is not allowed from the current state' },
  // Exchange: routing, directory, identity
  SENDER_MISMATCH: { status: 403, summary: 'The packet claims a sender other than the agency that published it' },
  SENDER_UNKNOWN: { status: 403, summary: 'The publishing broker user belongs to no registered agency' },
  BROKER_USER_MISMATCH: { status: 500, summary: "The edge's AMQP URL does not connect as its own agency's broker user" },
  EDGE_ALREADY_RUNNING: { status: 409, summary: 'Another edge of this agency is already running: it holds the data directory or consumes the queues' },
  AGENCY_UNKNOWN: { status: 404, summary: 'The agency is not in the hub directory' },
  AGENCY_SUSPENDED: { status: 409, summary: 'The agency is suspended in the hub directory' },
  AGENCY_EXISTS: { status: 409, summary: 'The agency is already registered' },
  AGENCY_NOT_EMPTY: { status: 409, summary: 'The agency still has undelivered packets' },
  DOCUMENT_UNKNOWN: { status: 404, summary: 'No such document is known here' },
  DOCUMENT_DUPLICATE: { status: 409, summary: 'A document with this DocumentId was already sent' },
  DOCUMENT_NOT_OWNED: { status: 422, summary: "The document carries another agency's DocumentId, or updates, replaces or revokes a document another agency sent" },
  NOT_DELIVERED: { status: 422, summary: 'A recipient did not get the document: the hub bounced it or the recipient returned it (02); the reason says why' },
  ANSWER_TIMEOUT: { status: 504, summary: 'Not every recipient answered within the time waited; the document is not lost: it is queued or on its way' },
  PACKET_ID_CONFLICT: { status: 409, summary: 'A different packet with the same packet id was already received' },
  NOT_RECIPIENT: { status: 403, summary: 'The agency is not a party to this document' },
  // Federation: links to other hubs
  FEDERATION_NO_ROUTE: { status: 404, summary: "No agency of this hub and no linked hub serves the recipient's organ id (its level-1 suffix)" },
  FEDERATION_LOOP: { status: 409, summary: 'The packet already passed through this hub, or through more hubs than allowed (its hop records)' },
  FEDERATION_SENDER_REFUSED: { status: 403, summary: "A linked hub forwarded a packet whose sender it does not serve (one of this hub's own agencies, or another link's)" },
  FEDERATION_LINK_UNKNOWN: { status: 403, summary: 'A packet reached the federation intake under a broker user that no link of this hub names' },
  // Broker
  BROKER_UNREACHABLE: { status: 503, summary: 'The RabbitMQ broker cannot be reached' },
  BROKER_LOGIN_REFUSED: { status: 503, summary: 'The RabbitMQ broker refused the user name or password' },
  BROKER_TLS: { status: 503, summary: "The TLS connection to the broker failed: its certificate is not trusted or names another host, it refused this node's certificate, or TLS met a plain port" },
  BROKER_VHOST_REFUSED: { status: 503, summary: 'The RabbitMQ virtual host does not exist or the user has no permissions on it' },
  BROKER_ACCESS_REFUSED: { status: 503, summary: 'The RabbitMQ user lacks a permission the operation needs' },
  BROKER_TOPOLOGY_CONFLICT: { status: 503, summary: 'An exchange or queue exists on the broker with the same name but other properties' },
  BROKER_NOT_FOUND: { status: 503, summary: 'An exchange or queue the operation needs does not exist on the broker' },
  BROKER_CHANNEL_CLOSED: { status: 503, summary: 'The broker closed a channel after refusing an operation on it; a new channel is opened' },
  BROKER_MANAGEMENT: { status: 502, summary: 'The RabbitMQ management API refused or failed a request' },
  BROKER_MANAGEMENT_UNREACHABLE: { status: 503, summary: 'No RabbitMQ management API answers at the configured URL' },
  BROKER_MANAGEMENT_LOGIN: { status: 502, summary: 'The RabbitMQ management API refused the user name or password' },
  BROKER_PUBLISH: { status: 503, summary: 'The broker did not confirm a published message' },
  BROKER_QUEUE_FULL: { status: 503, summary: 'The destination queue is at its byte limit; the message was kept by its sender and is retried later' },
  BROKER_BLOCKED: { status: 503, summary: 'The broker blocks publishers (a memory or disk alarm); what waits is kept by its sender and sent when it unblocks' },
  BROKER_CAPACITY: { status: 503, summary: 'A RabbitMQ node has fewer file descriptors or less memory than the registered agencies need' },
  // Federation: the national axis
  AXIS_UNREACHABLE: { status: 503, summary: 'The national exchange axis does not answer, or answers with something other than its protocol; what waits for it stays queued and is sent when it is back' },
  AXIS_REFUSED: { status: 502, summary: 'The national exchange axis answered the call with a refusal (status FAIL); its error code and text say why' },
  // Worker threads
  WORKER_OUT_OF_MEMORY: { status: 422, summary: 'Handling the input needed more memory than a crypto worker thread may use; the worker was replaced' },
  WORKER_FAILED: { status: 503, summary: 'A crypto worker thread stopped while handling the job; a new one is started: try again in a moment' },
  // Local storage (the node's own data directory and database)
  STORAGE_FULL: { status: 503, summary: "The node's data directory is full: nothing was stored; try again once space is freed (Retry-After)" },
  STORAGE_UNAVAILABLE: { status: 503, summary: "The node's storage cannot take writes right now (locked, I/O error, read-only): nothing was stored; try again later (Retry-After)" },
  // Doors
  CONFIG_INVALID: { status: 500, summary: 'The configuration is not usable' },
  AUTH_REQUIRED: { status: 401, summary: 'A valid API key is required' },
  LOGIN_REQUIRED: { status: 401, summary: 'Log in to the dashboard first' },
  FORBIDDEN: { status: 403, summary: 'Your role does not allow this action' },
  USER_EXISTS: { status: 409, summary: 'A user with this name already exists' },
  USER_LAST_OPERATOR: { status: 409, summary: 'The last operator of the dashboard cannot be removed' },
  AUDIT_CHAIN_BROKEN: { status: 500, summary: 'The audit trail was changed after it was written' },
  EVIDENCE_INVALID: { status: 422, summary: 'The evidence file is incomplete or was changed after it was written' },
  DEAD_LETTER_RESOLVED: { status: 409, summary: 'The dead letter was already replayed or discarded' },
  REQUEST_TOO_LARGE: { status: 413, summary: 'The request body is larger than allowed' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The request body has a content type the API does not accept' },
  RATE_LIMITED: { status: 429, summary: 'Too many requests from this client; slow down' },
  NOT_FOUND: { status: 404, summary: 'No such resource' },
  // Generic
  USAGE: { status: 400, summary: 'The command or request is not used correctly' },
  IO: { status: 500, summary: 'A file could not be read or written' },
  INTERNAL: { status: 500, summary: 'An unexpected internal error' },
  PACKET_UNPROCESSABLE: { status: 500, summary: 'Handling the packet failed with an internal error that would repeat on every attempt; it was dead-lettered at once for an operator instead of being retried' },
  // Backups and restores
  BACKUP_INVALID: { status: 422, summary: 'The backup is incomplete, or was changed or damaged after it was written' },
  BACKUP_MISMATCH: { status: 409, summary: 'The backup is of another node, or of a newer lienthong than this one' },
  NODE_RUNNING: { status: 409, summary: 'A node runs on this data directory (or a restore replaces it); stop it first' },
  DATA_DIR_NOT_EMPTY: { status: 409, summary: 'The data directory already holds a database; a restore replaces it only when asked to' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorContext {
  packetId?: string;
  documentId?: string;
  /** Field path or file the error is about. */
  path?: string;
}

/** An error as a value: a stable code, a sentence a person can act on, and what it is about. */
export class LtError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LtError';
    this.code = code;
    this.context = context;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string } & ErrorContext {
    return { code: this.code, message: this.message, ...this.context };
  }
}

export function isLtError(value: unknown): value is LtError {
  return value instanceof LtError;
}

/** Any thrown value as an LtError, so callers report one shape whatever went wrong. */
export function asLtError(value: unknown, fallback: ErrorCode = 'INTERNAL'): LtError {
  if (value instanceof LtError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new LtError(fallback, message, {}, { cause: value });
}

/** The errors JavaScript raises for a bug: the same code on the same input raises them again. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError] as const;

/**
 * Whether handling the same input again would meet the same error: a bug met on this input
 * (TypeError, RangeError...: a field read that is not there, a value out of range) or a refusal
 * of the input itself (a code answered with 4xx). Handling a message that failed so must end at
 * once, in a refusal or a dead letter: sent back to its queue it would fail the same way until
 * the delivery limit. Anything else (the broker, the disk, SQLite, a worker) may be temporary.
 */
export function repeatsOnRetry(error: unknown): boolean {
  if (error instanceof LtError) return error.status < 500;
  if (!PROGRAMMING_ERRORS.some((type) => error instanceof type)) return false;
  // fetch reports a failed connection as a TypeError whose cause is the system error.
  const cause = (error as Error).cause as { code?: unknown } | undefined;
  return !(typeof cause?.code === 'string' && /^E[A-Z]+$/.test(cause.code));
}
