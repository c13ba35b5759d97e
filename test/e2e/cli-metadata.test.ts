/**
 * One schema at both doors: the metadata `lienthong build` and `lienthong send` read from
 * META.json is checked against schemas/api/document-input.json, as the REST API checks its JSON
 * body and multipart `metadata` field. Incomplete metadata is refused in the REST API's words,
 * with exit 1 and one line on stderr (never INTERNAL, never a stack trace), and nothing is
 * written or queued; metadata that passes the schema but breaks the edXML rules is refused
 * finding by finding. The CLI runs as a child process (`node bin/lienthong.js`, the compiled
 * dist/: `npx tsc -p .` first); the REST API over an opened edge through inject().
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { silentLogger } from '../../src/log.js';
import { apiKeyFromCli, openedEdge } from '../helpers/edge-api.js';
import { FINANCE, OFFICE, REPO } from '../helpers/pki.js';
import { childEnv, runCli, type CliRun } from '../helpers/cli.js';


if (!existsSync(join(REPO, 'dist/cli/main.js'))) {
  t.fail('dist/ is not built: run "npx tsc -p ." (npm test does it) before this test');
  process.exit(1);
}

function lienthong(cwd: string, ...args: string[]): CliRun {
  return runCli(cwd, args, { env: childEnv({ LT_LOG_LEVEL: 'silent' }) });
}

/** A working directory of its own (the opened edge of `restAnswers` takes the test's testdir). */
function workDir(t: Test, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lt-cli-metadata-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** An edge.json as an operator writes it; `send` opens the edge (keys, database), no broker. */
function edgeConfig(dir: string): string {
  const path = join(dir, 'edge.json');
  writeFileSync(
    path,
    JSON.stringify({
      organId: OFFICE,
      organization: { organId: OFFICE, organName: 'Văn phòng UBND tỉnh Cà Mau' },
      hubOrganId: DEV_HUB.organId,
      dataDir: join(dir, 'data'),
      identity: { key: devPath('agencies', `${OFFICE}.key.pem`), cert: devPath('agencies', `${OFFICE}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
    }),
  );
  return path;
}

/** What the REST API answers for the same metadata, as a multipart `metadata` field (the CLI's words) and as a JSON body. */
async function restAnswers(t: Test): Promise<(metadata: unknown) => Promise<{ multipart: { status: number; error: { code: string; message: string; path?: string } }; json: { status: number; error: { code: string; message: string; path?: string } } }>> {
  const edge = await openedEdge(t, OFFICE);
  const client = await apiKeyFromCli('qlvb');
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [client.entry], bodyLimit: 1024 * 1024 }, { log: silentLogger(), rateLimit: false });
  t.teardown(() => app.close());
  await app.ready();
  return async (metadata) => {
    const form = new FormData();
    form.append('metadata', JSON.stringify(metadata));
    const request = new Request('http://edge/', { method: 'POST', body: form });
    const multipart = await app.inject({
      method: 'POST',
      url: '/api/v1/documents',
      headers: { 'x-api-key': client.key, 'content-type': request.headers.get('content-type') as string },
      payload: Buffer.from(await request.arrayBuffer()),
    });
    const json = await app.inject({ method: 'POST', url: '/api/v1/documents', headers: { 'x-api-key': client.key, 'content-type': 'application/json' }, payload: JSON.stringify(metadata) });
    return { multipart: { status: multipart.statusCode, error: multipart.json().error }, json: { status: json.statusCode, error: json.json().error } };
  };
}

const CODE = { codeNumber: '7', codeNotation: 'UBND-VP' };

/** Shapes the schema refuses: each a crash (INTERNAL) of build and send before. */
const OUTSIDE_THE_SCHEMA: Array<[string, unknown]> = [
  ['an empty object', {}],
  ['an array', [1, 2]],
  ['JSON null', null],
  ['a string', 'công văn'],
  ['recipients but no number', { to: [] }],
  ['a recipient without organId', { to: [{ organName: 'Sở Tài chính' }], code: CODE }],
  ['a number without its notation', { to: [{ organId: FINANCE }], code: { codeNumber: '7' } }],
  ['recipients that are not a list', { to: 'Sở Tài chính', code: CODE }],
  ['a misspelt field', { to: [{ organId: FINANCE }], code: CODE, subjet: 'V/v' }],
  ['an attachment without content', { to: [{ organId: FINANCE }], code: CODE, subject: 'V/v', attachments: [{ name: 'a.pdf' }] }],
];

t.test('metadata outside the schema: build and send refuse it in the words of the REST API, exit 1', async (t) => {
  const dir = workDir(t);
  const config = edgeConfig(dir);
  const rest = await restAnswers(t);
  for (const [what, metadata] of OUTSIDE_THE_SCHEMA) {
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(metadata));
    const answer = await rest(metadata);
    t.equal(answer.multipart.status, 400, `${what}: the REST API refuses it (${answer.multipart.error.message})`);
    t.equal(answer.json.error.message.replace(/^body/, 'metadata'), answer.multipart.error.message, `${what}: the same sentence for a JSON body and a multipart field`);
    const expected = `meta.json: ${answer.multipart.error.message} [${answer.multipart.error.path}] (PACKET_INVALID)`;
    for (const args of [
      ['build', 'meta.json', '-o', 'out.xml'],
      ['send', '--config', config, 'meta.json'],
    ]) {
      const verb = args[0] as string;
      const r = lienthong(dir, ...args);
      t.equal(r.status, 1, `${what}: ${verb} exits 1`);
      t.same(r.stderr.split('\n').filter(Boolean), [`lienthong ${verb}: ${expected}`], `${what}: ${verb} says what the REST API says, on one line`);
      t.notMatch(r.stderr, /INTERNAL|Cannot read properties|\n\s+at /, `${what}: ${verb} neither crashes nor shows a stack`);
    }
    t.notOk(existsSync(join(dir, 'out.xml')), `${what}: build wrote nothing`);
  }
  t.notOk(existsSync(join(dir, 'data')), 'send refused the file before it opened the edge: nothing queued, no key loaded');
});

t.test('build needs the sender that send takes from edge.json', async (t) => {
  const dir = workDir(t, { 'meta.json': JSON.stringify({ to: [{ organId: FINANCE }], code: CODE, subject: 'V/v thử' }) });
  const r = lienthong(dir, 'build', 'meta.json', '-o', 'out.xml');
  t.equal(r.status, 1);
  t.match(r.stderr, /^lienthong build: meta\.json: metadata must have required property 'from' .*\[metadata\/from\] \(PACKET_INVALID\)\n$/);
  t.notOk(existsSync(join(dir, 'out.xml')));
});

t.test('metadata inside the schema that breaks the edXML rules: every finding, then exit 1', async (t) => {
  const dir = workDir(t);
  const config = edgeConfig(dir);
  const rest = await restAnswers(t);
  const metadata = { to: [], code: CODE, subject: '' };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(metadata));
  writeFileSync(join(dir, 'meta-from.json'), JSON.stringify({ ...metadata, from: { organId: OFFICE } }));
  const answer = await rest(metadata);
  t.equal(answer.json.status, 422, 'the REST API: 422 with its findings');
  const findings = (answer.json.error as unknown as { findings: Array<{ code: string; path: string }> }).findings;
  t.ok(findings.length >= 2, 'no recipient, no subject');
  for (const [verb, args] of [
    ['send', ['send', '--config', config, 'meta.json']],
    ['build', ['build', 'meta-from.json', '-o', 'out.xml']],
  ] as const) {
    const r = lienthong(dir, ...args);
    t.equal(r.status, 1, `${verb} exits 1`, { stderr: r.stderr });
    for (const f of findings) t.match(r.stderr, `error ${f.code} ${f.path}: `, `${verb} prints ${f.code} ${f.path}`);
    t.match(r.stderr.split('\n').filter(Boolean).at(-1), /^lienthong (send|build): .* \((PACKET_INVALID)\)$/, `${verb}: the last line names the code`);
    t.notMatch(r.stderr, /INTERNAL|\n\s+at /);
  }
});
