import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// No Docker engine runs in CI, so the compose file is checked against the code instead:
// every file it mounts exists, every port it publishes is the one the code uses.
const root = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; ports?: string[]; volumes?: string[]; command?: string[] | string }>;
};

t.test('RabbitMQ runs with its management plugin on the ports lienthong uses', async (t) => {
  const rabbit = compose.services.rabbitmq;
  t.ok(rabbit, 'a rabbitmq service exists');
  t.match(rabbit?.image ?? '', /^rabbitmq:[\d.]+-management$/, 'management image');
  const published = (rabbit?.ports ?? []).map((p) => p.split(':').pop());
  t.ok(published.includes('5672'), 'AMQP 5672 published');
  t.ok(published.includes('15672'), 'management API 15672 published');
});

t.test('every file a service mounts exists in the checkout', async (t) => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0] as string;
      if (!source.startsWith('.') && !source.startsWith('/')) continue; // named volume
      t.ok(existsSync(join(root, source)), `${name}: ${source} exists`);
    }
  }
});
