/**
 * The files inside zipped attachments, through the edge's REST API over a real edge (as in
 * rest-api.test.ts): a client lists them, downloads one byte for byte with a safe media type,
 * and is told plainly when the attachment is no zip, is hostile, or has no such file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { writeZip } from '../../src/archive/zip.js';
import { createEdgeApi } from '../../src/adapters/rest/server.js';
import type { Edge } from '../../src/edge/edge.js';
import { formatEdxmlDate } from '../../src/envelope/index.js';
import { silentLogger } from '../../src/log.js';
import { apiKeyFromCli, openedEdge } from '../helpers/edge-api.js';
import { FINANCE, OFFICE, PDF_BYTES, REPO } from '../helpers/pki.js';
import { forgeZip } from '../helpers/zip.js';

/** A validator of one schema of schemas/api/ (with the schemas it references). */
function validatorOf(id: string): (body: unknown) => string | undefined {
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  const dir = join(REPO, 'schemas', 'api');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object);
  const validate = ajv.getSchema(id);
  if (!validate) throw new Error(`schemas/api/${id} is missing`);
  return (body) => (validate(body) ? undefined : ajv.errorsText(validate.errors));
}

const checkError = validatorOf('error.json');
const checkFiles = validatorOf('attachment-files.json');
const checkView = validatorOf('document-view.json');

interface Api {
  edge: Edge;
  call(options: InjectOptions): Promise<LightMyRequestResponse>;
}

async function api(t: Test): Promise<Api> {
  const edge = await openedEdge(t, OFFICE);
  const client = await apiKeyFromCli('qlvb-vanphong');
  const app = createEdgeApi(edge, { host: '127.0.0.1', port: 0, keys: [client.entry], bodyLimit: 8 * 1024 * 1024 }, { log: silentLogger() });
  t.teardown(() => app.close());
  await app.ready();
  return {
    edge,
    call: async (inject) => {
      const response = await app.inject({ ...inject, headers: { ...(inject.headers ?? {}), 'x-api-key': client.key } });
      if (response.statusCode >= 400) {
        const problem = checkError(response.json());
        if (problem) throw new Error(`${inject.method} ${inject.url} answered ${response.statusCode} outside error.json: ${problem}\n${response.body}`);
      }
      return response;
    },
  };
}

const INSIDE = new Map<string, Buffer>([
  ['Công văn đến/Tờ trình số 12.pdf', Buffer.from(PDF_BYTES)],
  ['Phụ lục #1 (bản chính).txt', Buffer.from('Đơn vị;Số lượng\nSở Tài chính;12\n'.repeat(40))],
  ['rỗng.txt', Buffer.alloc(0)],
  ['trang.html', Buffer.from('<script>alert(1)</script>')],
]);
const MODIFIED = new Date('2024-05-02T03:00:00.000Z');
const ZIP = writeZip([...INSIDE].map(([path, data]) => ({ path, data, modified: MODIFIED })));
const SLIP = forgeZip([
  { name: 'bao-cao.txt', data: 'vô hại' },
  { name: '../../etc/passwd', data: 'root::0:0::/root:/bin/sh' },
]);

const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** A sent document whose attachments are: the archive, a PDF, an undeclared zip, a zip slip, a PDF called .zip. */
async function documentWithAttachments(a: Api): Promise<string> {
  const r = await a.call({
    method: 'POST',
    url: '/api/v1/documents',
    payload: {
      to: [{ organId: FINANCE }],
      code: { codeNumber: '88', codeNotation: 'UBND-VP' },
      subject: 'V/v gửi hồ sơ nén',
      attachments: [
        { name: 'Hồ sơ kèm theo.zip', contentBase64: base64(ZIP) },
        { name: 'cong-van.pdf', contentBase64: base64(PDF_BYTES) },
        { name: 'goi-du-lieu.bin', contentBase64: base64(ZIP) },
        { name: 'nguy-hiem.zip', contentBase64: base64(SLIP) },
        { name: 'gia-mao.zip', contentBase64: base64(PDF_BYTES) },
      ],
    },
  });
  if (r.statusCode !== 202) throw new Error(`submit: ${r.statusCode} ${r.body}`);
  return r.json().documentId as string;
}

const attachmentUrl = (documentId: string, cid: string): string => `/api/v1/documents/${encodeURIComponent(documentId)}/attachments/${encodeURIComponent(cid)}`;

t.test('the files of a zipped attachment are listed, and each downloads byte for byte with a safe media type', async (t) => {
  const a = await api(t);
  const documentId = await documentWithAttachments(a);
  t.equal(documentId, `${OFFICE},${formatEdxmlDate(new Date())},88/UBND-VP`);

  const view = await a.call({ method: 'GET', url: `/api/v1/documents/${encodeURIComponent(documentId)}` });
  t.equal(checkView(view.json()), undefined, 'the document view matches document-view.json');
  t.same(
    view.json().attachments.map((x: { contentId: string; filesUrl: string | null }) => [x.contentId, x.filesUrl]),
    [
      ['cid:1', `${attachmentUrl(documentId, 'cid:1')}/files`],
      ['cid:2', null],
      ['cid:3', null],
      ['cid:4', `${attachmentUrl(documentId, 'cid:4')}/files`],
      ['cid:5', `${attachmentUrl(documentId, 'cid:5')}/files`],
    ],
    'the view points to the files of attachments declared zip, without opening any',
  );

  const list = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:1')}/files` });
  t.equal(list.statusCode, 200, list.body);
  const body = list.json();
  t.equal(checkFiles(body), undefined, 'the list matches attachment-files.json');
  t.match(body, { documentId, contentId: 'cid:1', name: 'Hồ sơ kèm theo.zip' });
  t.same(
    body.files.map((f: { path: string; size: number; modified: string }) => [f.path, f.size, f.modified]),
    [...INSIDE].map(([path, data]) => [path, data.length, MODIFIED.toISOString()]),
    'every file with its size and time, in archive order',
  );

  const types: Record<string, string> = {
    'Công văn đến/Tờ trình số 12.pdf': 'application/pdf',
    'Phụ lục #1 (bản chính).txt': 'text/plain',
    'rỗng.txt': 'text/plain',
    'trang.html': 'application/octet-stream',
  };
  for (const file of body.files as Array<{ path: string; url: string }>) {
    t.ok(file.url.startsWith(`${attachmentUrl(documentId, 'cid:1')}/files/`), `${file.path}: the url is under the attachment`);
    const r = await a.call({ method: 'GET', url: file.url });
    t.equal(r.statusCode, 200, `${file.path}: 200`);
    t.ok(r.rawPayload.equals(INSIDE.get(file.path)!), `${file.path}: the same bytes`);
    t.equal(r.headers['content-type'], types[file.path], `${file.path}: the media type from its name (HTML served as bytes)`);
    t.equal(r.headers['x-content-type-options'], 'nosniff', `${file.path}: nosniff`);
    t.match(r.headers['content-disposition'], /^attachment; /, `${file.path}: a download, not a page`);
  }
  const pdf = await a.call({ method: 'GET', url: body.files[0].url });
  t.equal(
    pdf.headers['content-disposition'],
    `attachment; filename="To trinh so 12.pdf"; filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh%20s%E1%BB%91%2012.pdf`,
    'the Vietnamese file name, without its folder',
  );
  t.equal(body.files[0].url, `${attachmentUrl(documentId, 'cid:1')}/files/C%C3%B4ng%20v%C4%83n%20%C4%91%E1%BA%BFn/T%E1%BB%9D%20tr%C3%ACnh%20s%E1%BB%91%2012.pdf`, 'each segment encoded, the folder slash kept');
  const decomposed = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:1')}/files/${encodeURIComponent('rỗng.txt'.normalize('NFD'))}` });
  t.equal(decomposed.statusCode, 200, 'a path asked for in decomposed Unicode finds the file');

  const undeclared = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:3')}/files` });
  t.equal(undeclared.statusCode, 200, 'an attachment not declared zip but starting like one is listed too');
  t.equal(undeclared.json().files.length, INSIDE.size);
});

t.test('what is not a zip, a hostile zip and what does not exist are refused with a message that says so', async (t) => {
  const a = await api(t);
  const documentId = await documentWithAttachments(a);

  const pdf = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:2')}/files` });
  t.equal(pdf.statusCode, 422, 'a PDF: 422');
  t.match(pdf.json().error, { code: 'ZIP_INVALID', documentId, message: /attachment cid:2 of document .* is application\/pdf, not a zip archive; download it whole from \/api\/v1\// });
  const fake = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:5')}/files` });
  t.equal(fake.statusCode, 422, 'a PDF declared application/zip: 422');
  t.match(fake.json().error, { code: 'ZIP_INVALID', message: /attachment cid:5 .*: the file has no end-of-central-directory record/ });
  t.equal((await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:2')}/files/x.txt` })).json().error.code, 'ZIP_INVALID', 'and no file is read from it');

  const slip = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:4')}/files` });
  t.equal(slip.statusCode, 422, 'a zip with a ../../etc/passwd entry: 422');
  t.match(slip.json().error, { code: 'ZIP_UNSAFE', documentId, path: '../../etc/passwd', message: /attachment cid:4 .*: entry "\.\.\/\.\.\/etc\/passwd" climbs out of its folder/ });
  const harmless = await a.call({ method: 'GET', url: `${attachmentUrl(documentId, 'cid:4')}/files/bao-cao.txt` });
  t.equal(harmless.statusCode, 422, 'nor is its harmless-looking file served: the archive is refused whole');
  t.equal(harmless.json().error.code, 'ZIP_UNSAFE');

  const cases: Array<[string, string]> = [
    [`${attachmentUrl(documentId, 'cid:1')}/files/khong-co.txt`, 'an unknown file'],
    [`${attachmentUrl(documentId, 'cid:1')}/files/C%C3%B4ng%20v%C4%83n%20%C4%91%E1%BA%BFn`, 'a folder'],
    [`${attachmentUrl(documentId, 'cid:1')}/files/..%2F..%2Fetc%2Fpasswd`, 'a path that climbs out'],
    [`${attachmentUrl(documentId, 'cid:9')}/files`, 'an unknown attachment'],
    [`${attachmentUrl(`${OFFICE},2024/01/01,1/X`, 'cid:1')}/files`, 'an unknown document'],
  ];
  for (const [url, what] of cases) {
    const r = await a.call({ method: 'GET', url });
    t.equal(r.statusCode, 404, `${what}: 404`);
    t.equal(r.json().error.code, 'NOT_FOUND', what);
  }
  const unknown = await a.call({ method: 'GET', url: cases[0]![0] });
  t.match(unknown.json().error.message, /has no file "khong-co\.txt"; list its files at \/api\/v1\/.*\/files$/, 'the 404 says where the list is');
});

t.test('the OpenAPI document describes both routes', async (t) => {
  const a = await api(t);
  const openapi = (await a.call({ method: 'GET', url: '/docs/json' })).json();
  const paths = Object.keys(openapi.paths as Record<string, unknown>).filter((p) => p.includes('/files'));
  t.same(paths.sort(), ['/api/v1/documents/{documentId}/attachments/{contentId}/files', '/api/v1/documents/{documentId}/attachments/{contentId}/files/{*}']);
  const list = openapi.paths['/api/v1/documents/{documentId}/attachments/{contentId}/files'].get;
  t.equal(list.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/AttachmentFiles');
  t.ok(list.responses['4XX'] ?? list.responses['4xx'], 'errors documented');
  t.ok(openapi.components.schemas.AttachmentFile, 'components.schemas.AttachmentFile');
});
