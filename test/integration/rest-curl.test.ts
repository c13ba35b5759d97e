/**
 * The edge's REST API as an integrator first tries it: with curl, against an API listening on
 * a port (an opened edge: keys, crypto workers, SQLite; no broker, nothing leaves the outbox).
 * The multipart `metadata` part may be a plain field, a field typed application/json (which
 * @fastify/multipart parses before the route sees it: it was refused as `"[object Object]" is
 * not valid JSON`) or a file part; `/health` answers at the root as under /api/v1.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import { formatEdxmlDate } from '../../src/envelope/values.js';
import { silentLogger } from '../../src/log.js';
import { apiKeyFromCli, openedEdge } from '../helpers/edge-api.js';
import { FINANCE, OFFICE } from '../helpers/pki.js';

const run = promisify(execFile);

async function curl(cwd: string, ...args: string[]): Promise<{ status: number; body: unknown }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args], { cwd, timeout: 60_000 });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: JSON.parse(stdout.slice(0, at)) as unknown };
}

t.test('curl -F: the metadata part as a field typed application/json, a plain field or a file', async (t) => {
  const edge = await openedEdge(t, OFFICE);
  const client = await apiKeyFromCli('qlvb');
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [client.entry], bodyLimit: 1024 * 1024 }, { log: silentLogger(), rateLimit: false });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const dir = t.testdir({ 'cong-van.txt': 'Công văn (tệp đính kèm mẫu).\n', 'bad.json': '{"to": [' });
  const meta = (n: string): string => {
    const file = join(dir, `meta-${n}.json`);
    writeFileSync(file, JSON.stringify({ to: [{ organId: FINANCE, organName: 'Sở Tài chính tỉnh Cà Mau' }], code: { codeNumber: n, codeNotation: 'UBND-VP' }, subject: `V/v thử số ${n}` }));
    return `meta-${n}.json`;
  };
  const post = (...form: string[]) => curl(dir, '-H', `X-API-Key: ${client.key}`, ...form.flatMap((f) => ['-F', f]), `${base}/api/v1/documents`);
  const today = formatEdxmlDate(new Date());

  const typed = await post(`metadata=<${meta('51')};type=application/json`, 'file=@cong-van.txt');
  t.equal(typed.status, 202, `a field typed application/json: ${JSON.stringify(typed.body)}`);
  t.match(typed.body, { documentId: `${OFFICE},${today},51/UBND-VP` });
  t.match(edge.document(`${OFFICE},${today},51/UBND-VP`)?.attachments, [{ name: 'cong-van.txt' }], 'with the file part attached');

  const plain = await post(`metadata=<${meta('52')}`);
  t.equal(plain.status, 202, 'a plain field');
  const filePart = await post(`metadata=@${meta('53')};type=application/json`);
  t.equal(filePart.status, 202, 'a file part');

  const notJson = await post('metadata=<bad.json;type=application/json');
  t.equal(notJson.status, 400, 'a field declared JSON that is not: 400, not 406');
  t.match(notJson.body, { error: { code: 'USAGE', path: 'metadata', message: /declared application\/json is not JSON/ } });
  const wrongShape = await post(`metadata={"to": []};type=application/json`);
  t.equal(wrongShape.status, 400);
  t.match(wrongShape.body, { error: { code: 'USAGE', message: "metadata must have required property 'code'", path: 'metadata/code' } }, 'checked against the schema of the JSON body');

  const root = await curl(dir, `${base}/health`);
  const prefixed = await curl(dir, `${base}/api/v1/health`);
  t.equal(root.status, 200, '/health needs no key');
  t.same(root.body, { status: 'ok', organId: OFFICE, problems: [] });
  t.same(root.body, prefixed.body, 'the same answer as /api/v1/health');
});
