/**
 * The Dockerfile and the systemd units, checked statically (no Docker engine in CI): a
 * multi-stage build whose runtime stage has only runtime dependencies and runs unprivileged,
 * units with a dedicated user, a restart policy and the open-file limit, running real
 * lienthong verbs, and one set of glibc allocator tunables everywhere. systemd-analyze and
 * glibc's loader, where installed, judge the units and the tunables as they would.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadAllCommands } from '../../src/cli/commands/index.js';

const COMMANDS = await loadAllCommands();

const root = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

/** Instructions (continuation lines joined, comments dropped), per stage. */
function stages(text: string): Array<{ from: string; name?: string; lines: string[] }> {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Array<{ from: string; name?: string; lines: string[] }> = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1] as string, ...(from[2] ? { name: from[2] } : {}), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

t.test('the Dockerfile builds in stages and ships only the runtime', async (t) => {
  const all = stages(dockerfile);
  t.ok(all.length >= 2, 'multi-stage');
  const runtime = all.at(-1) as (typeof all)[number];
  t.match(runtime.from, /^node:20/, 'Node 20, as package.json engines');
  // The node_modules the runtime gets come from a stage that installed without the dev dependencies.
  const copies = runtime.lines.filter((l) => /^COPY\s+--from=/.test(l));
  const modules = copies.find((l) => /node_modules/.test(l)) ?? '';
  const source = all.find((s) => s.name === /--from=(\S+)/.exec(modules)?.[1]);
  t.ok(source, 'node_modules copied from a named stage');
  t.ok(source?.lines.some((l) => /npm ci\b.*--omit=dev/.test(l)), `${source?.name}: npm ci --omit=dev`);
  t.notOk(runtime.lines.some((l) => /^RUN .*npm (ci|install)/.test(l)), 'no install in the runtime stage');
  t.notOk(runtime.lines.some((l) => /^COPY\s+(?!--from)\S*\s*(src|test|certs-dev|node_modules)\b/.test(l)), 'no sources, tests, dev certificates or local node_modules in the image');
  const users = runtime.lines.filter((l) => /^USER\s/.test(l));
  t.equal(users.length, 1, 'one USER');
  t.notMatch(users[0] ?? '', /^USER\s+(root|0)(:|$)/, 'not root');
  t.ok(runtime.lines.indexOf(users[0] as string) < runtime.lines.findIndex((l) => /^ENTRYPOINT/.test(l)), 'before the entrypoint');
  t.ok(runtime.lines.includes('ENTRYPOINT ["node", "/app/bin/lienthong.js"]'), 'the entrypoint is `lienthong`');
  t.ok(runtime.lines.some((l) => /^HEALTHCHECK .*CMD .*LT_HEALTH_URL/.test(l)), 'a health check on /health');
  t.match(dockerfile, /ENV LT_HEALTH_URL=http:\/\/127\.0\.0\.1:\d+\/health/);
  // Every file copied from the build context exists and passes .dockerignore.
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8');
  t.ok(ignore.split('\n').includes('*'), '.dockerignore keeps everything out but what it lists');
  for (const stage of all) {
    for (const line of stage.lines.filter((l) => /^COPY\s+(?!--from)/.test(l))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const s of sources) {
        t.ok(existsSync(join(root, s)), `${s} exists`);
        t.ok(ignore.includes(`!${s.replace(/^\.\//, '')}`), `${s} is let through .dockerignore`);
      }
    }
  }
  // What the compiled program reads at run time beside dist/ (payload schemas, its version).
  t.match(dockerfile, /COPY schemas \.\/schemas/);
  t.match(dockerfile, /COPY package\.json \.\//);
});

const units = ['lienthong-hub.service', 'lienthong-edge@.service'];

t.test('the systemd units run real lienthong verbs as a dedicated user, restart, and allow 65,536 open files', async (t) => {
  const verbs = new Set(COMMANDS.map((c) => c.name));
  for (const unit of units) {
    const text = readFileSync(join(root, 'deploy/systemd', unit), 'utf8');
    const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
    t.match(value('User') ?? '', /^lienthong$/, `${unit}: User=lienthong`);
    t.match(value('Restart') ?? '', /^(on-failure|always)$/, `${unit}: Restart=`);
    t.ok(Number(value('LimitNOFILE')) >= 65536, `${unit}: LimitNOFILE ≥ 65,536`);
    const exec = (value('ExecStart') ?? '').split(/\s+/);
    t.match(exec[1] ?? '', /bin\/lienthong\.js$/);
    t.ok(verbs.has(exec[2] as string), `${unit}: "lienthong ${exec[2]}" is a verb`);
    t.ok(exec.includes('--config'), `${unit}: with its configuration file`);
    t.match(value('ExecReload') ?? '', /kill -HUP \$MAINPID/, `${unit}: reload is SIGHUP`);
    // Secrets as credentials, read through *_FILE, never as values in the unit.
    t.match(text, /^Environment=AMQP_URL_FILE=%d\//m, `${unit}: AMQP_URL from a credential`);
    t.notMatch(text, /^Environment=(AMQP_URL|LT_MANAGEMENT_PASSWORD)=/m, `${unit}: no secret in the environment`);
  }
  const rabbit = readFileSync(join(root, 'deploy/systemd/rabbitmq-server.service.d/limits.conf'), 'utf8');
  t.match(rabbit, /^LimitNOFILE=65536$/m, 'RabbitMQ gets 65,536 open files');
});

t.test('systemd-analyze verify accepts the units', { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(root, 'deploy/systemd/lienthong-hub.service'), join(dir, 'lienthong-hub.service'));
  // A template is verified through an instance of it.
  copyFileSync(join(root, 'deploy/systemd/lienthong-edge@.service'), join(dir, 'lienthong-edge@000.00.01.H12.service'));
  const run = spawnSync('systemd-analyze', ['verify', join(dir, 'lienthong-hub.service'), join(dir, 'lienthong-edge@000.00.01.H12.service')], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr.trim(), '', 'no warning');
});

/** GLIBC_TUNABLES as each place that starts lienthong's processes sets it. */
function allocatorTunables(): Array<[string, string | undefined]> {
  const where: Record<string, string> = {
    Dockerfile: dockerfile,
    ...Object.fromEntries(units.map((unit) => [unit, readFileSync(join(root, 'deploy/systemd', unit), 'utf8')])),
    'npm run bench': (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bench ?? '',
  };
  return Object.entries(where).map(([name, text]) => [name, /GLIBC_TUNABLES=(\S+)/.exec(text)?.[1]]);
}

const tunables = new Map((allocatorTunables()[0]?.[1] ?? '').split(':').map((pair) => pair.split('=') as [string, string]));

t.test('the image, both units and the benchmarks give glibc the same allocator tunables', async (t) => {
  const values = allocatorTunables();
  for (const [name, value] of values) t.ok(value, `${name} sets GLIBC_TUNABLES`);
  for (const [name, value] of values) t.equal(value, values[0]?.[1], `${name}: the same value as the Dockerfile`);
  // Above 32 MiB (half glibc's largest heap on 64 bits) glibc ignores the mmap threshold, silently.
  t.ok(Number(tunables.get('glibc.malloc.mmap_threshold')) <= 32 * 1024 * 1024, 'an mmap threshold glibc accepts');
  t.ok(Number(tunables.get('glibc.malloc.trim_threshold')) >= 128 * 1024 * 1024, "room to keep a 20 MB packet's blocks");
});

const LOADER = '/lib64/ld-linux-x86-64.so.2';

t.test('glibc reads the tunables by those names', { skip: existsSync(LOADER) ? false : `${LOADER} is not here (not x86-64 glibc)` }, async (t) => {
  // glibc ignores a misspelt tunable, silently too: its own loader lists what it read.
  const listed = spawnSync(LOADER, ['--list-tunables'], { encoding: 'utf8', env: { GLIBC_TUNABLES: allocatorTunables()[0]?.[1] ?? '' } });
  for (const [name, number] of tunables) {
    t.match(listed.stdout, new RegExp(`^${name.replace(/\./g, '\\.')}: 0x${Number(number).toString(16)} `, 'm'), `glibc reads ${name}=${number}`);
  }
});
