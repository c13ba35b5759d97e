/**
 * `lienthong edge init` refuses, before writing anything, what it can tell is wrong offline, each
 * time naming the answer to change; with every answer as a flag it asks nothing; what it writes
 * is what `lienthong edge` reads.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { edgeConfigFrom } from '../../src/edge/config.js';
import { stripJsonComments } from '../../src/json-comments.js';
import { REPO, runCli } from '../helpers/cli.js';

const dev = (...parts: string[]): string => join(REPO, 'certs-dev', ...parts);
const A = '000.00.01.H12';
const URL_A = `amqp://lt.agency.${A}:s3cret@broker.example:5672?queueToken=abc_DEF-123`;

const flags = (over: Record<string, string> = {}): string[] => {
  const all: Record<string, string> = {
    '--organ-id': A,
    '--hub-organ-id': '000.00.90.H12',
    '--amqp-url': URL_A,
    '--cert': dev('agencies', `${A}.pem`),
    '--key': dev('agencies', `${A}.key.pem`),
    '--chain': dev('issuing-ca.pem'),
    '--anchor': dev('root-ca.pem'),
    '--crl': dev('issuing-ca.crl.pem'),
    ...over,
  };
  return Object.entries(all).flatMap(([k, v]) => (v === '' ? [] : [k, v]));
};

t.test('every answer as a flag: nothing asked, a configuration the edge reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-init-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = runCli(dir, ['edge', 'init', ...flags(), '--dev', '--clamd', 'tcp://127.0.0.1:3310']);
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr, '', 'no question asked');
  const text = readFileSync(join(dir, 'edge.json'), 'utf8');
  const config = edgeConfigFrom(JSON.parse(stripJsonComments(text)) as Record<string, unknown>, dir, 'edge.json', {});
  t.equal(config.organId, A);
  t.equal(config.brokerUser, `lt.agency.${A}`);
  t.equal(config.queueToken, 'abc_DEF-123');
  t.equal(config.identity.cert, dev('agencies', `${A}.pem`));
  t.same(config.trust.crls, [dev('issuing-ca.crl.pem')]);
  t.equal(config.trust.revocation, 'require');
  t.equal(config.trust.dev, true);
  t.equal(config.clamd, 'tcp://127.0.0.1:3310');
  t.equal(config.organization.organName, 'Văn phòng UBND tỉnh Cà Mau', "the name from the certificate's CN");
  t.match(text, /\/\/ "api": /, 'optional sections shown commented out');
});

t.test('refusals, each naming what to change; nothing written', async (t) => {
  const cases: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: 'not an organ id', args: flags({ '--organ-id': '1.2.3' }), message: /--organ-id "1\.2\.3" is not an organ id/ },
    { name: "another agency's AMQP URL", args: flags({ '--amqp-url': URL_A.replace(`agency.${A}`, 'agency.000.00.05.H12') }), message: /agency 000\.00\.05\.H12's.*BROKER_USER_MISMATCH/ },
    { name: 'no password in the URL', args: flags({ '--amqp-url': `amqp://lt.agency.${A}@broker.example:5672` }), message: /has no password/ },
    { name: "another agency's certificate", args: flags({ '--cert': dev('agencies', '000.00.05.H12.pem'), '--key': dev('agencies', '000.00.05.H12.key.pem') }), message: /issued to 000\.00\.05\.H12, not to 000\.00\.01\.H12.*CERT_ORGAN_MISMATCH/ },
    { name: 'a key of another certificate', args: flags({ '--key': dev('agencies', '000.00.05.H12.key.pem') }), message: /private key does not belong to the certificate.*KEY_INVALID/ },
    { name: 'an expired certificate', args: flags({ '--organ-id': '000.00.97.H12', '--amqp-url': URL_A.replace(A, '000.00.97.H12'), '--cert': dev('expired', '000.00.97.H12.pem'), '--key': dev('expired', '000.00.97.H12.key.pem') }), message: /had expired.*CERT_EXPIRED/ },
    { name: 'the development anchor without --dev', args: flags(), message: /development certificate .* give --dev; nothing written/ },
    { name: 'a missing file', args: flags({ '--anchor': '/nonexistent/root.pem' }), message: /nonexistent\/root\.pem/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'lt-init-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const run = runCli(dir, ['edge', 'init', ...c.args, ...(c.name.includes('without --dev') ? [] : ['--dev'])]);
      t.not(run.status, 0);
      t.match(run.stderr, c.message);
      t.notOk(existsSync(join(dir, 'edge.json')), 'nothing written');
    });
  }
});

t.test('asked on standard input: an answer missing is named with its flag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-init-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const run = runCli(dir, ['edge', 'init'], { input: `${A}\n000.00.90.H12\n` });
  t.equal(run.status, 2);
  t.match(run.stderr, /This agency's organ id: The hub's organ id: The AMQP URL/, 'the questions, on stderr');
  t.match(run.stderr, /give --amqp-url; nothing written \(USAGE\)/);
  t.notOk(existsSync(join(dir, 'edge.json')));
});

t.test('each subcommand has its own --help', async (t) => {
  t.match(runCli(REPO, ['edge', 'init', '--help']).stdout, /^Usage: lienthong edge init/);
  t.match(runCli(REPO, ['edge', 'check', '--help']).stdout, /^Usage: lienthong edge check[\s\S]*--management-url/);
  t.match(runCli(REPO, ['hub', 'check', '--help']).stdout, /^Usage: lienthong hub check/);
  t.match(runCli(REPO, ['edge', '--help']).stdout, /lienthong edge init[\s\S]*lienthong edge check/, 'the edge help names them');
});
