/**
 * The edge configuration `lienthong edge init` writes: JSON with a comment above each setting
 * saying what it is, where its value comes from and which environment variable overrides it.
 * Pure: answers in, text out.
 */
export interface EdgeInitAnswers {
  organId: string;
  organName?: string;
  hubOrganId: string;
  amqpUrl: string;
  prefix: string;
  /** Paths as they are to be written (relative to the file, or absolute). */
  dataDir: string;
  key: string;
  cert: string;
  chain?: string;
  anchors: string[];
  crls: string[];
  dev: boolean;
  clamd?: string;
}

const j = (value: unknown): string => JSON.stringify(value);

export function renderEdgeConfig(a: EdgeInitAnswers, writtenAt: Date): string {
  const organization = { organId: a.organId, ...(a.organName ? { organName: a.organName } : {}) };
  const lines = [
    `// lienthong edge configuration, written by "lienthong edge init" on ${writtenAt.toISOString()}.`,
    '// JSON with comments (// and /* */). Relative paths are relative to this file.',
    '// Every setting is described in README "Configuration"; check the whole set-up with:',
    '//   lienthong edge check --config <this file>',
    '{',
    '  // This agency\'s organ id (mã định danh): the UID of its certificate, the From of what it sends.',
    `  "organId": ${j(a.organId)},`,
    '  // The From block written into outgoing packets.',
    `  "organization": ${j(organization)},`,
    '  // The hub\'s organ id: statuses it signs about undeliverable documents are bounces.',
    `  "hubOrganId": ${j(a.hubOrganId)},`,
    '  // The broker, as this agency\'s own user: the AMQP URL "lienthong agency add" printed, with',
    '  // its password and queue token. A secret: keep this file readable by the edge only (mode 600).',
    '  // Env AMQP_URL overrides it; a cluster takes an array, one URL per node.',
    `  "amqpUrl": ${j(a.amqpUrl)},`,
    '  // Prefix of every broker resource: the hub\'s own. Env LT_PREFIX.',
    `  "prefix": ${j(a.prefix)},`,
    '  // The SQLite database and blob store (outbox, inbox, evidence). Env LT_DATA_DIR.',
    `  "dataDir": ${j(a.dataDir)},`,
    '  // The signing identity: the private key (unencrypted PEM), its certificate, and the issuing',
    '  // CA\'s certificate(s) sent along so recipients can build the chain.',
    `  "identity": ${j({ key: a.key, cert: a.cert, ...(a.chain ? { chain: a.chain } : {}) })},`,
    '  // Whom this edge trusts: the root CA certificate(s) of the government PKI, the CAs\' current',
    '  // CRLs (keep them fresh: "lienthong edge check" flags a stale one), and the revocation policy:',
    '  // "require" refuses a signer whose revocation cannot be checked, "best-effort" accepts it.',
    ...(a.dev ? ['  // "dev": true allows the development PKI of certs-dev/, whose keys are public: never in production.'] : []),
    `  "trust": ${j({ anchors: a.anchors, ...(a.crls.length > 0 ? { crls: a.crls } : {}), revocation: 'require', ...(a.dev ? { dev: true } : {}) })},`,
    '  // ClamAV\'s daemon, which scans attachments before signing: a socket path or tcp://host:3310.',
    '  // Env LT_CLAMD. Without it, attachments are not scanned.',
    a.clamd ? `  "clamd": ${j(a.clamd)},` : '  // "clamd": "/run/clamav/clamd.ctl",',
    '  // The REST API for the agency\'s document system (keys made with "lienthong apikey new <client>").',
    '  // "api": {"host": "127.0.0.1", "port": 8080, "keys": []},',
    '  // Webhooks: POST each received document and status change, signed (HMAC-SHA256), to the',
    '  // agency\'s system; "publicUrl" in "api" is the base of the links they carry. See README "Webhooks".',
    '  // "webhooks": [{"url": "https://qlvb.example.gov.vn/hooks/lienthong", "events": ["document.received", "status.changed"], "secretFile": "webhook.secret"}],',
    '  // "webhookRetry": {"firstDelaySeconds": 1, "maxDelaySeconds": 600, "giveUpAfterSeconds": 86400},',
    '  // Recalls (status 15) are answered automatically ("accept") or left to a clerk ("manual").',
    '  "recallPolicy": "accept"',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
