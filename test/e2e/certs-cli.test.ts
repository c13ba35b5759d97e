/**
 * `lienthong certs` as an operator runs it: the built bin/lienthong.js in a child process, so exit
 * codes and the stdout/stderr split are the real ones. Needs dist/ (`npm test` builds first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../..');

function lienthong(args: string[], cwd = REPO) {
  return runCli(cwd, args);
}

if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
  t.fail('dist/ is missing: run "npm run build" before this test');
} else {
  t.test('certs init writes a set and exits 0', async (t) => {
    const dir = t.testdir();
    const r = lienthong(['certs', 'init', '--out', 'set'], dir);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stderr, '');
    t.match(r.stdout, /^hub\s+000\.00\.90\.H12\s+set\/hub\.pem$/m);
    t.match(r.stdout, /^agency\s+000\.00\.14\.H12\s+set\/agencies\/000\.00\.14\.H12\.pem$/m);
    t.match(r.stdout, /^revoked\s+000\.00\.98\.H12\s+set\/revoked\/000\.00\.98\.H12\.pem$/m);
    t.match(r.stdout, /^expired\s+000\.00\.97\.H12\s+set\/expired\/000\.00\.97\.H12\.pem$/m);
    t.match(r.stdout, /NEVER use them in production/);
    const manifest = JSON.parse(readFileSync(join(dir, 'set', 'organs.json'), 'utf8')) as { agencies: unknown[] };
    t.equal(manifest.agencies.length, 6);
    t.ok(existsSync(join(dir, 'set', 'root-ca.key.pem')));

    const again = lienthong(['certs', 'init', '--out', 'set'], dir);
    t.equal(again.status, 2, 'a non-empty directory is refused without --force');
    t.match(again.stderr, /^lienthong certs: .*--force.*\(USAGE\)\n$/);
    t.equal(lienthong(['certs', 'init', '--out', 'set', '--force'], dir).status, 0, '--force overwrites');
  });

  t.test('certs --help exits 0', async (t) => {
    for (const args of [['certs', '--help'], ['certs', 'init', '-h']]) {
      const r = lienthong(args);
      t.equal(r.status, 0);
      t.match(r.stdout, /^Usage: lienthong certs init/);
      t.match(r.stdout, /NEVER USE THEM IN PRODUCTION/);
    }
    t.match(lienthong(['--help']).stdout, /^ {2}certs\s/m, 'listed in the overview');
  });

  t.test('usage errors exit 2 with one stderr line', async (t) => {
    const dir = t.testdir({ 'organs.json': JSON.stringify({ agencies: [{ organId: 'nope', name: 'x' }] }) });
    const cases: [string, string[]][] = [
      ['unknown flag', ['certs', 'init', '--bogus']],
      ['no subcommand', ['certs']],
      ['unknown subcommand', ['certs', 'renew']],
      ['bad organs file', ['certs', 'init', '--out', 'x', '--organs', 'organs.json']],
      ['missing organs file', ['certs', 'init', '--out', 'y', '--organs', 'missing.json']],
    ];
    for (const [what, args] of cases) {
      const r = lienthong(args, dir);
      t.equal(r.status, 2, what);
      t.equal(r.stdout, '', `${what}: nothing on stdout`);
      t.match(r.stderr, /^lienthong certs: [^\n]+\n$/, `${what}: one line on stderr`);
    }
    t.notOk(existsSync(join(dir, 'x')), 'nothing written for a bad organs file');
  });
}
