/**
 * The folder drop's pure parts (config, which units are ready, safe names) and its crash points,
 * each made to happen on purpose with a real SQLite edge database and real files and an outbox
 * that only records: a unit whose packet was committed before the crash is moved, never
 * submitted again; a claim cut in the middle is finished; a unit in hand when the edge stops is
 * left for the next start, not judged failed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { folderSetting } from '../../src/edge/folder-settings.js';
import { createLayout, folderLayout } from '../../src/adapters/folder/files.js';
import { OutgoingFolder } from '../../src/adapters/folder/outgoing.js';
import { safeFileName, uniqueName } from '../../src/adapters/folder/safe-name.js';
import { FolderStore } from '../../src/adapters/folder/store.js';
import { readyUnits } from '../../src/adapters/folder/units.js';
import type { SubmitOptions } from '../../src/edge/outbox.js';
import { LtError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';
import { EDGE_MIGRATIONS } from '../../src/store/migrations/edge.js';

t.test('folder settings: defaults, and clear refusals', async (t) => {
  t.same(folderSetting({ root: 'drop' }, '/etc/lt', 'edge.json'), { root: '/etc/lt/drop', pollSeconds: 2, mode: 'marker' }, 'root relative to edge.json, 2 s, marker');
  t.equal(folderSetting(undefined, '/', 'edge.json'), undefined, 'no section, no folder drop');
  const refusal = (value: unknown): string => {
    try {
      folderSetting(value, '/', 'edge.json');
    } catch (error) {
      return `${(error as LtError).code}: ${(error as Error).message}`;
    }
    return 'accepted';
  };
  t.match(refusal({}), /^CONFIG_INVALID: edge\.json: "folder\.root" must name/, 'root required');
  t.match(refusal({ root: 'x', mode: 'watch' }), /"folder\.mode" must be "marker" .* or "rename"/, 'unknown mode');
  t.match(refusal({ root: 'x', pollSeconds: 0 }), /"folder\.pollSeconds" must be a number of seconds above 0/, 'poll interval above 0');
  t.match(refusal({ root: 'x', pollSecond: 1 }), /"folder\.pollSecond" is not a setting/, 'a misspelt key');
  t.match(refusal('x'), /"folder" must be an object/, 'not an object');
});

t.test('ready units: marker and rename modes, files being written ignored', async (t) => {
  const listing = [
    { name: 'a.json', file: true, directory: false },
    { name: 'a.pdf', file: true, directory: false },
    { name: 'a.ready', file: true, directory: false },
    { name: 'b.xml', file: true, directory: false },
    { name: 'c', file: false, directory: true },
    { name: 'c.ready', file: true, directory: false },
    { name: '.d.json', file: true, directory: false },
    { name: 'e.xml.part', file: true, directory: false },
    { name: 'f.json.tmp', file: true, directory: false },
    { name: '.lienthong-work', file: false, directory: true },
  ];
  t.same(readyUnits(listing, 'marker').map((u) => `${u.form}:${u.name}`), ['json:a', 'folder:c'], 'marker: only units with <name>.ready');
  t.same(readyUnits(listing, 'rename').map((u) => `${u.form}:${u.name}`), ['json:a', 'xml:b', 'folder:c'], 'rename: every unit there');
});

t.test('safe names: nothing escapes its folder', async (t) => {
  t.equal(safeFileName('000.00.01.H12,2024/05/01,125/UBND-VP'), '000.00.01.H12,2024_05_01,125_UBND-VP', 'slashes of a DocumentId');
  t.equal(safeFileName('../../etc/passwd'), '___.._etc_passwd', 'no climbing: one segment, not hidden');
  t.equal(safeFileName('..'), 'file', 'dots alone become the fallback');
  t.equal(safeFileName('CON.txt'), '_CON.txt', 'Windows device names');
  t.equal(safeFileName('a\u202egpj.exe'), 'a_gpj.exe', 'bidirectional overrides');
  t.equal(safeFileName('Công văn số 1.pdf'), 'Công văn số 1.pdf', 'Vietnamese kept');
  const taken = new Set<string>();
  t.same(['a.pdf', 'A.pdf', 'a.pdf'].map((n) => uniqueName(n, taken)), ['a.pdf', 'A~2.pdf', 'a~3.pdf'], 'names kept apart case-insensitively');
});

/** An edge database, a folder, and an outbox that records in the transaction as the real one does. */
function rig(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'lt-folder-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  t.teardown(() => db.close());
  const layout = folderLayout(join(dir, 'drop'));
  createLayout(layout);
  const store = new FolderStore(db);
  const submissions: string[] = [];
  let stopping = false;
  let crashAfterCommit = false;
  let n = 0;
  const submit = async (what: string, options?: SubmitOptions) => {
    n += 1;
    const queued = { packetId: `packet-${n}`, documentId: `doc-${n}` };
    db.transaction(() => options?.inTransaction?.(queued)).immediate();
    submissions.push(what);
    if (crashAfterCommit) {
      stopping = true; // the edge goes down right after the commit
      throw new Error('the database connection is not open');
    }
    return { ...queued, lane: 'normal' as const, warnings: [] };
  };
  const outgoing = () =>
    new OutgoingFolder({
      config: { root: layout.root, pollSeconds: 1, mode: 'marker' },
      layout,
      store,
      outbox: () => ({
        submitDocument: (input: { subject?: string }, _client: string, options?: SubmitOptions) => submit(input.subject ?? '', options),
        submitXml: (_xml: unknown, _client: string, options?: SubmitOptions) => submit('xml', options),
      }) as never,
      clock: () => new Date(),
      log: silentLogger(),
      stopping: () => stopping,
    });
  return {
    layout,
    db,
    submissions,
    outgoing,
    /** A description unit dropped whole in marker mode: `<name>.json`, then its marker. */
    drop(name: string, subject = name) {
      writeFileSync(join(layout.outgoing, `${name}.json`), meta(subject));
      writeFileSync(join(layout.outgoing, `${name}.ready`), '');
    },
    crashAfterCommit(on: boolean) {
      crashAfterCommit = on;
    },
    restart() {
      stopping = false;
    },
  };
}

const meta = (subject: string, files: string[] = []): string =>
  JSON.stringify({ to: [{ organId: '000.00.05.H12' }], code: { codeNumber: '1', codeNotation: 'VP' }, subject, ...(files.length ? { files } : {}) });

t.test('a crash after the commit: the unit is moved at the next start, not submitted again', async (t) => {
  const r = rig(t);
  r.drop('x');
  r.crashAfterCommit(true);
  await r.outgoing().pass();
  t.same(r.submissions, ['x'], 'submitted once');
  t.ok(existsSync(join(r.layout.work, 'x', 'x.json')), 'the edge went down with the unit in hand');
  t.same(readdirSync(r.layout.failed), [], 'a stop is no refusal');
  r.crashAfterCommit(false);
  r.restart();
  await r.outgoing().pass();
  t.same(r.submissions, ['x'], 'not submitted again after the restart');
  t.equal(readFileSync(join(r.layout.sent, 'x', 'x.packet-id'), 'utf8'), 'packet-1\ndoc-1\n', 'moved to sent/ with the packet it became');
});

t.test("a kill while the unit's note was written: its temporary is no file of the unit", async (t) => {
  const r = rig(t);
  r.drop('z');
  r.crashAfterCommit(true);
  await r.outgoing().pass();
  // As writeFileAtomic leaves it when the edge dies before its rename: a hidden temporary.
  writeFileSync(join(r.layout.work, 'z', '.0123456789ab.tmp'), 'packet-1\n');
  r.crashAfterCommit(false);
  r.restart();
  await r.outgoing().pass();
  t.same(r.submissions, ['z'], 'recognised as sent, not submitted again');
  t.same(readdirSync(r.layout.failed), [], 'nothing in failed/');
  t.same(readdirSync(join(r.layout.sent, 'z')).sort(), ['z.json', 'z.packet-id'], 'sent/ holds the unit and its note, not the temporary');
});

t.test('a claim cut short: the files still in outgoing/ are gathered', async (t) => {
  const r = rig(t);
  // As a kill between the moves of a claim leaves it: the description moved, its file not yet.
  mkdirSync(join(r.layout.work, 'y'));
  writeFileSync(join(r.layout.work, 'y', 'y.json'), meta('y', ['y.pdf']));
  writeFileSync(join(r.layout.outgoing, 'y.pdf'), 'pdf');
  writeFileSync(join(r.layout.outgoing, 'y.ready'), '');
  await r.outgoing().pass();
  t.same(r.submissions, ['y'], 'submitted');
  t.same(readdirSync(join(r.layout.sent, 'y')).sort(), ['y.json', 'y.packet-id', 'y.pdf'], 'with its file');
  t.same(readdirSync(r.layout.outgoing), ['.lienthong-work'], 'the marker is gone too');
});

t.test('the same name again with other content is a new unit; a name taken in sent/ gets a suffix', async (t) => {
  const r = rig(t);
  for (const subject of ['first', 'second']) {
    r.drop('daily', subject);
    await r.outgoing().pass();
  }
  t.same(r.submissions, ['first', 'second'], 'both submitted');
  t.same(readdirSync(r.layout.sent).sort(), ['daily', 'daily~2'], 'kept apart in sent/');
});

t.test('a root the edge cannot use stops the start with what to do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-folder-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a-file'), '');
  const db = openDatabase(join(dir, 'edge.sqlite'), EDGE_MIGRATIONS);
  t.teardown(() => db.close());
  const { FolderDrop } = await import('../../src/adapters/folder/index.js');
  const drop = new FolderDrop({ root: join(dir, 'a-file', 'drop'), pollSeconds: 1, mode: 'marker' }, { db, log: silentLogger() } as never);
  await t.rejects(drop.start(), { code: 'CONFIG_INVALID', message: /cannot use .*a-file.*ENOTDIR.*"folder\.root"/ }, 'refused, naming the folder and the setting');
  await drop.stop(100);
});

t.test('edge check: the folder drop row', async (t) => {
  const { folderCheckRow } = await import('../../src/adapters/folder/check.js');
  const dir = mkdtempSync(join(tmpdir(), 'lt-folder-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const row = (root: string) => folderCheckRow({ root, pollSeconds: 2, mode: 'marker' });
  t.match(await row(join(dir, 'new', 'drop')), { status: 'ok' }, 'a root still to make, under a writable folder');
  createLayout(folderLayout(join(dir, 'laid-out')));
  t.match(await row(join(dir, 'laid-out')), { status: 'ok', detail: /mode marker, every 2 s/ }, 'a laid-out root');
  writeFileSync(join(dir, 'a-file'), '');
  t.match(await row(join(dir, 'a-file')), { status: 'problem', detail: /is not a folder/ }, 'a file where the root should be');
});
