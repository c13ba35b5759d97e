/**
 * The pure parts of `edge check` / `hub check`: the table, the exit code, and the rows judged
 * from figures (transport, clock skew, certificate dates, CRL freshness, permissions, broker
 * alarms), each provoked with the figures that make it a problem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { resourceNames } from '../../src/broker/names.js';
import { transportRow } from '../../src/check/broker.js';
import { skewRow } from '../../src/check/clock.js';
import { defaultManagementUrl } from '../../src/check/edge.js';
import { capacityRow, permissionsRow } from '../../src/check/hub.js';
import { crlRow, validityRow } from '../../src/check/identity.js';
import { checkExitCode, ok, problem, renderCheckTable, skipped } from '../../src/check/rows.js';
import { readCertificates } from '../../src/crypto/certificates.js';
import * as x509 from '../../src/crypto/x509.js';
import { CERTS } from '../helpers/pki.js';

t.test('the table: aligned columns, each fix under its problem, a verdict; exit 1 only for a problem', async (t) => {
  const rows = [ok('broker connection', 'logged in'), problem('clamd', 'unreachable', 'start clamd'), skipped('clock skew', 'no answer')];
  const table = renderCheckTable(rows);
  const lines = table.split('\n');
  t.match(lines[0], /^CHECK +STATUS +DETAIL \/ FIX$/);
  t.equal(lines[1]?.indexOf(' ok '), lines[2]?.indexOf(' problem '), 'statuses aligned');
  t.equal(lines[1]?.indexOf('logged in'), lines[2]?.indexOf('unreachable'), 'details aligned');
  t.equal(lines[3]?.trim(), 'fix: start clamd');
  t.equal(lines[3]?.indexOf('fix:'), lines[2]?.indexOf('unreachable'), 'the fix under the detail');
  t.match(table, /1 problem found \(of 3 checks, 1 skipped\)\n$/);
  t.equal(checkExitCode(rows), 1);
  t.equal(checkExitCode([rows[0] as never, rows[2] as never]), 0, 'skipped is not a problem');
  t.match(renderCheckTable([rows[0] as never, rows[2] as never]), /all 1 checks ok \(1 skipped\)/);
});

t.test('transport: TLS ok, plain AMQP ok only on this machine', async (t) => {
  t.equal(transportRow('amqps://u:p@broker.example:5671').status, 'ok');
  t.equal(transportRow('amqp://u:p@127.0.0.1:5672').status, 'ok');
  t.equal(transportRow('amqp://u:p@[::1]:5672').status, 'ok');
  const plain = transportRow('amqp://u:secret@broker.example:5672');
  t.equal(plain.status, 'problem');
  t.match(plain.fix, /amqps:\/\//);
  t.notMatch(JSON.stringify(plain), /secret/, 'never shows the password');
  t.equal(transportRow('not a url').status, 'problem');
  t.equal(defaultManagementUrl('amqps://u:p@broker.example:5671/vh'), 'https://broker.example:15671');
  t.equal(defaultManagementUrl('amqp://u:p@127.0.0.1:5672'), 'http://127.0.0.1:15672');
});

t.test('clock skew: within the limit ok, beyond it a problem saying which way', async (t) => {
  const at = new Date('2026-12-01T08:00:00.400Z');
  const later = new Date('2026-12-01T08:00:00.600Z');
  t.equal(skewRow(new Date('2026-12-01T08:00:00Z'), at, later, 30, 'the broker').status, 'ok');
  t.match(skewRow(new Date('2026-12-01T08:00:00Z'), at, later, 30, 'the broker').detail, /within a second/);
  const behind = skewRow(new Date('2026-12-01T08:05:00Z'), at, later, 30, 'the broker');
  t.equal(behind.status, 'problem');
  t.match(behind.detail, /300 s behind the broker/);
  t.match(behind.fix, /NTP/);
  t.match(skewRow(new Date('2026-12-01T07:59:00Z'), at, later, 30, 'the broker').detail, /60 s ahead of the broker/);
  t.equal(skewRow(new Date('2026-12-01T08:00:20Z'), at, later, 30, 'the broker').status, 'ok', '20 s is within 30');
});

t.test('certificate dates: expired, not yet valid, ending soon, fine', async (t) => {
  const cert = readCertificates(readFileSync(join(CERTS, 'agencies', '000.00.01.H12.pem'), 'utf8'))[0] as x509.X509Certificate;
  const day = 86_400_000;
  t.equal(validityRow(cert, new Date(cert.notAfter.getTime() + day)).status, 'problem');
  t.match(validityRow(cert, new Date(cert.notAfter.getTime() + day)).detail, /expired on/);
  t.match(validityRow(cert, new Date(cert.notBefore.getTime() - day)).detail, /not valid before/);
  const soon = validityRow(cert, new Date(cert.notAfter.getTime() - 3 * day));
  t.equal(soon.status, 'problem');
  t.match(soon.detail, /in 3 days/);
  t.equal(validityRow(cert, new Date(cert.notAfter.getTime() - 100 * day)).status, 'ok');
});

t.test('CRL freshness: before nextUpdate ok, after it stale', async (t) => {
  const pem = readFileSync(join(CERTS, 'issuing-ca.crl.pem'), 'utf8');
  const crl = new x509.X509Crl(pem);
  const next = crl.nextUpdate as Date;
  t.equal(crlRow('/etc/crl/issuing.pem', [crl], new Date(next.getTime() - 1000)).status, 'ok');
  const stale = crlRow('/etc/crl/issuing.pem', [crl], new Date(next.getTime() + 1000));
  t.equal(stale.status, 'problem');
  t.match(stale.detail, /stale/);
  t.match(stale.fix, /\/etc\/crl\/issuing\.pem/);
});

t.test("the hub user's permissions must cover every resource of the prefix", async (t) => {
  const names = resourceNames('lt');
  t.equal(permissionsRow('hub', '/', { configure: '.*', write: '.*', read: '.*' }, names).status, 'ok');
  t.equal(permissionsRow('hub', '/', { configure: '^lt\\..*', write: '^lt\\..*', read: '^lt\\..*' }, names).status, 'ok');
  const narrow = permissionsRow('hub', '/', { configure: '^lt\\.hub\\..*', write: '.*', read: '.*' }, names);
  t.equal(narrow.status, 'problem');
  t.match(narrow.detail, /configure .* misses lt\.submit/);
  t.match(narrow.fix, /rabbitmqctl set_permissions -p "\/" hub '\^lt\\\.\.\*'/);
  t.equal(permissionsRow('hub', '/', undefined, names).status, 'problem');
});

t.test('broker capacity: alarms, descriptors, stopped nodes', async (t) => {
  const healthy = { name: 'rabbit@a', running: true, fd_used: 100, fd_total: 1000, mem_used: 100 * 2 ** 20, mem_limit: 1000 * 2 ** 20, mem_alarm: false, disk_free_alarm: false };
  t.equal(capacityRow([healthy]).status, 'ok');
  t.match(capacityRow([{ ...healthy, mem_alarm: true }]).detail, /memory alarm/);
  t.match(capacityRow([{ ...healthy, disk_free_alarm: true }]).fix, /free disk space/);
  t.match(capacityRow([{ ...healthy, fd_used: 950 }]).fix, /LimitNOFILE/);
  t.match(capacityRow([healthy, { name: 'rabbit@b', running: false }]).detail, /rabbit@b is not running/);
  // The directory's agencies against the node's budget: the hub's own capacity warning.
  const counted = { ...healthy, sockets_total: 829 }; // what a node with 1,024 open files reports
  const few = capacityRow([counted], 10);
  t.equal(few.status, 'ok', 'ten agencies fit');
  t.match(few.detail, /room for about \d+ agencies \(10 registered\)/);
  const many = capacityRow([counted], 1000);
  t.equal(many.status, 'problem', 'a thousand agencies do not fit a default open-file limit');
  t.match(many.detail, /holds about \d+ agencies, the directory has 1000/);
  t.match(many.fix, /open-file limit.*LimitNOFILE/);
});
