/**
 * Two agencies' document systems talk through their edges' REST APIs over real HTTP, with a
 * real hub and RabbitMQ in between (src/demo/local-exchange.ts, a fresh broker prefix): what
 * Văn phòng UBND tỉnh submits with an attachment appears in Sở Tài chính's inbox, the file
 * downloads byte for byte under its Vietnamese name, and the sender sees the recipient's
 * status 01 on the document's timeline.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { startLocalExchange } from '../../src/demo/local-exchange.js';
import { parsePacket } from '../../src/envelope/index.js';
import { silentLogger } from '../../src/log.js';
import { FINANCE, OFFICE, organ } from '../helpers/pki.js';
import { waitFor } from '../helpers/exchange.js';

interface Client {
  base: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  json<T>(path: string): Promise<T>;
}


t.test('a document submitted through A\'s API reaches B\'s API, attachment and status included', async (t) => {
  const exchange = await startLocalExchange({
    prefixBase: 'lt-rest',
    agencies: [OFFICE, FINANCE].map((organId) => ({ organId, organName: organ(organId).name })),
  });
  const apps: FastifyInstance[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close().catch(() => {});
    await exchange.stop();
  });

  const client = async (organId: string, name: string): Promise<Client> => {
    const { key, entry } = newApiKey(name);
    const app = createEdgeApi(exchange.edge(organId), { host: '127.0.0.1', port: 0, keys: [entry], bodyLimit: 8 * 1024 * 1024 }, { log: silentLogger() });
    apps.push(app);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { ...init, headers: { 'x-api-key': key, ...(init.headers as Record<string, string>) } });
    return {
      base,
      fetch: call,
      async json(path) {
        const r = await call(path);
        if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
        return (await r.json()) as never;
      },
    };
  };
  const a = await client(OFFICE, 'qlvb-vanphong');
  const b = await client(FINANCE, 'qlvb-sotaichinh');

  const health = await fetch(`${b.base}/api/v1/health`);
  t.same(await health.json(), { status: 'ok', organId: FINANCE, problems: [] }, "B's API is up, health without a key");

  const bytes = randomBytes(300 * 1024);
  const fileName = 'Kế hoạch thẩm định ngân sách 2025.pdf';
  const submit = await a.fetch('/api/v1/documents', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      to: [{ organId: FINANCE, organName: organ(FINANCE).name }],
      code: { codeNumber: '77', codeNotation: 'UBND-VP' },
      subject: 'V/v thẩm định dự toán ngân sách năm 2025',
      priority: '1',
      attachments: [{ name: fileName, contentType: 'application/pdf', contentBase64: bytes.toString('base64') }],
    }),
  });
  t.equal(submit.status, 202, 'A accepts the document');
  const submitted = (await submit.json()) as { documentId: string; packetId: string; lane: string };
  t.equal(submitted.lane, 'urgent', 'Khẩn travels on the urgent lane');
  const location = submit.headers.get('location') as string;
  t.equal(location, `/api/v1/documents/${encodeURIComponent(submitted.documentId)}`);

  type Summary = { documentId: string; sender: string; verdict: string | null; urgent: boolean; deliveries: Array<{ recipient: string; stage: string }> };
  const arrived = await waitFor("the document in B's inbox", async () => {
    const inbox = await b.json<{ total: number; items: Summary[] }>('/api/v1/inbox');
    return inbox.items.find((d) => d.documentId === submitted.documentId);
  });
  t.match(arrived, { sender: OFFICE, verdict: 'accepted', urgent: true, deliveries: [{ recipient: FINANCE, stage: '01' }] }, 'in B\'s inbox, verified and answered 01');
  t.equal((await b.json<{ total: number }>('/api/v1/inbox?stage=01&priority=1')).total, 1, "B's inbox filters find it");

  const atB = await b.json<{ direction: string; subject: string; packetId: string; attachments: Array<{ contentId: string; name: string; contentType: string; size: number; url: string }> }>(location);
  t.equal(atB.direction, 'in');
  t.equal(atB.subject, 'V/v thẩm định dự toán ngân sách năm 2025');
  t.equal(atB.packetId, submitted.packetId, 'the same packet id end to end');
  t.equal(atB.attachments.length, 1);
  const attachment = atB.attachments[0] as (typeof atB.attachments)[number];
  t.match(attachment, { contentId: 'cid:1', name: fileName, contentType: 'application/pdf', size: bytes.length });

  const download = await b.fetch(attachment.url);
  t.equal(download.status, 200);
  t.equal(download.headers.get('content-type'), 'application/pdf');
  const disposition = download.headers.get('content-disposition') as string;
  t.equal(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)?.[1] ?? ''), fileName, 'the Vietnamese file name (RFC 5987)');
  t.ok(Buffer.from(await download.arrayBuffer()).equals(bytes), 'the attachment downloads byte for byte');

  const packet = await b.fetch(`${location}/packet`);
  t.equal(packet.status, 200);
  t.match(packet.headers.get('content-type'), /^application\/xml/);
  const parsed = parsePacket(Buffer.from(await packet.arrayBuffer()));
  t.equal(parsed.kind === 'document' && parsed.from.organId, OFFICE, "the packet as stored at B is A's");

  type View = { deliveries: Array<{ recipient: string; stage: string }>; timeline: Array<{ recipient: string; event: string }> };
  const seen = await waitFor("B's 01 at A", async () => {
    const view = await a.json<View>(location);
    return view.deliveries.find((d) => d.recipient === FINANCE)?.stage === '01' ? view : undefined;
  });
  const events = seen.timeline.filter((e) => e.recipient === FINANCE).map((e) => e.event);
  t.equal(events[0], 'sent', 'the timeline starts with sent');
  t.ok(events.indexOf('01') > 0, `and shows B's 01 after it (${events.join(' → ')})`);
  const outbox = await a.json<{ items: Summary[] }>('/api/v1/outbox?stage=01');
  t.ok(outbox.items.some((d) => d.documentId === submitted.documentId), "A's outbox lists it at stage 01");

  const notThere = await a.fetch(`${location}/attachments/cid%3A9`);
  t.equal(notThere.status, 404);
  t.equal(((await notThere.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
});
