import { AUDIT_SCHEMA } from '../audit.js';
import { BLOB_TABLE_SCHEMA } from '../blobs.js';
import type { Migration } from '../db.js';
import { DELIVERY_LOG_SCHEMA } from '../deliveries.js';

/** The hub's schema: directory, packets, per-recipient deliveries and their timeline, outbound queue, audit. */
export const HUB_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'directory, packets, deliveries, outbound, audit',
    sql: `
CREATE TABLE agencies (
  organ_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  parent_id TEXT,
  broker_user TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'removed')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Every packet the hub consumed, routed or refused.
CREATE TABLE packets (
  packet_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  sender TEXT,
  claimed_from TEXT,
  document_id TEXT,
  status_code TEXT,
  priority TEXT,
  sha256 TEXT NOT NULL,
  blob TEXT,
  size INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('routed', 'refused')),
  error_code TEXT,
  error_message TEXT
);
CREATE INDEX packets_document ON packets (document_id);
CREATE INDEX packets_received ON packets (received_at);

CREATE TABLE documents (
  document_id TEXT PRIMARY KEY,
  sender TEXT NOT NULL,
  packet_id TEXT NOT NULL,
  subject TEXT,
  code TEXT,
  priority TEXT NOT NULL,
  bussiness_type TEXT,
  response_for TEXT,
  sent_at TEXT NOT NULL
);
CREATE INDEX documents_sender ON documents (sender, sent_at);
CREATE INDEX documents_response_for ON documents (response_for);

${DELIVERY_LOG_SCHEMA}CREATE INDEX deliveries_recipient ON deliveries (recipient, stage);

-- What routing decided to publish; a row stays unpublished until the broker confirmed it,
-- so a hub that crashes between commit and publish finishes the job on redelivery.
CREATE TABLE outbound (
  id INTEGER PRIMARY KEY,
  packet_id TEXT NOT NULL,
  cause TEXT NOT NULL,
  target TEXT NOT NULL,
  lane TEXT NOT NULL,
  type TEXT NOT NULL,
  blob TEXT NOT NULL,
  envelope TEXT NOT NULL,
  created_at TEXT NOT NULL,
  published_at TEXT,
  UNIQUE (packet_id, target)
);
CREATE INDEX outbound_cause ON outbound (cause);
CREATE INDEX outbound_unpublished ON outbound (id) WHERE published_at IS NULL;
${AUDIT_SCHEMA}
`,
  },
  {
    version: 2,
    name: 'deadlines: processing due date',
    sql: `
ALTER TABLE documents ADD COLUMN due_date TEXT;
`,
  },
  {
    version: 3,
    name: 'operators, dead letters',
    sql: `
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('operator', 'viewer')),
  password_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);

-- Packets RabbitMQ dead-lettered (refused by a consumer, or over the delivery limit),
-- collected from the dead-letter queue for operators to replay or discard.
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  queue TEXT NOT NULL,
  reason TEXT NOT NULL,
  exchange TEXT,
  routing_key TEXT,
  packet_id TEXT,
  document_id TEXT,
  sender TEXT,
  type TEXT,
  properties TEXT NOT NULL,
  blob TEXT NOT NULL,
  size INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
  resolved_at TEXT,
  resolved_by TEXT
);
CREATE INDEX dead_letters_status ON dead_letters (status, id);
`,
  },
  {
    version: 4,
    name: 'dashboard sessions',
    sql: `
-- Login sessions of the dashboard; the cookie carries only the random id.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL REFERENCES users (name),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
`,
  },
  {
    version: 5,
    name: 'original packets: verification reports, the hub in its own directory',
    sql: `
-- The verification report as made when the packet arrived (JSON), kept as evidence.
ALTER TABLE packets ADD COLUMN verification TEXT;
-- The hub is an entry of its own directory (kind 'hub') with its certificate, so that peers
-- and evidence can name and check who signed a bounce. An agency's certificate is kept too
-- once it is known.
ALTER TABLE agencies ADD COLUMN kind TEXT NOT NULL DEFAULT 'agency' CHECK (kind IN ('agency', 'hub'));
ALTER TABLE agencies ADD COLUMN certificate TEXT;
`,
  },
  {
    version: 6,
    name: 'unguessable queue names, validated dead-letter publishers',
    sql: `
-- The random part of an agency's queue names (empty: provisioned before, the old names until
-- it is provisioned again).
ALTER TABLE agencies ADD COLUMN queue_token TEXT NOT NULL DEFAULT '';
-- A dead letter's sender was the x-lt-from header, a claim any publisher can write; the broker
-- user RabbitMQ validated (AMQP user-id) is kept beside it, and the claim under its own name.
ALTER TABLE dead_letters ADD COLUMN publisher TEXT;
ALTER TABLE dead_letters ADD COLUMN claimed_from TEXT;
UPDATE dead_letters SET publisher = json_extract(properties, '$.userId'),
  claimed_from = json_extract(properties, '$.headers."x-lt-from"');
-- The sender becomes what something other than the headers vouches for (as DeadLetters.collect
-- decides it): the agency of the validated user, or what the hub itself routed.
UPDATE dead_letters SET sender = CASE
  WHEN publisher IS NOT NULL THEN (SELECT organ_id FROM agencies WHERE broker_user = dead_letters.publisher AND kind = 'agency')
  ELSE (SELECT sender FROM packets WHERE packets.packet_id = dead_letters.packet_id AND verdict = 'routed'
        AND dead_letters.exchange LIKE '%.deliver')
END;
`,
  },
  {
    version: 7,
    name: 'federation: links to other hubs, hop records',
    sql: `
-- A packet for another province goes once per link to that link's queue: its outbound row names
-- the link (target is then the link's name, not an organ id).
ALTER TABLE outbound ADD COLUMN link TEXT;
-- The link that took a remote recipient's delivery; NULL for an agency of this hub.
ALTER TABLE deliveries ADD COLUMN route TEXT;
-- A packet another hub forwarded: the link it came through and the hop records it carried
-- (JSON, the x-lt-hops header), kept beside the signed bytes, never in them.
ALTER TABLE packets ADD COLUMN via TEXT;
ALTER TABLE packets ADD COLUMN hops TEXT;
`,
  },
  {
    version: 8,
    name: 'small blobs in the database',
    sql: BLOB_TABLE_SCHEMA,
  },
];
