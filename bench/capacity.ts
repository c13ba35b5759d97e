/**
 * What a province of 2,000 agencies costs the broker and the hub, on a private RabbitMQ node
 * with production limits (never the shared broker): provisioning time per agency through the
 * real provisioning code (`agency add`: user, limits, permissions, two quorum queues, bindings),
 * the node's memory and open files per agency, the hub's start time with 2,000 agencies, and
 * routing latency (inbound packet taken → decision published and confirmed) to 1 and to 50
 * recipients. The figures per queue are what src/broker/capacity.ts's model is set from.
 *
 *   npm run bench:capacity                  # 2,000 agencies
 *   LT_BENCH_AGENCIES=300 npm run bench:capacity
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { estimate } from '../src/broker/capacity.js';
import { LANES } from '../src/broker/topology.js';
import { startLocalExchange } from '../src/demo/local-exchange.js';
import { Hub } from '../src/hub/hub.js';
import { addAgency } from '../src/hub/provisioning.js';
import { quotasOf } from '../src/hub/config.js';
import type { RouteOutcome } from '../src/hub/router.js';
import { silentLogger } from '../src/log.js';
import { startPrivateBroker } from '../test/helpers/private-broker.js';
import { fmt, percentile, table } from './harness.js';

/** The open-file limit of the node: production's 65,536 where the machine allows it (its hard limit otherwise). */
const OPEN_FILES = Number(process.env.LT_BENCH_OPEN_FILES ?? 20_000);
const SENDER = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
const MIB = 2 ** 20;

const organId = (i: number): string => `000.${String(Math.floor(i / 100)).padStart(2, '0')}.${String(i % 100).padStart(2, '0')}.H98`;

/** The Erlang VM's resident memory and open files, from /proc (what the OS counts, not what RabbitMQ reports). */
function vmUsage(pid: number): { rss: number; fds: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return { rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

export async function benchCapacity(agencies = 2000): Promise<string> {
  const teardowns: Array<() => unknown> = [];
  const out: string[] = [];
  // Each figure also goes to stderr as it comes: the whole run takes a while.
  const note = (text: string): void => {
    out.push(text);
    console.error(text);
  };
  try {
    const broker = await startPrivateBroker({ teardown: (fn: () => unknown) => void teardowns.unshift(fn) } as never, { management: true, openFiles: OPEN_FILES });
    const management = { url: broker.managementUrl as string, user: 'guest', password: 'guest' };
    const outcomes: RouteOutcome[] = [];
    const exchange = await startLocalExchange({
      amqpUrl: broker.url,
      management,
      prefixBase: 'lt-bench-capacity',
      agencies: [SENDER],
      hubConfig: { cryptoThreads: 2, quotas: { packetsPerMinute: 0 } },
      hubOptions: { onRouted: (o) => outcomes.push(o) },
    });
    let exchangeHubRuns = true;
    // The exchange's own hub is replaced below by one started cold: stop only what still runs,
    // and remove the databases either way (the edges-only branch left them in the temp dir).
    teardowns.unshift(async () => {
      if (exchangeHubRuns) return exchange.stop({ keepBroker: true });
      await Promise.all([...exchange.edges.values()].map((e) => e.stop()));
      rmSync(exchange.dir, { recursive: true, force: true });
    });
    const { api, names } = exchange;
    const vm = broker.pids().at(-1) as number;
    const settle = async (): Promise<{ rss: number; fds: number; memUsed: number }> => {
      // The management statistics are emitted every 5 s.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const node = (await fetch(`${management.url}/api/nodes`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } }).then((r) => r.json())) as Array<{ mem_used: number }>;
      return { ...vmUsage(vm), memUsed: node[0]?.mem_used ?? NaN };
    };
    // A node publishes its statistics some seconds after it starts: until then /api/nodes has no budget.
    let facts = (await api.nodeBudgets())[0];
    for (let waited = 0; !facts && waited < 30_000; waited += 1000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      facts = (await api.nodeBudgets())[0];
    }
    // "File Descriptors\n\nTotal: 50, limit: 927" (with terminal colours): the handles RabbitMQ allows itself.
    const status = (await broker.ctl('status')).replace(/\x1b\[[0-9;]*m/g, '');
    const nodeLimit = /File Descriptors\s+Total: (\d+), limit: (\d+)/.exec(status);
    note(`Private node: ulimit -n ${OPEN_FILES}; rabbitmqctl status: file descriptors limit ${nodeLimit?.[2] ?? '?'}; management: fd_total ${facts?.fdTotal}, sockets_total ${facts?.socketsTotal}, mem_limit ${Math.round((facts?.memLimit ?? 0) / MIB)} MiB`);

    // Provisioning, each agency through the real code path of `agency add`.
    const before = await settle();
    const ctx = { db: exchange.hub.db, api, names, actor: 'bench', userLimits: quotasOf(exchange.hubConfig) };
    const times: number[] = [];
    const samples: Array<Record<string, string | number>> = [];
    const started = performance.now();
    for (let i = 1; i <= agencies; i++) {
      const t0 = performance.now();
      await addAgency(ctx, { organId: organId(i), name: `Cơ quan đo ${i}` });
      times.push(performance.now() - t0);
      if (i % 500 === 0 || i === agencies) {
        const now = await settle();
        console.error(`${i} agencies provisioned`);
        samples.push({ agencies: i, 'VM RSS MiB': fmt(now.rss / MIB), 'mem_used MiB': fmt(now.memUsed / MIB), 'open files': now.fds, 'mean ms/agency so far': fmt(times.reduce((a, b) => a + b, 0) / times.length, 1) });
      }
    }
    const wall = (performance.now() - started) / 1000;
    const after = await settle();
    const sorted = [...times].sort((a, b) => a - b);
    const perAgency = { rss: (after.rss - before.rss) / agencies, mem: (after.memUsed - before.memUsed) / agencies, fds: (after.fds - before.fds) / agencies };
    note(`Provisioning ${agencies} agencies (${LANES.length} quorum queues each): ${fmt(wall)} s`);
    note(table(samples));
    note(
      table([
        { measure: 'provisioning per agency, mean ms', value: fmt(times.reduce((a, b) => a + b, 0) / agencies) },
        { measure: 'provisioning per agency, p50 / p95 / p99 ms', value: `${fmt(percentile(sorted, 50))} / ${fmt(percentile(sorted, 95))} / ${fmt(percentile(sorted, 99))}` },
        { measure: 'broker memory per agency (VM RSS), KiB', value: fmt(perAgency.rss / 1024) },
        { measure: 'broker memory per agency (mem_used), KiB', value: fmt(perAgency.mem / 1024) },
        { measure: 'broker open files per agency (idle, no edge connected), /proc', value: fmt(perAgency.fds, 2) },
      ]),
    );
    const model = estimate(agencies, LANES.length, facts ?? { node: '?', fdTotal: OPEN_FILES, socketsTotal: OPEN_FILES, memLimit: Infinity });
    note(`Model (src/broker/capacity.ts) for ${agencies} agencies on this node: needs ${model.needFds} fds of ${model.haveFds}, ${Math.round(model.needMem / MIB)} MiB of ${Math.round(model.haveMem / MIB)} MiB; room for ${model.maxAgencies}`);

    // Routing latency: documents from the sender to 1 and to 50 of the provisioned agencies.
    const sender = exchange.edge(SENDER.organId);
    let numbered = 0; // document numbers are unique per sender
    const latency = async (recipients: number, documents: number): Promise<Record<string, string | number>> => {
      const to = Array.from({ length: recipients }, (_, k) => ({ organId: organId(1 + ((k * 37) % agencies)), organName: `Cơ quan đo ${k}` }));
      // One at a time, each routed before the next is submitted: the latency of a packet, not of a backlog.
      const seconds: number[] = [];
      for (let i = 0; i < documents; i++) {
        const from = outcomes.length;
        await sender.outbox.submitDocument({ to, code: { codeNumber: String((numbered += 1)), codeNotation: 'BENCH' }, subject: `V/v đo định tuyến ${recipients} ${i}` }, 'bench');
        const deadline = Date.now() + 120_000;
        let routed: RouteOutcome | undefined;
        while (!(routed = outcomes.slice(from).find((o) => o.kind === 'document'))) {
          if (Date.now() > deadline) throw new Error('a document was not routed within 2 minutes');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        seconds.push((routed.seconds ?? NaN) * 1000);
      }
      seconds.sort((a, b) => a - b);
      return { recipients, documents, 'p50 ms': fmt(percentile(seconds, 50), 1), 'p95 ms': fmt(percentile(seconds, 95), 1), 'p99 ms': fmt(percentile(seconds, 99), 1) };
    };
    await latency(1, 10); // warm-up
    note(`Routing latency with ${agencies} agencies (inbound packet taken → every recipient's copy published and confirmed), each document routed before the next is sent:`);
    note(table([await latency(1, 200), await latency(50, 100)]));

    // Hub start with every agency in the directory (topology declared for each on connect).
    await exchange.hub.stop();
    exchangeHubRuns = false;
    const hub = new Hub(exchange.hubConfig, { log: silentLogger() });
    const t0 = performance.now();
    await hub.start();
    const startMs = performance.now() - t0;
    await hub.stop();
    note(`Hub start with ${agencies} agencies (identity, trust, connect, topology of every agency declared): ${fmt(startMs / 1000, 2)} s`);
  } finally {
    for (const fn of teardowns) await fn();
  }
  return [...out, ''].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchCapacity(Number(process.env.LT_BENCH_AGENCIES ?? 2000)));
}
