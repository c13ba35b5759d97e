/**
 * An agency's queue names cannot be guessed (issue 9): RabbitMQ checks no permission on a
 * passive `queue.declare`, so any enrolled agency could read another one's queue depth and
 * consumer count by naming `P.agency.<organId>`. Each agency's queues now carry a random token
 * issued at `agency add` and handed to its edge in its AMQP URL; its permissions name exactly
 * those queues. Against the real RabbitMQ.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel } from 'amqplib';
import t, { type Test } from 'tap';
import { main } from '../../src/cli/main.js';
import { devPath, devTrust } from '../../src/demo/local-exchange.js';
import { edgeConfigFrom } from '../../src/edge/config.js';
import { A, B, agency, agencyQueueOf, brokerAnswer, connectAs, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';

async function permissionsOf(t: Test, management: { url: string; user: string; password: string }, user: string): Promise<{ configure: string; write: string; read: string }> {
  const response = await fetch(`${management.url.replace(/\/+$/, '')}/api/permissions/${encodeURIComponent('/')}/${encodeURIComponent(user)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${management.user}:${management.password}`).toString('base64')}` },
  });
  t.equal(response.status, 200, `permissions of ${user}`);
  return (await response.json()) as { configure: string; write: string; read: string };
}

t.test("agency B cannot find A's queues by the old predictable names, nor passively declare them", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B, { start: false })]);
  const names = exchange.names;
  const tokenA = exchange.hub.directory.get(A)?.queueToken ?? '';
  t.match(tokenA, /^[A-Za-z0-9_-]{22}$/, "A's queue token: 128 random bits");
  t.not(tokenA, exchange.hub.directory.get(B)?.queueToken, 'every agency has its own');
  for (const lane of ['urgent', 'normal'] as const) {
    const queue = agencyQueueOf(exchange, A, lane);
    t.equal(queue, `${names.prefix}.agency.${A}.${tokenA}${lane === 'urgent' ? '.urgent' : ''}`);
    t.ok(await exchange.api.getQueue(queue), `${queue} exists`);
  }

  // B's own client, with B's credentials: what an enrolled agency can do when it tries.
  const connection = await connectAs(t, exchange, B);
  const channel = (): Promise<Channel> => connection.createChannel();
  const guesses = [
    names.agencyQueue({ organId: A, queueToken: '' }, 'normal'),
    names.agencyQueue({ organId: A, queueToken: '' }, 'urgent'),
    names.agencyQueue({ organId: A, queueToken: exchange.hub.directory.get(B)?.queueToken ?? '' }, 'normal'),
  ];
  for (const guess of guesses) {
    const error = await brokerAnswer(channel, (ch) => ch.checkQueue(guess));
    t.equal(error?.code, 404, `passive declare of ${guess}: NOT_FOUND, no depth, no consumer count`);
    t.match(error?.message, /NOT_FOUND/);
  }
  // The same passive declare works on a name B knows: its own queue (so the 404s above are about the names).
  const own = await channel();
  const ownQueue = await own.checkQueue(agencyQueueOf(exchange, B, 'normal'));
  t.equal(ownQueue.messageCount, 0, 'B passively declares its own queue');
  await own.close();
});

t.test('the exchange works end to end on the tokened names', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const a = exchange.edge(A);
  const sent = await a.outbox.submitDocument(letter([B], 901), 'test');
  await waitFor("B's 01 back at A", () => stageAt(a, sent.documentId, B) === '01', { describe: () => a.document(sent.documentId)?.deliveries });
  t.equal(stageAt(a, sent.documentId, B), '01');
  t.ok(exchange.edge(B).document(sent.documentId), "the document is in B's inbox");
  // The management API counts consumers from sampled statistics: a queue can be listed before its count is.
  const consumers = await waitFor("the broker's count of consumers of B's queue", async () => (await exchange.api.getQueue(agencyQueueOf(exchange, B, 'normal')))?.consumers, { intervalMs: 250 });
  t.equal(consumers, 1, "B's edge consumes its tokened queue");
});

t.test("an agency's permissions allow exactly its two tokened queues", async (t) => {
  const { exchange } = await openExchange(t, [agency(A, { start: false })]);
  const names = exchange.names;
  const owner = exchange.hub.directory.get(A);
  if (!owner) throw new Error('A is not registered');
  const permissions = await permissionsOf(t, exchange.hubConfig.management, owner.brokerUser);
  const read = new RegExp(permissions.read);
  t.same(
    [agencyQueueOf(exchange, A, 'urgent'), agencyQueueOf(exchange, A, 'normal')].map((q) => read.test(q)),
    [true, true],
    'its own two queues',
  );
  const decoys = [
    names.agencyQueue({ organId: A, queueToken: '' }, 'normal'),
    names.agencyQueue({ organId: A, queueToken: '' }, 'urgent'),
    names.agencyQueue({ organId: A, queueToken: 'another-token' }, 'normal'),
    `${agencyQueueOf(exchange, A, 'normal')}.extra`,
    `${agencyQueueOf(exchange, A, 'normal')}X`,
  ];
  for (const decoy of decoys) t.notOk(read.test(decoy), `not ${decoy}`);
  t.equal(permissions.configure, '^$');

  // On the broker: queues at the old and at a foreign name exist, A may not read them.
  for (const decoy of decoys.slice(0, 3)) await exchange.api.putQueue(decoy, { 'x-queue-type': 'quorum' });
  const connection = await connectAs(t, exchange, A);
  for (const decoy of decoys.slice(0, 3)) {
    const error = await brokerAnswer(() => connection.createChannel(), (ch) => ch.consume(decoy, () => {}));
    t.equal(error?.code, 403, `consuming ${decoy}: ACCESS_REFUSED`);
  }
  for (const lane of ['urgent', 'normal'] as const) {
    const error = await brokerAnswer(
      () => connection.createChannel(),
      async (ch) => {
        const { consumerTag } = await ch.consume(agencyQueueOf(exchange, A, lane), () => {});
        await ch.cancel(consumerTag);
      },
    );
    t.equal(error, undefined, `consuming its own ${lane} queue`);
  }
});

t.test('agency add hands the token over in the AMQP URL; the edge configuration reads it from there', async (t) => {
  const { exchange } = await openExchange(t, [], { startHub: false });
  const dir = mkdtempSync(join(tmpdir(), 'lt-queue-names-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hubConfig = join(dir, 'hub.json');
  writeFileSync(
    hubConfig,
    JSON.stringify({
      organId: '000.00.90.H12',
      amqpUrl: exchange.amqpUrl,
      prefix: exchange.prefix,
      management: exchange.hubConfig.management,
      dataDir: join(dir, 'hub'),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
    }),
  );
  const urlFile = join(dir, 'a.url');
  const out: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, env: {}, cwd: dir } as unknown as Parameters<typeof main>[1];
  const code = await main(['agency', 'add', A, '--name', 'Văn phòng UBND tỉnh Cà Mau', '--config', hubConfig, '--write-url', urlFile], io);
  t.equal(code, 0, out.join(''));
  const url = readFileSync(urlFile, 'utf8').trim();
  const token = new URL(url).searchParams.get('queueToken') ?? '';
  t.match(token, /^[A-Za-z0-9_-]{22}$/, 'the URL carries the queue token');
  t.notOk(out.join('').includes(token), 'and only the file does (no token on stdout)');

  const edge = edgeConfigFrom(
    { organId: A, hubOrganId: '000.00.90.H12', amqpUrl: url, identity: { key: 'k.pem', cert: 'c.pem' }, trust: { anchors: ['r.pem'] } },
    dir,
    'edge.json',
    {},
  );
  t.equal(edge.queueToken, token);
  t.equal(edge.brokerUser, exchange.names.agencyUser(A));
  const queue = exchange.names.agencyQueue(edge, 'normal');
  t.ok(await exchange.api.getQueue(queue), `the edge's queue ${queue} is the one provisioned`);

  const legacy = edgeConfigFrom({ organId: B, hubOrganId: '000.00.90.H12', amqpUrl: 'amqp://u:p@127.0.0.1:5672', identity: { key: 'k', cert: 'c' }, trust: { anchors: ['r'] } }, dir, 'edge.json', {});
  t.equal(legacy.queueToken, '', 'a URL without a token: the old names');
  t.throws(
    () => edgeConfigFrom({ organId: B, hubOrganId: '000.00.90.H12', amqpUrl: 'amqp://u:p@h?queueToken=a.b%23', identity: { key: 'k', cert: 'c' }, trust: { anchors: ['r'] } }, dir, 'edge.json', {}),
    { code: 'CONFIG_INVALID' },
    'a token that is not one agency add writes is refused',
  );
});
