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
];
