/**
 * The hub's audit trail: every row's hash covers the previous row's, so an edited, removed or
 * inserted row is found, and the first broken row is named; an exported bundle is signed by
 * the hub and can be checked offline with only the root certificate.
 */
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAudit, verifyAuditChain } from '../../src/store/audit.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { checkAuditBundle, exportAuditBundle } from '../../src/hub/audit-bundle.js';
import { devPath } from '../../src/demo/local-exchange.js';

const identity = {
  keyPem: readFileSync(devPath('hub.key.pem'), 'utf8'),
  certPem: readFileSync(devPath('hub.pem'), 'utf8'),
  chainPem: readFileSync(devPath('issuing-ca.pem'), 'utf8'),
};
const trust = { anchors: [readFileSync(devPath('root-ca.pem'), 'utf8')] };
const HUB = '000.00.90.H12';

function seeded(dir: string, rows = 10) {
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  const base = Date.parse('2026-12-01T01:00:00Z');
  for (let i = 0; i < rows; i++) {
    appendAudit(db, { actor: i % 2 ? '000.00.01.H12' : 'operator:lan', action: i % 2 ? 'packet.routed' : 'agency.suspend', subject: `subject-${i}`, details: { i } }, new Date(base + i * 3_600_000));
  }
  return db;
}

t.test('an intact trail verifies', async (t) => {
  const db = seeded(t.testdir());
  t.same(verifyAuditChain(db), { ok: true, rows: 10 });
  db.close();
});

t.test('a row edited in the database breaks the chain at that row', async (t) => {
  const db = seeded(t.testdir());
  db.prepare("UPDATE audit SET details = '{\"i\":99}' WHERE seq = 6").run();
  const check = verifyAuditChain(db);
  t.equal(check.ok, false);
  if (!check.ok) {
    t.equal(check.brokenAt, 6, 'the first broken row is named');
    t.match(check.reason, /changed after it was written/);
  }
  db.close();
});

t.test('an edit that also recomputes the row hash is caught at the next row', async (t) => {
  const db = seeded(t.testdir());
  db.prepare("UPDATE audit SET actor = 'someone-else', hash = 'f'||substr(hash, 2) WHERE seq = 4").run();
  const check = verifyAuditChain(db);
  t.equal(check.ok, false);
  if (!check.ok) t.ok(check.brokenAt === 4 || check.brokenAt === 5, `broken at ${check.brokenAt}`);
  db.close();
});

t.test('a removed row is named', async (t) => {
  const db = seeded(t.testdir());
  db.prepare('DELETE FROM audit WHERE seq = 3').run();
  const check = verifyAuditChain(db);
  t.equal(check.ok, false);
  if (!check.ok) {
    t.equal(check.brokenAt, 3);
    t.match(check.reason, /missing/);
  }
  db.close();
});

t.test('an exported bundle is signed by the hub and checks offline; any change is found', async (t) => {
  const db = seeded(t.testdir());
  const bundle = exportAuditBundle(db, { from: new Date('2026-12-01T03:00:00Z'), to: new Date('2026-12-01T07:00:00Z') }, HUB, identity);
  t.equal(bundle.rows.length, 4, 'only the rows of the period (hours 2..5)');
  t.equal(bundle.rows[0]?.seq, 3);
  t.equal(bundle.previousHash, (db.prepare('SELECT hash FROM audit WHERE seq = ?').get(2) as { hash: string }).hash, 'linked to the row before');
  const text = JSON.stringify(bundle);
  const good = await checkAuditBundle(text, trust);
  t.same(good.errors, []);
  t.equal(good.valid, true);
  t.equal(good.rows, 4);

  const edited = JSON.parse(text);
  edited.rows[1].subject = 'rewritten';
  const bad = await checkAuditBundle(JSON.stringify(edited), trust);
  t.equal(bad.valid, false);
  t.ok(bad.errors.some((e) => e.code === 'SIG_VALUE_INVALID'), 'the signature no longer matches');
  t.ok(bad.errors.some((e) => e.code === 'AUDIT_CHAIN_BROKEN'), 'and the row no longer matches its hash');

  const foreignRoot = { anchors: [readFileSync(devPath('agencies', '000.00.01.H12.pem'), 'utf8')] };
  const untrusted = await checkAuditBundle(text, foreignRoot);
  t.equal(untrusted.valid, false, 'a bundle is only as good as the root it chains to');
  t.ok(untrusted.errors.some((e) => e.code === 'CERT_UNTRUSTED'));
  db.close();
});

t.test('the CLI: verify, export and check, with exit codes', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: HUB,
      dataDir: dir,
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: { anchors: [devPath('root-ca.pem')] },
    }),
  );
  seeded(dir).close();
  const cli = (...args: string[]) => runCli(dir, args);
  const ok = cli('audit', 'verify', '--config', config);
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /intact: 10 rows/);
  const bundle = join(dir, 'bundle.json');
  const exported = cli('audit', 'export', '--config', config, '--from', '2026-12-01', '--to', '2026-12-02', '-o', bundle);
  t.equal(exported.status, 0, exported.stderr);
  const checked = cli('audit', 'check', bundle, '--trust', devPath('root-ca.pem'), '--json');
  t.equal(checked.status, 0, checked.stderr);
  t.equal(JSON.parse(checked.stdout).rows, 10);

  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  db.prepare("UPDATE audit SET subject = 'x' WHERE seq = 7").run();
  db.close();
  const broken = cli('audit', 'verify', '--config', config);
  t.equal(broken.status, 1);
  t.match(broken.stdout, /BROKEN at row 7/);
  const usage = cli('audit', 'export', '--config', config);
  t.equal(usage.status, 2, 'a missing --from is a usage error');
});
