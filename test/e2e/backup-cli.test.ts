/**
 * `lienthong edge|hub backup` and `restore` as an operator runs them, with the hub and edges
 * running as real processes (test/helpers/processes.ts): a backup while the node runs, a
 * restore refused until it is stopped, then refused over the existing data unless --replace,
 * and the restored edge receiving again; `lienthong --version`. The CLI is the compiled dist/
 * (`npx tsc -p .` first).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { lienthong } from '../helpers/cli.js';
import { AGENCY_A, AGENCY_B, REPO, startCluster } from '../helpers/processes.js';



function letter(codeNumber: string, to: string): Record<string, unknown> {
  return { to: [{ organId: to }], code: { codeNumber, codeNotation: 'UBND-VP' }, subject: `V/v thử nghiệm sao lưu số ${codeNumber}` };
}

t.test('--version and -V print the version and the schemas', async (t) => {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await lienthong(flag);
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`^lienthong ${version.replaceAll('.', '\\.')} \\(edge schema \\d+, hub schema \\d+; Node\\.js `), flag);
  }
});

t.test('edge and hub backups while they run; a restore once the edge is stopped, and the edge receives again', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-backup-cli' });
  await cluster.hub.start();
  await cluster.edge(AGENCY_A.organId).start();
  await cluster.edge(AGENCY_B.organId).start();
  const configA = cluster.edgeConfigPath(AGENCY_A.organId);
  const configB = cluster.edgeConfigPath(AGENCY_B.organId);
  writeFileSync(join(cluster.dir, 'one.json'), JSON.stringify(letter('51', AGENCY_B.organId)));
  writeFileSync(join(cluster.dir, 'two.json'), JSON.stringify(letter('52', AGENCY_B.organId)));
  const first = await lienthong('send', '--config', configA, join(cluster.dir, 'one.json'), '--wait', '--json');
  t.equal(first.code, 0, first.stderr);
  const firstId = (JSON.parse(first.stdout) as { documentId: string }).documentId;

  const backupB = join(cluster.dir, 'backup-b');
  const backup = await lienthong('edge', 'backup', '--config', configB, '--to', backupB);
  t.equal(backup.code, 0, backup.stderr);
  t.match(backup.stdout, new RegExp(`^backup of the edge ${AGENCY_B.organId} written to `), 'says what it wrote');
  t.match(backup.stdout, /not in it \(keep them yourself\): .*\.key\.pem/, 'and names the key it does not hold');
  t.ok(existsSync(join(backupB, 'manifest.json')), 'the backup is whole: its manifest is written');
  const manifest = JSON.parse(readFileSync(join(backupB, 'manifest.json'), 'utf8')) as { files: Array<{ path: string }>; organId: string };
  t.equal(manifest.organId, AGENCY_B.organId);
  t.ok(manifest.files.some((f) => f.path.startsWith('config/')), 'with the configuration file');
  const again = await lienthong('edge', 'backup', '--config', configB, '--to', backupB);
  t.equal(again.code, 2, 'a backup does not go into a non-empty directory');
  t.match(again.stderr, /is not empty/);

  const hubBackup = await lienthong('hub', 'backup', '--config', cluster.hubConfigPath, '--to', join(cluster.dir, 'backup-hub'), '--json');
  t.equal(hubBackup.code, 0, hubBackup.stderr);
  t.equal((JSON.parse(hubBackup.stdout) as { kind: string }).kind, 'hub', '--json prints the manifest');

  const running = await lienthong('edge', 'restore', '--config', configB, '--from', backupB, '--replace');
  t.equal(running.code, 1, 'a restore under the running edge is refused');
  t.match(running.stderr, /runs on the data directory .*stop it before restoring.*\(NODE_RUNNING\)/);

  // After the backup, a second document arrives; then B is stopped and restored.
  const second = await lienthong('send', '--config', configA, join(cluster.dir, 'two.json'), '--wait', '--json');
  t.equal(second.code, 0, second.stderr);
  const secondId = (JSON.parse(second.stdout) as { documentId: string }).documentId;
  await cluster.edge(AGENCY_B.organId).stop();
  const unasked = await lienthong('edge', 'restore', '--config', configB, '--from', backupB);
  t.equal(unasked.code, 1);
  t.match(unasked.stderr, /already holds a database .*--replace.*\(DATA_DIR_NOT_EMPTY\)/, 'an existing database is replaced only with --replace');
  const restore = await lienthong('edge', 'restore', '--config', configB, '--from', backupB, '--replace');
  t.equal(restore.code, 0, restore.stderr);
  t.match(restore.stdout, /the data it replaced is in .*replaced-/, 'says where the replaced data went');

  const inbox = JSON.parse((await lienthong('inbox', '--config', configB, '--json')).stdout) as { items: Array<{ documentId: string }> };
  t.same(
    inbox.items.map((d) => d.documentId),
    [firstId],
    `the restored inbox is the backup's: ${secondId}, received after it, is not in it`,
  );
  await cluster.edge(AGENCY_B.organId).start();
  writeFileSync(join(cluster.dir, 'three.json'), JSON.stringify(letter('53', AGENCY_B.organId)));
  const third = await lienthong('send', '--config', configA, join(cluster.dir, 'three.json'), '--wait');
  t.equal(third.code, 0, `the restored edge receives and answers 01: ${third.stderr}`);
});
