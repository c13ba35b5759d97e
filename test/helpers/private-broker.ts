/**
 * A RabbitMQ node of the test's own, for tests that stop or restart a broker: the shared one on
 * 5672 serves every other test on the machine and is never touched. Its own node name, ports,
 * data and log directories and Erlang cookie (HOME), no plugins; stopped and removed in
 * teardown whatever the outcome. Debian's layout (the rabbitmq-server package), run directly,
 * not through the /usr/sbin wrapper that switches to the rabbitmq user.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { freePort, spawnTied } from './processes.js';

const run = promisify(execFile);
const SBIN = '/usr/lib/rabbitmq/bin';

export interface PrivateBroker {
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string;
  node: string;
  /** Stop the RabbitMQ application (connections are closed, the port stops listening). */
  stopApp(): Promise<void>;
  /** Start it again and wait until it accepts connections. */
  startApp(): Promise<void>;
  /** rabbitmqctl against this node (e.g. set_vm_memory_high_watermark for an alarm). */
  ctl(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** The management API (only with `management: true`): http://127.0.0.1:<port>. */
  managementUrl?: string;
  /** The processes of the node: its wrapper (group leader) and the Erlang VM, once started. */
  pids(): number[];
  /** Its data, logs and configuration (removed at teardown). */
  dir: string;
}

export interface PrivateBrokerOptions {
  /** Enable the management plugin (agency provisioning needs it); slower to start. */
  management?: boolean;
}


export async function startPrivateBroker(t: Pick<Test, 'teardown'>, options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  if (!existsSync(join(SBIN, 'rabbitmq-server'))) throw new Error(`${SBIN}/rabbitmq-server is missing: install the rabbitmq-server package`);
  const id = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), `lt-rabbit-${id}-`));
  const node = `lt-test-${id}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  const managementPort = options.management ? await freePort() : undefined;
  writeFileSync(join(dir, 'enabled_plugins'), managementPort ? '[rabbitmq_management].\n' : '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    '# a private test node: defaults, ports from the environment\n' + (managementPort ? `management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = ${managementPort}\n` : ''),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir, // its own Erlang cookie
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = (...args: string[]) => run(join(SBIN, 'rabbitmqctl'), ['-n', node, ...args], { env, timeout: 120_000 });
  // Tied to this process: a test that tap times out (SIGKILL, no teardown) leaves no node behind.
  const server = spawnTied(join(SBIN, 'rabbitmq-server'), [], { env, cwd: dir, graceMs: 15_000 });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  t.teardown(async () => {
    await ctl('stop').catch(() => {});
    if (server.exitCode === null && server.signalCode === null && server.pid) {
      try {
        process.kill(-server.pid, 'SIGKILL'); // its own process group: the wrapper, the script and the Erlang VM
      } catch {
        // already gone
      }
    }
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  // rabbitmqctl cannot reach a node that has not registered yet: ask again until it answers
  // (each question itself waits for the node), or the node has died.
  const awaitStartup = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctl('await_startup', '--timeout', '120');
        return;
      } catch (error) {
        if (server.exitCode !== null || server.signalCode !== null || attempt >= 30) throw error;
      }
    }
  };
  await Promise.race([
    awaitStartup(),
    exited.then(() => {
      throw new Error(`the private RabbitMQ node ${node} exited at start-up; see ${dir}/log`);
    }),
  ]);
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    dir,
    ctl,
    ...(managementPort ? { managementUrl: `http://127.0.0.1:${managementPort}` } : {}),
    pids() {
      const pidFile = env.RABBITMQ_PID_FILE as string;
      const vm = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      return [server.pid as number, ...(Number.isInteger(vm) && vm > 0 ? [vm] : [])];
    },
    async stopApp() {
      await ctl('stop_app');
    },
    async startApp() {
      await ctl('start_app');
      await awaitStartup();
    },
  };
}
