import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse } from 'yaml';
import { loadAllCommands } from '../../src/cli/commands/index.js';
import { DEFAULT_AMQP_URL, DEFAULT_MANAGEMENT_URL } from '../../src/config.js';
import { loadEdgeConfig } from '../../src/edge/config.js';
import { loadHubConfig } from '../../src/hub/config.js';

const COMMANDS = await loadAllCommands();

// No Docker engine runs in CI, so the compose file is checked against the code instead:
// every file it names exists, every command is a real lienthong verb with its real options run
// by the image's entrypoint, every port it publishes is the one the configuration and the code
// use, and no secret is in an environment or in the repository.
const root = join(import.meta.dirname, '..', '..');
interface Service {
  image?: string;
  build?: unknown;
  ports?: string[];
  volumes?: string[];
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string; target?: string }>;
  ulimits?: { nofile?: { soft: number; hard: number } };
  read_only?: boolean;
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
};
const services = compose.services;
const lienthongServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('lienthong:'));

/** The lienthong argv of a service: the image's ENTRYPOINT runs `lienthong`, `command` is its arguments. */
function lienthongArgs(service: Service): string[] | undefined {
  if (!service.image?.startsWith('lienthong:') || service.entrypoint) return undefined;
  return service.command;
}

/** A path inside a container, back to the checkout through the service's bind mounts. */
function hostPath(service: Service, path: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(':') as [string, string];
    if (!source.startsWith('.')) continue;
    if (path === target || path.startsWith(`${target}/`)) return join(root, source, posix.relative(target, path));
  }
  return undefined;
}

t.test('hub, edges and provisioning run the one image built from the Dockerfile', async (t) => {
  t.ok(lienthongServices.length >= 4, 'hub, provision, two edges');
  for (const [name, service] of lienthongServices) {
    t.ok(service.build, `${name}: built from the Dockerfile`);
    t.equal(service.image, lienthongServices[0]?.[1].image, `${name}: the same image`);
    t.equal(service.read_only, true, `${name}: read-only root file system`);
    t.equal(service.ulimits?.nofile?.soft, 65536, `${name}: 65,536 open files`);
  }
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  t.match(dockerfile, /ENTRYPOINT \["node", "\/app\/bin\/lienthong\.js"\]/, 'the entrypoint runs lienthong');
});

t.test('RabbitMQ runs with its management plugin, the production configuration and 65,536 open files', async (t) => {
  const rabbit = services.rabbitmq as Service;
  t.match(rabbit.image ?? '', /^rabbitmq:[\d.]+-management$/, 'management image');
  const published = (rabbit.ports ?? []).map((p) => p.split(':').pop());
  t.ok(published.includes(new URL(DEFAULT_AMQP_URL).port), 'AMQP port of DEFAULT_AMQP_URL published');
  t.ok(published.includes(new URL(DEFAULT_MANAGEMENT_URL).port), 'management port of DEFAULT_MANAGEMENT_URL published');
  t.ok(rabbit.volumes?.includes('./deploy/rabbitmq.conf:/etc/rabbitmq/conf.d/10-lienthong.conf:ro'), 'deploy/rabbitmq.conf in conf.d');
  t.same(rabbit.ulimits?.nofile, { soft: 65536, hard: 65536 }, 'the open-file limit the capacity check asks for');
  t.notOk(rabbit.environment, 'no administrator password in its environment');
  const adminConf = rabbit.secrets?.find((s) => typeof s === 'object' && s.target?.startsWith('/etc/rabbitmq/conf.d/'));
  t.ok(adminConf, 'the administrator comes from a secret conf.d file (guest is never created)');
});

t.test('one hub and two edges run real lienthong verbs with existing, loadable configurations', async (t) => {
  const verbs = new Set(COMMANDS.map((c) => c.name));
  const roles: Record<string, string[]> = {};
  const provision = readFileSync(join(root, 'deploy/provision.sh'), 'utf8');
  for (const [name, service] of Object.entries(services)) {
    const args = lienthongArgs(service);
    if (!args) continue;
    const verb = args[0] as string;
    t.ok(verbs.has(verb), `${name}: "lienthong ${verb}" is a verb`);
    const config = hostPath(service, args[args.indexOf('--config') + 1] as string) as string;
    t.ok(config && existsSync(config), `${name}: its configuration is mounted from the checkout`);
    (roles[verb] ??= []).push(name);
    const env = service.environment ?? {};
    t.match(env.LT_DATA_DIR ?? '', /^\/var\/lib\/lienthong\//, `${name}: data in its volume`);
    t.ok(service.volumes?.some((v) => v.endsWith(':/var/lib/lienthong')), `${name}: a volume for its data`);
    if (verb === 'hub') {
      const hub = await loadHubConfig(config, {});
      for (const file of [hub.identity.key, hub.identity.cert, ...hub.trust.anchors, ...(hub.trust.crls ?? [])]) t.ok(existsSync(file), `${name}: ${file} exists`);
      t.equal(env.AMQP_URL_FILE, '/run/secrets/hub_amqp_url', 'the hub reads its AMQP URL from a secret');
      t.equal(env.LT_DASHBOARD_PORT, new URL(env.LT_HEALTH_URL as string).port, 'its health check asks the dashboard it serves');
    }
    if (verb === 'edge') {
      const edge = await loadEdgeConfig(config, { AMQP_URL: 'amqp://u:p@rabbitmq:5672' });
      for (const file of [edge.identity.key, edge.identity.cert, ...edge.trust.anchors]) t.ok(existsSync(file), `${name}: ${file} exists`);
      const published = (service.ports ?? []).map((p) => Number(p.split(':').pop()));
      t.same(published, [edge.api?.port], `${name}: publishes its API port ${edge.api?.port}`);
      t.equal(new URL(env.LT_HEALTH_URL as string).port, String(edge.api?.port), `${name}: its health check asks its own API`);
      t.equal(env.AMQP_URL_FILE, `/run/lienthong/${edge.organId}.url`, `${name}: reads the AMQP URL provisioned for ${edge.organId}`);
      t.ok(service.volumes?.includes('agency-urls:/run/lienthong:ro'), `${name}: from the provisioning's volume, read-only`);
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
  const service = services.provision as Service;
  t.same(service.entrypoint?.slice(0, 1), ['sh']);
  const script2 = hostPath(service, service.entrypoint?.[1] as string);
  t.equal(script2, join(root, 'deploy/provision.sh'), 'runs deploy/provision.sh as mounted');
  t.ok(existsSync(hostPath(service, service.environment?.LT_HUB_CONFIG as string) as string), 'with the hub configuration');
  t.equal(service.environment?.LT_SECRETS, '/run/lienthong');
  t.ok(service.volumes?.includes('agency-urls:/run/lienthong'), 'writes the URLs into the volume the edges read');
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

t.test('secrets are files outside the checkout, never environment values, and the administrator goes to the hub and the provisioning only', async (t) => {
  for (const [key, secret] of Object.entries(compose.secrets)) {
    t.match(secret.file, /^\$\{LT_SECRETS_DIR:-~\/[^}]+\}\//, `${key}: a file under LT_SECRETS_DIR, by default in the home directory`);
  }
  const secretish = /(PASSWORD|PASS|TOKEN|KEY)$|^AMQP_URL$/;
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      t.notOk(secretish.test(key), `${name}: ${key} is not a secret in the environment`);
      t.notMatch(String(value), /amqps?:\/\/[^/]*:[^/]*@|guest/, `${name}: ${key} carries no credentials`);
    }
  }
  const admin = ['broker_admin_password', 'hub_amqp_url', 'broker_admin_conf'];
  for (const [name, service] of Object.entries(services)) {
    const given = (service.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
    const allowed = name === 'hub' || name === 'provision' || name === 'rabbitmq';
    if (!allowed) t.same(given.filter((s) => admin.includes(s)), [], `${name}: no administrator secret`);
    if (lienthongArgs(service)?.[0] === 'edge') {
      for (const key of ['LT_MANAGEMENT_URL', 'LT_MANAGEMENT_USER', 'LT_MANAGEMENT_PASSWORD_FILE']) t.notOk(key in (service.environment ?? {}), `${name}: no ${key}`);
    }
  }
});

t.test('make-secrets.sh writes the files the compose secrets name, consistent with each other, private to their owner', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'lt-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = join(dir, 'compose');
  const run = () => spawnSync('sh', [join(root, 'deploy/make-secrets.sh')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LT_SECRETS_DIR: target }, encoding: 'utf8' });
  t.equal(run().status, 0);
  for (const secret of Object.values(compose.secrets)) {
    const file = join(target, posix.basename(secret.file));
    t.ok(existsSync(file), `${posix.basename(secret.file)} written`);
  }
  const { statSync } = await import('node:fs');
  t.equal(statSync(target).mode & 0o777, 0o700, 'the directory is its owner\'s only');
  const password = readFileSync(join(target, 'broker-admin-password'), 'utf8').trim();
  t.match(password, /^[0-9a-f]{64}$/, 'a random password of letters and digits');
  const conf = readFileSync(join(target, 'broker-admin.conf'), 'utf8');
  t.match(conf, new RegExp(`^default_user = lienthong-admin\ndefault_pass = ${password}\n$`));
  const url = new URL(readFileSync(join(target, 'hub-amqp-url'), 'utf8').trim());
  t.equal(url.username, (services.hub as Service).environment?.LT_MANAGEMENT_USER, 'the hub connects as the management user');
  t.equal(url.password, password);
  t.equal(url.hostname, 'rabbitmq');
  // Kept at a second run: the broker takes the administrator only at its first start.
  t.equal(run().status, 0);
  t.equal(readFileSync(join(target, 'broker-admin-password'), 'utf8').trim(), password, 'not replaced');
});
