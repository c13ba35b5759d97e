/** Configuration files with comments: // and /* *\/ outside strings are ignored, nothing else is. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readConfigFile } from '../../src/config.js';
import { stripJsonComments } from '../../src/json-comments.js';

t.test('comments go, strings stay exactly as written', async (t) => {
  const text = [
    '// heading comment',
    '{',
    '  /* a block',
    '     over lines */ "url": "amqp://u:p@host:5672/vh//x?queueToken=a/*b*/c", // after a value',
    '  "path": "C:\\\\dir\\\\\\"quoted\\" // not a comment",',
    '  "slashes": "/* nor this */",',
    '  "n": 1 /* inline */',
    '}',
  ].join('\n');
  const parsed = JSON.parse(stripJsonComments(text)) as Record<string, unknown>;
  t.same(parsed, { url: 'amqp://u:p@host:5672/vh//x?queueToken=a/*b*/c', path: 'C:\\dir\\"quoted" // not a comment', slashes: '/* nor this */', n: 1 });
});

t.test('line and column of a JSON error stay where they are in the file', async (t) => {
  const text = '{\n  // comment\n  /* two\n lines */\n  "a": 1,\n  "b": oops\n}';
  const stripped = stripJsonComments(text);
  t.equal(stripped.length, text.length, 'same length');
  t.same(stripped.split('\n').length, text.split('\n').length, 'same lines');
  t.equal(stripped.indexOf('oops'), text.indexOf('oops'), 'same offsets');
});

t.test('CRLF line ends end a // comment', async (t) => {
  t.same(JSON.parse(stripJsonComments('{ // c\r\n "a": 1\r\n}')), { a: 1 });
});

t.test('an unclosed /* is refused with its line', async (t) => {
  t.throws(() => stripJsonComments('{\n "a": 1\n /* forever', 'edge.json'), { code: 'CONFIG_INVALID', message: /edge\.json: the comment opened with \/\* on line 3 is never closed/ });
});

t.test('plain JSON is unchanged', async (t) => {
  const text = '{"a": "b\\"//", "c": [1, 2, {"d": "/*"}]}';
  t.equal(stripJsonComments(text), text);
});

t.test('readConfigFile accepts comments, and still says where JSON is wrong', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-json-comments-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'good.json'), '// edge\n{\n  "organId": "000.00.01.H12" // this agency\n}\n');
  t.same((await readConfigFile(join(dir, 'good.json'))).raw, { organId: '000.00.01.H12' });
  writeFileSync(join(dir, 'bad.json'), '// edge\n{\n  "organId": 000.00.01.H12\n}\n');
  await t.rejects(readConfigFile(join(dir, 'bad.json')), { code: 'CONFIG_INVALID', message: /bad\.json is not valid JSON/ });
  writeFileSync(join(dir, 'open.json'), '{ /* open ');
  await t.rejects(readConfigFile(join(dir, 'open.json')), { code: 'CONFIG_INVALID', message: /never closed/ });
});
