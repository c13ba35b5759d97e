import { BLOB_TABLE_SCHEMA } from '../blobs.js';
import type { Migration } from '../db.js';
import { DELIVERY_LOG_SCHEMA } from '../deliveries.js';

/** The edge's schema: outbox, documents of both directions, per-recipient deliveries, timeline. */
export const EDGE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'outbox, documents, deliveries, events, received packets, attachments',
    sql: `
-- Signed packets waiting for (or done with) publication; rows without sent_at are resumed
-- after a restart.
CREATE TABLE outbox (
  packet_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('document', 'status')),
  document_id TEXT NOT NULL,
  recipients TEXT NOT NULL,
  priority TEXT NOT NULL,
  lane TEXT NOT NULL CHECK (lane IN ('urgent', 'normal')),
  status_code TEXT,
  blob TEXT NOT NULL,
  client TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX outbox_unsent ON outbox (lane, created_at) WHERE sent_at IS NULL;

-- Every document this edge sent (direction out) or received (direction in).
CREATE TABLE documents (
  document_id TEXT PRIMARY KEY,
  direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  sender TEXT NOT NULL,
  packet_id TEXT NOT NULL,
  subject TEXT,
  code TEXT,
  priority TEXT NOT NULL,
  lane TEXT NOT NULL,
  bussiness_type TEXT,
  response_for TEXT,
  blob TEXT NOT NULL,
  created_at TEXT NOT NULL,
  verdict TEXT,
  error_code TEXT,
  error_message TEXT
);
CREATE INDEX documents_direction ON documents (direction, created_at);
CREATE INDEX documents_response_for ON documents (response_for);

${DELIVERY_LOG_SCHEMA}
-- Every packet consumed, for de-duplication (the broker may deliver one twice).
CREATE TABLE received_packets (
  packet_id TEXT PRIMARY KEY,
  kind TEXT,
  sender TEXT,
  document_id TEXT,
  blob TEXT,
  received_at TEXT NOT NULL,
  verdict TEXT NOT NULL,
  error_code TEXT
);

CREATE TABLE attachments (
  document_id TEXT NOT NULL,
  content_id TEXT NOT NULL,
  name TEXT,
  content_type TEXT,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (document_id, content_id)
);
`,
  },
  {
    version: 2,
    name: 'document lifecycle: deadlines, paper, update/replace chains, assignment',
    sql: `
ALTER TABLE documents ADD COLUMN promulgation_date TEXT;
ALTER TABLE documents ADD COLUMN due_date TEXT;
ALTER TABLE documents ADD COLUMN paper INTEGER NOT NULL DEFAULT 0;
-- The document an update (2), replacement (3) or revocation (1) refers to.
ALTER TABLE documents ADD COLUMN related_document TEXT;
-- Set on a document when a replacement for it arrives.
ALTER TABLE documents ADD COLUMN superseded_by TEXT;
-- Latest assignment (status 04) of an incoming document, JSON.
ALTER TABLE documents ADD COLUMN assignment TEXT;
CREATE INDEX documents_related ON documents (related_document);
`,
  },
  {
    version: 3,
    name: 'received packets: verification report and the hub hop',
    sql: `
-- The verification report as made at receipt (JSON), kept as evidence.
ALTER TABLE received_packets ADD COLUMN verification TEXT;
-- What the hub said about the hop (hub, time, lane), from the message headers: it travels
-- beside the signed packet, never inside it.
ALTER TABLE received_packets ADD COLUMN hop TEXT;
`,
  },
  {
    version: 4,
    name: 'webhooks: deliveries to the configured URLs and the timeline cursor that feeds them',
    sql: `
-- One row per (timeline event, webhook URL): what is POSTed, where it stands, when it is tried
-- next. Made from the events table by the dispatcher (src/adapters/webhooks/); retried until
-- give_up_at, then failed until replayed.
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  url TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  give_up_at TEXT NOT NULL,
  last_error TEXT,
  last_status INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  delivered_at TEXT,
  UNIQUE (event_id, url)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_state ON webhook_deliveries (state, id);

-- The last events.id turned into webhook deliveries. It starts at the timeline's end: an
-- upgraded edge does not replay its history to its receivers.
CREATE TABLE webhook_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
`,
  },
  {
    version: 5,
    name: 'folder drop: units submitted, incoming folders, timeline cursor',
    sql: `
-- Each unit of outgoing/ that became a packet, written in the transaction that queued it: a
-- unit found again (after a crash between that commit and its move to sent/) is moved, never
-- submitted twice. The hash covers every file of the unit, names and bytes.
CREATE TABLE folder_units (
  name TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  packet_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  PRIMARY KEY (name, content_hash)
);

-- The folder of incoming/ each received document was given (names must stay stable), and
-- when it was first written whole: a folder written once and then gone was taken by the
-- agency's program and is not made again.
CREATE TABLE folder_incoming (
  document_id TEXT PRIMARY KEY,
  folder TEXT NOT NULL UNIQUE COLLATE NOCASE,
  written_at TEXT
);

-- How far incoming/ follows the timeline (events.id): one row.
CREATE TABLE folder_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  event_id INTEGER NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'SDK door: packets each SDK client system has taken (updateStatus done/fail)',
    sql: `
-- The national SDK has no acknowledgement call: its programs mark what they fetched with
-- updateStatus "done" (taken: no longer listed to that system) or "fail" (listed again).
-- One row per (SDK client system, packet); a packet is a received document or status.
CREATE TABLE sdk_taken (
  system_id TEXT NOT NULL,
  packet_id TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('done', 'fail')),
  at TEXT NOT NULL,
  PRIMARY KEY (system_id, packet_id)
);
`,
  },
  {
    version: 7,
    name: 'small blobs in the database',
    sql: BLOB_TABLE_SCHEMA,
  },
];
