/**
 * A whole exchange as real processes: `lienthong hub --config hub.json` and one
 * `lienthong edge --config edge.json` per agency, each a child process of the test, under a
 * fresh broker prefix and a fresh temporary directory. Configuration files are written as an
 * operator would write them (JSON, absolute paths), agencies are provisioned with the real CLI
 * (`lienthong agency add ... --json`), and every child's stdout/stderr (JSON log lines) goes to
 * a file in the temporary directory, which is also how the helper knows a process is up.
 *
 * The children run the compiled program (bin/lienthong.js → dist/): `npm run build` first.
 *
 * Processes can be SIGKILLed and restarted at any moment. `cleanup()` (registered as a tap
 * teardown by `startCluster`) kills what still runs, deletes everything the prefix owns on the
 * broker and removes the temporary directory, whether the test passed or not; set
 * LT_KEEP_TMP=1 to keep the directory (configs, databases, logs) for a post-mortem.
 */
import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import Database from 'better-sqlite3';
import type { Test } from 'tap';
import { ManagementClient } from '../../src/broker/management.js';
import type { BrokerTls } from '../../src/broker/tls.js';
import { resourceNames, type ResourceNames } from '../../src/broker/names.js';
import { deleteDeployment } from '../../src/broker/topology.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { withCredentials } from '../../src/broker/connection.js';
import { DEV_HUB, devPath, devTrust, managementOptions } from '../../src/demo/local-exchange.js';
import { loadEdgeConfig } from '../../src/edge/config.js';
import { Edge } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/log.js';
import { EVENT_DEADLINE_MS } from './deadline.js';
import { CLI, REPO, childEnv } from './cli.js';

const run = promisify(execFile);

export { CLI, REPO, childEnv, runCli, type CliRun } from './cli.js';

/** A TCP port on 127.0.0.1 nobody listened on a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sender and recipient of the crash tests (certificates in certs-dev/agencies/). */
export const AGENCY_A = { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' };
export const AGENCY_B = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };

const TIED = join(REPO, 'test', 'helpers', 'tied-to-parent.mjs');

/**
 * Spawn a program that knows nothing of this test process (a RabbitMQ node, clamd) so that it
 * dies with it however the test ends: through tied-to-parent.mjs, which holds a pipe from this
 * process and stops the program's process group (SIGTERM, then SIGKILL after `graceMs`) when
 * the pipe closes. The returned child is the wrapper, leader of that group (`kill(-pid)` ends
 * it all); its exit is the program's.
 */
export function spawnTied(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; graceMs?: number; stdout?: 'ignore' | 'pipe'; stderr?: 'ignore' | 'pipe' } = {}): ChildProcess {
  const stdio: StdioOptions = ['pipe', options.stdout ?? 'ignore', options.stderr ?? 'ignore'];
  const child = spawn(process.execPath, [TIED, String(options.graceMs ?? 10_000), command, ...args], {
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio,
    detached: true,
  });
  child.stdin?.on('error', () => {}); // the wrapper gone first: nothing to tell it
  return child;
}

// Children still running when the test process goes away are killed with it.
const live = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = (): void => {
    for (const child of live) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAll();
      // Only listener: behave as the default action would (die by the signal).
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One long-running lienthong program (hub or edge), restartable. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Times started. */
  starts = 0;
  kills = 0;
  /** Set by the cluster's cleanup: no more starts (a late restart would leave an orphan). */
  disabled = false;
  /** How the last run ended: its exit code ("0", "1") or the signal that ended it ("SIGKILL"). */
  lastExit: string | undefined;

  constructor(
    /** "hub", or the agency's organ id. */
    readonly name: string,
    readonly args: string[],
    readonly logFile: string,
    /** The log message meaning "up". */
    readonly readyMessage: string,
    /** Node's own options before the program (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
    readonly nodeArgs: readonly string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawn and wait until the log says it is up (throws with the log's tail if it dies first). */
  async start(timeoutMs = EVENT_DEADLINE_MS): Promise<void> {
    if (this.disabled) throw new Error(`${this.name}: the cluster is cleaned up; not starting again`);
    if (this.child) throw new Error(`${this.name} is already running (pid ${this.child.pid})`);
    hookExit();
    const offset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...this.nodeArgs, CLI, ...this.args], { cwd: REPO, env: childEnv(), stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child has its own copy
    }
    this.child = child;
    this.starts += 1;
    live.add(child);
    let exitCode: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = signal ?? String(code);
        this.lastExit = exitCode;
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    const needle = `"msg":"${this.readyMessage}"`;
    for (;;) {
      if (this.logSince(offset).includes(needle)) return;
      if (exitCode !== undefined) throw new Error(`${this.name} exited (${exitCode}) before "${this.readyMessage}":\n${this.tail(30)}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} not up within ${timeoutMs} ms:\n${this.tail(30)}`);
      }
      await sleep(50);
    }
  }

  /** SIGKILL (no chance to finish anything) and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.kills += 1;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (clean stop: finish, ack, close), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = EVENT_DEADLINE_MS): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(pauseMs = 0): Promise<void> {
    await this.kill();
    if (pauseMs > 0) await sleep(pauseMs);
    await this.start();
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private logSince(offset: number): string {
    if (!existsSync(this.logFile)) return '';
    const all = readFileSync(this.logFile);
    return all.subarray(Math.min(offset, all.length)).toString('utf8');
  }

  tail(lines: number): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Log lines (parsed JSON) at `level` or above (pino: 40 warn, 50 error, 60 fatal). */
  levels(level: number): Array<Record<string, unknown>> {
    return this.parsed().filter((l) => typeof l.level === 'number' && l.level >= level);
  }

  private parsed(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.log().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut short by SIGKILL
      }
    }
    return out;
  }

  /** Log lines (parsed JSON; other lines skipped) whose msg is `msg`. */
  lines(msg: string): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of this.log().split('\n')) {
      if (!line.includes(msg)) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === msg) out.push(parsed);
      } catch {
        // a line cut short by SIGKILL, or stderr text
      }
    }
    return out;
  }
}

export interface ClusterOptions {
  /** Prefix base; the prefix is "<base>-xxxxxx". Default "lt-crash". */
  prefixBase?: string;
  agencies?: Array<{ organId: string; organName: string }>;
  /** Extra fields of hub.json / each edge.json. */
  hubConfig?: Record<string, unknown>;
  edgeConfig?: Record<string, unknown>;
  /** Extra fields of one agency's edge.json, by organ id, after `edgeConfig` (e.g. a `dataDir` elsewhere). */
  edgeConfigOf?: Record<string, Record<string, unknown>>;
  /** Node's options for every hub and edge process (a benchmark's --cpu-prof), not for the CLI commands that provision them. */
  nodeArgs?: string[];
  /** A broker of the test's own (test/helpers/private-broker.ts, with management): every node's AMQP URL (an administrator's) and management URL. */
  broker?: { amqpUrls: string[]; managementUrls: string[]; tls?: BrokerTls };
}

export interface Cluster {
  prefix: string;
  /** The broker's AMQP URLs (as the administrator), one per node. */
  amqpUrls: string[];
  names: ResourceNames;
  dir: string;
  api: ManagementClient;
  hubConfigPath: string;
  hub: ManagedProcess;
  edge(organId: string): ManagedProcess;
  edgeConfigPath(organId: string): string;
  /** The edge's database path (its dataDir/edge.sqlite). */
  edgeDb(organId: string): string;
  hubDb: string;
  /** An Edge of the agency opened in this process (keys, crypto, outbox) but not connected: to submit like `lienthong send`. */
  openSubmitter(organId: string): Promise<Edge>;
  /** Stop a submitter (its crypto workers and database handle). */
  closeSubmitter(edge: Edge): Promise<void>;
  /** Stop every process (SIGTERM), leaving files and broker resources. */
  stopAll(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Open a SQLite database read-only, run `fn`, close it. */
export function readDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Write hub.json, provision the agencies with the CLI, write one edge.json each. Nothing is
 * started. With `t`, the cleanup is a teardown of `t`.
 */
export async function startCluster(t: Test | undefined, options: ClusterOptions = {}): Promise<Cluster> {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run "npm run build" first');
  const amqpUrls = options.broker?.amqpUrls ?? [process.env.AMQP_URL ?? DEFAULT_AMQP_URL];
  const amqpUrl = amqpUrls[0] as string;
  const brokerTls = options.broker?.tls;
  const management = managementOptions(amqpUrl, process.env, options.broker ? { url: options.broker.managementUrls.join(','), ...(brokerTls ? { tls: brokerTls } : {}) } : {});
  // One node: a string, as an operator writes it; a cluster: the list.
  const urlSetting = (urls: string[]): string | string[] => (urls.length > 1 ? urls : (urls[0] as string));
  const api = new ManagementClient(management);
  const prefix = `${options.prefixBase ?? 'lt-crash'}-${randomBytes(3).toString('hex')}`;
  const names = resourceNames(prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const agencies = options.agencies ?? [AGENCY_A, AGENCY_B];
  const processes: ManagedProcess[] = [];
  const edges = new Map<string, ManagedProcess>();
  const submitters = new Set<Edge>();
  const dataDirOf = (organId: string): string => {
    const own = options.edgeConfigOf?.[organId]?.dataDir;
    return typeof own === 'string' ? own : join(dir, organId);
  };

  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const edge of submitters) await edge.stop().catch(() => {});
    submitters.clear();
    for (const p of processes) p.disabled = true;
    await Promise.all(processes.map((p) => p.kill()));
    await deleteDeployment(api, names).catch(() => {});
    if (process.env.LT_KEEP_TMP) t?.comment(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  t?.teardown(async () => {
    if (t.passing?.() === false) {
      for (const p of processes) t.comment(`--- last lines of ${p.name} (${p.logFile}) ---\n${p.tail(15)}`);
    }
    await cleanup();
  });

  try {
    const hubConfigPath = join(dir, 'hub.json');
    const hubDataDir = typeof options.hubConfig?.dataDir === 'string' ? options.hubConfig.dataDir : join(dir, 'hub');
    writeFileSync(
      hubConfigPath,
      `${JSON.stringify(
        {
          organId: DEV_HUB.organId,
          organName: DEV_HUB.organName,
          amqpUrl: urlSetting(amqpUrls),
          prefix,
          // The hub takes the management API's CA from brokerTls.
          management: { ...management, tls: undefined },
          dataDir: hubDataDir,
          identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
          trust: devTrust(),
          cryptoThreads: 1,
          concurrency: 8,
          ...(brokerTls ? { brokerTls } : {}),
          ...options.hubConfig,
        },
        null,
        2,
      )}\n`,
    );
    const hub = new ManagedProcess('hub', ['hub', '--config', hubConfigPath], join(dir, 'hub.log'), 'hub started', options.nodeArgs);
    processes.push(hub);

    for (const agency of agencies) {
      const { stdout } = await run(process.execPath, [CLI, 'agency', 'add', agency.organId, '--name', agency.organName, '--config', hubConfigPath, '--json'], {
        cwd: REPO,
        env: childEnv(),
      });
      const added = JSON.parse(stdout) as { brokerUser: string; password: string; queueToken: string };
      if (!added.password || !added.brokerUser) throw new Error(`agency add ${agency.organId} printed no password: ${stdout}`);
      const configPath = join(dir, `edge-${agency.organId}.json`);
      writeFileSync(
        configPath,
        `${JSON.stringify(
          {
            organId: agency.organId,
            organization: { organId: agency.organId, organName: agency.organName },
            hubOrganId: DEV_HUB.organId,
            amqpUrl: urlSetting(amqpUrls.map((url) => withCredentials(url, added.brokerUser, added.password, added.queueToken))),
            prefix,
            dataDir: dataDirOf(agency.organId),
            identity: {
              key: devPath('agencies', `${agency.organId}.key.pem`),
              cert: devPath('agencies', `${agency.organId}.pem`),
              chain: devPath('issuing-ca.pem'),
            },
            trust: devTrust(),
            cryptoThreads: 1,
            concurrency: 4,
            ...options.edgeConfig,
            ...options.edgeConfigOf?.[agency.organId],
          },
          null,
          2,
        )}\n`,
      );
      const edge = new ManagedProcess(agency.organId, ['edge', '--config', configPath], join(dir, `edge-${agency.organId}.log`), 'edge started', options.nodeArgs);
      processes.push(edge);
      edges.set(agency.organId, edge);
    }

    const cluster: Cluster = {
      prefix,
      amqpUrls,
      names,
      dir,
      api,
      hubConfigPath,
      hub,
      hubDb: join(hubDataDir, 'hub.sqlite'),
      edge(organId) {
        const edge = edges.get(organId);
        if (!edge) throw new Error(`no edge for ${organId}`);
        return edge;
      },
      edgeConfigPath: (organId) => join(dir, `edge-${organId}.json`),
      edgeDb: (organId) => join(dataDirOf(organId), 'edge.sqlite'),
      async openSubmitter(organId) {
        const config = await loadEdgeConfig(join(dir, `edge-${organId}.json`), childEnv());
        const edge = new Edge(config, { log: silentLogger() });
        submitters.add(edge);
        await edge.open();
        return edge;
      },
      async closeSubmitter(edge) {
        if (!submitters.delete(edge)) return;
        await edge.stop();
      },
      async stopAll() {
        // Edges first: the hub then has nothing left to route when it stops.
        for (const p of processes.slice(1)) await p.stop();
        await hub.stop();
      },
      cleanup,
    };
    return cluster;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * Ready messages in the hub's lanes, the dead-letter queue and the lanes of `organIds` (the
 * broker's own count, not the management API's sampled one), by queue name.
 */
export async function queueDepths(cluster: Cluster, organIds: readonly string[]): Promise<Record<string, number>> {
  const connection = await amqp.connect(cluster.amqpUrls[0] as string);
  try {
    const names = cluster.names;
    const owner = (organId: string): { organId: string; queueToken: string } =>
      readDb(cluster.hubDb, (db) => ({ organId, queueToken: (db.prepare('SELECT queue_token FROM agencies WHERE organ_id = ?').get(organId) as { queue_token: string }).queue_token }));
    const queues = [names.hubInbound.urgent, names.hubInbound.normal, names.deadLetters, ...organIds.flatMap((o) => [names.agencyQueue(owner(o), 'urgent'), names.agencyQueue(owner(o), 'normal')])];
    const depths: Record<string, number> = {};
    for (const queue of queues) {
      const channel = await connection.createChannel();
      depths[queue] = (await channel.checkQueue(queue)).messageCount;
      await channel.close();
    }
    return depths;
  } finally {
    await connection.close();
  }
}
