import t from 'tap';
import { DEFAULT_CAPACITY_MODEL, estimate, tightest, type BrokerFacts } from '../../src/broker/capacity.js';
import { capacityProblem } from '../../src/hub/broker-capacity.js';

const GiB = 2 ** 30;
// RabbitMQ's defaults on a stock Debian host: ulimit -n 1024, sockets 90% of what it keeps.
const stock: BrokerFacts = { node: 'rabbit@hub', fdTotal: 1024, socketsTotal: 832, memLimit: 0.4 * 8 * GiB };
const production: BrokerFacts = { node: 'rabbit@hub', fdTotal: 65_536, socketsTotal: 58_890, memLimit: 0.6 * 16 * GiB };

t.test('a stock broker holds a province of a hundred agencies', async (t) => {
  const e = estimate(100, 2, stock);
  t.ok(e.ok);
  t.same(e.advice, []);
  t.ok(e.needFds <= e.haveFds);
  t.equal(e.haveFds, 1024 - DEFAULT_CAPACITY_MODEL.fdReserved, 'RabbitMQ keeps its own reserve out of the budget');
});

t.test('the 1,024 open-file wall is found before the broker meets it, with the setting to raise', async (t) => {
  const e = estimate(200, 2, stock);
  t.notOk(e.ok);
  t.ok(e.needFds > e.haveFds);
  t.ok(e.maxAgencies < 200 && e.maxAgencies > 100, `room for ${e.maxAgencies}`);
  t.equal(e.advice.length, 1, 'only the descriptors are short');
  t.match(e.advice[0], /rabbit@hub/);
  t.match(e.advice[0], /LimitNOFILE/);
  t.match(e.advice[0], /ulimit -n/);
  t.match(e.advice[0], /65536/);
  // The agency count where the estimate turns is the one maxAgencies names.
  t.ok(estimate(e.maxAgencies, 2, stock).ok, 'maxAgencies fits');
  t.notOk(estimate(e.maxAgencies + 1, 2, stock).ok, 'one more does not');
});

t.test('the advised open-file limit does hold the agencies', async (t) => {
  const advice = estimate(2000, 2, stock).advice[0] as string;
  const advised = Number(/at least (\d+)/.exec(advice)?.[1]);
  t.ok(advised > 1024);
  const fdsOnly = estimate(2000, 2, { ...stock, fdTotal: advised, socketsTotal: Math.floor(advised * 0.9), memLimit: 64 * GiB });
  t.ok(fdsOnly.ok, `${advised} descriptors hold 2,000 agencies`);
});

t.test('too few connections is short too, even with descriptors to spare', async (t) => {
  const e = estimate(300, 2, { ...production, socketsTotal: 200 });
  t.notOk(e.ok);
  t.match(e.advice[0], /300 agencies need about \d+ file descriptors and 304 connections/);
});

t.test('memory below the watermark names vm_memory_high_watermark', async (t) => {
  const e = estimate(2000, 2, { ...production, memLimit: 256 * 2 ** 20 });
  t.notOk(e.ok);
  t.equal(e.advice.length, 1);
  t.match(e.advice[0], /vm_memory_high_watermark/);
  t.ok(e.needMem > e.haveMem);
});

t.test('production limits hold 2,000 agencies', async (t) => {
  const e = estimate(2000, 2, production);
  t.ok(e.ok, e.advice.join());
  t.ok(e.maxAgencies >= 2000);
});

t.test('a cluster is as tight as its tightest node; the problem names every short node', async (t) => {
  const a = estimate(300, 2, { ...production, node: 'rabbit@a' });
  const b = estimate(300, 2, { ...stock, node: 'rabbit@b' });
  t.equal(tightest([a, b])?.node, 'rabbit@b');
  t.equal(capacityProblem([a]), undefined);
  t.match(capacityProblem([a, b]) ?? '', /rabbit@b/);
  t.notMatch(capacityProblem([a, b]) ?? '', /rabbit@a/);
  t.equal(tightest([]), undefined);
});
