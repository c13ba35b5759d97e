/**
 * RabbitMQ nodes of the test's own, for tests that stop, kill or restart a broker: the shared
 * one on 5672 serves every other test on the machine and is never touched. Each node has its
 * own node name, ports, data and log directories; a lone node has its own Erlang cookie (HOME),
 * the nodes of a private cluster share one. Stopped and removed in teardown whatever the
 * outcome, and tied to the test process (processes.ts `spawnTied`): a test that tap times out
 * (SIGKILL, no teardown) leaves no node behind. Debian's layout (the rabbitmq-server package), run directly, not through the
 * /usr/sbin wrapper that switches to the rabbitmq user.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { freePort, spawnTied } from './processes.js';

const run = promisify(execFile);
const SBIN = '/usr/lib/rabbitmq/bin';

export interface PrivateBroker {
  /** amqp://guest:guest@127.0.0.1:<port>; with `tls`, amqps://guest:guest@127.0.0.1:<TLS port>. */
  url: string;
  /** The plain AMQP port (with `tls.only`, nothing listens on it: a plain client is refused there). */
  port: number;
  /** With `tls`: the TLS listener's port. */
  tlsPort?: number;
  node: string;
  /** Stop the RabbitMQ application (connections are closed, the port stops listening). */
  stopApp(): Promise<void>;
  /** Start it again and wait until it accepts connections. */
  startApp(): Promise<void>;
  /** rabbitmqctl against this node (e.g. set_vm_memory_high_watermark for an alarm); its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** The management API (with `management: true`, and on every cluster node): http://127.0.0.1:<port> (https:// with `tls.only`). */
  managementUrl?: string;
  /** The processes of the node: its wrapper (group leader) and the Erlang VM, once started. */
  pids(): number[];
  /** Its data, logs and configuration (removed at teardown). */
  dir: string;
}

export interface PrivateBrokerOptions {
  /** Enable the management plugin (agency provisioning needs it); slower to start. */
  management?: boolean;
  /** More rabbitmq.conf lines (e.g. "max_message_size = 1048576\n"). */
  config?: string;
  /**
   * The node's open-file limit (`ulimit -n` before it starts), e.g. 256 to meet the file
   * descriptor wall at a few dozen agencies instead of a few hundred. Default: this process's.
   */
  openFiles?: number;
  /** Plugins to enable besides the management API's (e.g. rabbitmq_auth_mechanism_ssl). */
  plugins?: string[];
  /** A TLS listener (ssl_options) with these PEM files; the broker asks for a client certificate but does not insist. */
  tls?: PrivateBrokerTls;
}

export interface PrivateBrokerTls {
  /** The CA the broker checks client certificates against. */
  ca: string;
  cert: string;
  key: string;
  /** No plain listener at all (listeners.tcp = none), and the management API over HTTPS only. */
  only?: boolean;
}

/** One node of a private cluster. */
export interface ClusterNode extends PrivateBroker {
  /** http://127.0.0.1:<port> (rabbitmq_management). */
  managementUrl: string;
  /** The Erlang VM is running (started and not killed). */
  readonly running: boolean;
  /** SIGKILL the whole node (script and Erlang VM) and wait until it is gone. */
  kill(): Promise<void>;
  /** Start the node again on the same data (it rejoins its cluster) and wait until it is up. */
  start(): Promise<void>;
  /** Resident memory of the node's Erlang VM, bytes (0 when it is not running). */
  rss(): Promise<number>;
}

export interface PrivateCluster {
  nodes: ClusterNode[];
  /** Every node's AMQP URL (guest), in node order. */
  urls: string[];
  /** Every node's management URL, in node order. */
  managementUrls: string[];
}

interface NodeSpec {
  node: string;
  /** The node's own directory: configuration, data, logs. */
  dir: string;
  /** HOME of the node and of rabbitmqctl: where the Erlang cookie is. */
  home: string;
  port: number;
  distPort: number;
  managementPort?: number;
  /** More rabbitmq.conf lines. */
  config?: string;
  /** `ulimit -n` of the node. */
  openFiles?: number;
  plugins?: string[];
  tls?: PrivateBrokerTls & { port: number };
}

/** rabbitmq.conf lines of a TLS listener, for AMQP and (when `only`) the management API. */
function tlsConfig(spec: NodeSpec): string {
  const tls = spec.tls;
  if (!tls) return '';
  const files = (prefix: string): string => `${prefix}.cacertfile = ${tls.ca}\n${prefix}.certfile = ${tls.cert}\n${prefix}.keyfile = ${tls.key}\n`;
  return (
    `listeners.ssl.default = 127.0.0.1:${tls.port}\n` +
    (tls.only ? 'listeners.tcp = none\n' : `listeners.tcp.default = 127.0.0.1:${spec.port}\n`) +
    files('ssl_options') +
    // Asked for, not required: clients log in with a certificate (EXTERNAL) or a password.
    'ssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = false\n' +
    (spec.plugins?.includes('rabbitmq_auth_mechanism_ssl')
      ? 'auth_mechanisms.1 = PLAIN\nauth_mechanisms.2 = AMQPLAIN\nauth_mechanisms.3 = EXTERNAL\nssl_cert_login_from = common_name\n'
      : '') +
    (tls.only && spec.managementPort ? `management.ssl.ip = 127.0.0.1\nmanagement.ssl.port = ${spec.managementPort}\n${files('management.ssl')}` : '')
  );
}

function assertInstalled(): void {
  if (!existsSync(join(SBIN, 'rabbitmq-server'))) throw new Error(`${SBIN}/rabbitmq-server is missing: install the rabbitmq-server package`);
}

/** A node process that can be started, killed and started again on the same directories. */
function launcher(spec: NodeSpec) {
  mkdirSync(spec.dir, { recursive: true });
  // Lean: no plugin but the management API when asked for (hub quotas, `agency add`).
  const plugins = [...(spec.managementPort ? ['rabbitmq_management'] : []), ...(spec.plugins ?? [])];
  writeFileSync(join(spec.dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  writeFileSync(join(spec.dir, 'rabbitmq-env.conf'), '');
  writeFileSync(
    join(spec.dir, 'rabbitmq.conf'),
    '# a private test node: defaults, ports from the environment\n' +
      (spec.managementPort && !spec.tls?.only ? `management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = ${spec.managementPort}\n` : '') +
      tlsConfig(spec) +
      (spec.config ?? ''),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: spec.home,
    RABBITMQ_NODENAME: spec.node,
    // With TLS the listeners are in rabbitmq.conf: these variables would add a plain one.
    ...(spec.tls ? {} : { RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1', RABBITMQ_NODE_PORT: String(spec.port) }),
    RABBITMQ_DIST_PORT: String(spec.distPort),
    RABBITMQ_MNESIA_BASE: join(spec.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(spec.dir, 'log'),
    RABBITMQ_CONF_ENV_FILE: join(spec.dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(spec.dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(spec.dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(spec.dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = async (...args: string[]): Promise<string> => (await run(join(SBIN, 'rabbitmqctl'), ['-n', spec.node, ...args], { env, timeout: 120_000 })).stdout;
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const alive = (): boolean => server !== undefined && server.exitCode === null && server.signalCode === null;

  // rabbitmqctl cannot reach a node that has not registered yet: ask again until it answers
  // (each question itself waits for the node), or the node has died.
  const awaitStartup = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctl('await_startup', '--timeout', '120');
        return;
      } catch (error) {
        if (!alive() || attempt >= 30) throw error;
      }
    }
  };

  const killGroup = async (): Promise<void> => {
    if (alive() && server?.pid) {
      try {
        process.kill(-server.pid, 'SIGKILL'); // its own process group: the script and the Erlang VM
      } catch {
        // already gone
      }
    }
    await exited;
  };

  return {
    env,
    ctl,
    awaitStartup,
    get running(): boolean {
      return alive();
    },
    /** Spawn the node; `awaitStartup` says when it is up. */
    spawn(): void {
      if (alive()) throw new Error(`${spec.node} is already running`);
      // The wrapper leads the node's process group: one SIGKILL of the group takes the script and the Erlang VM.
      const program = join(SBIN, 'rabbitmq-server');
      // The limit is set by a shell that then becomes the server (exec): same process, same group.
      const child = spec.openFiles
        ? spawnTied('/bin/sh', ['-c', `ulimit -n ${spec.openFiles} && exec "$0"`, program], { env, cwd: spec.dir, graceMs: 15_000 })
        : spawnTied(program, [], { env, cwd: spec.dir, graceMs: 15_000 });
      server = child;
      exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    },
    async startAndWait(): Promise<void> {
      this.spawn();
      await Promise.race([
        awaitStartup(),
        exited.then(() => {
          throw new Error(`the private RabbitMQ node ${spec.node} exited at start-up; see ${spec.dir}/log`);
        }),
      ]);
    },
    kill: killGroup,
    pids(): number[] {
      const pidFile = env.RABBITMQ_PID_FILE as string;
      const vm = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      return [...(server?.pid ? [server.pid] : []), ...(Number.isInteger(vm) && vm > 0 ? [vm] : [])];
    },
    /** Stop politely, then make sure nothing of the node is left. */
    async shutdown(): Promise<void> {
      if (alive()) await ctl('stop').catch(() => {});
      await killGroup();
    },
    async rss(): Promise<number> {
      if (!alive()) return 0;
      // The Erlang VM is the only process of the group whose command is beam.smp.
      const { stdout } = await run('ps', ['-o', 'rss=,comm=', '-g', String(server?.pid)]).catch(() => ({ stdout: '' }));
      const beam = stdout.split('\n').find((line) => /beam/.test(line));
      return beam ? Number(beam.trim().split(/\s+/)[0]) * 1024 : 0;
    },
  };
}

export async function startPrivateBroker(t: Pick<Test, 'teardown'>, options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  assertInstalled();
  const id = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), `lt-rabbit-${id}-`));
  const node = `lt-test-${id}@localhost`;
  const port = await freePort();
  const managementPort = options.management ? await freePort() : undefined;
  const tls = options.tls ? { ...options.tls, port: await freePort() } : undefined;
  const broker = launcher({
    node,
    dir,
    home: dir /* its own Erlang cookie */,
    port,
    distPort: await freePort(),
    ...(managementPort ? { managementPort } : {}),
    ...(options.config ? { config: options.config } : {}),
    ...(options.openFiles ? { openFiles: options.openFiles } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(tls ? { tls } : {}),
  });
  t.teardown(async () => {
    await broker.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  await broker.startAndWait();
  return {
    url: tls ? `amqps://guest:guest@127.0.0.1:${tls.port}` : `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    ...(tls ? { tlsPort: tls.port } : {}),
    node,
    dir,
    ctl: (...args) => broker.ctl(...args),
    ...(managementPort ? { managementUrl: `${tls?.only ? 'https' : 'http'}://127.0.0.1:${managementPort}` } : {}),
    pids: () => broker.pids(),
    async stopApp() {
      await broker.ctl('stop_app');
    },
    async startApp() {
      await broker.ctl('start_app');
      await broker.awaitStartup();
    },
  };
}

/**
 * `size` private nodes joined into one cluster, each with the management API. They share an
 * Erlang cookie (a HOME of the cluster's own, written before any node starts, so no node makes
 * up its own) and nothing else. Every node is stopped and every directory removed at teardown.
 */
export async function startPrivateCluster(t: Pick<Test, 'teardown'>, size = 3): Promise<PrivateCluster> {
  assertInstalled();
  const id = randomBytes(3).toString('hex');
  const root = mkdtempSync(join(tmpdir(), `lt-rabbit-cluster-${id}-`));
  const home = join(root, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
  const launchers: Array<ReturnType<typeof launcher>> = [];
  t.teardown(async () => {
    await Promise.all(launchers.map((l) => l.shutdown()));
    rmSync(root, { recursive: true, force: true });
  });
  const nodes: ClusterNode[] = [];
  for (let i = 1; i <= size; i += 1) {
    const node = `lt-c${i}-${id}@localhost`;
    const port = await freePort();
    const managementPort = await freePort();
    const dir = join(root, `node${i}`);
    const l = launcher({ node, dir, home, port, distPort: await freePort(), managementPort });
    launchers.push(l);
    nodes.push({
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      port,
      managementUrl: `http://127.0.0.1:${managementPort}`,
      node,
      dir,
      pids: () => l.pids(),
      get running() {
        return l.running;
      },
      async stopApp() {
        await l.ctl('stop_app');
      },
      async startApp() {
        await l.ctl('start_app');
        await l.awaitStartup();
      },
      kill: () => l.kill(),
      start: () => l.startAndWait(),
      rss: () => l.rss(),
      ctl: (...args) => l.ctl(...args),
    });
  }
  // Two cores: the nodes boot one after the other, each joining the first.
  const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]];
  await first.start();
  for (const node of others) {
    await node.start();
    await node.ctl('stop_app');
    await node.ctl('join_cluster', first.node);
    await node.startApp();
  }
  return { nodes, urls: nodes.map((n) => n.url), managementUrls: nodes.map((n) => n.managementUrl) };
}
