#!/usr/bin/env node
// A document-management program's side of lienthong's webhooks, in plain Node.js (20 or later,
// no packages): copy it and replace the parts marked "your system".
//
// It listens for the webhooks its edge POSTs (edge.json "webhooks"), checks each call's
// Lienthong-Signature (HMAC-SHA256 under the shared secret) and replay window, drops repeats
// by event id, and for each new document fetches the signed packet and the attachments by the
// payload's links, checks each file's SHA-256, and answers the sender with status 03 (accepted)
// through the edge's REST API. With LT_SEND_TO it first submits a document with an attachment
// to that agency, and exits once that agency's 03 comes back as a status.changed webhook.
//
// Settings (environment):
//   LT_EDGE_URL        the edge's REST API, e.g. http://127.0.0.1:8080 (required)
//   LT_API_KEY         an API key of that edge ("lienthong apikey new <client>") (required)
//   LT_WEBHOOK_SECRET  the webhook's "secret" in edge.json (required)
//   LT_LISTEN          host:port to receive webhooks on (default 127.0.0.1:3000); the webhook's
//                      "url" in edge.json points here, e.g. http://127.0.0.1:3000/lienthong
//   LT_SEND_TO         an organ id: submit a document to it first, exit 0 when it accepts (03)
//   LT_TOLERANCE_SECONDS  the replay window (default 300)
//
//   LT_EDGE_URL=http://127.0.0.1:8080 LT_API_KEY=lt_... LT_WEBHOOK_SECRET=... node webhook-client.mjs
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const EDGE_URL = required('LT_EDGE_URL').replace(/\/+$/, '');
const API_KEY = required('LT_API_KEY');
const SECRET = required('LT_WEBHOOK_SECRET');
const [HOST, PORT] = (process.env.LT_LISTEN ?? '127.0.0.1:3000').split(/:(?=\d+$)/);
const SEND_TO = process.env.LT_SEND_TO;
const TOLERANCE_SECONDS = Number(process.env.LT_TOLERANCE_SECONDS ?? 300);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`webhook-client: set ${name} (see the top of this file)`);
    process.exit(2);
  }
  return value;
}

function log(message) {
  console.log(`${new Date().toISOString()} ${message}`);
}

// --- the signature -----------------------------------------------------------------------
// Lienthong-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>.
// Verify over the raw bytes as received (before JSON.parse), in constant time, and refuse a
// timestamp outside the window: a captured call replayed later is then worthless.
function verifySignature(secret, header, rawBody, toleranceSeconds = TOLERANCE_SECONDS, now = Date.now()) {
  if (!header) return 'no Lienthong-Signature header';
  let timestamp;
  const signatures = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && /^\d+$/.test(value ?? '')) timestamp = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value ?? '')) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return 'malformed Lienthong-Signature';
  if (Math.abs(Math.floor(now / 1000) - timestamp) > toleranceSeconds) return `outside the ${toleranceSeconds} s replay window`;
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  return signatures.some((s) => timingSafeEqual(s, expected)) ? undefined : 'signature mismatch';
}

// --- the edge's REST API -------------------------------------------------------------------
// The API key goes only to this edge: a link pointing elsewhere is refused, not followed.
async function edge(pathOrUrl, init = {}) {
  const url = new URL(pathOrUrl, `${EDGE_URL}/`);
  if (url.origin !== new URL(EDGE_URL).origin) throw new Error(`refusing to send the API key to ${url.origin}`);
  const response = await fetch(url, { ...init, headers: { 'x-api-key': API_KEY, ...init.headers } });
  return response;
}

async function submitDocument(to) {
  const file = Buffer.from(`%PDF-1.4\nCông văn thử nghiệm gửi ${to} lúc ${new Date().toISOString()}\n`, 'utf8');
  const response = await edge('/api/v1/documents', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      to: [{ organId: to }],
      // Your system: its own register number; the DocumentId is made from it and the date.
      code: { codeNumber: String(Date.now() % 1_000_000), codeNotation: 'VP-TEST' },
      subject: 'V/v thử nghiệm kết nối webhook',
      attachments: [{ name: 'cong-van-thu-nghiem.pdf', contentType: 'application/pdf', contentBase64: file.toString('base64') }],
    }),
  });
  if (response.status !== 202) throw new Error(`submitting failed: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

// --- what the events do -------------------------------------------------------------------
// Your system: keep the ids of handled events in its database; a Set forgets on restart.
const handled = new Set();
let sent; // the document submitted with LT_SEND_TO

async function onDocumentReceived(event) {
  const { data, links } = event;
  log(`document ${data.documentId} from ${data.sender}: ${data.subject ?? '(no subject)'}`);
  const packet = await edge(links.packet);
  if (!packet.ok) throw new Error(`fetching the packet failed: HTTP ${packet.status}`);
  const xml = await packet.text();
  log(`  signed packet: ${xml.length} characters`);
  for (const link of links.attachments) {
    const response = await edge(link.url);
    if (!response.ok) throw new Error(`fetching attachment ${link.name} failed: HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const expected = data.attachments?.find((a) => a.contentId === link.contentId)?.sha256;
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (expected && expected !== actual) throw new Error(`attachment ${link.name} does not match its SHA-256`);
    log(`  attachment ${link.name}: ${bytes.length} bytes, SHA-256 checked`);
    // Your system: store the packet and the files, register the document.
  }
  const answer = await edge(`${links.document}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: '03' }) });
  // 409: already accepted (an earlier try of this event got that far): nothing more to do.
  if (answer.status !== 202 && answer.status !== 409) throw new Error(`answering 03 failed: HTTP ${answer.status} ${await answer.text()}`);
  log(`  answered 03 (accepted)${answer.status === 409 ? ' before' : ''}`);
}

function onStatusChanged(event) {
  const { data } = event;
  log(`status ${data.status.code} on ${data.documentId} (${data.recipient}): ${data.status.previousStage} → ${data.status.stage}${data.status.reason ? `, ${data.status.reason}` : ''}`);
  if (sent && data.direction === 'out' && data.documentId === sent.documentId && data.recipient === SEND_TO && data.status.code === '03') {
    log(`${SEND_TO} accepted ${sent.documentId} (03)`);
    server.close();
    setTimeout(() => process.exit(0), 100).unref();
  }
}

async function onEvent(event) {
  if (event.type === 'document.received') await onDocumentReceived(event);
  else if (event.type === 'status.changed') onStatusChanged(event);
}

// --- the receiver --------------------------------------------------------------------------
// 2xx only once the event is handled: anything else (or no answer within the webhook's
// timeoutMs) makes the edge send the same event again later, with the same id.
const server = createServer((request, response) => {
  if (request.method !== 'POST') return response.writeHead(405).end();
  const chunks = [];
  let size = 0;
  request.on('data', (chunk) => {
    size += chunk.length;
    if (size > 1024 * 1024) request.destroy();
    else chunks.push(chunk);
  });
  request.on('end', async () => {
    const raw = Buffer.concat(chunks);
    const problem = verifySignature(SECRET, request.headers['lienthong-signature'], raw);
    if (problem) {
      log(`refused a call: ${problem}`);
      return response.writeHead(401).end();
    }
    const event = JSON.parse(raw.toString('utf8'));
    if (handled.has(event.id)) return response.writeHead(200).end(); // a repeat: at least once
    try {
      await onEvent(event);
      handled.add(event.id);
      response.writeHead(200).end();
    } catch (error) {
      log(`event ${event.id} not handled: ${error.message}`);
      response.writeHead(500).end();
    }
  });
});

server.listen(Number(PORT), HOST, async () => {
  log(`receiving webhooks on http://${HOST}:${PORT} for the edge at ${EDGE_URL}`);
  if (!SEND_TO) return;
  try {
    sent = await submitDocument(SEND_TO);
    log(`submitted ${sent.documentId} to ${SEND_TO} (packet ${sent.packetId}); waiting for its 03`);
  } catch (error) {
    console.error(`webhook-client: ${error.message}`);
    process.exit(1);
  }
});
