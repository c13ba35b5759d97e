/**
 * Starting an edge the way agency IT does in its first hour (issue 10), as real processes
 * (bin/lienthong.js; `npm run build` first) against the real broker:
 *
 * - an edge refuses to start unless its AMQP URL connects as its own agency's broker user
 *   (none at all, the administrator guest, another agency's), saying which user it must be;
 * - a second edge for one agency is refused at once, on the same data directory (naming the
 *   first one's PID) or, from anywhere, on the agency's queues; a kill -9'd edge leaves no lock;
 * - an edge started through npm (which runs it under `sh -c`, so signals to npm never reach
 *   it) stops by itself when npm goes away, instead of living on under PID 1.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AGENCY_A, AGENCY_B, CLI, REPO, childEnv, startCluster } from '../helpers/processes.js';
import { waitFor } from '../helpers/exchange.js';

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a lienthong verb to its end. */
function lienthong(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, env: childEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Running, and not a zombie waiting for an init that does not reap (Linux /proc; elsewhere kill 0). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync('/proc/self/stat')) return existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('an edge refuses to start unless its AMQP URL connects as its own agency', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-start', agencies: [AGENCY_A, AGENCY_B] });
  const A = AGENCY_A.organId;
  const own = cluster.names.agencyUser(A);
  const configOf = (organId: string): Record<string, unknown> => JSON.parse(readFileSync(cluster.edgeConfigPath(organId), 'utf8')) as Record<string, unknown>;
  const withoutUrl = join(cluster.dir, 'edge-without-url.json');
  const { amqpUrl: _dropped, ...rest } = configOf(A);
  writeFileSync(withoutUrl, JSON.stringify(rest));
  const adminUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const admin = decodeURIComponent(new URL(adminUrl).username);

  const cases: Array<{ name: string; config: string; env: Record<string, string>; names: RegExp }> = [
    { name: 'no AMQP URL at all (before: the administrator, guest)', config: withoutUrl, env: {}, names: /no AMQP URL is configured/ },
    { name: "the administrator's URL", config: withoutUrl, env: { AMQP_URL: adminUrl }, names: new RegExp(`broker user "${admin}", which is no agency's`) },
    { name: "another agency's URL", config: cluster.edgeConfigPath(A), env: { AMQP_URL: configOf(AGENCY_B.organId).amqpUrl as string }, names: new RegExp(`agency ${AGENCY_B.organId.replace(/\./g, '\\.')}'s`) },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const run = await lienthong(['edge', '--config', c.config], c.env);
      t.equal(run.code, 1, 'exits 1');
      t.match(run.stderr, /^lienthong edge: .*\(BROKER_USER_MISMATCH\)\n$/, 'one line with the code, no stack trace');
      t.match(run.stderr, c.names, 'names what it got');
      t.match(run.stderr, own, 'and the broker user it must be');
      t.match(run.stderr, `"lienthong agency add ${A}" printed`, 'and where to find the right URL');
      t.notMatch(run.stdout, /edge started|packet sent/, 'never says it started');
    });
  }
});

t.test('one edge per agency: a second is refused at once, a crashed one leaves no lock', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-start', agencies: [AGENCY_A] });
  const A = AGENCY_A.organId;
  const first = cluster.edge(A);
  await first.start();

  await t.test('on the same data directory: named by its PID', async (t) => {
    const run = await lienthong(['edge', '--config', cluster.edgeConfigPath(A)]);
    t.equal(run.code, 1);
    t.match(run.stderr, /^lienthong edge: another edge, PID \d+ on .* holds the data directory .* \(EDGE_ALREADY_RUNNING\)\n$/);
    t.match(run.stderr, `PID ${first.pid} `, "the first edge's PID");
    t.notMatch(run.stdout, /edge started/);
  });

  await t.test('elsewhere with the same AMQP URL (another data directory): by its queues', async (t) => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'lt-start-elsewhere-'));
    t.teardown(() => rmSync(elsewhere, { recursive: true, force: true }));
    const run = await lienthong(['edge', '--config', cluster.edgeConfigPath(A)], { LT_DATA_DIR: elsewhere });
    t.equal(run.code, 1);
    t.match(run.stderr, /another edge of .* already consumes its urgent queue \(1 consumer\).*\(EDGE_ALREADY_RUNNING\)\n$/);
    t.notMatch(run.stdout, /edge started/);
  });
  t.ok(first.running, 'the first edge runs on, undisturbed');

  await t.test('kill -9: the next start is not blocked', async (t) => {
    await first.kill();
    await first.start();
    t.ok(first.running, 'started again');
  });
});

t.test('an edge started through npm stops when npm goes away', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-start', agencies: [AGENCY_A] });
  const A = AGENCY_A.organId;
  const logFile = join(cluster.dir, 'npm-edge.log');
  const fd = openSync(logFile, 'a');
  // What `npx lienthong edge` runs: npm → sh -c → node. "; exit $?" keeps dash from exec'ing
  // node (as npm's own command line does), and npm_execpath is what npm puts in the environment.
  const shell = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" edge --config "${cluster.edgeConfigPath(A)}"; exit $?`], {
    cwd: REPO,
    env: childEnv({ npm_execpath: 'npm-cli.js', npm_command: 'exec' }),
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const shellExited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
  t.teardown(() => {
    shell.kill('SIGKILL');
  });
  await waitFor('the edge under sh says it started', () => readFileSync(logFile, 'utf8').includes('"msg":"edge started"'));
  const holder = JSON.parse(readFileSync(join(cluster.dir, A, 'edge.lock.holder'), 'utf8')) as { pid: number };
  t.teardown(() => {
    if (alive(holder.pid)) process.kill(holder.pid, 'SIGKILL');
  });
  t.not(holder.pid, shell.pid, 'node runs under the shell, not in its place');

  shell.kill('SIGTERM'); // what stopping npm does to its shell; node never sees a signal
  await shellExited;
  await waitFor('the orphaned edge stopped by itself', () => !alive(holder.pid), { timeoutMs: 20_000 });
  const log = readFileSync(logFile, 'utf8');
  t.match(log, /edge: its parent process \(PID \d+\) has gone, stopping/, 'it says why');
  t.match(log, '"msg":"edge stopped"', 'and stopped cleanly');

  const next = cluster.edge(A);
  await next.start();
  t.ok(next.running, 'the next edge for the agency starts');
});
