/**
 * The CLI's verb list: each entry loads the command it names, and `lienthong --help` lists every
 * verb without loading any verb's module (what keeps the help and a quick verify fast).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runModuleScript } from '../helpers/module-loads.js';
import { VERBS } from '../../src/cli/commands/index.js';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import { CERTS, OFFICE, REPO, identityMaterial, unsignedDocument } from '../helpers/pki.js';

t.test('every verb entry loads the command of that name, with its help', async (t) => {
  t.equal(new Set(VERBS.map((v) => v.name)).size, VERBS.length, 'no verb listed twice');
  for (const verb of VERBS) {
    const command = await verb.load();
    t.equal(command.name, verb.name, `${verb.name}: the module's command has the entry's name`);
    t.match(command.help, new RegExp(`^Usage:\\s+lienthong ${verb.name}\\b`), `${verb.name}: --help starts with its usage`);
    t.ok(verb.summary.length > 0 && !verb.summary.includes('\n'), `${verb.name}: a one-line summary`);
  }
});

t.test('lienthong --help loads none of the heavy libraries a verb needs', async (t) => {
  // What is in require.cache after --help was loaded for nothing but the list.
  const script = (args: string[]): string[] => [
    "const { main } = await import(process.argv[1]);",
    "let out = '';",
    "const sink = { write: (s) => { out += s; return true; } };",
    `await main(${JSON.stringify(args)}, { stdout: sink, stderr: sink, env: process.env, cwd: process.cwd() });`,
    'console.log(JSON.stringify({ out, loaded: loadedFiles() }));',
  ];
  const run = runModuleScript(script(['--help']), join(REPO, 'dist/cli/main.js'));
  t.equal(run.status, 0, run.stderr);
  const { out, loaded } = JSON.parse(run.stdout) as { out: string; loaded: string[] };
  for (const verb of VERBS) t.match(out, new RegExp(`^  ${verb.name} +${verb.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `${verb.name} listed`);
  for (const heavy of ['amqplib', 'fastify', 'better-sqlite3', 'xmldsigjs', '@xmldom']) {
    t.notOk(loaded.some((file) => file.includes(`node_modules/${heavy}/`)), `${heavy} not loaded`);
  }
  // The check itself can fail: a verb does load them.
  const verbRun = runModuleScript(script(['verify', '--help']), join(REPO, 'dist/cli/main.js'));
  const verbLoaded = (JSON.parse(verbRun.stdout) as { loaded: string[] }).loaded;
  t.ok(verbLoaded.some((file) => file.includes('node_modules/')), 'loading a verb does show its libraries');
});

t.test('lienthong verify loads the certificate stack, nothing of a node, and not xmldom for a packet the fast reader reads', async (t) => {
  // Most of verify's start-up is loading modules (@peculiar/x509 alone is some 220 CommonJS
  // files, more CPU than the verification): a library of the hub or the edge imported on the
  // way would make the operator's quickest command slow.
  const dir = t.testdir();
  const packet = join(dir, 'signed.xml');
  // With its chain, as agencies sign: the command then needs only the root and the CRLs.
  const { keyPem, certPem } = identityMaterial(OFFICE);
  writeFileSync(packet, await signPacket(unsignedDocument(OFFICE), await loadSigningIdentity(keyPem, certPem, readFileSync(join(CERTS, 'issuing-ca.pem'), 'utf8'))));
  const args = ['verify', packet, '--trust', join(CERTS, 'root-ca.pem'), '--crl', join(CERTS, 'issuing-ca.crl.pem'), '--crl', join(CERTS, 'root-ca.crl.pem')];
  const script = [
    "const { main } = await import(process.argv[1]);",
    "let out = '';",
    "const sink = { write: (s) => { out += s; return true; } };",
    `const code = await main(${JSON.stringify(args)}, { stdout: sink, stderr: sink, env: process.env, cwd: process.cwd() });`,
    'console.log(JSON.stringify({ code, out, loaded: loadedFiles() }));',
  ];
  const run = runModuleScript(script, join(REPO, 'dist/cli/main.js'));
  t.equal(run.status, 0, run.stderr);
  const { code, out, loaded } = JSON.parse(run.stdout) as { code: number; out: string; loaded: string[] };
  t.equal(code, 0, 'the packet verifies');
  t.match(out, /valid, signed by/);
  const packages = new Set(loaded.map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]).filter((name) => name !== undefined));
  t.ok(packages.has('@peculiar/x509'), 'what verifying needs is there (the check can fail)');
  // The broker, the database, the HTTP server, the logger, JSON Schema, metrics, the WebCrypto
  // polyfill (node:crypto is the default engine), the reference XMLDSig of the tests, and xmldom:
  // the fast reader reads a packet lienthong signed (xmldom's load was 40 ms of the command).
  for (const unneeded of ['amqplib', 'better-sqlite3', 'fastify', 'pino', 'ajv', 'prom-client', '@peculiar/webcrypto', 'xmldsigjs', 'xml-core', 'xpath', '@xmldom/xmldom']) {
    t.notOk(packages.has(unneeded), `${unneeded} not loaded`);
  }
});
