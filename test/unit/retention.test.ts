/**
 * `lienthong hub prune` on a hub's files, without a broker: old refused bytes go, the rows stay,
 * and a blob stored again a moment ago (a packet with the same bytes being routed right now,
 * its row not yet committed) is not deleted under it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hubCommand } from '../../src/cli/commands/hub.js';
import { DEV_HUB, devPath } from '../../src/demo/local-exchange.js';
import { HubRecords } from '../../src/hub/records.js';
import { BlobStore } from '../../src/store/blobs.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';

const DAY_MS = 86_400_000;

async function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({ write: (chunk: string | Uint8Array) => (append(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
  const code = await hubCommand.run(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: {}, cwd });
  return { code, stdout, stderr };
}

t.test('hub prune: refused bytes past retention go, the row and its hash stay; a blob just stored again stays', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: DEV_HUB.organId,
      dataDir: join(dir, 'hub'),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem') },
      trust: { anchors: [devPath('root-ca.pem')] },
      retention: { refusedDays: 1 },
    }),
  );
  const db = openDatabase(join(dir, 'hub', 'hub.sqlite'), HUB_MIGRATIONS);
  const blobs = new BlobStore(join(dir, 'hub', 'blobs'), db);
  const records = new HubRecords(db);
  const old = new Date(Date.now() - 2 * DAY_MS);
  const refuse = async (packetId: string, content: string, at: Date) => {
    const blob = await blobs.put(content);
    records.insertPacket({
      packetId,
      kind: 'unknown',
      sender: '000.00.01.H12',
      claimedFrom: null,
      documentId: null,
      statusCode: null,
      priority: null,
      sha256: blob,
      blob,
      size: Buffer.byteLength(content),
      receivedAt: at.toISOString(),
      verdict: 'refused',
      errorCode: 'XML_MALFORMED',
      errorMessage: 'junk',
    });
    return blob;
  };
  const stale = await refuse('11111111-1111-4111-8111-111111111111', 'junk one', old);
  const busy = await refuse('22222222-2222-4222-8222-222222222222', 'junk two', old);
  const young = await refuse('33333333-3333-4333-8333-333333333333', 'junk three', new Date());
  // Small blobs are rows of the hub's database (store/blobs.ts), stored when the packet came.
  const backdate = db.prepare('UPDATE blobs SET stored_at = ? WHERE sha256 = ?');
  for (const h of [stale, busy]) t.equal(backdate.run(old.toISOString(), h).changes, 1, 'held in the database');
  // The same bytes as `busy` arrive again now: the router has stored them, its row is not committed yet.
  await blobs.put('junk two');
  db.close();

  const { code, stdout, stderr } = await run(['prune', '--config', config, '--json'], dir);
  t.equal(code, 0, stderr);
  const result = JSON.parse(stdout) as Record<string, number>;
  t.match(result, { packets: 2, deadLetters: 0, discarded: 0, blobsDeleted: 1, bytesDeleted: 8 });
  const after = openDatabase(join(dir, 'hub', 'hub.sqlite'), HUB_MIGRATIONS);
  t.teardown(() => after.close());
  const held = (h: string): boolean => after.prepare('SELECT 1 FROM blobs WHERE sha256 = ?').get(h) !== undefined;
  t.notOk(held(stale), 'the old refused bytes are gone');
  t.ok(held(busy), 'the bytes stored again a moment ago are kept');
  t.ok(held(young), 'the refused packet within the period is untouched');
  const row = after.prepare('SELECT blob, sha256, size, verdict FROM packets WHERE packet_id = ?').get('11111111-1111-4111-8111-111111111111');
  t.same(row, { blob: null, sha256: stale, size: 8, verdict: 'refused' }, 'the row keeps hash, size and verdict');
  const audit = after.prepare("SELECT actor, details FROM audit WHERE action = 'blob.pruned' ORDER BY seq").all() as Array<{ actor: string; details: string }>;
  t.equal(audit.length, 2);
  t.match(audit[0]?.actor, /^cli:/);
  t.match(JSON.parse(audit[0]?.details ?? '{}'), { sha256: stale, size: 8, retentionDays: 1 });

  const text = await run(['prune', '--config', config], dir);
  t.match(text.stdout, /released 0 refused packet\(s\) older than 1 days/, 'a second run: nothing left');
});

t.test('hub.json: quotas and retention are checked', async (t) => {
  const { hubConfigFrom, quotasOf, retentionOf } = await import('../../src/hub/config.js');
  const base = { organId: DEV_HUB.organId, identity: { key: 'k', cert: 'c' }, trust: { anchors: ['r'] } };
  const defaults = hubConfigFrom(base, '/', 'hub.json', {});
  t.match(quotasOf(defaults), { hubLaneBytes: 16 * 2 ** 30, agencyLaneBytes: 2 * 2 ** 30, maxConnections: 5, maxChannels: 20, packetsPerMinute: 600 });
  t.same(retentionOf(defaults), { refusedDays: 30, deadLetterDays: 30, intervalMinutes: 60 });
  t.same(retentionOf(hubConfigFrom({ ...base, retention: { refusedDays: 7 } }, '/', 'hub.json', {})), { refusedDays: 7, deadLetterDays: 7, intervalMinutes: 60 }, 'dead letters follow refusedDays unless set');
  t.equal(quotasOf(hubConfigFrom({ ...base, quotas: { packetsPerMinute: 0 } }, '/', 'hub.json', {})).packetsPerMinute, 0, '0 turns the rate limit off');
  t.throws(() => hubConfigFrom({ ...base, quotas: { agencyLaneByte: 5 } }, '/', 'hub.json', {}), { code: 'CONFIG_INVALID', message: /"quotas.agencyLaneByte" is not a setting/ });
  t.throws(() => hubConfigFrom({ ...base, retention: { refusedDays: 0 } }, '/', 'hub.json', {}), { code: 'CONFIG_INVALID', message: /must be a positive number/ });
  t.throws(() => hubConfigFrom({ ...base, quotas: { maxConnections: -1 } }, '/', 'hub.json', {}), { code: 'CONFIG_INVALID' });
});
