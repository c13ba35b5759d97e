/**
 * The folder drop's crash guarantee (issue 13: "a crash in the middle of a batch loses and
 * duplicates nothing"), with real processes: A's edge runs as `lienthong edge --config ...`
 * with a folder drop; a batch of 100 units is dropped into outgoing/ at once (descriptions with
 * their attachment beside them or in a unit folder, ready edXML packets, and some the edge must
 * refuse); A is SIGKILLed in the middle of the batch and started again, twice, and B (whose
 * folder drop writes incoming/) once. Then every unit is in
 * sent/ or failed/ exactly once, none is left in outgoing/, B holds each document once, and B's incoming/ has one whole folder for each.
 *
 * Needs RabbitMQ (with management) and `npm run build`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildPacket } from '../../src/envelope/index.js';
import { attachmentBytes, documentPacket } from '../helpers/exchange.js';
import { AGENCY_A, AGENCY_B, readDb, startCluster } from '../helpers/processes.js';
import { EVENT_DEADLINE_MS } from '../helpers/deadline.js';

const A = AGENCY_A.organId;
const B = AGENCY_B.organId;
const UNITS = 100;

/** Unit i: every 10th is refused (no code), every 7th a ready packet, every 3rd a unit folder, the rest a description with its file beside it. */
function kindOf(i: number): 'refused' | 'xml' | 'folder' | 'beside' {
  if (i % 10 === 0) return 'refused';
  if (i % 7 === 0) return 'xml';
  if (i % 3 === 0) return 'folder';
  return 'beside';
}

function description(i: number, files: string[]): string {
  return JSON.stringify({
    to: [{ organId: B }],
    ...(kindOf(i) === 'refused' ? {} : { code: { codeNumber: String(i), codeNotation: 'LO-VP' } }),
    subject: `Lô văn bản ${i}`,
    signerInfo: { competence: 'CHÁNH VĂN PHÒNG', position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    files,
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | false, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + EVENT_DEADLINE_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${EVENT_DEADLINE_MS} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

t.test('a batch of 100 units with the edge SIGKILLed twice in the middle: each unit ends once, each document arrives once', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-folder' });
  const root = join(cluster.dir, 'folder-A');
  const rootB = join(cluster.dir, 'folder-B');
  // The folder section is added to each edge.json as an operator would write it.
  for (const [organId, folderRoot] of [[A, root], [B, rootB]] as const) {
    const configPath = cluster.edgeConfigPath(organId);
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, `${JSON.stringify({ ...config, folder: { root: folderRoot, pollSeconds: 0.2, mode: 'marker' } }, null, 2)}\n`);
  }
  await cluster.hub.start();
  await cluster.edge(B).start();
  await cluster.edge(A).start();
  const out = join(root, 'outgoing');
  t.ok(existsSync(out), 'the edge laid out the folder');

  const names: string[] = [];
  for (let i = 1; i <= UNITS; i += 1) {
    const name = `u${String(i).padStart(3, '0')}`;
    names.push(name);
    const kind = kindOf(i);
    if (kind === 'xml') writeFileSync(join(out, `${name}.xml`), buildPacket(documentPacket(A, [B], `${i}`, { code: { codeNumber: String(i), codeNotation: 'LO-VP' } })));
    else if (kind === 'folder') {
      mkdirSync(join(out, name));
      writeFileSync(join(out, name, `${name}.pdf`), attachmentBytes(i));
      writeFileSync(join(out, name, `${name}.json`), description(i, [`${name}.pdf`]));
    } else {
      writeFileSync(join(out, `${name}.pdf`), attachmentBytes(i));
      writeFileSync(join(out, `${name}.json`), description(i, [`${name}.pdf`]));
    }
  }
  for (const name of names) writeFileSync(join(out, `${name}.ready`), '');

  const landed = (): string[] => [...readdirSync(join(root, 'sent')), ...readdirSync(join(root, 'failed'))];
  // A killed twice in the middle of the batch, then B (writing incoming/ behind A) once.
  for (const [share, organId] of [[0.25, A], [0.55, A], [0.6, B]] as const) {
    const before = await until(`${share * 100}% of the batch landed`, () => landed().length >= UNITS * share && landed().length);
    await cluster.edge(organId).kill();
    const atKill = landed().length;
    if (organId === A) {
      const inHand = readdirSync(join(out, '.lienthong-work'));
      t.ok(atKill < UNITS, `A was killed in the middle of the batch (${before} landed when the kill was decided, ${atKill} after it)`);
      t.comment(`in hand at the kill: ${inHand.join(', ') || 'none'}`);
    } else {
      t.comment(`B killed with ${readdirSync(join(rootB, 'incoming')).length} folders in incoming/`);
    }
    await cluster.edge(organId).start();
  }
  await until('every unit landed', () => landed().length >= UNITS, 100);

  const sent = readdirSync(join(root, 'sent')).sort();
  const failed = readdirSync(join(root, 'failed')).sort();
  const expectedFailed = names.filter((_, i) => kindOf(i + 1) === 'refused');
  t.same(failed, expectedFailed, 'failed/ holds exactly the refused units');
  t.same(sent, names.filter((n) => !expectedFailed.includes(n)), 'sent/ holds every other unit, once (no unit landed twice)');
  t.same(sent.filter((n) => failed.includes(n)), [], 'no unit is in both');
  t.same(readdirSync(out).filter((f) => f !== '.lienthong-work'), [], 'nothing is left in outgoing/');
  t.same(readdirSync(join(out, '.lienthong-work')), [], 'nothing is left half done');
  for (const name of failed) t.match(readFileSync(join(root, 'failed', name, `${name}.reason.txt`), 'utf8'), /^PACKET_INVALID\n/, `${name}: reason written`);

  const documentIds = sent.map((name) => readFileSync(join(root, 'sent', name, `${name}.packet-id`), 'utf8').trim().split('\n')[1] as string);
  t.equal(new Set(documentIds).size, sent.length, 'each sent unit names its own document');
  t.equal(
    readDb(cluster.edgeDb(A), (db) => db.prepare("SELECT count(*) FROM documents WHERE direction = 'out'").pluck().get()),
    sent.length,
    'A sent one document per unit in sent/',
  );
  const received = await until(
    'B holds every document',
    () => {
      const rows = readDb(cluster.edgeDb(B), (db) => db.prepare("SELECT document_id FROM documents WHERE direction = 'in'").pluck().all() as string[]);
      return rows.length >= sent.length && rows;
    },
    200,
  );
  t.same([...received].sort(), [...documentIds].sort(), 'B holds each document exactly once');
  t.equal(cluster.edge(A).kills, 2, 'A was killed twice');
  t.equal(cluster.edge(B).kills, 1, 'B was killed once');

  // B's incoming/: one folder per document, whole, whatever the kill interrupted.
  // A folder is built under a `.building-` name and renamed when whole: B may still be writing
  // the last ones when the database already holds every document.
  const folders = await until('a whole folder per document in B incoming/, none being built', () => {
    const names = readdirSync(join(rootB, 'incoming'));
    const whole = names.filter((name) => !name.startsWith('.building-'));
    return whole.length >= sent.length && whole.length === names.length && whole;
  }, 200);
  t.equal(folders.length, sent.length, 'one folder per document received, none left half built');
  const inFolders = folders.map((f) => (JSON.parse(readFileSync(join(rootB, 'incoming', f, 'status.json'), 'utf8')) as { documentId: string }).documentId);
  t.same(inFolders.sort(), [...documentIds].sort(), 'each document in exactly one folder');
  t.ok(folders.every((f) => existsSync(join(rootB, 'incoming', f, 'packet.xml'))), 'each with its packet');
  const recovered = cluster.edge(A).lines('folder drop: unit already sent before a restart; moved to sent/').length;
  t.comment(`units found sent but not yet moved after a restart: ${recovered}`);
});
