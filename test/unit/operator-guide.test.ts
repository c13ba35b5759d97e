/**
 * The operator guide (docs/guide.vi.md, docs/guide.en.md) says only what lienthong does: the
 * two languages give the same commands; every command of their code blocks is a verb of the CLI
 * with a subcommand and options its --help lists; every configuration key they name is in the
 * README's configuration tables, every environment variable in the README, every metric is one
 * the hub serves and every error code is in the catalogue. A guide that tells an agency's IT to
 * type what the CLI refuses fails here, not at 2 a.m. during a restore.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { loadAllCommands } from '../../src/cli/commands/index.js';
import { main } from '../../src/cli/main.js';
import { ERROR_CATALOGUE } from '../../src/errors.js';
import { HubMetrics } from '../../src/hub/metrics.js';
import { HealthBoard } from '../../src/health.js';
import { ManagementClient } from '../../src/broker/management.js';
import { resourceNames } from '../../src/broker/names.js';
import { openDatabase } from '../../src/store/db.js';
import { HUB_MIGRATIONS } from '../../src/store/migrations/hub.js';
import { REPO } from '../helpers/pki.js';
import { configKeyDocumented, readme, readmeConfigRows } from '../helpers/readme.js';
import {
  commandName,
  commandProblems,
  configKeys,
  environmentVariables,
  errorCodes,
  guideCommands,
  isPending,
  metricNames,
  type CliAnswers,
  type VerbHelp,
} from '../helpers/operator-guide.js';

const COMMANDS = await loadAllCommands();

/**
 * Commands the guide documents that other parts of issue 12 add to the CLI (edge init and check,
 * hub check, backup and restore, --version). Each is expected to fail the check until its branch
 * is merged; once it passes, this test says to remove it. Empty at merge.
 */
const PENDING_COMMANDS: readonly string[] = [];

/**
 * Settings, environment variables, error codes and metrics the guide documents that the same
 * branches add (TLS to the broker, HTTPS of the edge API and the dashboard, CRL refreshing and
 * its alarms). Empty at merge, with PENDING_COMMANDS.
 */
const PENDING_NAMES: readonly string[] = [];

const GUIDES = { vi: 'docs/guide.vi.md', en: 'docs/guide.en.md' } as const;
const guide = { vi: readFileSync(join(REPO, GUIDES.vi), 'utf8'), en: readFileSync(join(REPO, GUIDES.en), 'utf8') };
const both = `${guide.vi}\n${guide.en}`;
const VERBS: VerbHelp[] = COMMANDS.map((c) => ({ name: c.name, help: c.help }));

const pendingName = (name: string): boolean => PENDING_NAMES.some((p) => name === p || name.startsWith(`${p}.`));

/** What the CLI prints for these arguments, run in this process: exit code and standard output. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = (into: boolean): Writable => new Writable({ write: (chunk: Buffer, _encoding, done) => ((out += into ? chunk.toString() : ''), done()) });
  const code = await main(args, { stdout: sink(true), stderr: sink(false), env: {}, cwd: REPO });
  return { code, out };
}

/** The answers the checks need, asked of the CLI itself: top-level flags, and the --help of every verb and subcommand the commands use. */
async function cliAnswers(commands: readonly string[][]): Promise<CliAnswers> {
  const flags = new Map<string, boolean>();
  const helps = new Map<string, string>();
  for (const words of commands) {
    const verb = words[0] as string;
    if (verb.startsWith('-')) {
      const { code, out } = await cli([verb]);
      flags.set(verb, code === 0 && out.trim() !== '');
      continue;
    }
    const path = commandName(words, VERBS).split(' ');
    if (!helps.has(path.join(' '))) {
      const { code, out } = await cli([...path, '--help']);
      if (code === 0) helps.set(path.join(' '), out);
    }
  }
  return { topLevel: (flag) => flags.get(flag) === true, help: (path) => helps.get(path.join(' ')) };
}

t.test('the guide exists in Vietnamese and English, and the README links both', async (t) => {
  const text = readme();
  t.match(text, `](${GUIDES.vi})`, 'README links the Vietnamese guide');
  t.match(text, `](${GUIDES.en})`, 'README links the English guide');
  t.match(guide.vi, /[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]/u, 'the Vietnamese guide is written with its diacritics');
});

t.test('both guides give the same commands, in the same order', async (t) => {
  const vi = guideCommands(guide.vi).map((c) => c.words.join(' '));
  const en = guideCommands(guide.en).map((c) => c.words.join(' '));
  t.ok(vi.length >= 40, `the guide shows the commands of the whole job (${vi.length})`);
  t.same(vi, en, 'the Vietnamese and the English guide run the same commands');
});

t.test('the guide covers the operator’s work', async (t) => {
  const names = new Set(guideCommands(both).map((c) => commandName(c.words, VERBS)));
  // Install, configure, check, back up and restore, upgrade, rotate a certificate, add an agency, read logs.
  const expected = ['--version', 'hub', 'edge', 'edge init', 'edge check', 'hub check', 'agency add', 'agency list', 'agency suspend', 'agency resume', 'agency remove', 'apikey new', 'hub user add', 'hub user password', 'edge backup', 'edge restore', 'hub backup', 'hub restore', 'send', 'show', 'verify', 'audit verify', 'hub prune'];
  for (const name of expected) t.ok(names.has(name), `the guide shows "lienthong ${name}"`);
});

t.test('every command of the guide is one the CLI accepts', async (t) => {
  const commands = guideCommands(both);
  const answers = await cliAnswers(commands.map((c) => c.words));
  const seen = new Set<string>();
  for (const command of commands) {
    const text = command.words.join(' ');
    if (seen.has(text)) continue;
    seen.add(text);
    const problems = commandProblems(command.words, VERBS, answers);
    if (isPending(command.words, PENDING_COMMANDS)) {
      t.not(problems.length, 0, `pending, added by another branch: lienthong ${text}${problems.length ? '' : ' is accepted now: remove it from PENDING_COMMANDS'}`);
    } else {
      t.same(problems, [], `lienthong ${text}`);
    }
  }
  for (const entry of PENDING_COMMANDS) t.ok(commands.some((c) => isPending(c.words, [entry])), `PENDING_COMMANDS "${entry}" is in the guide`);
});

t.test('a command the CLI does not have fails the check', async (t) => {
  const problems = (line: string, help?: (path: readonly string[]) => string | undefined): string[] =>
    commandProblems(line.split(' '), VERBS, { topLevel: () => false, ...(help ? { help } : {}) });
  t.match(problems('frobnicate --config edge.json'), [/"frobnicate" is not a verb/], 'an unknown verb');
  t.match(problems('edge frobnicate --config edge.json'), [/lists no subcommand "frobnicate"/], 'an unknown subcommand of a verb without any');
  t.match(problems('hub frobnicate --config hub.json'), [/lists no subcommand "frobnicate" \(it lists: user add, user list/], 'an unknown subcommand of a verb with some');
  t.match(problems('send --config edge.json --frobnicate meta.json'), [/names no option --frobnicate/], 'an unknown option');
  t.match(problems('--frobnicate'), [/not an option the CLI answers/], 'an unknown top-level flag');
  t.same(problems('hub user add chief --role operator --config hub.json'), [], 'a subcommand two words deep, with its argument');
  t.same(problems('audit export --config hub.json --from 2026-01-01 --to 2026-02-01 -o audit.json'), [], 'short and long options with values');
  // A subcommand whose own --help lists other options than its verb's is held to its own.
  const pruneHelp = 'Usage: lienthong hub prune [--dry-run]\n\nOptions:\n  --dry-run  say what would go';
  const ownHelp = (path: readonly string[]): string | undefined => (path.join(' ') === 'hub prune' ? pruneHelp : undefined);
  t.same(problems('hub prune --dry-run', ownHelp), [], 'an option of the subcommand’s own help');
  t.match(problems('hub prune --config hub.json', ownHelp), [/"lienthong hub prune --help" names no option --config/], 'an option only the verb’s help names');
});

t.test('the commands are read from the code blocks as a shell reads them', async (t) => {
  const sample = [
    'Not a command: lienthong hub --frobnicate (prose).',
    '```sh',
    '# lienthong frobnicate: a comment',
    'sudo mkdir -p /etc/lienthong /var/lib/lienthong',
    'sudo ln -s /opt/lienthong/bin/lienthong.js /usr/local/bin/lienthong',
    'sudo useradd --system --shell /usr/sbin/nologin lienthong && sudo --user=lienthong --shell',
    'AMQP_URL="$(cat a.url)" node bin/lienthong.js edge --config edge.json   # runs until Ctrl-C',
    'npx lienthong agency add 000.00.01.H12 --name "Sở Tài chính" \\',
    '  --config hub.json --write-url a.url',
    'runuser -u lienthong -- lienthong hub user add chief --role operator --config hub.json < pw.txt',
    'lienthong audit verify --config hub.json --json | jq .valid',
    '```',
    '```ini',
    'ExecStart=/usr/bin/node /opt/lienthong/bin/lienthong.js hub --config /etc/lienthong/hub.json',
    '```',
  ].join('\n');
  t.same(
    guideCommands(sample).map((c) => c.words),
    [
      ['edge', '--config', 'edge.json'],
      ['agency', 'add', '000.00.01.H12', '--name', 'Sở Tài chính', '--config', 'hub.json', '--write-url', 'a.url'],
      ['hub', 'user', 'add', 'chief', '--role', 'operator', '--config', 'hub.json'],
      ['audit', 'verify', '--config', 'hub.json', '--json'],
      ['hub', '--config', '/etc/lienthong/hub.json'],
    ],
  );
});

t.test('every configuration key the guide names is in the README’s configuration tables', async (t) => {
  const rows = readmeConfigRows();
  const keys = configKeys(both);
  t.ok(keys.includes('trust.crls') && keys.includes('stopTimeoutSeconds'), 'keys are found in the guide');
  for (const key of keys) {
    if (pendingName(key)) t.comment(`pending, added by another branch: ${key}`);
    else t.ok(configKeyDocumented(key, rows), `"${key}" is in a configuration table of README.md`);
  }
  t.ok(configKeyDocumented('dashboard.metricsToken', rows) && configKeyDocumented('api.keys', rows) && configKeyDocumented('identity.cert', rows), 'keys documented in a section or a parent row count');
  t.notOk(configKeyDocumented('trust.frobnicate', rows) || configKeyDocumented('frobnicateSeconds', rows), 'a key the README does not have fails the check');
  for (const name of PENDING_NAMES) t.ok(both.includes(name), `PENDING_NAMES "${name}" is in the guide`);
});

t.test('every environment variable the guide names is in the README', async (t) => {
  const text = readme();
  const variables = environmentVariables(both);
  t.ok(variables.includes('AMQP_URL') && variables.includes('LT_LOG_LEVEL'), 'variables are found in the guide');
  for (const variable of variables) {
    if (pendingName(variable)) t.comment(`pending, added by another branch: ${variable}`);
    else t.match(text, new RegExp(`\\b${variable}\\b`), `${variable} is in README.md`);
  }
});

t.test('every metric the guide names is one the hub serves', async (t) => {
  const dir = t.testdir();
  const db = openDatabase(join(dir, 'hub.sqlite'), HUB_MIGRATIONS);
  t.teardown(() => db.close());
  // The management client is never called: metrics are only registered, not collected.
  const metrics = new HubMetrics({ db, names: resourceNames('guide'), health: new HealthBoard(), api: new ManagementClient({ url: 'http://127.0.0.1:15672', user: 'guest', password: 'guest', vhost: '/' }) });
  // Registered (with the process metrics prom-client adds), and declared in the source: some register only with what they watch.
  const declared = [...readFileSync(join(REPO, 'src/hub/metrics.ts'), 'utf8').matchAll(/name: '(lt_[a-z0-9_]+)'/g)].map((m) => m[1] as string);
  const served = new Set([...metrics.registry.getMetricsAsArray().map((m) => m.name), ...declared]);
  const isServed = (name: string): boolean => served.has(name) || served.has(name.replace(/_(?:bucket|sum|count)$/, ''));
  const named = metricNames(both);
  t.ok(named.length >= 5, `metrics are found in the guide (${named.length})`);
  for (const name of named) {
    if (pendingName(name)) t.comment(`pending, added by another branch: ${name}`);
    else t.ok(isServed(name), `${name} is served at /metrics`);
  }
  t.notOk(isServed('lt_frobnicate_total'), 'a metric the hub does not serve fails the check');
});

t.test('every error code the guide names is in the catalogue', async (t) => {
  const codes = errorCodes(both);
  t.ok(codes.includes('BROKER_UNREACHABLE') && codes.includes('STORAGE_FULL'), 'codes are found in the guide');
  for (const code of codes) {
    if (pendingName(code)) t.comment(`pending, added by another branch: ${code}`);
    else t.ok(code in ERROR_CATALOGUE, `${code} is in src/errors.ts`);
  }
  const invented = errorCodes('The hub says `FROBNICATE_FAILED` (not `LT_PREFIX`, nor `lienthong hub`).');
  t.same(invented, ['FROBNICATE_FAILED'], 'inline upper-case names other than environment variables are read as error codes');
  t.notOk(invented.every((code) => code in ERROR_CATALOGUE), 'a code the catalogue does not have fails the check');
});
