/**
 * examples/webhook-client.mjs, as another system's developer would run it, against a hub and two
 * edges running as real processes (test/helpers/processes.ts), each edge POSTing its webhooks to
 * its own copy of the client: Sở Tài chính's copy receives the document, verifies the call,
 * fetches the packet and the attachment by the links and answers 03; Văn phòng's copy submitted
 * the document with an attachment and exits 0 once B's 03 comes back as a webhook. The sender's
 * edge then shows B at 03. The edges are the compiled dist/ (`npx tsc -p .` first).
 */
import { once } from 'node:events';
import { join } from 'node:path';
import t from 'tap';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { EVENT_DEADLINE_MS } from '../helpers/deadline.js';
import { AGENCY_A, AGENCY_B, REPO, childEnv, freePort, spawnTied, startCluster } from '../helpers/processes.js';

const CLIENT = join(REPO, 'examples', 'webhook-client.mjs');
const A = AGENCY_A.organId;
const B = AGENCY_B.organId;

t.test('the example client submits, receives, verifies, fetches and answers 03; the sender sees 03', async (t) => {
  const { key, entry } = newApiKey('qlvb-example');
  const ports = { apiA: await freePort(), apiB: await freePort(), hookA: await freePort(), hookB: await freePort() };
  const secrets = { [A]: 'example-secret-of-van-phong-0123', [B]: 'example-secret-of-so-tai-chinh-01' };
  const edgeConfig = (organId: string, api: number, hook: number) => ({
    api: { host: '127.0.0.1', port: api, keys: [entry], publicUrl: `http://127.0.0.1:${api}` },
    webhooks: [{ url: `http://127.0.0.1:${hook}/lienthong`, secret: secrets[organId] }],
    webhookRetry: { firstDelaySeconds: 0.5, maxDelaySeconds: 2 },
  });
  const cluster = await startCluster(t, {
    prefixBase: 'lt-webhooks',
    edgeConfigOf: { [A]: edgeConfig(A, ports.apiA, ports.hookA), [B]: edgeConfig(B, ports.apiB, ports.hookB) },
  });
  await cluster.hub.start();
  await cluster.edge(A).start();
  await cluster.edge(B).start();

  const run = (organId: string, api: number, hook: number, extra: Record<string, string> = {}) => {
    const child = spawnTied(process.execPath, [CLIENT], {
      env: childEnv({ LT_EDGE_URL: `http://127.0.0.1:${api}`, LT_API_KEY: key, LT_WEBHOOK_SECRET: secrets[organId] as string, LT_LISTEN: `127.0.0.1:${hook}`, ...extra }),
      stdout: 'pipe',
      stderr: 'pipe',
      graceMs: 2000,
    });
    const output = { text: '' };
    child.stdout?.on('data', (c: Buffer) => (output.text += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output.text += c.toString()));
    t.teardown(() => {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGTERM');
    });
    return { child, output };
  };

  const recipient = run(B, ports.apiB, ports.hookB);
  const sender = run(A, ports.apiA, ports.hookA, { LT_SEND_TO: B });
  const deadline = setTimeout(() => process.kill(-(sender.child.pid as number), 'SIGTERM'), EVENT_DEADLINE_MS);
  const [code] = (await once(sender.child, 'exit')) as [number | null];
  clearTimeout(deadline);
  t.equal(code, 0, "the sender's client exits 0 once B accepted", { sender: sender.output.text, recipient: recipient.output.text });
  const documentId = new RegExp(`submitted (\\S+) to ${B.replaceAll('.', '\\.')}`).exec(sender.output.text)?.[1] as string;
  t.ok(documentId, 'it submitted a document');
  t.match(sender.output.text, `${B} accepted ${documentId} (03)`, 'and learnt of the 03 by webhook');

  t.match(recipient.output.text, `document ${documentId} from ${A}`, "B's client got document.received");
  t.match(recipient.output.text, /signed packet: \d+ characters/, 'fetched the packet by its link');
  t.match(recipient.output.text, /attachment cong-van-thu-nghiem\.pdf: \d+ bytes, SHA-256 checked/, 'and the attachment');
  t.match(recipient.output.text, 'answered 03 (accepted)', 'and answered 03');
  t.notMatch(recipient.output.text + sender.output.text, /refused a call|not handled/, 'every call verified and handled');

  const view = await fetch(`http://127.0.0.1:${ports.apiA}/api/v1/documents/${encodeURIComponent(documentId)}`, { headers: { 'x-api-key': key } });
  t.equal(view.status, 200);
  const document = (await view.json()) as { deliveries: Array<{ recipient: string; stage: string }> };
  t.same(document.deliveries.map((d) => [d.recipient, d.stage]), [[B, '03']], "the sender's edge shows B at 03");
});
