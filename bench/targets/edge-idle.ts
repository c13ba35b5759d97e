/**
 * RSS of an idle edge: a real `lienthong edge` process, connected to a real hub through the
 * local RabbitMQ under a prefix of its own (test/helpers/processes.ts provisions it as the e2e
 * tests do, and deletes every queue, exchange, policy and user of the prefix afterwards), read
 * after it has had nothing to do for a while; next to a Node.js process that only keeps a timer.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster } from '../../test/helpers/processes.js';
import { plainEnv } from './child.js';
import { procStatusBytes } from './proc-status.js';
import type { Sample } from './stats.js';

const AGENCY = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };

/**
 * The agency provisioned once for every run; hub and edge run only while measured, so that
 * they take nothing from the other figures.
 */
export async function openIdleBench(): Promise<{ measure: () => Promise<Sample[]>; close: () => Promise<void> }> {
  const cluster: Cluster = await startCluster(undefined, {
    prefixBase: 'lt-bench-idle',
    agencies: [AGENCY],
    // The helpers run every node with one crypto thread; the target is about an edge as configured by default.
    edgeConfig: { cryptoThreads: undefined },
  });
  const idleMs = Number(process.env.LT_BENCH_IDLE_SECONDS ?? 10) * 1000;
  return {
    async measure() {
      const edge = cluster.edge(AGENCY.organId);
      await cluster.hub.start();
      try {
        await edge.start();
        const baseline = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: plainEnv(), stdio: 'ignore' });
        try {
          await sleep(idleMs);
          const edgeRss = procStatusBytes(edge.pid as number, 'VmRSS');
          const baselineRss = procStatusBytes(baseline.pid as number, 'VmRSS');
          return [{ name: `edge, ${idleMs / 1000} s after "edge started"`, measured: edgeRss, baseline: baselineRss, ratio: edgeRss / baselineRss }];
        } finally {
          baseline.kill();
          await edge.stop();
        }
      } finally {
        await cluster.hub.stop();
      }
    },
    close: () => cluster.cleanup(),
  };
}
