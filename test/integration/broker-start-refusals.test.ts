/**
 * `lienthong hub` against a broker that answers an error at start-up: each cause is either
 * refused at once (exit 1, one line with a code and advice that fits it, no stack trace, no
 * password) or retried with every attempt logged. Real broker (the shared one, under a fresh
 * prefix, with users made for the test), real program (bin/lienthong.js: build first).
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagementClient } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import { deleteDeployment } from '../../src/broker/topology.js';
import { withCredentials } from '../../src/broker/url.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { DEV_HUB, devPath, devTrust, managementOptions } from '../../src/demo/local-exchange.js';
import { CLI, REPO, childEnv, freePort } from '../helpers/processes.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const management = managementOptions(amqpUrl, process.env);
const api = new ManagementClient(management);
const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), `lt-refusals-${run}-`));
const password = `pw-${randomBytes(6).toString('hex')}`;
const prefixes: string[] = [];
const users: string[] = [];

t.teardown(async () => {
  for (const prefix of prefixes) await deleteDeployment(api, resourceNames(prefix)).catch(() => {});
  for (const user of users) await api.deleteUser(user).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `lienthong hub` with this AMQP URL under a fresh prefix until it exits by itself. */
async function startHub(url: string): Promise<Outcome & { prefix: string }> {
  const prefix = `lt-refuse-${run}-${prefixes.length}`;
  prefixes.push(prefix);
  const config = join(dir, `${prefix}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      organId: DEV_HUB.organId,
      organName: DEV_HUB.organName,
      amqpUrl: url,
      prefix,
      management,
      dataDir: join(dir, prefix),
      identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    }),
  );
  return { ...(await runUntilExit('hub', config)), prefix };
}

/** Run a long-running verb; one that does not refuse runs until a signal, and the tap timeout ends the test then. */
async function runUntilExit(verb: string, config: string): Promise<Outcome> {
  const child = spawn(process.execPath, [CLI, verb, '--config', config], { cwd: REPO, env: childEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

/** Exit 1 with exactly one line on stderr, carrying `code`, no stack trace and no password. */
function assertRefused(t: Test, outcome: Outcome, code: string, verb = 'hub'): string {
  t.equal(outcome.code, 1, `exit 1 (stderr: ${outcome.stderr})`);
  const lines = outcome.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1, 'one line on stderr');
  const line = lines[0] ?? '';
  t.match(line, new RegExp(`^lienthong ${verb}: .+ \\(${code}\\)$`), 'a message and its code');
  t.notMatch(outcome.stderr + outcome.stdout, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  t.notMatch(outcome.stderr + outcome.stdout, new RegExp(password), 'never the password');
  return line;
}

async function addUser(name: string, permissions?: { configure: string; write: string; read: string }): Promise<string> {
  const user = `lt-refuse-${run}-${name}`;
  users.push(user);
  await api.putUser(user, password);
  if (permissions) await api.setPermissions(user, permissions);
  return user;
}


t.test('a wrong password is refused at once, naming the user and never the password', async (t) => {
  const user = await addUser('login', { configure: '.*', write: '.*', read: '.*' });
  const outcome = await startHub(withCredentials(amqpUrl, user, 'not-its-password'));
  const line = assertRefused(t, outcome, 'BROKER_LOGIN_REFUSED');
  t.match(line, `user "${user}"`);
  t.match(line, /password is wrong/);
  t.notMatch(line, /not-its-password/);
  t.notMatch(line, /docker compose|start a broker/i, 'no advice to start a broker that is running');
  t.same(outcome.stdout.split('\n').filter((l) => l.includes('retrying')), [], 'not retried: retrying cannot help');
});

t.test('nothing listening is retried, every attempt logged, then refused with advice to start a broker', async (t) => {
  const port = await freePort();
  const url = new URL(amqpUrl);
  url.port = String(port);
  const outcome = await startHub(url.toString());
  const line = assertRefused(t, outcome, 'BROKER_UNREACHABLE');
  t.match(line, /ECONNREFUSED/);
  t.match(line, /Start a broker/);
  const retries = outcome.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && l.msg.includes('retrying in'));
  t.same(
    retries.map((r) => r.attempt),
    [1, 2, 3, 4, 5],
    'each attempt logged with its number',
  );
  for (const r of retries) {
    t.equal(r.level, 40, 'a warning');
    t.type(r.delayMs, 'number', 'with its delay');
    t.match(r.err, /ECONNREFUSED/, 'and its cause');
  }
});

t.test('a vhost that does not exist is refused as such', async (t) => {
  const url = new URL(amqpUrl);
  url.pathname = `/lt-no-such-vhost-${run}`;
  const line = assertRefused(t, await startHub(url.toString()), 'BROKER_VHOST_REFUSED');
  t.match(line, `virtual host "lt-no-such-vhost-${run}"`);
});

t.test('a user without permissions on the vhost is refused as such', async (t) => {
  const user = await addUser('novhost');
  const line = assertRefused(t, await startHub(withCredentials(amqpUrl, user, password)), 'BROKER_VHOST_REFUSED');
  t.match(line, `for user "${user}"`);
});

t.test('a user who may not declare the topology is refused with ACCESS_REFUSED', async (t) => {
  const user = await addUser('readonly', { configure: '^$', write: '^$', read: '.*' });
  const line = assertRefused(t, await startHub(withCredentials(amqpUrl, user, password)), 'BROKER_ACCESS_REFUSED');
  t.match(line, `refused user "${user}"`);
  t.match(line, /configure, write and read/);
});

t.test('an exchange declared with other properties is refused with the clash named', async (t) => {
  const prefix = `lt-refuse-${run}-${prefixes.length}`; // the prefix startHub picks next
  const names = resourceNames(prefix);
  await api.putExchange(names.dead, 'direct'); // the hub declares it fanout
  const outcome = await startHub(amqpUrl);
  t.equal(outcome.prefix, prefix);
  const line = assertRefused(t, outcome, 'BROKER_TOPOLOGY_CONFLICT');
  t.match(line, `exchange '${names.dead}'`);
  t.match(line, /another prefix/);
});

t.test('an edge whose lanes the hub has not declared yet is refused, and exits', async (t) => {
  const prefix = `lt-refuse-${run}-edge`;
  prefixes.push(prefix);
  const organId = '000.00.01.H12';
  // The agency's own broker user (an edge refuses any other), but no lanes declared for it.
  const user = resourceNames(prefix).agencyUser(organId);
  users.push(user);
  await api.putUser(user, password);
  await api.setPermissions(user, { configure: '', write: '.*', read: '.*' });
  const config = join(dir, `${prefix}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      organId,
      organization: { organId, organName: 'Văn phòng UBND tỉnh Cà Mau' },
      hubOrganId: DEV_HUB.organId,
      amqpUrl: withCredentials(amqpUrl, user, password),
      prefix,
      dataDir: join(dir, prefix),
      identity: { key: devPath('agencies', `${organId}.key.pem`), cert: devPath('agencies', `${organId}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    }),
  );
  // The edge looks for its lanes before it consumes them, and says what provisions them.
  const line = assertRefused(t, await runUntilExit('edge', config), 'AGENCY_UNKNOWN', 'edge');
  t.match(line, `the queue ${resourceNames(prefix).agencyQueue({ organId, queueToken: '' }, 'urgent')} does not exist on the broker`);
  t.match(line, /is not provisioned .*lienthong agency add/);
});
