import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { DEFAULT_AMQP_URL, DEFAULT_MANAGEMENT_URL } from '../../src/config.js';
import { loadEdgeConfig } from '../../src/edge/config.js';
import { loadHubConfig } from '../../src/hub/config.js';

// No Docker engine runs in CI, so the compose file is checked against the code instead:
// every file it names exists, every command is a real lienthong verb with its real options,
// every port it publishes is the one the configuration and the code use.
const root = join(import.meta.dirname, '..', '..');
interface Service {
  image?: string;
  ports?: string[];
  volumes?: string[];
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** The lienthong argv of a service, whether run directly or through `sh -c "... exec node bin/lienthong.js ..."`. */
function lienthongArgs(service: Service): string[] | undefined {
  const command = service.command ?? [];
  const line = command[0] === 'sh' && command[1] === '-c' ? (command[2] ?? '') : command.join(' ');
  const m = /node bin\/lienthong\.js (.*)$/.exec(line);
  return m ? (m[1] as string).split(/\s+/) : undefined;
}

t.test('RabbitMQ runs with its management plugin on the ports lienthong uses by default', async (t) => {
  const rabbit = services.rabbitmq;
  t.match(rabbit?.image ?? '', /^rabbitmq:[\d.]+-management$/, 'management image');
  const published = (rabbit?.ports ?? []).map((p) => p.split(':').pop());
  t.ok(published.includes(new URL(DEFAULT_AMQP_URL).port), 'AMQP port of DEFAULT_AMQP_URL published');
  t.ok(published.includes(new URL(DEFAULT_MANAGEMENT_URL).port), 'management port of DEFAULT_MANAGEMENT_URL published');
});

t.test('one hub and two edges run real lienthong verbs with existing, loadable configurations', async (t) => {
  const verbs = new Set(COMMANDS.map((c) => c.name));
  const roles: Record<string, string[]> = {};
  for (const [name, service] of Object.entries(services)) {
    const args = lienthongArgs(service);
    if (!args) continue;
    const verb = args[0] as string;
    t.ok(verbs.has(verb), `${name}: "lienthong ${verb}" is a verb`);
    const config = args[args.indexOf('--config') + 1] as string;
    t.ok(existsSync(join(root, config)), `${name}: ${config} exists`);
    (roles[verb] ??= []).push(name);
    if (verb === 'hub') {
      const hub = await loadHubConfig(join(root, config), {});
      for (const file of [hub.identity.key, hub.identity.cert, ...hub.trust.anchors, ...(hub.trust.crls ?? [])]) t.ok(existsSync(file), `${name}: ${file} exists`);
      t.equal(new URL(service.environment?.AMQP_URL ?? '').hostname, 'rabbitmq', 'the hub reaches the broker service');
    }
    if (verb === 'edge') {
      const edge = await loadEdgeConfig(join(root, config), {});
      for (const file of [edge.identity.key, edge.identity.cert, ...edge.trust.anchors]) t.ok(existsSync(file), `${name}: ${file} exists`);
      const published = (service.ports ?? []).map((p) => Number(p.split(':').pop()));
      t.same(published, [edge.api?.port], `${name}: publishes its API port ${edge.api?.port}`);
      const command = (service.command ?? []).join(' ');
      t.ok(command.includes(`/run/lienthong/${edge.organId}.url`), `${name}: reads the AMQP URL provisioned for ${edge.organId}`);
      const provision = readFileSync(join(root, 'deploy/provision.sh'), 'utf8');
      t.ok(provision.includes(edge.organId), `provision.sh registers ${edge.organId}`);
    }
  }
  t.same(roles.hub?.length, 1, 'one hub');
  t.same(roles.edge?.length, 2, 'two edges');
});

t.test('the provisioning script uses real options of "lienthong agency add"', async (t) => {
  const script = readFileSync(join(root, 'deploy/provision.sh'), 'utf8');
  const agency = COMMANDS.find((c) => c.name === 'agency');
  for (const option of script.match(/--[a-z-]+/g) ?? []) t.ok(agency?.help.includes(option), `agency add knows ${option}`);
  t.ok(existsSync(join(root, 'deploy/hub.json')), 'deploy/hub.json exists');
});

t.test('every file a service mounts exists in the checkout', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0] as string;
      if (!source.startsWith('.') && !source.startsWith('/')) continue; // named volume
      t.ok(existsSync(join(root, source)), `${name}: ${source} exists`);
    }
  }
});

t.test('every published port listens on 127.0.0.1 unless the operator exposes it deliberately (README says how)', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      const m = /^\$\{(LT_[A-Z_]+):-127\.0\.0\.1\}:(\d+):(\d+)$/.exec(port);
      t.ok(m, `${name}: ${port} binds 127.0.0.1 by default`);
      if (m) t.ok(readme.includes(m[1] as string), `README names ${m[1]}, the way to expose ${name}:${m[3]}`);
    }
  }
});

t.test('the broker administrator goes to the hub and the provisioning only, never to an agency', async (t) => {
  const admin = /guest|LT_BROKER_ADMIN|RABBITMQ_DEFAULT/;
  for (const [name, service] of Object.entries(services)) {
    const args = lienthongArgs(service);
    if (args?.[0] !== 'edge') continue;
    const environment = service.environment ?? {};
    for (const key of ['AMQP_URL', 'LT_MANAGEMENT_URL', 'LT_MANAGEMENT_USER', 'LT_MANAGEMENT_PASSWORD']) t.notOk(key in environment, `${name}: no ${key} in its environment`);
    t.notMatch(JSON.stringify(environment), admin, `${name}: no administrator credentials in its environment`);
    t.notMatch((service.command ?? []).join(' '), admin, `${name}: nor in its command`);
  }
  const rabbit = services.rabbitmq?.environment ?? {};
  for (const name of ['hub', 'provision']) {
    const environment = services[name]?.environment ?? {};
    t.equal(environment.LT_MANAGEMENT_USER, rabbit.RABBITMQ_DEFAULT_USER, `${name}: the broker's administrator`);
    t.equal(environment.LT_MANAGEMENT_PASSWORD, rabbit.RABBITMQ_DEFAULT_PASS);
    t.ok(environment.AMQP_URL?.includes(`${rabbit.RABBITMQ_DEFAULT_USER}:${rabbit.RABBITMQ_DEFAULT_PASS}@rabbitmq:5672`), `${name}: connects as the administrator`);
  }
});

t.test('an edge starts only with the AMQP URL provisioned for it, never with a default one', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  for (const [name, service] of Object.entries(services)) {
    if (lienthongArgs(service)?.[0] !== 'edge') continue;
    const secrets = mkdtempSync(join(tmpdir(), 'lt-compose-'));
    t.teardown(() => rmSync(secrets, { recursive: true, force: true }));
    // The service's own shell line, with compose's $$ unescaped, the secrets volume at a
    // temporary directory, and the edge replaced by printing the URL it would get.
    const line = (service.command?.[2] ?? '')
      .replace(/\$\$/g, '$')
      .replaceAll('/run/lienthong/', `${secrets}/`)
      .replace(/exec node bin\/lienthong\.js .*$/, 'exec printenv AMQP_URL');
    const run = () => spawnSync('sh', ['-c', line], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
    const missing = run();
    t.not(missing.status, 0, `${name}: does not start without its provisioned URL`);
    t.equal(missing.stdout, '', `${name}: and never with another one`);
    const organId = /\/([^/]+)\.url/.exec(line)?.[1] ?? '';
    const url = `amqp://lt.agency.${organId}:secret@rabbitmq:5672?queueToken=abc`;
    writeFileSync(join(secrets, `${organId}.url`), `${url}\n`);
    const started = run();
    t.equal(started.status, 0, `${name}: starts with it`);
    t.equal(started.stdout.trim(), url, `${name}: as its own agency user`);
  }
});
