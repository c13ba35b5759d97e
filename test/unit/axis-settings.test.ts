/**
 * The `axis` block of a federation link: what it takes, its defaults, the secret from the
 * environment (or a file the environment names), and a clear CONFIG_INVALID for each mistake.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { axisSettings } from '../../src/federation/axis/settings.js';

const BLOCK = { baseUrl: 'https://axis.example/vxp/', systemId: 'camau.lienthong', secretEnv: 'LT_AXIS_SECRET' };
const PATH = 'federation.links[1].axis';
const read = (raw: unknown, env: NodeJS.ProcessEnv = { LT_AXIS_SECRET: 's3cret' }) => axisSettings(raw, env, PATH, 'hub.json');

t.test('a block with its defaults; the secret from the environment', async (t) => {
  t.same(read(BLOCK), {
    baseUrl: 'https://axis.example/vxp',
    systemId: 'camau.lienthong',
    secret: 's3cret',
    timeoutSeconds: 30,
    pollSeconds: 15,
    retryMaxSeconds: 60,
    prefetch: 32,
  });
  t.match(read({ ...BLOCK, secretEnv: undefined, secret: 'inline', pollSeconds: 2, prefetch: 8 }), { secret: 'inline', pollSeconds: 2, prefetch: 8 });
});

t.test('the secret may come from a file named by <NAME>_FILE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-axis-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  writeFileSync(file, 'from-a-file\n');
  t.equal(read(BLOCK, { LT_AXIS_SECRET_FILE: file }).secret, 'from-a-file', 'one trailing line break dropped');
});

t.test('each mistake is CONFIG_INVALID naming the key', async (t) => {
  const refused = (raw: unknown, message: RegExp, env?: NodeJS.ProcessEnv) => t.throws(() => read(raw, env), { code: 'CONFIG_INVALID', message }, String(message));
  refused('https://axis.example', /"federation\.links\[1\]\.axis" must be an object/);
  refused({ ...BLOCK, baseURL: 'x' }, /"federation\.links\[1\]\.axis\.baseURL" is not a setting of the national axis; known: baseUrl/);
  refused({ ...BLOCK, baseUrl: undefined }, /axis\.baseUrl" is required/);
  refused({ ...BLOCK, baseUrl: 'axis.example' }, /is not a URL/);
  refused({ ...BLOCK, baseUrl: 'ftp://axis.example' }, /must be an http\(s\) URL/);
  refused({ ...BLOCK, baseUrl: 'https://u:p@axis.example' }, /must not carry a user or password/);
  refused({ ...BLOCK, systemId: 'has blank' }, /axis\.systemId" must be the system id/);
  refused({ ...BLOCK, secret: 'both' }, /exactly one of "secret"/);
  refused({ ...BLOCK, secretEnv: undefined }, /exactly one of "secret"/);
  refused({ ...BLOCK, secretEnv: 'lowercase' }, /name of an environment variable/);
  refused(BLOCK, /names LT_AXIS_SECRET, which is not set: set LT_AXIS_SECRET, or LT_AXIS_SECRET_FILE/, {});
  refused({ ...BLOCK, pollSeconds: 0 }, /axis\.pollSeconds" must be a positive number \(default 15\)/);
  refused({ ...BLOCK, prefetch: 1.5 }, /axis\.prefetch" must be a positive whole number/);
});
