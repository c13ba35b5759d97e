/**
 * What a hub operator runs besides the hub itself, through the built CLI (bin/lienthong.js in a
 * child process) over a hub database in a temporary directory: no broker is needed.
 *
 *  - `hub user password <name>`: the password from standard input, never from the command line;
 *    the user's open sessions end; audited. `hub user remove <name>`: sessions end, audited; the
 *    last operator is refused.
 *  - `overdue --hub`: Vietnamese lines with the due times in local time (+07:00), the
 *    acceptances the edges list too, and a line saying so when nothing is overdue; --json keeps
 *    the UTC instant and adds it with the offset.
 * Needs dist/ (`npm test` builds first).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Sessions } from '../../src/dashboard/sessions.js';
import { Directory } from '../../src/hub/directory.js';
import { HubRecords } from '../../src/hub/records.js';
import { authenticate, listUsers } from '../../src/hub/users.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { DeliveryLog } from '../../src/store/deliveries.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { REPO, runCli, type CliRun } from '../helpers/cli.js';

const A = '000.00.01.H12';
const B = '000.00.05.H12';

function hubDir(t: Test): { config: string; database: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lt-hub-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'hub.json');
  // The identity and trust files are named, never read, by these commands.
  writeFileSync(config, JSON.stringify({ organId: '000.00.90.H12', dataDir: join(dir, 'data'), identity: { key: 'hub.key', cert: 'hub.pem' }, trust: { anchors: ['root.pem'] } }));
  return { config, database: join(dir, 'data', 'hub.sqlite') };
}

function run(args: string[], input = ''): CliRun {
  return runCli(REPO, args, { input });
}

function withDb<T>(path: string, work: (db: Db) => T): T {
  const db = openDatabase(path, HUB_MIGRATIONS);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const audit = (db: Db, action: string): Array<{ actor: string; subject: string; details: string }> =>
  db.prepare('SELECT actor, subject, details FROM audit WHERE action = ? ORDER BY seq').all(action) as Array<{ actor: string; subject: string; details: string }>;

if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
  t.fail('dist/ is missing: run "npm run build" before this test');
} else {
  t.test('hub user password and hub user remove: stdin only, sessions end, audited, the last operator stays', async (t) => {
    const { config, database } = hubDir(t);
    t.equal(run(['hub', 'user', 'add', 'chief', '--role', 'operator', '--password-stdin', '--config', config], 'first-password-1\n').status, 0);
    t.equal(run(['hub', 'user', 'add', 'victor', '--role', 'viewer', '--password-stdin', '--config', config], 'viewer-password-1\n').status, 0);
    const sessions = withDb(database, (db) => {
      const open = new Sessions(db, () => new Date());
      return { chief: open.create({ name: 'chief', role: 'operator' }).id, victor: open.create({ name: 'victor', role: 'viewer' }).id };
    });

    const argv = run(['hub', 'user', 'password', 'chief', 'second-password-2', '--config', config]);
    t.equal(argv.status, 2, 'a password on the command line is refused');
    t.match(argv.stderr, /a password is never given on the command line \(USAGE\)/);

    const short = run(['hub', 'user', 'password', 'chief', '--config', config], 'short\n');
    t.equal(short.status, 2);
    t.match(short.stderr, /at least 10 characters/);

    const changed = run(['hub', 'user', 'password', 'chief', '--config', config], 'second-password-2\n');
    t.equal(changed.status, 0, changed.stderr);
    t.equal(changed.stdout, 'password of chief changed; 1 open session(s) ended\n');
    withDb(database, (db) => {
      t.ok(authenticate(db, 'chief', 'second-password-2'), 'the new password opens');
      t.notOk(authenticate(db, 'chief', 'first-password-1'), 'the old one no longer does');
      const open = new Sessions(db, () => new Date());
      t.equal(open.get(sessions.chief), undefined, "chief's session ended");
      t.ok(open.get(sessions.victor), "victor's did not");
      t.match(audit(db, 'user.password'), [{ actor: /^cli:/, subject: 'chief', details: /"sessionsEnded":1/ }]);
    });

    const unknown = run(['hub', 'user', 'password', 'nobody', '--config', config], 'third-password-3\n');
    t.equal(unknown.status, 1);
    t.match(unknown.stderr, /no dashboard user nobody.*\(NOT_FOUND\)/);

    const last = run(['hub', 'user', 'remove', 'chief', '--config', config]);
    t.equal(last.status, 1, 'the last operator is not removed');
    t.match(last.stderr, /chief is the last operator; add another operator .* \(USER_LAST_OPERATOR\)/);

    const removed = run(['hub', 'user', 'remove', 'victor', '--config', config]);
    t.equal(removed.status, 0, removed.stderr);
    t.equal(removed.stdout, 'user victor removed; 1 open session(s) ended\n');
    t.equal(run(['hub', 'user', 'add', 'anna', '--role', 'operator', '--password-stdin', '--config', config], 'anna-password-1\n').status, 0);
    t.equal(run(['hub', 'user', 'remove', 'chief', '--config', config]).status, 0, 'with another operator, chief may go');
    withDb(database, (db) => {
      t.same(
        listUsers(db).map((u) => u.name),
        ['anna'],
      );
      t.equal(new Sessions(db, () => new Date()).get(sessions.victor), undefined, "victor's session ended with the user");
      t.match(audit(db, 'user.remove'), [
        { subject: 'victor', details: /"role":"viewer"/ },
        { subject: 'chief', details: /"role":"operator"/ },
      ]);
    });
    t.match(run(['hub', 'user', '--help']).stdout, /hub user password <name>[\s\S]*hub user remove <name>/, 'in the help');
  });

  t.test('overdue --hub: in Vietnamese, local due times, acceptances, and a line when nothing is late', async (t) => {
    const { config, database } = hubDir(t);
    t.equal(run(['hub', 'user', 'list', '--config', config]).status, 0, 'the database exists');
    // A → B on Tuesday 01/12/2026 10:00 (Vietnamese time): B gave 01 at 10:05 and never 03.
    const delivered = '2026-12-01T03:00:00.000Z';
    const documentId = `${A},2026/12/01,701/UBND-VP`;
    withDb(database, (db) => {
      const directory = new Directory(db);
      for (const organId of [A, B]) directory.insert({ organId, name: organId, brokerUser: `lt.agency.${organId}`, queueToken: '' }, new Date(delivered));
      const records = new HubRecords(db);
      const log = new DeliveryLog(db);
      db.transaction(() => {
        const base = { kind: 'document', sender: A, claimedFrom: A, documentId, statusCode: null, priority: '0', sha256: '0'.repeat(64), blob: null, size: 1, verdict: 'routed', errorCode: null, errorMessage: null } as const;
        records.insertPacket({ ...base, packetId: '00000000-0000-4000-8000-000000000001', receivedAt: delivered });
        records.insertDocument({ documentId, sender: A, packetId: '00000000-0000-4000-8000-000000000001', subject: 'V/v thử', code: '701/UBND-VP', priority: '0', bussinessType: '0', responseFor: null, sentAt: delivered, dueDate: null });
        log.record(documentId, B, { stage: 'delivered', recall: 'none' }, 'delivered', delivered, null, null);
        log.record(documentId, B, { stage: '01', recall: 'none' }, '01', '2026-12-01T03:05:00.000Z', null, null);
      }).immediate();
    });

    const early = run(['overdue', '--hub', '--config', config, '--at', '2026-12-01T23:59:00+07:00']);
    t.equal(early.status, 0, early.stderr);
    t.equal(early.stdout, 'Không có văn bản nào quá hạn lúc 01/12/2026 23:59 (+07:00).\n', 'nothing late yet, and it says so');

    const late = run(['overdue', '--hub', '--config', config, '--at', '2026-12-02T00:01:00+07:00']);
    t.equal(late.status, 0, late.stderr);
    t.equal(
      late.stdout,
      `${B}  quá hạn: 0 báo nhận (01), 1 tiếp nhận (03), 0 xử lý\n  Chưa tiếp nhận (03)   ${B}  ${documentId}  hạn 01/12/2026 23:59 (+07:00)  (đang ở: Đã đến (01))\n`,
      "B's acceptance, due at the end of Tuesday, local time",
    );
    const json = JSON.parse(run(['overdue', '--hub', '--json', '--config', config, '--at', '2026-12-02T00:01:00+07:00']).stdout) as { agencies: Array<{ acceptances: number; items: Array<Record<string, string>> }> };
    t.match(json.agencies, [{ acceptances: 1, items: [{ kind: 'acceptance', due: '2026-12-01T16:59:59.999Z', dueLocal: '2026-12-01T23:59:59.999+07:00' }] }]);
  });
}
