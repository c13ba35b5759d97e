/**
 * The broker capacity check against a real node whose open-file limit is low (ulimit -n 256 on a
 * private node: the wall a stock 1,024 meets at ~150 agencies comes at a few dozen): the hub
 * reads the node's budget at start, says nothing while the agencies fit, and once `agency add`
 * (the library call and the CLI) takes them past it, warns on its health board (/health,
 * dashboard, log), on /metrics and on the CLI's stderr, naming the setting to raise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { estimate } from '../../src/broker/capacity.js';
import { LANES } from '../../src/broker/topology.js';
import { DEV_HUB, devPath, devTrust, startLocalExchange } from '../../src/demo/local-exchange.js';
import { addAgency } from '../../src/hub/provisioning.js';
import { CAPACITY_COMPONENT } from '../../src/hub/broker-capacity.js';
import { quotasOf } from '../../src/hub/config.js';
import { waitFor } from '../helpers/exchange.js';
import { childEnv, runCli } from '../helpers/cli.js';
import { startPrivateBroker } from '../helpers/private-broker.js';

const OPEN_FILES = 256;

/** A syntactically valid organ id per number (the provisioning checks the form only). */
const organId = (i: number): string => `000.${String(Math.floor(i / 100)).padStart(2, '0')}.${String(i % 100).padStart(2, '0')}.H99`;

t.test('the hub warns, naming the setting, when the agencies need more file descriptors than the broker has', async (t) => {
  const broker = await startPrivateBroker(t, { management: true, openFiles: OPEN_FILES });
  const management = { url: broker.managementUrl as string, user: 'guest', password: 'guest' };
  const exchange = await startLocalExchange({ amqpUrl: broker.url, management, prefixBase: 'lt-capacity', agencies: [] });
  t.teardown(() => exchange.stop());
  const { hub, api, names } = exchange;

  // The node publishes its statistics a few seconds after it starts; the hub asks until it has them.
  const facts = await waitFor('the node publishes its budget', async () => (await api.nodeBudgets())[0]);
  t.equal(facts.fdTotal, OPEN_FILES, `the node runs with ulimit -n ${OPEN_FILES}`);
  const fits = estimate(0, LANES.length, facts).maxAgencies;
  t.ok(fits > 5 && fits < 40, `a ${OPEN_FILES}-file node holds ${fits} agencies`);
  t.comment(`ulimit -n ${OPEN_FILES}: sockets_total ${facts.socketsTotal}, room for ${fits} agencies by the estimate`);

  await hub.capacity.check();
  t.equal(hub.health.problem(CAPACITY_COMPONENT), undefined, 'no agency: no problem');
  const metrics = async (): Promise<string> => hub.metrics.text();
  t.match(await metrics(), new RegExp(`lt_broker_fd_total\\{node="${facts.node}"\\} ${OPEN_FILES - 100}`), 'the budget is on /metrics');

  const ctx = { db: hub.db, api, names, actor: 'test', userLimits: quotasOf(exchange.hubConfig) };
  for (let i = 1; i <= fits; i++) await addAgency(ctx, { organId: organId(i), name: `Cơ quan ${i}` });
  await hub.capacity.check();
  t.equal(hub.health.problem(CAPACITY_COMPONENT), undefined, `${fits} agencies fit: still no problem`);

  // One more, through the CLI as an operator adds it, while the hub runs.
  const dir = exchange.dir;
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      organId: DEV_HUB.organId,
      organName: DEV_HUB.organName,
      amqpUrl: broker.url,
      prefix: exchange.prefix,
      management,
      dataDir: exchange.hubConfig.dataDir,
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
    }),
  );
  const added = runCli(dir, ['agency', 'add', organId(fits + 1), '--name', 'Cơ quan thừa', '--config', config, '--json'], { env: childEnv() });
  t.equal(added.status, 0, 'the agency is added all the same');
  t.match(added.stderr, /warning: BROKER_CAPACITY: RabbitMQ node .* open-file limit of 256/, 'the CLI warns at once');
  t.match(added.stderr, /LimitNOFILE/, 'naming the setting');
  const answer = JSON.parse(added.stdout) as { capacity: Array<{ ok: boolean; needFds: number; haveFds: number }> };
  t.equal(answer.capacity[0]?.ok, false, '--json carries the estimate');

  // The running hub notices the new agency in the directory by itself (its next poll).
  const problem = await waitFor('the hub raises the capacity problem', () => hub.health.problem(CAPACITY_COMPONENT));
  t.equal(problem.code, 'BROKER_CAPACITY');
  t.match(problem.message, /open-file limit of 256/);
  t.match(problem.message, new RegExp(`${fits + 1} agencies need about \\d+ file descriptors`));
  t.match(problem.message, /LimitNOFILE|ulimit -n/);
  t.equal(hub.health.snapshot().status, 'degraded', '/health and the dashboard say degraded');
  const text = await metrics();
  const needed = Number(new RegExp(`lt_broker_fd_needed\\{node="[^"]+"\\} (\\d+)`).exec(text)?.[1]);
  t.ok(needed > OPEN_FILES - 100, `lt_broker_fd_needed ${needed} is over lt_broker_fd_total`);
  t.match(text, /lt_health_problems\{component="broker-capacity",code="BROKER_CAPACITY"\} 1/);
});
