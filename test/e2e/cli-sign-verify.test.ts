/**
 * The văn thư's path through the command line, as a child process of `node bin/lienthong.js`
 * (the compiled dist/, built by `npm test`; by hand: `npx tsc -p .` first): build a packet from
 * metadata and a scanned letter, validate it, sign it with the agency key, verify it as the
 * recipient would. Exit codes: 0 done/valid, 1 invalid or refused, 2 usage or I/O error, with
 * one line on stderr.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CERTS, OFFICE, PDF_BYTES, REPO, organ, xmlsec1Verify } from '../helpers/pki.js';
import { runCli, type CliRun } from '../helpers/processes.js';

const SAMPLES = fileURLToPath(new URL('../fixtures/samples/', import.meta.url));

if (!existsSync(join(REPO, 'dist/cli/main.js'))) {
  t.fail('dist/ is not built: run "npx tsc -p ." (npm test does it) before this test');
  process.exit(1);
}

function lienthong(cwd: string, ...args: string[]): CliRun {
  return runCli(cwd, args);
}

const stderrLines = (r: CliRun) => r.stderr.split('\n').filter((l) => l !== '');

const META = {
  from: { organId: OFFICE, organName: 'Văn phòng UBND tỉnh Cà Mau', email: 'vanphong@camau.gov.vn' },
  to: [
    { organId: '000.00.31.H12', organName: 'UBND thành phố Cà Mau' },
    { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' },
  ],
  code: { codeNumber: '125', codeNotation: 'UBND-VP' },
  subject: 'V/v triển khai liên thông văn bản điện tử',
  content: 'Đề nghị các đơn vị triển khai kết nối trước ngày 31/12.',
  signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
  priority: '1',
};

const office = organ(OFFICE);
const trustArgs = ['--trust', join(CERTS, 'root-ca.pem'), '--crl', join(CERTS, 'issuing-ca.crl.pem'), '--crl', join(CERTS, 'root-ca.crl.pem')];

t.test('build → validate → sign → verify: a document goes out signed and is accepted', async (t) => {
  const dir = t.testdir({ 'META.json': JSON.stringify(META, null, 2), 'cong-van-125.pdf': Buffer.from(PDF_BYTES) });

  const build = lienthong(dir, 'build', 'META.json', '--attach', 'cong-van-125.pdf', '-o', 'packet.xml');
  t.equal(build.status, 0, 'build exits 0', { stderr: build.stderr });
  t.match(build.stderr, /wrote packet\.xml \(DocumentId 000\.00\.01\.H12,\d{4}\/\d{2}\/\d{2},125\/UBND-VP\)/);
  const packet = readFileSync(join(dir, 'packet.xml'), 'utf8');
  t.match(packet, /<edXML:AttachmentName>cong-van-125\.pdf<\/edXML:AttachmentName>/, 'the scanned letter is attached');
  t.match(packet, `>${Buffer.from(PDF_BYTES).toString('base64')}<`, 'with its bytes');

  const validate = lienthong(dir, 'validate', 'packet.xml');
  t.equal(validate.status, 0, 'validate exits 0', { stdout: validate.stdout });
  t.match(validate.stdout, /^packet\.xml: valid document packet$/m);

  const sign = lienthong(dir, 'sign', 'packet.xml', '--key', office.keyPath, '--cert', office.certPath, '--chain', join(CERTS, 'chain.pem'), '-o', 'signed.xml');
  t.equal(sign.status, 0, 'sign exits 0', { stderr: sign.stderr });
  t.same(stderrLines(sign), ['wrote signed.xml']);
  const signed = readFileSync(join(dir, 'signed.xml'), 'utf8');
  t.match(signed, /<\/edXML:TraceHeaderList><ds:Signature /, 'the signature sits after TraceHeaderList');

  const verify = lienthong(dir, 'verify', 'signed.xml', ...trustArgs);
  t.equal(verify.status, 0, 'verify exits 0', { stdout: verify.stdout });
  t.match(verify.stdout, /^signed\.xml: valid, signed by .*UID=000\.00\.01\.H12 for 000\.00\.01\.H12$/m);

  const json = lienthong(dir, 'verify', 'signed.xml', '--json', ...trustArgs);
  t.equal(json.status, 0);
  const report = JSON.parse(json.stdout) as Record<string, unknown> & { checks: Record<string, string> };
  t.equal(report.valid, true);
  t.equal(report.organId, OFFICE);
  t.same(report.checks, { structure: 'ok', digest: 'ok', signatureValue: 'ok', chain: 'ok', validity: 'ok', revocation: 'ok', organ: 'ok' }, 'every check ok, revocation included');

  const validateSigned = lienthong(dir, 'validate', 'signed.xml');
  t.equal(validateSigned.status, 0, 'the signed packet still validates');

  t.equal(xmlsec1Verify(join(dir, 'signed.xml')).status, 0, 'and xmlsec1 verifies what the CLI signed');
});

t.test('a packet changed after signing: verify exits 1 and says why', async (t) => {
  const dir = t.testdir({ 'META.json': JSON.stringify(META), 'cong-van-125.pdf': Buffer.from(PDF_BYTES) });
  t.equal(lienthong(dir, 'build', 'META.json', '--attach', 'cong-van-125.pdf', '-o', 'packet.xml').status, 0);
  t.equal(lienthong(dir, 'sign', 'packet.xml', '--key', office.keyPath, '--cert', office.certPath, '-o', 'signed.xml').status, 0);
  const signed = readFileSync(join(dir, 'signed.xml'), 'utf8');
  writeFileSync(join(dir, 'tampered.xml'), signed.replace('<edXML:Priority>1</edXML:Priority>', '<edXML:Priority>0</edXML:Priority>'));

  const text = lienthong(dir, 'verify', 'tampered.xml', ...trustArgs, '--intermediate', join(CERTS, 'issuing-ca.pem'));
  t.equal(text.status, 1, 'exit 1: invalid');
  t.match(text.stdout, /^tampered\.xml: INVALID\n {2}SIG_DIGEST_MISMATCH: /);

  const r = lienthong(dir, 'verify', 'tampered.xml', '--json', ...trustArgs, '--intermediate', join(CERTS, 'issuing-ca.pem'));
  t.equal(r.status, 1);
  t.equal(r.stderr, '', 'nothing on stderr: an invalid packet is a result, not an error');
  const report = JSON.parse(r.stdout) as {
    valid: boolean;
    organId: string;
    signer: { subject: string; notAfter: string };
    errors: Array<Record<string, string>>;
  };
  t.equal(report.valid, false);
  t.equal(report.organId, OFFICE);
  t.match(report.signer.subject, /UID=000\.00\.01\.H12/);
  t.equal(report.signer.notAfter, office.notAfter, 'notAfter of the signer certificate, ISO 8601');
  t.same(report.errors.map((e) => e.code), ['SIG_DIGEST_MISMATCH']);
  for (const e of report.errors) {
    t.same(Object.keys(e).sort(), ['code', 'message'], 'each error is {code, message}');
    t.match(e.message, /changed after signing/);
  }
});

t.test('verify of a missing file exits 2 with one line on stderr', async (t) => {
  const dir = t.testdir();
  const r = lienthong(dir, 'verify', 'khong-co.xml', '--trust', join(CERTS, 'root-ca.pem'));
  t.equal(r.status, 2);
  t.equal(r.stdout, '');
  t.equal(stderrLines(r).length, 1, 'one line');
  t.match(r.stderr, /^lienthong verify: cannot read khong-co\.xml: ENOENT.*\(IO\)\n$/);

  const noTrust = lienthong(dir, 'verify', 'khong-co.xml');
  t.equal(noTrust.status, 2, 'no --trust: usage error');
  t.match(noTrust.stderr, /--trust ROOT\.pem is required \(USAGE\)/);
});

t.test('--help works for every verb', async (t) => {
  const dir = t.testdir();
  for (const verb of ['build', 'validate', 'sign', 'verify', 'certs']) {
    for (const flag of ['--help', '-h']) {
      const r = lienthong(dir, verb, flag);
      t.equal(r.status, 0, `${verb} ${flag} exits 0`);
      t.match(r.stdout, new RegExp(`^Usage: lienthong ${verb} `), `${verb} ${flag} prints its usage`);
      t.equal(r.stderr, '');
    }
  }
  const overview = lienthong(dir, '--help');
  t.equal(overview.status, 0);
  for (const verb of ['build', 'validate', 'sign', 'verify', 'certs']) t.match(overview.stdout, new RegExp(`^ {2}${verb} `, 'm'), `the overview lists ${verb}`);
});

t.test('validate --json gives one report per file', async (t) => {
  const dir = t.testdir({
    'META.json': JSON.stringify(META),
    'not-edxml.xml': '<html><body>hello</body></html>',
    'bad-priority.xml': '',
  });
  t.equal(lienthong(dir, 'build', 'META.json', '-o', 'packet.xml').status, 0);
  writeFileSync(join(dir, 'bad-priority.xml'), readFileSync(join(dir, 'packet.xml'), 'utf8').replace('<edXML:Priority>1</edXML:Priority>', '<edXML:Priority>9</edXML:Priority>'));

  const r = lienthong(dir, 'validate', '--json', 'packet.xml', 'bad-priority.xml', 'not-edxml.xml');
  t.equal(r.status, 1, 'exit 1: some file has an error');
  const out = JSON.parse(r.stdout) as {
    valid: boolean;
    files: Array<{ file: string; kind: string | null; valid: boolean; errors: Array<Record<string, string>>; warnings: Array<Record<string, string>> }>;
  };
  t.same(Object.keys(out).sort(), ['files', 'valid']);
  t.equal(out.valid, false);
  t.same(out.files.map((f) => f.file), ['packet.xml', 'bad-priority.xml', 'not-edxml.xml']);
  for (const f of out.files) {
    t.same(Object.keys(f).sort(), ['errors', 'file', 'kind', 'valid', 'warnings'], `${f.file}: {file, kind, valid, errors, warnings}`);
    for (const finding of [...f.errors, ...f.warnings]) t.same(Object.keys(finding).sort(), ['code', 'message', 'path'], `${f.file}: findings are {code, path, message}`);
  }
  const [good, badPriority, notEdxml] = out.files;
  t.match(good, { kind: 'document', valid: true, errors: [] });
  t.match(badPriority, { kind: 'document', valid: false, errors: [{ path: 'otherInfo.priority' }] });
  t.match(notEdxml, { kind: null, valid: false, errors: [{ code: 'XML_NOT_EDXML' }] });
});

t.test('validate of the 8 public samples exits 0', async (t) => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.edxml'));
  t.equal(files.length, 8);
  const r = lienthong(SAMPLES, 'validate', ...files);
  t.equal(r.status, 0, 'the samples carry warnings, no errors', { stdout: r.stdout });
  for (const f of files) t.match(r.stdout, new RegExp(`^${f.replace(/\./g, '\\.')}: valid (document|status) packet$`, 'm'));

  const json = JSON.parse(lienthong(SAMPLES, 'validate', '--json', ...files).stdout) as { valid: boolean; files: unknown[] };
  t.equal(json.valid, true);
  t.equal(json.files.length, 8);
});

t.test('sign with a key that does not match the certificate exits 1 with KEY_INVALID', async (t) => {
  const dir = t.testdir({ 'META.json': JSON.stringify(META) });
  t.equal(lienthong(dir, 'build', 'META.json', '-o', 'packet.xml').status, 0);
  const finance = organ('000.00.05.H12');
  const r = lienthong(dir, 'sign', 'packet.xml', '--key', finance.keyPath, '--cert', office.certPath, '-o', 'signed.xml');
  t.equal(r.status, 1);
  t.equal(r.stdout, '');
  t.equal(stderrLines(r).length, 1, 'one line on stderr');
  t.match(r.stderr, /^lienthong sign: the private key does not belong to the certificate .*\(KEY_INVALID\)$/m);
  t.notOk(existsSync(join(dir, 'signed.xml')), 'nothing was written');
  t.same(readdirSync(dir).sort(), ['META.json', 'packet.xml'], 'no temporary file left behind either');
});
