/**
 * Children die with their parent (issue 11): a test process that tap times out is SIGKILLed and
 * cleans nothing up, and the hubs, edges and RabbitMQ nodes it started used to run on for hours
 * against the broker. Here a parent (test/helpers/orphan-parent.ts) starts a hub, an edge and a
 * private RabbitMQ node through the test helpers, is SIGKILLed, and every one of them must end
 * by itself: hub and edge stop cleanly (LT_STOP_WITH_PID), the node is stopped by its wrapper.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/exchange.js';
import { AGENCY_A, REPO, childEnv, startCluster } from '../helpers/processes.js';

/** Running, and not a zombie nobody has reaped yet (Linux /proc). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  return existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

t.test('a SIGKILLed parent leaves no hub, edge or RabbitMQ node behind', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-orphans', agencies: [AGENCY_A] });
  // Without npm's mark (tap may run under npx): the children then stop through LT_STOP_WITH_PID
  // alone, which reaches through shells and wrappers, not because their parent changed.
  const { npm_execpath: _npm, ...env } = childEnv();
  const parent = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'helpers', 'orphan-parent.ts'), cluster.hubConfigPath, cluster.edgeConfigPath(AGENCY_A.organId), cluster.dir], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const parentExited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
  let out = '';
  parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  let children: number[] = [];
  t.teardown(async () => {
    parent.kill('SIGKILL');
    for (const pid of children) {
      try {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  const started = await waitFor('the parent to start hub, edge and broker', () => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line) return JSON.parse(line) as { hub: number; edge: number; broker: number[]; brokerDir: string };
    if (parent.exitCode !== null) throw new Error(`the parent exited (${parent.exitCode}) before starting its children`);
    return undefined;
  });
  children = [started.hub, started.edge, ...started.broker];
  t.teardown(() => rmSync(started.brokerDir, { recursive: true, force: true }));
  t.equal(started.broker.length, 2, 'the node: its wrapper and the Erlang VM');
  for (const pid of children) t.ok(alive(pid), `PID ${pid} runs`);

  parent.kill('SIGKILL'); // what tap's timeout does: no teardown, no exit handler
  await parentExited;
  for (const [name, pid] of [['hub', started.hub], ['edge', started.edge], ['RabbitMQ wrapper', started.broker[0]], ['RabbitMQ VM', started.broker[1]]] as const) {
    await waitFor(`the ${name} (PID ${pid}) to end`, () => !alive(pid as number));
    t.pass(`the ${name} ended by itself`);
  }
  const hubLog = readFileSync(join(cluster.dir, 'orphan-hub.log'), 'utf8');
  const edgeLog = readFileSync(join(cluster.dir, 'orphan-edge.log'), 'utf8');
  for (const [name, log, stopped] of [['hub', hubLog, 'hub stopped'], ['edge', edgeLog, 'edge stopped']] as const) {
    t.match(log, new RegExp(`${name}: the process it stops with \\(PID ${parent.pid}, LT_STOP_WITH_PID\\) has gone, stopping`), `the ${name} says why`);
    t.match(log, `"msg":"${stopped}"`, `and stopped cleanly`);
  }
});
