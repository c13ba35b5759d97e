/**
 * The zip codec (src/archive/zip.ts): what it writes, other tools read byte for byte; what
 * other tools write (Info-ZIP, Python, the exchange SDK's Java), it reads; and every hostile
 * archive built here (bombs, lying headers, names that leave their folder, collisions, forged
 * offsets, truncation, bit flips) is refused with its own error code, fast, without allocating
 * what the archive claims, and never with anything but an LtError.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { DEFAULT_ZIP_LIMITS, isZip, listZip, readZip, readZipEntry, writeZip, type ZipInput, type ZipLimits } from '../../src/archive/zip.js';
import { parsePacket } from '../../src/envelope/index.js';
import { LtError } from '../../src/errors.js';
import { deflatedZeros, forgeZip, localSection } from '../helpers/zip.js';
import { cpuMsSince } from '../helpers/cpu.js';

const has = (command: string, ...args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const hasInfoZip = has('zip', '-v') && has('unzip', '-v');
const hasPython = has('python3', '-c', 'import zipfile');
/** Info-ZIP reads and writes names in the locale's charset; UTF-8 is what the files have. */
const UTF8_ENV = { ...process.env, LC_ALL: 'C.UTF-8' };

/** Every file under `dir` by its '/'-separated relative path (NFC), folders left out. */
function filesUnder(dir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    found.set(relative(dir, full).split('\\').join('/').normalize('NFC'), readFileSync(full));
  }
  return found;
}

/** Writes `files` under `dir`, folders included. */
function writeTree(dir: string, files: ReadonlyMap<string, Buffer>): void {
  for (const [path, data] of files) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
}

const PDF_LIKE = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from('Công văn số 12/UBND-VP '.repeat(200))]);

/** Files every round trip uses: Vietnamese names (one given decomposed, as macOS writes them), folders, an empty file, 1 MB of noise. */
function sampleFiles(): Map<string, Buffer> {
  return new Map([
    ['Công văn đến/Tờ trình số 12.pdf', PDF_LIKE],
    ['Phụ lục/Bảng tổng hợp (bản chính).txt', Buffer.from('Đơn vị;Số lượng\nSở Tài chính;12\n'.repeat(50))],
    ['rỗng.txt', Buffer.alloc(0)],
    ['ngẫu nhiên.bin', randomBytes(1024 * 1024)],
  ]);
}

function code(t: Test, run: () => unknown, expected: string, message: RegExp, what: string): LtError | undefined {
  try {
    run();
  } catch (error) {
    if (!(error instanceof LtError)) {
      t.fail(`${what}: threw ${String(error)}, not an LtError`);
      return undefined;
    }
    t.equal(error.code, expected, `${what}: ${expected}`);
    t.match(error.message, message, `${what}: the message says ${message}`);
    return error;
  }
  t.fail(`${what}: accepted`);
  return undefined;
}

t.test('writeZip and readZip round trip: Vietnamese names, folders, an empty file, 1 MB of random data', async (t) => {
  const files = sampleFiles();
  const modified = new Date('2024-05-02T03:11:13.000Z');
  const input: ZipInput[] = [...files].map(([path, data], i) => ({ path: i === 1 ? path.normalize('NFD') : path, data, modified }));
  input.push({ path: 'ghi chú.txt', data: 'Văn bản gửi kèm — chuỗi UTF-8', modified });
  const zip = writeZip(input);
  t.ok(isZip(zip), 'isZip');

  const read = readZip(zip);
  t.same(
    read.map((f) => f.path),
    [...files.keys(), 'ghi chú.txt'],
    'every file, in the order given, its path in NFC whatever the input form',
  );
  for (const f of read) {
    const expected = files.get(f.path) ?? Buffer.from('Văn bản gửi kèm — chuỗi UTF-8', 'utf8');
    t.ok(f.data.equals(expected), `${f.path}: the same bytes`);
    t.equal(f.size, expected.length, `${f.path}: size`);
    t.equal(f.modified.toISOString(), modified.toISOString(), `${f.path}: modification time`);
  }
  const random = read.find((f) => f.path === 'ngẫu nhiên.bin')!;
  t.equal(random.compressedSize, random.size, 'noise is stored, not made larger by deflate');
  const text = read.find((f) => f.path.startsWith('Phụ lục'))!;
  t.ok(text.compressedSize < text.size / 10, 'text is deflated');
  t.equal(read.find((f) => f.path === 'rỗng.txt')!.data.length, 0, 'the empty file is there, empty');

  t.same(listZip(zip), read.map(({ data: _data, ...info }) => info), 'listZip gives the same entries without the data');
  t.ok(readZipEntry(zip, 'Công văn đến/Tờ trình số 12.pdf')?.data.equals(PDF_LIKE), 'readZipEntry by path');
  t.ok(readZipEntry(zip, 'Công văn đến/Tờ trình số 12.pdf'.normalize('NFD')), 'also when the path asked for is decomposed');
  t.equal(readZipEntry(zip, 'Công văn đến'), undefined, 'a folder is not a file');
  t.equal(readZipEntry(zip, '../rỗng.txt'), undefined, 'nor is a path that climbs out');
  t.equal(readZipEntry(zip, 'khong-co.txt'), undefined, 'an unknown path: undefined');

  t.ok(writeZip(input).equals(zip), 'the same input gives the same bytes');
  const zone = process.env.TZ;
  process.env.TZ = 'America/Los_Angeles';
  try {
    t.ok(writeZip(input).equals(zip), "whatever the server's time zone");
  } finally {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
  const undated = readZip(writeZip([{ path: 'a.txt', data: 'a' }]));
  t.equal(undated[0]?.modified.toISOString(), '1979-12-31T17:00:00.000Z', 'no modification time: 1980-01-01 00:00 in Vietnam, not the clock');
  t.same(readZip(writeZip([])), [], 'an empty archive');
});

t.test('writeZip refuses names the reader would refuse, so lienthong never writes a hostile archive', async (t) => {
  code(t, () => writeZip([{ path: '../x.txt', data: 'x' }]), 'ZIP_UNSAFE', /"\.\.\/x\.txt".*\.\./, 'a parent segment');
  code(t, () => writeZip([{ path: '/etc/passwd', data: 'x' }]), 'ZIP_UNSAFE', /absolute/, 'an absolute path');
  code(t, () => writeZip([{ path: 'a.txt', data: 'x' }, { path: 'A.TXT', data: 'y' }]), 'ZIP_UNSAFE', /same file on Windows/, 'names equal but for case');
  code(t, () => writeZip([{ path: 'thư mục/', data: '' }]), 'USAGE', /folder/, 'a folder');
  code(t, () => writeZip([{ path: 'a.txt', data: 'x', modified: new Date('nonsense') }]), 'USAGE', /not a valid date/, 'an invalid date');
});

t.test('what Info-ZIP extracts from our archives is byte for byte what went in', { skip: !hasInfoZip && 'zip/unzip not installed' }, async (t) => {
  const dir = t.testdir();
  const files = sampleFiles();
  const modified = new Date('2023-11-20T08:30:00.000Z');
  writeFileSync(join(dir, 'ours.zip'), writeZip([...files].map(([path, data]) => ({ path, data, modified }))));
  execFileSync('unzip', ['-q', join(dir, 'ours.zip'), '-d', join(dir, 'out')], { env: UTF8_ENV });
  const extracted = filesUnder(join(dir, 'out'));
  t.same([...extracted.keys()].sort(), [...files.keys()].sort(), 'the same names, Vietnamese included');
  for (const [path, data] of files) t.ok(extracted.get(path)?.equals(data), `${path}: the same bytes`);
  t.equal(statSync(join(dir, 'out', 'rỗng.txt')).mtime.toISOString(), modified.toISOString(), 'and the modification time (extended timestamp)');
  const tested = execFileSync('unzip', ['-t', join(dir, 'ours.zip')], { env: UTF8_ENV }).toString();
  t.match(tested, /No errors detected/, 'unzip -t: every CRC right');
});

t.test('what Info-ZIP zips, readZip reads: raw UTF-8 names without the flag, folders, stored, streamed', { skip: !hasInfoZip && 'zip/unzip not installed' }, async (t) => {
  const dir = t.testdir();
  const files = sampleFiles();
  writeTree(join(dir, 'in'), files);
  const mtime = new Date('2022-02-03T04:05:06.000Z');
  utimesSync(join(dir, 'in', 'rỗng.txt'), mtime, mtime);
  for (const [label, args] of [
    ['deflated', ['-q', '-r', join(dir, 'a.zip'), '.']],
    ['stored (-0)', ['-q', '-r', '-0', join(dir, 'b.zip'), '.']],
  ] as const) {
    execFileSync('zip', [...args], { cwd: join(dir, 'in'), env: UTF8_ENV });
    const zip = readFileSync(join(dir, label === 'deflated' ? 'a.zip' : 'b.zip'));
    const read = readZip(zip);
    t.same(read.map((f) => f.path).sort(), [...files.keys()].sort(), `${label}: every file, folders omitted, names decoded as UTF-8`);
    for (const f of read) t.ok(f.data.equals(files.get(f.path)!), `${label}: ${f.path}: the same bytes`);
    t.equal(read.find((f) => f.path === 'rỗng.txt')?.modified.toISOString(), mtime.toISOString(), `${label}: the modification time`);
  }
  // Writing to a pipe, zip cannot seek back: sizes and CRC follow the data in descriptors.
  const streamed = execFileSync('sh', ['-c', 'zip -q - "Phụ lục/Bảng tổng hợp (bản chính).txt" "ngẫu nhiên.bin" | cat'], { cwd: join(dir, 'in'), env: UTF8_ENV, maxBuffer: 16 * 1024 * 1024 });
  t.equal(streamed.readUInt16LE(6) & 0x0008, 0x0008, 'the streamed archive uses data descriptors');
  const read = readZip(streamed);
  t.same(read.map((f) => f.path), ['Phụ lục/Bảng tổng hợp (bản chính).txt', 'ngẫu nhiên.bin'], 'streamed: read');
  for (const f of read) t.ok(f.data.equals(files.get(f.path)!), `streamed: ${f.path}: the same bytes`);
});

const PYTHON_READ = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps({i.filename: [hashlib.sha256(z.read(i)).hexdigest(), i.flag_bits & 0x800] for i in z.infolist()}))
`;

const PYTHON_WRITE = `
import os, sys, zipfile
root, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, 'w') as z:
    for i, (folder, dirs, files) in enumerate(sorted(os.walk(root))):
        rel = os.path.relpath(folder, root)
        if rel != '.':
            z.writestr(zipfile.ZipInfo(rel + '/', (2024, 5, 2, 10, 11, 12)), b'')
        for j, name in enumerate(sorted(files)):
            info = zipfile.ZipInfo(os.path.normpath(os.path.join(rel, name)), (2024, 5, 2, 10, 11, 12))
            info.compress_type = zipfile.ZIP_DEFLATED if (i + j) % 2 == 0 else zipfile.ZIP_STORED
            with open(os.path.join(folder, name), 'rb') as f:
                z.writestr(info, f.read())
`;

t.test("Python's zipfile reads our archives, and we read its own (UTF-8 flag, folder entries)", { skip: !hasPython && 'python3 not installed' }, async (t) => {
  const dir = t.testdir();
  const files = sampleFiles();
  writeFileSync(join(dir, 'ours.zip'), writeZip([...files].map(([path, data]) => ({ path, data }))));
  const seen = JSON.parse(execFileSync('python3', ['-c', PYTHON_READ, join(dir, 'ours.zip')]).toString()) as Record<string, [string, number]>;
  t.same(
    Object.fromEntries(Object.entries(seen).map(([path, [sha]]) => [path, sha])),
    Object.fromEntries([...files].map(([path, data]) => [path, createHash('sha256').update(data).digest('hex')])),
    'Python finds every name and the same bytes, every CRC right',
  );
  t.ok(Object.values(seen).every(([, flag]) => flag === 0x800), 'names carry the UTF-8 flag');

  writeTree(join(dir, 'in'), files);
  execFileSync('python3', ['-c', PYTHON_WRITE, join(dir, 'in'), join(dir, 'python.zip')]);
  const zip = readFileSync(join(dir, 'python.zip'));
  const read = readZip(zip);
  t.same(read.map((f) => f.path).sort(), [...files.keys()].sort(), 'every file; the folder entries are not listed');
  for (const f of read) t.ok(f.data.equals(files.get(f.path)!), `${f.path}: the same bytes`);
  t.ok(read.some((f) => f.compressedSize === f.size && f.size > 1000) && read.some((f) => f.compressedSize < f.size), 'stored and deflated entries');
  t.equal(read[0]?.modified.toISOString(), '2024-05-02T03:11:12.000Z', 'a DOS time without a UTC stamp is Vietnamese local time');
});

t.test("the exchange SDK's zipped attachment (Java ZipOutputStream) lists and reads", async (t) => {
  const packet = parsePacket(readFileSync(new URL('../fixtures/sdk-built/sdk-edoc.edxml', import.meta.url)));
  if (packet.kind !== 'document') throw new Error('the fixture is a document packet');
  const attachment = packet.attachments?.[0];
  t.equal(attachment?.contentType, 'application/zip');
  const zip = Buffer.from(attachment!.content);
  t.ok(isZip(zip));
  t.equal(zip.readUInt16LE(6), 0x0808, 'Java writes the UTF-8 flag and a data descriptor');
  t.same(listZip(zip).map((e) => [e.path, e.size]), [['1e9958de-acd7-4f6f-ac97-ae4d64710696.txt', 33]]);
  const [file] = readZip(zip);
  t.equal(file?.data.toString('utf8'), 'Tệp đính kèm thử nghiệm\n', 'the Vietnamese text inside, CRC checked');
});

t.test('zip bombs are refused fast, without allocating what they declare', async (t) => {
  const zeros = deflatedZeros(1024);
  t.ok(zeros.compressed.length < 1.1 * 1024 * 1024, `1 GiB of zeros deflates to ${zeros.compressed.length} bytes`);
  const bomb = forgeZip([{ name: 'bom.txt', compressed: zeros.compressed, crc: zeros.crc, size: zeros.size }]);
  const lying = forgeZip([{ name: 'nho.txt', compressed: zeros.compressed, crc: zeros.crc, size: 1000 }]);

  const rssBefore = process.resourceUsage().maxRSS;
  const started = process.cpuUsage();
  code(t, () => listZip(bomb), 'ZIP_UNSAFE', /"bom\.txt" unpacks to 1024\.0 MiB, more than the limit of 64\.0 MiB per file/, 'a 1 GiB entry, listed');
  code(t, () => readZip(bomb), 'ZIP_UNSAFE', /1024\.0 MiB/, 'a 1 GiB entry, read');
  const generous: ZipLimits = { ...DEFAULT_ZIP_LIMITS, maxEntryBytes: 2 ** 31, maxTotalBytes: 2 ** 31 };
  code(t, () => readZip(bomb, generous), 'ZIP_UNSAFE', /expands 1\d{3} times .* more than the limit of 200 times: a zip bomb/, 'with the size limits raised, the ratio');

  t.same(listZip(lying).map((e) => e.size), [1000], 'a header that lies about the size passes the listing...');
  code(t, () => readZip(lying), 'ZIP_UNSAFE', /"nho\.txt" inflates to more than the 1000 bytes it declares/, '...but inflation stops at the declared size');
  code(t, () => readZipEntry(lying, 'nho.txt'), 'ZIP_UNSAFE', /more than the 1000 bytes/, 'readZipEntry too');
  const cpuMs = cpuMsSince(started);
  const grownMiB = (process.resourceUsage().maxRSS - rssBefore) / 1024;
  t.ok(cpuMs < 1000, `refused in ${cpuMs.toFixed(0)} ms of CPU`);
  t.ok(grownMiB < 256, `the peak memory grew by ${grownMiB.toFixed(0)} MiB, not by the 1 GiB inflated`);

  const halfMiB = readZip(writeZip([{ path: 'trang-trang.bmp', data: Buffer.alloc(512 * 1024) }]));
  t.ok(halfMiB[0]!.size / halfMiB[0]!.compressedSize > 200, 'a small file of blank pixels compresses far beyond the ratio...');
  t.equal(halfMiB[0]?.size, 512 * 1024, '...and is read: the ratio applies from 1 MiB on');
  code(t, () => listZip(writeZip([{ path: 'trang-trang.bmp', data: Buffer.alloc(2 * 1024 * 1024) }])), 'ZIP_UNSAFE', /more than the limit of 200 times/, 'the same, 2 MiB');

  const three = writeZip(['a', 'b', 'c'].map((n) => ({ path: `${n}.bin`, data: randomBytes(1000) })));
  code(t, () => listZip(three, { ...DEFAULT_ZIP_LIMITS, maxTotalBytes: 2500 }), 'ZIP_UNSAFE', /more than the limit of 2\.4 KiB \(passed at entry "c\.bin"\)/, 'the total limit names the entry that passes it');
  code(t, () => listZip(three, { ...DEFAULT_ZIP_LIMITS, maxEntries: 2 }), 'ZIP_UNSAFE', /3 entries, more than the limit of 2/, 'the entry limit');
  const many = writeZip(Array.from({ length: DEFAULT_ZIP_LIMITS.maxEntries + 1 }, (_, i) => ({ path: `tep-${i}.txt`, data: '' })));
  code(t, () => listZip(many), 'ZIP_UNSAFE', /1001 entries, more than the limit of 1000; ask the sender to split it/, '1001 entries, by default');

  // Two entries sharing one compressed stream: the construction of the smallest bombs.
  const inner = localSection({ name: 'b.txt', data: 'x'.repeat(10_000) });
  const overlapping = forgeZip([{ name: 'a.txt', method: 0, data: inner }, { name: 'b.txt', data: 'x'.repeat(10_000), local: false, localOffset: 30 + 'a.txt'.length }]);
  code(t, () => listZip(overlapping), 'ZIP_UNSAFE', /entries "a\.txt" and "b\.txt" overlap/, 'overlapping entries');
});

t.test('names that would land outside the extraction folder, or on each other, are refused', async (t) => {
  const refused: Array<[string | Uint8Array, RegExp, string]> = [
    ['../../etc/passwd', /"\.\.\/\.\.\/etc\/passwd" climbs out of its folder with "\.\."/, 'parent segments'],
    ['bao-cao/../../x.txt', /climbs out/, 'a parent segment in the middle'],
    ['/etc/passwd', /absolute path/, 'an absolute path'],
    ['//server/share/x.txt', /absolute path/, 'a UNC path'],
    ['C:/Windows/System32/x.dll', /drive letter/, 'a drive letter'],
    ['C:\\x.txt', /drive letter/, 'a drive letter with a backslash'],
    ['..\\x.txt', /climbs out/, 'a backslash parent (Windows reads \\ as a separator)'],
    ['a\\..\\..\\x.txt', /climbs out/, 'backslash parents in the middle'],
    ['\\x.txt', /absolute path/, 'a backslash root'],
    ['.. /x.txt', /Windows reads as "\.\." or nothing/, 'a dot-dot-space folder'],
    ['.../x.txt', /Windows reads/, 'three dots'],
    ['a.txt\u0000.pdf', /control character U\+0000/, 'a NUL'],
    ['a\nb.txt', /control character U\+000A/, 'a newline'],
    ['hoa-don\u202Efdp.exe', /control character U\+202E/, 'a right-to-left override hiding .exe'],
    ['report.txt:hidden', /colon/, 'an NTFS stream'],
    ['thu-muc/CON.txt', /a device on Windows/, 'a Windows device name'],
    ['', /has no name/, 'an empty name'],
  ];
  for (const [name, message, what] of refused) {
    const error = code(t, () => listZip(forgeZip([{ name, data: 'x' }])), 'ZIP_UNSAFE', message, what);
    if (error && typeof name === 'string' && name !== '') t.equal(error.context.path, name.normalize('NFC'), `${what}: the error names the entry`);
  }

  const collisions: Array<[string[], RegExp, string]> = [
    [['a.txt', 'a.txt'], /names "a\.txt" twice/, 'the same name twice'],
    [['Báo cáo.txt', 'Báo cáo.txt'.normalize('NFD')], /names "Báo cáo\.txt" twice/, 'composed and decomposed Vietnamese'],
    [['Báo cáo.txt', 'BÁO CÁO.TXT'], /and as "Báo cáo\.txt", the same file on Windows/, 'names equal but for case'],
    [['x.txt', 'x.txt.'], /the same file on Windows/, 'a trailing dot'],
    [['a', 'a/b.txt'], /has "a" both as a file and as a folder/, 'a file where a folder must be'],
    [['a/b.txt', 'A'], /has "A" both as a file and as a folder/, 'a folder where a file is'],
    [['./a.txt', 'a.txt'], /twice/, 'the same name with ./'],
  ];
  for (const [names, message, what] of collisions) code(t, () => listZip(forgeZip(names.map((name) => ({ name, data: 'x' })))), 'ZIP_UNSAFE', message, what);

  const symlink = forgeZip([{ name: 'passwd', data: '../../etc/passwd', madeBy: (3 << 8) | 20, externalAttributes: (0o120777 << 16) >>> 0 }]);
  code(t, () => listZip(symlink), 'ZIP_UNSAFE', /symbolic link/, 'a symbolic link');
  t.same(listZip(forgeZip([{ name: 'a/./b//c.txt', data: 'x' }, { name: 'thu-muc/', data: '' }])).map((e) => e.path), ['a/b/c.txt'], 'harmless "." and empty segments are dropped, folders omitted');
});

t.test('names are UTF-8 when flagged, else UTF-8 if they are valid UTF-8, else code page 437', async (t) => {
  const cp437 = Buffer.concat([Buffer.from('B'), Buffer.from([0xa0]), Buffer.from('o c'), Buffer.from([0xa0]), Buffer.from('o.txt')]);
  t.same(listZip(forgeZip([{ name: cp437, data: 'x' }])).map((e) => e.path), ['Báo cáo.txt'], 'CP437 (DOS) bytes');
  t.same(listZip(forgeZip([{ name: Buffer.from('Tờ trình.txt'), flags: 0, data: 'x' }])).map((e) => e.path), ['Tờ trình.txt'], 'UTF-8 without the flag');
  code(t, () => listZip(forgeZip([{ name: cp437, flags: 0x0800, data: 'x' }])), 'ZIP_INVALID', /flagged as UTF-8 but is not UTF-8/, 'flagged UTF-8 that is not');
  const unicodePath = (name: Buffer, unicode: string): Buffer => {
    const text = Buffer.from(unicode);
    const field = Buffer.alloc(9);
    field.writeUInt16LE(0x7075, 0);
    field.writeUInt16LE(5 + text.length, 2);
    field.writeUInt8(1, 4);
    field.writeUInt32LE(crc32(name), 5);
    return Buffer.concat([field, text]);
  };
  t.same(listZip(forgeZip([{ name: cp437, data: 'x', extra: unicodePath(cp437, 'Đề án.txt') }])).map((e) => e.path), ['Đề án.txt'], "Info-ZIP's Unicode path field");
  code(t, () => listZip(forgeZip([{ name: Buffer.from('ok.txt'), data: 'x', extra: unicodePath(Buffer.from('ok.txt'), '../x.txt') }])), 'ZIP_UNSAFE', /climbs out/, 'whose name is checked like any other');
});

t.test('malformed, forged and unsupported archives are refused with the code that says which', async (t) => {
  const good = forgeZip([{ name: 'a.txt', data: 'nội dung văn bản '.repeat(20) }]);
  t.same(listZip(good).map((e) => e.path), ['a.txt'], 'the archive the forgeries start from is fine');
  const patched = (at: number, write: (b: Buffer) => void, from = good): Buffer => {
    const copy = Buffer.from(from);
    write(copy.subarray(at));
    return copy;
  };
  const directoryAt = good.readUInt32LE(good.length - 6);

  code(t, () => listZip(Buffer.from('%PDF-1.7 not a zip at all')), 'ZIP_INVALID', /no end-of-central-directory record/, 'a PDF');
  t.notOk(isZip(Buffer.from('%PDF-1.7')), 'isZip: a PDF is not');
  t.notOk(isZip(Buffer.alloc(0)), 'isZip: nothing is not');
  code(t, () => listZip(Buffer.alloc(0)), 'ZIP_INVALID', /too few for a zip archive/, 'an empty file');
  code(t, () => listZip(good.subarray(0, good.length - 1)), 'ZIP_INVALID', /truncated/, 'one byte short');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x' }], { after: Buffer.from('trailing') })), 'ZIP_INVALID', /no end-of-central-directory/, 'bytes after the end record');

  code(t, () => readZip(forgeZip([{ name: 'a.txt', data: 'abc', crc: 0x12345678 }])), 'ZIP_INVALID', /"a\.txt" is corrupt: its CRC-32 is 352441c2, the archive declares 12345678/, 'a wrong CRC');
  code(t, () => readZip(forgeZip([{ name: 'a.txt', data: 'abc', size: 10 }])), 'ZIP_INVALID', /inflates to 3 bytes, not the 10 it declares/, 'a size declared too large');
  code(t, () => readZip(forgeZip([{ name: 'a.txt', data: 'abc', size: 0 }])), 'ZIP_UNSAFE', /more than the 0 bytes it declares/, 'a size declared zero');
  code(t, () => readZip(forgeZip([{ name: 'a.txt', compressed: Buffer.from([0xff, 0xff, 0xff]), size: 3 }])), 'ZIP_INVALID', /cannot be inflated/, 'deflate data that is not');
  const hidden = Buffer.concat([deflateRawSync('abc'), Buffer.from('hidden payload')]);
  code(t, () => readZip(forgeZip([{ name: 'a.txt', data: 'abc', compressed: hidden }])), 'ZIP_INVALID', /14 bytes after the end of its compressed data/, 'data hidden after the deflate stream');
  code(t, () => readZip(forgeZip([{ name: 'a.txt', method: 0, data: 'abc', size: 4 }])), 'ZIP_INVALID', /stored uncompressed but declares 3 bytes stored and 4/, 'a stored entry whose sizes differ');

  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'abc', flags: 0x0801 }])), 'ZIP_UNSUPPORTED', /"a\.txt" is encrypted.*without a password/, 'the encryption flag');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'abc', method: 99 }])), 'ZIP_UNSUPPORTED', /encrypted/, 'WinZip AES');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'abc', method: 12 }])), 'ZIP_UNSUPPORTED', /method 12 \(bzip2\); only stored \(0\) and deflate \(8\)/, 'bzip2');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'abc', size: 0xffffffff }])), 'ZIP_UNSUPPORTED', /ZIP64/, 'ZIP64 sizes');
  code(t, () => listZip(patched(good.length - 12, (b) => b.writeUInt16LE(0xffff, 0))), 'ZIP_UNSUPPORTED', /ZIP64/, 'a ZIP64 entry count');
  code(t, () => listZip(patched(good.length - 18, (b) => b.writeUInt16LE(1, 0))), 'ZIP_UNSUPPORTED', /split over several files/, 'a multi-volume archive');

  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x', local: { name: 'b.txt' } }])), 'ZIP_INVALID', /local header disagrees with the central directory/, 'a local header with another name');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x', local: { size: 5000 } }])), 'ZIP_INVALID', /local header disagrees/, 'a local header with another size');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x', localOffset: 5000 }])), 'ZIP_INVALID', /points to offset 5000, where there is no local file header/, 'a local offset past the data');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x', localOffset: 3 }])), 'ZIP_INVALID', /no local file header/, 'a local offset into the middle');
  code(t, () => listZip(patched(18, (b) => b.writeUInt32LE(100_000, 0))), 'ZIP_INVALID', /local header disagrees/, 'a compressed size changed in the local header only');
  const longer = patched(directoryAt + 20, (b) => b.writeUInt32LE(100_000, 0), patched(18, (b) => b.writeUInt32LE(100_000, 0)));
  code(t, () => listZip(longer), 'ZIP_INVALID', /run into the central directory/, 'data declared past the central directory');
  code(t, () => listZip(patched(good.length - 6, (b) => b.writeUInt32LE(directoryAt + 1, 0))), 'ZIP_INVALID', /does not end where the end record begins/, 'a central directory offset off by one');
  code(t, () => listZip(patched(good.length - 6, (b) => b.writeUInt32LE(0xfffffff0, 0))), 'ZIP_INVALID', /does not end where/, 'a central directory offset out of range');
  code(t, () => listZip(forgeZip([{ name: 'a.txt', data: 'x' }], { total: 2 })), 'ZIP_INVALID', /does not end where|record 2 of 2 is missing/, 'more entries declared than recorded');
  code(t, () => listZip(patched(directoryAt, (b) => b.writeUInt32LE(0x12345678, 0))), 'ZIP_INVALID', /central directory record 1 of 1 is missing or corrupt/, 'a broken central record');
});

t.test('no truncation and no flipped bit makes the reader fail with anything but an LtError', async (t) => {
  const zip = writeZip([
    { path: 'Tờ trình.txt', data: 'Kính gửi Sở Tài chính. '.repeat(30), modified: new Date('2024-01-01T00:00:00Z') },
    { path: 'rỗng.txt', data: '' },
    { path: 'so-lieu/bang.csv', data: randomBytes(64) },
  ]);
  const outcomes = new Map<string, number>();
  const attempt = (bytes: Buffer, what: string): void => {
    try {
      readZip(bytes);
      outcomes.set('read', (outcomes.get('read') ?? 0) + 1);
    } catch (error) {
      if (!(error instanceof LtError) || !error.code.startsWith('ZIP_')) throw new Error(`${what}: ${String(error)}`);
      outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
    }
  };
  for (let length = 0; length < zip.length; length++) {
    try {
      readZip(zip.subarray(0, length));
      t.fail(`truncated to ${length} bytes: accepted`);
    } catch (error) {
      if (!(error instanceof LtError) || error.code !== 'ZIP_INVALID') t.fail(`truncated to ${length} bytes: ${String(error)}`);
    }
  }
  t.pass(`every one of the ${zip.length} truncations is ZIP_INVALID`);
  for (let at = 0; at < zip.length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = Buffer.from(zip);
      flipped[at]! ^= 1 << bit;
      attempt(flipped, `bit ${bit} of byte ${at} flipped`);
    }
  }
  t.ok((outcomes.get('ZIP_INVALID') ?? 0) > zip.length, `${zip.length * 8} bit flips: ${JSON.stringify(Object.fromEntries(outcomes))}, every failure an LtError`);
});
