/**
 * SIGHUP (systemd ExecReload=/bin/kill -HUP $MAINPID) on running edge and hub processes
 * (bin/lienthong.js; `npm run build` first): the new key and certificate are taken, a bad new
 * pair is refused with a log line and the old one stays, and the process runs on (without the
 * handler SIGHUP would end it). What signing with the new key does is proven in-process by
 * test/integration/crl-refresh.test.ts, through the same reload the signal calls. The edge's
 * REST API keys are read again too: a key added to edge.json opens the API, a key removed
 * (revoked) no longer does, and a bad entry is refused with the keys in force kept.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { devPath } from '../../src/demo/local-exchange.js';
import { devIssuingCa, issueSigner } from '../helpers/crl.js';
import { waitFor } from '../helpers/exchange.js';
import { newApiKey } from '../../src/adapters/rest/auth.js';
import { AGENCY_A, AGENCY_B, freePort, startCluster } from '../helpers/processes.js';

t.test('SIGHUP reloads the identity of a running edge and hub; a bad pair is refused, the process runs on', async (t) => {
  const dir = t.testdir();
  const A = AGENCY_A.organId;
  const key = join(dir, 'a.key.pem');
  const cert = join(dir, 'a.pem');
  copyFileSync(devPath('agencies', `${A}.key.pem`), key);
  copyFileSync(devPath('agencies', `${A}.pem`), cert);
  const first = newApiKey('qlvb');
  const port = await freePort();
  const cluster = await startCluster(t, {
    prefixBase: 'lt-hup',
    agencies: [AGENCY_A, AGENCY_B],
    edgeConfigOf: { [A]: { identity: { key, cert, chain: devPath('issuing-ca.pem') }, api: { host: '127.0.0.1', port, keys: [first.entry] } } },
  });
  await cluster.hub.start();
  const edge = cluster.edge(A);
  await edge.start();
  const pid = edge.pid as number;

  const ca = devIssuingCa(dir);
  const next = issueSigner(dir, ca, A, AGENCY_A.organName, 'a-next');
  copyFileSync(next.key, key);
  copyFileSync(next.cert, cert);
  process.kill(pid, 'SIGHUP');
  const taken = await waitFor('the reload logged', () =>
    edge.lines('reload: the new signing key and certificate are in use; packets signed with the previous one still verify while it is valid and not revoked')[0],
  );
  t.equal(taken.serial, next.serial, 'the new certificate is in use');
  t.ok(edge.lines('reload: trust files read again (anchors, intermediates, CRLs)').length > 0, 'trust files read again');

  // A key that is not the certificate's: refused, logged, the edge runs on with the new pair.
  copyFileSync(devPath('agencies', `${AGENCY_B.organId}.key.pem`), key);
  process.kill(pid, 'SIGHUP');
  const refused = await waitFor('the refusal logged', () => edge.log().split('\n').find((line) => line.includes('the new signing key and certificate were refused')));
  t.match(refused, /private key does not belong to the certificate/);
  t.ok(edge.running && edge.pid === pid, 'the same edge process still runs');
  t.match(edge.log(), /edge: SIGHUP received, reading identity and trust files again/);
  t.notMatch(edge.log(), /stopping \(within/, 'SIGHUP did not stop it');

  // The hub takes SIGHUP the same way (its identity unchanged: nothing replaced, nothing refused).
  const hubPid = cluster.hub.pid as number;
  process.kill(hubPid, 'SIGHUP');
  await waitFor('the hub reload logged', () => cluster.hub.lines('reload: trust files read again (anchors, intermediates, CRLs)')[0]);
  t.ok(cluster.hub.running && cluster.hub.pid === hubPid, 'the hub still runs');
  t.notMatch(cluster.hub.log(), /refused, the ones in force stay/);

  // API keys: the second client's key added and the first one revoked in edge.json, then SIGHUP.
  const status = async (apiKey: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}/api/v1/inbox`, { headers: { 'x-api-key': apiKey } })).status;
  const second = newApiKey('portal');
  t.equal(await status(first.key), 200, 'the first key opens the API');
  t.equal(await status(second.key), 401, 'the second is not known yet');
  const configPath = cluster.edgeConfigPath(A);
  const withKeys = (keys: unknown[]): void => {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { api: { keys: unknown[] } };
    config.api.keys = keys;
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  };
  withKeys([second.entry]);
  process.kill(pid, 'SIGHUP');
  await waitFor('the API keys reloaded', () => edge.lines('reload: API keys read again from the configuration').find((line) => JSON.stringify(line).includes('portal')));
  t.equal(await status(second.key), 200, 'the added key opens the API without a restart');
  t.equal(await status(first.key), 401, 'the removed key is refused at once');

  // A broken entry: refused with the reason, the keys in force stay.
  withKeys([second.entry, { name: 'broken', sha256: 'not hex' }]);
  process.kill(pid, 'SIGHUP');
  const keysRefused = await waitFor('the refused keys logged', () => edge.log().split('\n').find((line) => line.includes('the API keys of the configuration were refused')));
  t.match(keysRefused, /api\.keys\[1\] \(\\"broken\\"\) needs \\"sha256\\"/, 'the log names the bad entry');
  t.equal(await status(second.key), 200, 'the key in force still opens the API');
  t.ok(edge.running && edge.pid === pid, 'the same edge process still runs');
});
