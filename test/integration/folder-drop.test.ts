/**
 * The folder drop (README "Folder drop") against a real hub, two real edges and the real
 * broker, with real files: A's folder works in "marker" mode, B's in "rename" mode. Units of
 * both kinds (a JSON description with an attachment file, a ready edXML packet) become
 * documents and land in sent/ with their packet id; units the edge refuses land in failed/
 * with the reason; units not complete yet stay where they are; and each received document
 * appears in incoming/ as the sender's signed bytes, its attachments and a status.json that
 * follows the recipient's answers.
 */
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildPacket } from '../../src/envelope/index.js';
import type { Edge } from '../../src/edge/edge.js';
import { A, B, agency, attachmentBytes, documentPacket, letter, openExchange, signAs, waitFor } from '../helpers/exchange.js';

const root = mkdtempSync(join(tmpdir(), 'lt-folder-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const rootA = join(root, 'A');
const rootB = join(root, 'B');

/** The metadata of a unit's description, as `lienthong send` takes it, plus its files. */
function description(to: string, n: number, files: unknown[] = []): string {
  return JSON.stringify({
    to: [{ organId: to }],
    code: { codeNumber: String(n), codeNotation: 'FD-VP' },
    subject: `Folder drop ${n}`,
    content: 'Gửi qua thư mục.',
    signerInfo: { competence: 'CHÁNH VĂN PHÒNG', position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    ...(files.length ? { files } : {}),
  });
}

/** `sent/<name>/<name>.packet-id`: the packet id and the document id. */
function landed(rootDir: string, where: 'sent' | 'failed', name: string): { packetId: string; documentId: string } | { reason: string } | undefined {
  const dir = join(rootDir, where, name);
  if (where === 'sent') {
    const file = join(dir, `${name}.packet-id`);
    if (!existsSync(file)) return undefined;
    const [packetId, documentId] = readFileSync(file, 'utf8').trim().split('\n') as [string, string];
    return { packetId, documentId };
  }
  const file = join(dir, `${name}.reason.txt`);
  return existsSync(file) ? { reason: readFileSync(file, 'utf8') } : undefined;
}

function incomingFolderOf(edge: Edge, documentId: string): string | undefined {
  const row = edge.db.prepare('SELECT folder FROM folder_incoming WHERE document_id = ? AND written_at IS NOT NULL').get(documentId) as { folder: string } | undefined;
  return row?.folder;
}

function readStatus(rootDir: string, folder: string): { stage: string; recall: string; timeline: Array<{ event: string }>; attachments: Array<{ file: string; name: string }>; sender: string; replies: Array<{ documentId: string; direction: string }> } {
  return JSON.parse(readFileSync(join(rootDir, 'incoming', folder, 'status.json'), 'utf8'));
}

t.test('folder drop between two edges', async (t) => {
  const { exchange } = await openExchange(t, [
    agency(A, { config: { folder: { root: rootA, pollSeconds: 0.1, mode: 'marker' } } }),
    agency(B, { config: { folder: { root: rootB, pollSeconds: 0.1, mode: 'rename' } } }),
  ]);
  const a = exchange.edge(A);
  const b = exchange.edge(B);
  for (const sub of ['outgoing', 'sent', 'failed', 'incoming']) {
    t.ok(existsSync(join(rootA, sub)) && existsSync(join(rootB, sub)), `${sub}/ is made at start`);
  }

  await t.test('marker mode: a JSON description with an attachment file, sent once complete', async (t) => {
    const out = join(rootA, 'outgoing');
    // Written before the complete unit, and first in name order: each look passes them by.
    writeFileSync(join(out, 'a0-unfinished.json'), description(B, 100));
    writeFileSync(join(out, '.hidden.json'), description(B, 101));
    writeFileSync(join(out, 'a0-copy.json.part'), description(B, 102));
    writeFileSync(join(out, 'a0-copy.tmp'), description(B, 103));
    writeFileSync(join(out, 'cong-van-1.pdf'), attachmentBytes(1));
    writeFileSync(join(out, 'a1.json'), description(B, 1, [{ file: 'cong-van-1.pdf', contentType: 'application/pdf' }]));
    writeFileSync(join(out, 'a1.ready'), '');
    const sent = await waitFor('a1 in sent/', () => landed(rootA, 'sent', 'a1'));
    t.ok('packetId' in sent, 'sent/a1/a1.packet-id names the packet');
    const { packetId, documentId } = sent as { packetId: string; documentId: string };
    t.same(readdirSync(join(rootA, 'sent', 'a1')).sort(), ['a1.json', 'a1.packet-id', 'cong-van-1.pdf'], 'the unit moved whole, with its packet id');
    t.same(readdirSync(out).filter((f) => !f.startsWith('.lienthong')).sort(), ['.hidden.json', 'a0-copy.json.part', 'a0-copy.tmp', 'a0-unfinished.json'], 'the unfinished, hidden and partial files are left alone');
    t.equal(a.records.outboxEntry(packetId)?.client, 'folder', 'the outbox says who submitted it');

    const folder = await waitFor('the document in B incoming/', () => incomingFolderOf(b, documentId));
    const dir = join(rootB, 'incoming', folder);
    const signed = await a.blobs.get((a.records.outboxEntry(packetId) as { blob: string }).blob);
    t.ok(readFileSync(join(dir, 'packet.xml')).equals(signed), "incoming packet.xml is byte for byte the sender's signed packet");
    t.ok(readFileSync(join(dir, 'attachments', 'cong-van-1.pdf')).equals(attachmentBytes(1)), 'the attachment is extracted under its name');
    const status = readStatus(rootB, folder);
    t.equal(status.sender, A, 'status.json names the sender');
    t.equal(status.stage, '01', 'status.json: received, 01 queued');
    t.same(status.attachments.map((x) => x.file), ['cong-van-1.pdf'], 'status.json lists the attachment file');

    await b.lifecycle.act(documentId, { code: '03' });
    const accepted = await waitFor('status.json at 03', () => {
      const s = readStatus(rootB, folder);
      return s.stage === '03' && s;
    });
    t.ok(accepted.timeline.some((e) => e.event === '03'), 'the 03 is on the timeline of status.json');
    await waitFor('A sees the 03', () => a.document(documentId)?.deliveries.find((d) => d.recipient === B)?.stage === '03');
    const reply = await b.outbox.submitDocument({ ...letter([A], 'R1'), responseFor: [{ organId: A, documentId }] }, 'test');
    const replied = await waitFor('the reply in status.json', () => {
      const s = readStatus(rootB, folder);
      return s.replies.length > 0 && s;
    });
    t.match(replied.replies, [{ documentId: reply.documentId, direction: 'out' }], "status.json lists B's reply");
    await a.lifecycle.recall(documentId, { reason: 'Gửi nhầm' });
    const recalled = await waitFor('the recall in status.json', () => {
      const s = readStatus(rootB, folder);
      return s.recall === 'recalled' && s;
    });
    t.ok(recalled.timeline.some((e) => e.event === '13'), 'the recall request is on the timeline of status.json');

    // The marker came late: the unit goes now.
    writeFileSync(join(out, 'a0-unfinished.ready'), '');
    await waitFor('a0-unfinished in sent/', () => landed(rootA, 'sent', 'a0-unfinished'));
    t.notOk(existsSync(join(out, 'a0-unfinished.ready')), 'its marker is removed');
  });

  await t.test('rename mode: a ready edXML packet, and a description waiting for its file', async (t) => {
    const out = join(rootB, 'outgoing');
    writeFileSync(join(out, 'b0.json'), description(A, 200, ['phu-luc.pdf']));
    writeFileSync(join(out, '.b1.xml.tmp'), buildPacket(documentPacket(B, [A], 201)));
    renameSync(join(out, '.b1.xml.tmp'), join(out, 'b1.xml'));
    const sent = (await waitFor('b1 in sent/', () => landed(rootB, 'sent', 'b1'))) as { packetId: string; documentId: string };
    t.ok(sent.packetId, 'the edXML unit was sent');
    t.ok(existsSync(join(out, 'b0.json')), 'a description whose file is not there yet waits');
    writeFileSync(join(out, '.phu-luc.pdf.part'), attachmentBytes(200));
    renameSync(join(out, '.phu-luc.pdf.part'), join(out, 'phu-luc.pdf'));
    const b0 = (await waitFor('b0 in sent/', () => landed(rootB, 'sent', 'b0'))) as { packetId: string; documentId: string };
    for (const { documentId } of [sent, b0]) {
      const folder = await waitFor(`${documentId} in A incoming/`, () => incomingFolderOf(a, documentId));
      const signed = await b.blobs.get((b.document(documentId) as { document: { blob: string } }).document.blob);
      t.ok(readFileSync(join(rootA, 'incoming', folder, 'packet.xml')).equals(signed), `${documentId}: byte-equal packet at A`);
    }
    t.ok(readFileSync(join(rootA, 'incoming', (incomingFolderOf(a, b0.documentId) as string), 'attachments', 'phu-luc.pdf')).equals(attachmentBytes(200)), 'the file named in the description travelled');
  });

  await t.test('an edXML unit the agency signed itself travels byte for byte', async (t) => {
    const signedByB = Buffer.from(await signAs(documentPacket(B, [A], 202), B));
    writeFileSync(join(rootB, 'outgoing', '.b2.xml.tmp'), signedByB);
    renameSync(join(rootB, 'outgoing', '.b2.xml.tmp'), join(rootB, 'outgoing', 'b2.xml'));
    const sent = (await waitFor('b2 in sent/', () => landed(rootB, 'sent', 'b2'))) as { packetId?: string; documentId: string };
    t.ok(sent.packetId, 'the pre-signed unit was sent, not refused');
    const folder = await waitFor(`${sent.documentId} in A incoming/`, () => incomingFolderOf(a, sent.documentId));
    t.ok(readFileSync(join(rootA, 'incoming', folder, 'packet.xml')).equals(signedByB), 'A holds exactly the bytes B signed');
  });

  await t.test('refusals land in failed/ with the reason', async (t) => {
    const out = join(rootA, 'outgoing');
    writeFileSync(join(out, 'bad-schema.json'), JSON.stringify({ to: [{ organId: B }], subject: 'no code' }));
    writeFileSync(join(out, 'bad-sender.xml'), buildPacket(documentPacket(B, [A], 300)));
    writeFileSync(join(out, 'bad-rules.json'), JSON.stringify({ to: [{ organId: B }], code: { codeNumber: '301', codeNotation: 'FD-VP' } }));
    writeFileSync(join(out, 'bad-json.json'), '{ "to": ');
    writeFileSync(join(out, 'bad-file.json'), description(B, 302, ['nowhere.pdf']));
    for (const name of ['bad-schema', 'bad-sender', 'bad-rules', 'bad-json', 'bad-file']) writeFileSync(join(out, `${name}.ready`), '');
    const reasons: Record<string, string> = {};
    for (const name of ['bad-schema', 'bad-sender', 'bad-rules', 'bad-json', 'bad-file']) {
      reasons[name] = ((await waitFor(`${name} in failed/`, () => landed(rootA, 'failed', name))) as { reason: string }).reason;
      t.notOk(existsSync(join(rootA, 'sent', name)), `${name} is not in sent/`);
    }
    t.match(reasons['bad-schema'], /^PACKET_INVALID\n.*must have required property 'code'/, 'a description outside the schema: the schema says why');
    t.match(reasons['bad-sender'], /^SENDER_MISMATCH\n/, 'a packet of another agency');
    t.match(reasons['bad-rules'], /^PACKET_INVALID\n[^\n]+\n(.*\n)*- \[/, 'edXML rules broken: the findings are listed');
    t.match(reasons['bad-json'], /not valid JSON/, 'a description that is not JSON');
    t.match(reasons['bad-file'], /nowhere\.pdf/, 'a file named but missing');
    t.equal(a.db.prepare('SELECT count(*) AS n FROM folder_units').pluck().get(), 2, 'only the units sent were recorded');
  });
});
