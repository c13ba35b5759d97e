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
